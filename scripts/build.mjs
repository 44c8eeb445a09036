// Package build: compiles the library and commands with tsc into dist/, then bundles every Lambda
// handler (constructs/**/*.handler.ts) with esbuild into dist/constructs/<capability>/<name>.handler/index.js,
// so constructs ship ready assets (Code.fromAsset) and consumers need neither esbuild nor Docker.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
chmodSync(join(root, 'dist', 'scripts', 'cli.js'), 0o755);

const handlers = readdirSync(join(root, 'constructs'), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.handler.ts'))
  .sort();
for (const handler of handlers) {
  const source = join(root, 'constructs', handler);
  const outdir = join(root, 'dist', 'constructs', handler.replace(/\.ts$/, ''));
  await build({
    entryPoints: [source],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    // The Lambda Node.js runtime ships AWS SDK v3; bundling our own pinned clients keeps behaviour fixed.
    external: [],
    logLevel: 'warning',
  });
  process.stderr.write(`bundled ${relative(root, source)}\n`);
}
process.stderr.write(`build: ${handlers.length} handler bundle(s), ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
