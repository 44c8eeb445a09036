import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readmeConsumerExample } from '../helpers';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
let work: string;
let tarball: string;
let packedFiles: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'pb-pack-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  tarball = join(work, packed[0].filename);
  packedFiles = packed[0].files.map((f: { path: string }) => f.path);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed kit', () => {
  test('holds compiled JavaScript and declarations, and no tests, sources or cdk.out', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/constructs/index.js',
        'dist/constructs/index.d.ts',
        'dist/lib/index.js',
        'dist/scripts/cli.js',
      ]),
    );
    expect(
      packedFiles.filter(
        (f) => /^(test|cdk\.out|constructs|lib|scripts|bin)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
  });

  test('declares aws-cdk-lib and constructs as peers only', () => {
    expect(pkg.peerDependencies).toEqual({ 'aws-cdk-lib': '^2.276.0', constructs: '^10.0.0' });
    expect(pkg.dependencies['aws-cdk-lib']).toBeUndefined();
    expect(pkg.devDependencies['aws-cdk-lib']).toBe('2.276.0');
  });

  test('installs offline into a new project whose own stack type-checks and synthesizes', () => {
    const consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }),
    );
    const cdkLib = pkg.devDependencies['aws-cdk-lib'];
    const constructsVersion = pkg.devDependencies.constructs;
    execFileSync(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        tarball,
        `aws-cdk-lib@${cdkLib}`,
        `constructs@${constructsVersion}`,
      ],
      { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // One copy of aws-cdk-lib: the consumer's.
    expect(existsSync(join(consumer, 'node_modules', 'prod-baseline', 'node_modules', 'aws-cdk-lib'))).toBe(false);

    writeFileSync(join(consumer, 'app.ts'), readmeConsumerExample());
    // The whole baseline as a library, composed into the consumer's own App.
    writeFileSync(
      join(consumer, 'baseline.ts'),
      [
        "import { App } from 'aws-cdk-lib';",
        "import { BaselineStack, resolveConfig } from 'prod-baseline/lib';",
        'const app = new App();',
        "const config = resolveConfig({ base: { profile: 'production', stackName: 'ShopBaseline' } });",
        "new BaselineStack(app, 'Baseline', { config });",
        'app.synth();',
      ].join('\n'),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
          // skipLibCheck is off so the kit's own declarations are checked; aws-cdk-lib's need esnext.disposable.
          lib: ['es2022', 'esnext.disposable'],
        },
        files: ['app.ts', 'baseline.ts'],
      }),
    );
    const typecheck = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    expect(typecheck.stdout + typecheck.stderr).toBe('');
    expect(typecheck.status).toBe(0);

    const out = join(consumer, 'cdk.out');
    const synth = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['app.ts'], {
      cwd: consumer,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CDK_OUTDIR: out, CDK_VALIDATION: 'false' },
    });
    expect(synth.stderr).toBe('');
    expect(synth.status).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'ShopStack.template.json'), 'utf8'));
    const types = Object.values<{ Type: string }>(template.Resources).map((r) => r.Type);
    expect(types).toEqual(
      expect.arrayContaining(['AWS::RDS::DBInstance', 'AWS::SNS::Topic', 'AWS::ECS::Service', 'AWS::SSM::Parameter']),
    );
    const roles = Object.values<any>(template.Resources)
      .map((r) => r.Metadata?.['prod-baseline']?.role)
      .filter(Boolean);
    expect(roles).toEqual(
      expect.arrayContaining(['database', 'alert-topic', 'app-service', 'production-listener-rule']),
    );
    expect(template.Outputs.ProdBaselineManifest).toBeDefined();

    const baseline = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['baseline.ts'], {
      cwd: consumer,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CDK_OUTDIR: out, CDK_VALIDATION: 'false' },
    });
    expect(baseline.stderr).toBe('');
    expect(baseline.status).toBe(0);
    const baselineTemplate = JSON.parse(readFileSync(join(out, 'Baseline.template.json'), 'utf8'));
    expect(Object.values<{ Type: string }>(baselineTemplate.Resources).map((r) => r.Type)).toContain(
      'AWS::ElasticLoadBalancingV2::ListenerRule',
    );
  }, 180_000);
});
