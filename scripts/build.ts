// Package build (`npm run build`, also run by `npm pack`): compiles the library and the command with
// tsc into dist/, then bundles every Lambda handler (constructs/**/*.handler.ts) with esbuild into
// dist/constructs/<capability>/<name>.handler/index.js, with the same options the source tree uses, so
// the constructs ship ready assets and consumers need neither esbuild nor Docker.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS } from '../constructs/core/handler-code';

const root = join(__dirname, '..');
const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
chmodSync(join(root, 'dist', 'scripts', 'cli.js'), 0o755);

const handlers = readdirSync(join(root, 'constructs'), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.handler.ts'))
  .sort();
for (const handler of handlers) {
  const outfile = join(root, 'dist', 'constructs', handler.replace(/\.ts$/, ''), 'index.js');
  buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [join(root, 'constructs', handler)], outfile });
  process.stderr.write(`bundled constructs/${handler}: ${(statSync(outfile).size / 1024).toFixed(0)} KiB\n`);
}
process.stderr.write(`build: ${handlers.length} handler bundle(s), ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
