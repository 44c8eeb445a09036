// Package build (`npm run build`, also run by `npm pack`): compiles the library and the command with
// tsc into dist/, then bundles every Lambda handler (constructs/**/*.handler.ts) with esbuild into
// dist/constructs/<capability>/<name>.handler/index.js, and every Synthetics canary script
// (constructs/**/*.canary.ts) into dist/constructs/<capability>/<name>.canary/nodejs/node_modules/index.js,
// with the same options the source tree uses, so the constructs ship ready assets and consumers need
// neither esbuild nor Docker.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { CANARY_BUNDLE_OPTIONS, CANARY_SCRIPT_PATH, HANDLER_BUNDLE_OPTIONS } from '../constructs/core/handler-code';

const root = join(__dirname, '..');
const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
chmodSync(join(root, 'dist', 'scripts', 'cli.js'), 0o755);

const sources = readdirSync(join(root, 'constructs'), { recursive: true }).map(String).sort();
const bundles = [
  ...sources
    .filter((f) => f.endsWith('.handler.ts'))
    .map((f) => ({ source: f, script: 'index.js', options: HANDLER_BUNDLE_OPTIONS })),
  ...sources
    .filter((f) => f.endsWith('.canary.ts'))
    .map((f) => ({ source: f, script: CANARY_SCRIPT_PATH, options: CANARY_BUNDLE_OPTIONS })),
];
for (const { source, script, options } of bundles) {
  const outfile = join(root, 'dist', 'constructs', source.replace(/\.ts$/, ''), script);
  buildSync({ ...options, entryPoints: [join(root, 'constructs', source)], outfile });
  process.stderr.write(`bundled constructs/${source}: ${(statSync(outfile).size / 1024).toFixed(0)} KiB\n`);
}
const canaries = bundles.filter((b) => b.source.endsWith('.canary.ts')).length;
process.stderr.write(
  `build: ${bundles.length - canaries} handler bundle(s), ${canaries} canary bundle(s), ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
