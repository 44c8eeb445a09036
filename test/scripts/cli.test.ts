import { ExitCode, main } from '../../scripts/cli';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('prod-baseline command', () => {
  test('--version prints the package version', async () => {
    const { code, out } = await run('--version');
    expect(code).toBe(ExitCode.OK);
    expect(out.trim()).toBe(require('../../package.json').version);
  });

  test('--help describes the command and its exit codes', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('Usage: prod-baseline [options]');
    expect(out).toContain('-v, --version');
    expect(out).toContain(
      'Exit codes: 0 ok, 1 findings (failed checks), 2 usage or config error, 3 AWS error or timeout.',
    );
  });

  test('no arguments prints the help and succeeds', async () => {
    const { code, out } = await run();
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('Usage: prod-baseline');
  });

  test('fails with exit code 2 on an unknown option', async () => {
    const { code, err } = await run('--colour');
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toContain("error: unknown option '--colour'");
  });
});
