// The checks a restore drill runs against the restored database, as plain JSON-serializable data.
// This module is bundled into the drill's Lambda function: it must not import aws-cdk-lib.

/** PostgreSQL truncates identifiers longer than this many bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** The schema a table name without a schema refers to. */
export const DEFAULT_SCHEMA = 'public';

/** The value a `sql` check expects in the first column of the first row. */
export type SqlValue = string | number | boolean | null;

/** The table exists (a table, partitioned table, view, materialized view or foreign table). */
export interface TableExistsSpec {
  readonly kind: 'tableExists';
  /** `name` (in the `public` schema) or `schema.name`; matched exactly, case included. */
  readonly table: string;
}

/** The table holds between `min` and `max` rows (inclusive). */
export interface RowCountSpec {
  readonly kind: 'rowCount';
  /** `name` (in the `public` schema) or `schema.name`; matched exactly, case included. */
  readonly table: string;
  /** Fewest rows allowed, a whole number of at least 0. */
  readonly min: number;
  /** Most rows allowed, a whole number of at least `min`; absent means no upper limit. */
  readonly max?: number;
}

/** The newest value of a timestamp column is at most `maxAgeSeconds` older than the restore point. */
export interface FreshnessSpec {
  readonly kind: 'freshness';
  /** `name` (in the `public` schema) or `schema.name`; matched exactly, case included. */
  readonly table: string;
  /** A `timestamptz`, `timestamp` or `date` column of the table, matched exactly, case included. */
  readonly column: string;
  /** Largest allowed data age at the restore point (the recovery point objective), whole seconds. */
  readonly maxAgeSeconds: number;
}

/** A query of the user's own whose first column of the first row must equal `expected`. */
export interface SqlSpec {
  readonly kind: 'sql';
  /** One SQL statement, run as written in a read-only session. */
  readonly query: string;
  /** The value the first column of the first row must have (compared as text; numbers are normalized). */
  readonly expected: SqlValue;
  /** A name for reports; absent means one derived from the query. */
  readonly name?: string;
}

/** One check of a restore drill. JSON-serializable: it travels from the stack to the drill's Lambda function. */
export type DrillCheckSpec = TableExistsSpec | RowCountSpec | FreshnessSpec | SqlSpec;

/** The kinds of check, in the order they are documented. */
export const DRILL_CHECK_KINDS: readonly DrillCheckSpec['kind'][] = ['tableExists', 'rowCount', 'freshness', 'sql'];

/** A table name split into its schema and its name. */
export interface TableName {
  readonly schema: string;
  readonly name: string;
}

const SQL_NAME_QUERY_CHARS = 60;

/**
 * A stable human name for a check, used in reports and results.
 * @example checkName({ kind: 'rowCount', table: 'public.orders', min: 100 }) // 'rowCount(public.orders) >= 100'
 */
export function checkName(spec: DrillCheckSpec): string {
  switch (spec.kind) {
    case 'tableExists':
      return `tableExists(${spec.table})`;
    case 'rowCount':
      return spec.max === undefined
        ? `rowCount(${spec.table}) >= ${spec.min}`
        : `rowCount(${spec.table}) between ${spec.min} and ${spec.max}`;
    case 'freshness':
      return `freshness(${spec.table}.${spec.column}) <= ${spec.maxAgeSeconds}s`;
    case 'sql':
      return spec.name ?? `sql(${abbreviate(spec.query)}) = ${formatSqlValue(spec.expected)}`;
  }
}

/**
 * Splits `schema.name` or `name` (which means `public.name`) into its parts. Call
 * {@link tableNameProblem} first: this does not validate.
 */
export function parseTableName(table: string): TableName {
  const parts = table.split('.');
  return parts.length === 1 ? { schema: DEFAULT_SCHEMA, name: parts[0] } : { schema: parts[0], name: parts[1] };
}

/**
 * Everything wrong with a check spec (an empty list when it is valid). Accepts any value, since specs
 * arrive as JSON.
 * @example checkSpecProblems({ kind: 'rowCount', table: 'a.b.c', min: -1 })
 * // ['table must be "name" or "schema.name", got "a.b.c"', 'rowCount min must be a whole number of at least 0, got -1']
 */
