import { CONFIG_CONTEXT_KEY, SETTING_NAMES, SETTINGS } from './config';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

/** The README's config table, generated from the settings table so the docs cannot drift. */
export function configTableMarkdown(): string {
  const cell = (value: unknown) => `\`${JSON.stringify(value)}\``;
  const rows = SETTING_NAMES.map((name) => {
    const spec = SETTINGS[name];
    // The profile column headers are the profile's own value.
    const production = name === 'profile' ? 'production' : spec.defaults.production;
    return `| \`${name}\` | ${cell(spec.defaults.dev)} | ${cell(production)} | ${spec.description} Must be ${spec.allowed.replace(/\|/g, '\\|')}. |`;
  });
  return [
    `| \`${CONFIG_CONTEXT_KEY}.\` setting | \`dev\` default | \`production\` default | meaning and allowed values |`,
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Replaces the table between the README's markers. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${configTableMarkdown()}\n${readme.slice(end)}`;
}
