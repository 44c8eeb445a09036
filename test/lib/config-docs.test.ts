import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES } from '../../lib/config';
import { configTableMarkdown, withConfigTable } from '../../lib/config-docs';
import { ROOT } from '../helpers';

describe('README config table', () => {
  test('is up to date with lib/config.ts (run `npm run docs:config`)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
  });

  test('has a row with both profile defaults for every setting', () => {
    const table = configTableMarkdown();
    expect(table.split('\n')).toHaveLength(SETTING_NAMES.length + 2);
    expect(table).toContain(
      '| `backupRetentionDays` | `7` | `14` | Days automated database backups (and point-in-time recovery) are kept. Must be a whole number from 1 to 35. |',
    );
  });

  test('fails without the markers', () => {
    expect(() => withConfigTable('# no table')).toThrow(
      'README.md lacks the <!-- config-table:start --> … <!-- config-table:end --> markers',
    );
  });
});
