import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers';

/** Runs the real CDK CLI the way a user does, with no AWS credentials and no Docker. */
function cdkSynth(...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'pb-synth-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, CDK_VALIDATION: 'false' };
  const run = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '-o', out, ...args], {
    cwd: ROOT,
    env: { ...env, AWS_EC2_METADATA_DISABLED: 'true', DOCKER_HOST: 'unix:///nonexistent.sock' },
    encoding: 'utf8',
  });
  return { ...run, out, cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

describe('cdk synth through the CLI', () => {
  test('synthesizes the default baseline offline, without credentials or Docker', () => {
    const run = cdkSynth();
    try {
      expect(run.stderr).not.toMatch(/error/i);
      expect(run.status).toBe(0);
      const file = join(run.out, 'ProdBaseline.template.json');
      expect(existsSync(file)).toBe(true);
      const template = JSON.parse(readFileSync(file, 'utf8'));
      // The CLI adds aws-cdk-lib's version-reporting resource; the rest matches the test App's 143.
      const types = Object.values<{ Type: string }>(template.Resources).map((r) => r.Type);
      expect(types.filter((t) => t !== 'AWS::CDK::Metadata')).toHaveLength(143);
    } finally {
      run.cleanup();
    }
  });

  test('fails on bad -c overrides, listing every problem and no stack trace', () => {
    const run = cdkSynth(
      '-c',
      'prodBaseline.desiredCount=0',
      '-c',
      'prodBaseline.region=mars-1',
      '-c',
      'prodBaseline.alertEmails=ops@example.com,nobody',
    );
    try {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(
        [
          'Invalid prod-baseline config (3 problems):',
          '  - prodBaseline.region must be a commercial AWS region such as "us-east-1" or "eu-west-1", got "mars-1"',
          '  - prodBaseline.alertEmails must be a list of at most 10 e-mail addresses such as "oncall@example.com", got "nobody"',
          '  - prodBaseline.desiredCount must be a whole number from 1 to 100, got 0',
        ].join('\n'),
      );
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(join(run.out, 'ProdBaseline.template.json'))).toBe(false);
    } finally {
      run.cleanup();
    }
  });
});
