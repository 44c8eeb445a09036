// `npm run docs:config`: rewrites the README's config table from lib/config.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withConfigTable } from '../lib/config-docs';

const file = join(__dirname, '..', 'README.md');
writeFileSync(file, withConfigTable(readFileSync(file, 'utf8')));
process.stdout.write('README.md: config table updated\n');
