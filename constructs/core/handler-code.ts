import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { PACKAGE_ROOT } from './package-root';

/**
 * How every Lambda handler of the kit is bundled (by the package build, or on the fly in the source
 * tree): one minified CommonJS file for Node.js 22, with its dependencies (the AWS SDK clients
 * included, so behaviour does not drift with the runtime's copy). esbuild's output is deterministic,
 * so an asset hash changes only when the code does.
 */
export const HANDLER_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
} as const;

/** The Lambda runtime every kit handler runs on. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

const bundledThisProcess = new Set<string>();

/**
 * The directory holding the bundle of `<name>.handler.ts`, which sits next to the construct that
 * calls this (pass its `__dirname`). The published package ships the bundle beside the compiled
 * construct; in the source tree it is bundled now, once per process, into `.handlers/`.
 */
export function handlerBundleDir(constructDir: string, name: string): string {
  const shipped = join(constructDir, `${name}.handler`);
  if (existsSync(join(shipped, 'index.js'))) return shipped;
  const source = join(constructDir, `${name}.handler.ts`);
  if (!existsSync(source)) {
    throw new Error(`prod-baseline: handler bundle ${shipped}/index.js is missing; run "npm run build"`);
  }
  const out = join(PACKAGE_ROOT, '.handlers', relative(PACKAGE_ROOT, constructDir), `${name}.handler`);
  if (!bundledThisProcess.has(out)) {
    // esbuild is a development dependency: it is only needed here, in the source tree.
    const esbuild = require('esbuild') as typeof import('esbuild');
    mkdirSync(out, { recursive: true });
    const temp = join(out, `index.js.${process.pid}.tmp`);
    esbuild.buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [source], outfile: temp });
    // Parallel test workers bundle the same handler: write aside, then rename into place.
    renameSync(temp, join(out, 'index.js'));
    bundledThisProcess.add(out);
  }
  return out;
}

/** `lambda.Code` for a kit handler (see {@link handlerBundleDir}). */
export function handlerCode(constructDir: string, name: string): lambda.Code {
  return lambda.Code.fromAsset(handlerBundleDir(constructDir, name));
}
