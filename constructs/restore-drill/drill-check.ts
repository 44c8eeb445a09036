import { type Duration, Token } from 'aws-cdk-lib';
import {
  checkLabelProblem,
  checkName,
  checkSpecProblems,
  columnNameProblem,
  type DrillCheckSpec,
  rowCountProblems,
  type SqlValue,
  sqlQueryProblem,
  sqlValueProblem,
  tableNameProblem,
} from './check-spec';

/** Options of {@link DrillCheck.rowCount}. */
export interface RowCountOptions {
  /**
   * Fewest rows the restored table may hold: a whole number of at least 0. A restore that brings back
   * an empty or half-empty table fails the drill.
   */
  readonly min: number;
  /**
   * Most rows the restored table may hold: a whole number of at least `min`.
   * @default - no upper limit
   */
  readonly max?: number;
}

/** Options of {@link DrillCheck.freshness}. */
export interface FreshnessOptions {
  /**
   * Largest allowed age of the newest row at the restore point: your recovery point objective (RPO)
   * for this table. The age is the restore point minus the column's newest value; rows newer than the
   * restore point count as age 0. A whole number of seconds, at least 1 second.
   */
  readonly maxAge: Duration;
}

/** Options of {@link DrillCheck.sql}. */
export interface SqlCheckOptions {
  /**
   * The check's name in drill reports and results: one line of text.
   * @default - derived from the query and the expected value, e.g. `sql(select count(*) from orders) = 0`
   */
  readonly name?: string;
}

/**
 * A check that a restore drill runs against the restored database to prove the data came back.
 * Each check runs in a read-only session over TLS; tables and columns are matched exactly (case
 * included, as stored in the catalog), and a table without a schema is in the `public` schema.
 *
 * @example
 * const checks = [
 *   DrillCheck.tableExists('public.orders'),
 *   DrillCheck.rowCount('public.orders', { min: 1000 }),
 *   DrillCheck.freshness('public.orders', 'created_at', { maxAge: Duration.hours(1) }),
 *   DrillCheck.sql('select count(*) from public.orders where total < 0', 0),
 * ];
 */
export class DrillCheck {
  /**
   * The table exists: a table, partitioned table, view, materialized view or foreign table.
   * @param table `name` (in the `public` schema) or `schema.name`
   */
  public static tableExists(table: string): DrillCheck {
    throwIfProblems('tableExists', [stringProblem(table, tableNameProblem)]);
    return new DrillCheck({ kind: 'tableExists', table });
  }

  /**
   * The table holds between `options.min` and `options.max` rows (inclusive), counted with `count(*)`.
   * @param table `name` (in the `public` schema) or `schema.name`
   */
  public static rowCount(table: string, options: RowCountOptions): DrillCheck {
    const { min, max } = options;
    const rangeProblems =
      Token.isUnresolved(min) || (max !== undefined && Token.isUnresolved(max)) ? [] : rowCountProblems(min, max);
    throwIfProblems('rowCount', [stringProblem(table, tableNameProblem), ...rangeProblems]);
    return new DrillCheck(max === undefined ? { kind: 'rowCount', table, min } : { kind: 'rowCount', table, min, max });
  }

  /**
   * The restored data is fresh enough: the newest value of `timestampColumn` is at most
   * `options.maxAge` older than the restore point. This is the check that measures the recovery point.
   * @param table `name` (in the `public` schema) or `schema.name`
   * @param timestampColumn a `timestamptz`, `timestamp` (read as UTC) or `date` column of the table
   */
  public static freshness(table: string, timestampColumn: string, options: FreshnessOptions): DrillCheck {
    const { seconds, problem } = maxAgeSeconds(options.maxAge);
    throwIfProblems('freshness', [
      stringProblem(table, tableNameProblem),
      stringProblem(timestampColumn, (v) => columnNameProblem(v, 'timestampColumn')),
      problem,
    ]);
    return new DrillCheck({ kind: 'freshness', table, column: timestampColumn, maxAgeSeconds: seconds });
  }

  /**
   * A query of your own returns `expected` in the first column of its first row. The query runs as
   * written, as one statement in a read-only session. Values compare as text after normalizing:
   * `1.50` equals `1.5`, `true` equals the boolean true, and `null` only equals SQL NULL.
   * @param query one SQL statement, such as `select count(*) from orders where total < 0`
   * @param expected a string, a finite number, a boolean or null
   */
  public static sql(query: string, expected: SqlValue, options: SqlCheckOptions = {}): DrillCheck {
    const { name } = options;
    throwIfProblems('sql', [
      stringProblem(query, sqlQueryProblem),
      Token.isUnresolved(expected) ? undefined : sqlValueProblem(expected),
      name === undefined ? undefined : stringProblem(name, checkLabelProblem),
    ]);
    return new DrillCheck(
      name === undefined ? { kind: 'sql', query, expected } : { kind: 'sql', query, expected, name },
    );
  }

  /**
   * A check from its JSON form, as `check.spec` gives it (for checks kept in configuration files).
   * @throws Error listing every problem of the spec
   */
  public static fromSpec(spec: DrillCheckSpec): DrillCheck {
    const problems = checkSpecProblems(spec);
    if (problems.length > 0) throw new Error(`DrillCheck.fromSpec: ${problems.join('; ')}`);
    return new DrillCheck(spec);
  }

  /** The check as JSON-serializable data, as the drill's Lambda function receives it. */
  public readonly spec: DrillCheckSpec;
  /** The check's name in reports, such as `rowCount(public.orders) >= 100`. */
  public readonly name: string;

  private constructor(spec: DrillCheckSpec) {
    this.spec = spec;
    this.name = checkName(spec);
  }
}

/** Whole seconds of `maxAge`, or the problem with it (skipped when it is an unresolved Token). */
function maxAgeSeconds(maxAge: Duration): { seconds: number; problem?: string } {
  if (maxAge.isUnresolved()) {
    try {
      return { seconds: maxAge.toSeconds() };
    } catch {
      return {
        seconds: 0,
        problem: `maxAge comes from a Token, so it must be given as Duration.seconds(), got ${maxAge.toHumanString()}`,
      };
    }
  }
  const seconds = maxAge.toSeconds({ integral: false });
  const problem =
    Number.isInteger(seconds) && seconds >= 1
      ? undefined
      : `maxAge must be a whole number of seconds, at least 1 second, got ${maxAge.toHumanString()}`;
  return { seconds, problem };
}

/** Runs a string validator unless the value is an unresolved Token (known only at deploy time). */
function stringProblem(value: string, validate: (value: string) => string | undefined): string | undefined {
  return typeof value === 'string' && Token.isUnresolved(value) ? undefined : validate(value);
}

function throwIfProblems(factory: string, problems: readonly (string | undefined)[]): void {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new Error(`DrillCheck.${factory}: ${found.join('; ')}`);
}
