import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
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

/**
 * How every CloudWatch Synthetics canary script of the kit is bundled: as a handler, except that the
 * modules the Synthetics runtime provides stay outside the bundle (both the legacy names and the
 * `@aws/synthetics-*` names that `syn-nodejs-puppeteer-13.1` and later use).
 */
export const CANARY_BUNDLE_OPTIONS = {
  ...HANDLER_BUNDLE_OPTIONS,
  external: ['Synthetics', 'SyntheticsLogger', '@aws/synthetics-puppeteer', '@aws/synthetics-logger'] as string[],
};

/**
 * Where a canary bundle keeps its script, relative to the bundle directory: Node.js Puppeteer
 * runtimes load the handler `index.handler` from `nodejs/node_modules/index.js` (every version
 * accepts this layout; only 11.0 and later also accept `index.js` at the root).
 */
export const CANARY_SCRIPT_PATH = join('nodejs', 'node_modules', 'index.js');

/** The handler of every kit canary script, as the Synthetics runtime resolves it in {@link CANARY_SCRIPT_PATH}. */
export const CANARY_HANDLER = 'index.handler';

const bundledThisProcess = new Set<string>();

interface BundleKind {
  /** Suffix of the source file and of the bundle directory: `handler` or `canary`. */
  readonly suffix: string;
  /** Path of the script inside the bundle directory. */
  readonly script: string;
  readonly options: typeof HANDLER_BUNDLE_OPTIONS & { readonly external?: string[] };
}

const HANDLER_KIND: BundleKind = { suffix: 'handler', script: 'index.js', options: HANDLER_BUNDLE_OPTIONS };
const CANARY_KIND: BundleKind = { suffix: 'canary', script: CANARY_SCRIPT_PATH, options: CANARY_BUNDLE_OPTIONS };

/**
 * The directory holding the bundle of `<name>.<suffix>.ts`, which sits next to the construct that
 * calls this. The published package ships the bundle beside the compiled construct; in the source
 * tree it is bundled now, once per process, into `.handlers/`.
 */
function bundleDir(constructDir: string, name: string, kind: BundleKind): string {
  const shipped = join(constructDir, `${name}.${kind.suffix}`);
  if (existsSync(join(shipped, kind.script))) return shipped;
  const source = join(constructDir, `${name}.${kind.suffix}.ts`);
  if (!existsSync(source)) {
    throw new Error(
      `prod-baseline: ${kind.suffix} bundle ${join(shipped, kind.script)} is missing; run "npm run build"`,
    );
  }
  const out = join(PACKAGE_ROOT, '.handlers', relative(PACKAGE_ROOT, constructDir), `${name}.${kind.suffix}`);
  if (!bundledThisProcess.has(out)) {
    // esbuild is a development dependency: it is only needed here, in the source tree.
    const esbuild = require('esbuild') as typeof import('esbuild');
    const outfile = join(out, kind.script);
    mkdirSync(dirname(outfile), { recursive: true });
    // Parallel test workers bundle the same handler: write beside the bundle directory (never
    // inside it, where an asset could pick the partial file up), then rename into place.
    const temp = `${out}.${process.pid}.tmp.js`;
    esbuild.buildSync({ ...kind.options, entryPoints: [source], outfile: temp });
    renameSync(temp, outfile);
    bundledThisProcess.add(out);
  }
  return out;
}

/**
 * The directory holding the bundle of `<name>.handler.ts`, which sits next to the construct that
 * calls this (pass its `__dirname`). The published package ships the bundle beside the compiled
 * construct; in the source tree it is bundled now, once per process, into `.handlers/`.
 */
export function handlerBundleDir(constructDir: string, name: string): string {
  return bundleDir(constructDir, name, HANDLER_KIND);
}

/** `lambda.Code` for a kit handler (see {@link handlerBundleDir}). */
export function handlerCode(constructDir: string, name: string): lambda.Code {
  return lambda.Code.fromAsset(handlerBundleDir(constructDir, name));
}

/**
 * The directory holding the bundle of the canary script `<name>.canary.ts`, laid out as the
 * Synthetics Node.js runtimes expect ({@link CANARY_SCRIPT_PATH}); shipped or bundled like
 * {@link handlerBundleDir}.
 */
export function canaryBundleDir(constructDir: string, name: string): string {
  return bundleDir(constructDir, name, CANARY_KIND);
}

/** `synthetics.Code` for a kit canary script, run with the handler {@link CANARY_HANDLER}. */
export function canaryCode(constructDir: string, name: string): synthetics.Code {
  return synthetics.Code.fromAsset(canaryBundleDir(constructDir, name));
}
