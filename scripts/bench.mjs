// `npm run bench [-- --runs N] [-- --skip-tests]`: measures and prints JSON (never asserts timings).
//  - median wall time of N `cdk synth` runs of the baseline app and of an empty CDK app (same CLI, same
//    runner: tsx), and their ratio;
//  - wall time of one `npm test`;
//  - size and resource count of the synthesized baseline template;
//  - the size of each bundled Lambda handler (the package build's output);
//  - the wall time of `restore-drill --local` against moto_server and a local TLS PostgreSQL: jest's
//    own duration of the end-to-end test, median of N runs (it includes the test's few-ms set-up);
//  - the overhead of `rollback` against moto (waits are instant there, so this is the command's own
//    time): jest's duration of the Lambda-alias and the ECS-redeploy end-to-end tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Math.max(3, Number(args[args.indexOf('--runs') + 1]) || 3);
const skipTests = args.includes('--skip-tests');
const cdk = join(root, 'node_modules', '.bin', 'cdk');

function timed(command, commandArgs, env = {}) {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, commandArgs, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error(`${command} ${commandArgs.join(' ')} exited ${run.status}`);
  }
  return seconds;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, digits = 2) => Number(x.toFixed(digits));

function synthTimes(appCommand, out) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    times.push(timed(cdk, ['synth', '--quiet', '-o', out, ...(appCommand ? ['--app', appCommand] : [])]));
  }
  return times;
}

/** Bundles the handlers as the package build does and reports each bundle's size. */
function handlerSizes() {
  timed('npm', ['run', 'build', '--silent']);
  const sizes = {};
  const dist = join(root, 'dist', 'constructs');
  for (const entry of readdirSync(dist, { recursive: true }).map(String)) {
    if (/\.(handler|canary)[/\\]/.test(entry) && entry.endsWith('.js')) {
      sizes[entry.replace(/\\/g, '/')] = round(statSync(join(dist, entry)).size / 1024, 0);
    }
  }
  return sizes;
}

/** jest's duration of one named end-to-end test, once per run. */
function testSeconds(dir, file, name) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const out = join(dir, `test-${times.length}-${Date.now()}.json`);
    timed(process.execPath, [
      join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      file,
      '-t',
      name,
      '--json',
      `--outputFile=${out}`,
    ]);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const test = report.testResults[0].assertionResults.find((t) => t.title.endsWith(name) && t.status === 'passed');
    times.push(test.duration / 1000);
  }
  return times;
}

function localDrillSeconds(dir) {
  return testSeconds(
    dir,
    'test/scripts/restore-drill.test.ts',
    'restores, proves the data, publishes the figures and deletes the drill instance',
  );
}

const work = mkdtempSync(join(tmpdir(), 'pb-bench-'));
try {
  const baselineOut = join(work, 'baseline');
  const baseline = synthTimes(undefined, baselineOut);
  const empty = synthTimes('npx tsx scripts/bench/empty-app.ts', join(work, 'empty'));
  const templateFile = join(baselineOut, 'ProdBaseline.template.json');
  const template = JSON.parse(readFileSync(templateFile, 'utf8'));
  const npmTestSeconds = skipTests ? null : timed('npm', ['test', '--silent']);
  const handlers = handlerSizes();
  const drillSeconds = localDrillSeconds(work);
  const rollbackLambda = testSeconds(
    work,
    'test/scripts/rollback-moto.test.ts',
    'points the alias from version 2 back at version 1 and reports the time',
  );
  const rollbackEcs = testSeconds(
    work,
    'test/scripts/rollback-moto.test.ts',
    'redeploys the previous task definition with UpdateService and is done when traffic is on blue and healthy',
  );

  const result = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    runs,
    synthSeconds: {
      baselineMedian: round(median(baseline)),
      emptyAppMedian: round(median(empty)),
      ratio: round(median(baseline) / median(empty)),
      baseline: baseline.map((x) => round(x)),
      emptyApp: empty.map((x) => round(x)),
    },
    npmTestSeconds: npmTestSeconds === null ? null : round(npmTestSeconds, 1),
    template: {
      bytes: statSync(templateFile).size,
      resources: Object.keys(template.Resources).length,
    },
    handlerBundleKiB: handlers,
    restoreDrillLocalSeconds: { median: round(median(drillSeconds), 3), runs: drillSeconds.map((x) => round(x, 3)) },
    rollbackOverheadSeconds: {
      lambdaAliasMedian: round(median(rollbackLambda), 3),
      ecsRedeployMedian: round(median(rollbackEcs), 3),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
