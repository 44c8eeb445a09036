import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackage(from: string): { root: string; version: string } {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'prod-baseline') return { root: dir, version: pkg.version };
    } catch {
      // not here; go up
    }
  }
  throw new Error('prod-baseline: cannot find its own package.json');
}

const found = findPackage(__dirname);

/** The kit's package directory: the repository in the source tree, `node_modules/prod-baseline` when installed. */
export const PACKAGE_ROOT: string = found.root;
/** The version of the kit, as in its package.json. */
export const PACKAGE_VERSION: string = found.version;
