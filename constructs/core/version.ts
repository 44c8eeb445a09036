import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  // Source (constructs/core) and build (dist/constructs/core) sit two and three levels below the package root.
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8'));
      if (pkg.name === 'prod-baseline') return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  throw new Error('prod-baseline: cannot find its own package.json');
}

/** The version of the kit, as in its package.json. */
export const KIT_VERSION: string = readVersion();
