// What a restore drill needs to run, as JSON. The construct writes it to an SSM parameter; the
// drill's Lambda functions and `prod-baseline restore-drill` read it from there (or `--spec FILE`).
// This module is bundled into the Lambda functions: it must not import aws-cdk-lib.
import { checkSpecProblems, type DrillCheckSpec } from './check-spec';

/** The format version of a drill spec. */
export const DRILL_SPEC_VERSION = 1;

/** Metric namespace of every drill metric. */
export const DRILL_NAMESPACE = 'ProdBaseline/RestoreDrill';
/** The metric dimension: the source instance identifier. */
export const DRILL_DIMENSION = 'SourceInstance';

/** Tag keys that mark and describe a drill instance. The IAM policies condition on the first. */
export const DRILL_TAGS = {
  /** Marks an instance as a drill instance; its value is the source instance identifier. */
  source: 'prod-baseline:drill-source',
  /** The drill run that created the instance. */
  run: 'prod-baseline:drill-run',
  /** ISO time after which the sweeper deletes a kept instance (set by `--keep`). */
  keepUntil: 'prod-baseline:drill-keep-until',
} as const;

export interface DrillSpec {
  readonly version: number;
  /** Identifier of the instance whose backups are restored. */
  readonly sourceInstanceIdentifier: string;
  /** Prefix of every drill instance identifier (`<prefix>-<source>-<run>`). */
  readonly instancePrefix: string;
  /** DB subnet group of the drill instance (isolated subnets). */
  readonly subnetGroupName: string;
  /** Security groups of the drill instance (its own, reachable only from the verify function). */
  readonly securityGroupIds: readonly string[];
  /** Parameter group of the drill instance: the source's, so TLS enforcement and settings match. */
  readonly parameterGroupName?: string;
  /** Instance class of the drill instance, with the `db.` prefix. */
  readonly instanceClass: string;
  /** Database the checks run in. */
  readonly databaseName: string;
  /** The checks; none means "list the tables and count their rows". */
  readonly checks: readonly DrillCheckSpec[];
  /** Restore from the latest automated snapshot instead of the latest restorable time. */
  readonly useLatestSnapshot?: boolean;
  /** Longest wait for the restored instance to become available, seconds. */
  readonly maxWaitSeconds: number;
  /** Longest life of a drill instance before the sweeper deletes it, seconds. */
  readonly maxInstanceAgeSeconds: number;
  /** SSM parameter holding the time of the last successful drill. */
  readonly lastSuccessParameter: string;
  /** Recovery point objective: the largest acceptable restore-point lag, seconds. */
  readonly rpoTargetSeconds: number;
  /** Recovery time objective: the longest acceptable restore, seconds. */
  readonly rtoTargetSeconds: number;
}

/** Hard cap on the life of a drill instance, whatever `--keep` asks for. */
export const MAX_KEEP_SECONDS = 7 * 24 * 3600;

const IDENTIFIER = /^[a-z][a-z0-9-]*$/i;

/** Every problem of a drill spec (an empty list when it is usable). */
export function drillSpecProblems(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return ['the drill spec must be a JSON object'];
  const s = spec as Partial<DrillSpec>;
  const problems: string[] = [];
  const text = (key: keyof DrillSpec, pattern?: RegExp) => {
    const value = s[key];
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
      problems.push(
        `${key} must be ${pattern ? 'an RDS identifier' : 'a non-empty string'}, got ${JSON.stringify(value)}`,
      );
    }
  };
  const seconds = (key: keyof DrillSpec) => {
    const value = s[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      problems.push(`${key} must be a whole number of seconds of at least 1, got ${JSON.stringify(value)}`);
    }
  };
  if (s.version !== DRILL_SPEC_VERSION) {
    problems.push(`version must be ${DRILL_SPEC_VERSION}, got ${JSON.stringify(s.version)}`);
  }
  text('sourceInstanceIdentifier', IDENTIFIER);
  text('instancePrefix', IDENTIFIER);
  text('subnetGroupName');
  text('instanceClass');
  text('databaseName');
  text('lastSuccessParameter');
  if (!Array.isArray(s.securityGroupIds) || s.securityGroupIds.some((g) => typeof g !== 'string')) {
    problems.push(`securityGroupIds must be a list of security group IDs, got ${JSON.stringify(s.securityGroupIds)}`);
  }
  for (const key of ['maxWaitSeconds', 'maxInstanceAgeSeconds', 'rpoTargetSeconds', 'rtoTargetSeconds'] as const) {
    seconds(key);
  }
  if (!Array.isArray(s.checks)) {
    problems.push(`checks must be a list, got ${JSON.stringify(s.checks)}`);
  } else {
    s.checks.forEach((check, i) => {
      for (const problem of checkSpecProblems(check)) problems.push(`checks[${i}]: ${problem}`);
    });
  }
  return problems;
}

/** Parses and checks a drill spec, throwing one error that lists every problem. */
export function parseDrillSpec(text: string, source: string): DrillSpec {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    throw new Error(`the drill spec in ${source} is not JSON`);
  }
  const problems = drillSpecProblems(spec);
  if (problems.length > 0) {
    throw new Error(`the drill spec in ${source} is invalid: ${problems.join('; ')}`);
  }
  return spec as DrillSpec;
}