export function checkSpecProblems(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return [`check must be an object with a "kind", got ${describe(spec)}`];
  }
  const s = spec as Record<string, unknown>;
  const problems: (string | undefined)[] = [];
  switch (s.kind) {
    case 'tableExists':
      problems.push(tableNameProblem(s.table));
      break;
    case 'rowCount':
      problems.push(tableNameProblem(s.table), ...rowCountProblems(s.min, s.max, 'rowCount min', 'rowCount max'));
      break;
    case 'freshness':
      problems.push(
        tableNameProblem(s.table),
        columnNameProblem(s.column, 'freshness column'),
        wholeNumberProblem(s.maxAgeSeconds, 'freshness maxAgeSeconds', 1),
      );
      break;
    case 'sql':
      problems.push(
        sqlQueryProblem(s.query, 'sql query'),
        sqlValueProblem(s.expected, 'sql expected'),
        s.name === undefined ? undefined : checkLabelProblem(s.name, 'sql name'),
      );
      break;
    default:
      problems.push(`kind must be one of ${DRILL_CHECK_KINDS.join(', ')}, got ${describe(s.kind)}`);
  }
  return problems.filter((p): p is string => p !== undefined);
}

/** The problem with a table name, or undefined when it is `name` or `schema.name` with valid parts. */
export function tableNameProblem(table: unknown, argument = 'table'): string | undefined {
  const parts = typeof table === 'string' ? table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every(isPlainIdentifier)) {
    return `${argument} must be "name" or "schema.name", got ${describe(table)}`;
  }
  const long = parts.find((p) => byteLength(p) > MAX_IDENTIFIER_BYTES);
  return long === undefined ? undefined : identifierLengthProblem(argument, long);
}

/** The problem with a column name, or undefined when it is one identifier (no table prefix). */
export function columnNameProblem(column: unknown, argument = 'column'): string | undefined {
  if (typeof column !== 'string' || !isPlainIdentifier(column) || column.includes('.')) {
    return `${argument} must be one column name without a table prefix, got ${describe(column)}`;
  }
  return byteLength(column) > MAX_IDENTIFIER_BYTES ? identifierLengthProblem(argument, column) : undefined;
}

/** The problems with a row-count range: `min` a whole number >= 0, `max` (optional) a whole number >= `min`. */
export function rowCountProblems(min: unknown, max: unknown, minArgument = 'min', maxArgument = 'max'): string[] {
  const minProblem = wholeNumberProblem(min, minArgument, 0);
  const floor = minProblem === undefined ? (min as number) : 0;
  const floorText = minProblem === undefined ? `min (${floor})` : '0';
  const maxProblem =
    max === undefined || (isWholeNumber(max) && max >= floor)
      ? undefined
      : `${maxArgument} must be a whole number of at least ${floorText}, got ${describe(max)}`;
  return [minProblem, maxProblem].filter((p): p is string => p !== undefined);
}

/** The problem with a whole-number argument, or undefined when it is a whole number of at least `min`. */
export function wholeNumberProblem(value: unknown, argument: string, min: number): string | undefined {
  return isWholeNumber(value) && value >= min
    ? undefined
    : `${argument} must be a whole number of at least ${min}, got ${describe(value)}`;
}

/** The problem with a `sql` check's query, or undefined when it is a non-empty string. */
export function sqlQueryProblem(query: unknown, argument = 'query'): string | undefined {
  return typeof query === 'string' && query.trim() !== '' && !query.includes('\0')
    ? undefined
    : `${argument} must be a non-empty SQL statement, got ${describe(query)}`;
}

/** The problem with a `sql` check's expected value, or undefined when it is a string, finite number, boolean or null. */
export function sqlValueProblem(value: unknown, argument = 'expected'): string | undefined {
  const ok =
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value));
  return ok ? undefined : `${argument} must be a string, a finite number, a boolean or null, got ${describe(value)}`;
}

/** The problem with a check's display name, or undefined when it is a non-empty single line. */
export function checkLabelProblem(name: unknown, argument = 'name'): string | undefined {
  return typeof name === 'string' && name.trim() !== '' && !/[\r\n\0]/.test(name)
    ? undefined
    : `${argument} must be a non-empty single line of text, got ${describe(name)}`;
}

/** How a value appears in problem messages: strings in double quotes, other values as JSON. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** How a `sql` check's value appears in names and messages: strings quoted, others as they are. */
export function formatSqlValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Non-empty, no surrounding spaces, no NUL: anything else in a table name is almost always a typo. */
function isPlainIdentifier(part: string): boolean {
  return part !== '' && part.trim() === part && !part.includes('\0');
}

function identifierLengthProblem(argument: string, part: string): string {
  return `${argument} parts must be at most ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL's identifier limit), got "${part}" (${byteLength(part)} bytes)`;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function abbreviate(query: string): string {
  const oneLine = query.trim().replace(/\s+/g, ' ');
  return oneLine.length <= SQL_NAME_QUERY_CHARS ? oneLine : `${oneLine.slice(0, SQL_NAME_QUERY_CHARS - 1)}…`;
}
