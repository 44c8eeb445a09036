// The steps of a restore drill, shared by the drill's Lambda functions and by
// `prod-baseline restore-drill --local`. Every AWS call goes through clients passed in, with bounded
// retries. This module is bundled into the Lambda functions: it must not import aws-cdk-lib.
import { CloudWatchClient, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import {
  type DBInstance,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AWS_CLIENT_CONFIG } from '../core/aws-clients';
import { DRILL_DIMENSION, DRILL_NAMESPACE, DRILL_TAGS, type DrillSpec, MAX_KEEP_SECONDS } from './drill-spec';

/** The AWS clients a drill uses. `sleep` is injectable so tests do not wait. */
export interface DrillClients {
  readonly rds: RDSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly ssm: SSMClient;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Options for the clients a drill creates itself: bounded retries and timeouts on every call. */
export const DRILL_CLIENT_CONFIG = AWS_CLIENT_CONFIG;

/** Creates the clients of a drill for one region with {@link DRILL_CLIENT_CONFIG}. */
export function createDrillClients(region?: string): DrillClients {
  const config = { ...DRILL_CLIENT_CONFIG, region };
  return { rds: new RDSClient(config), cloudwatch: new CloudWatchClient(config), ssm: new SSMClient(config) };
}

/** Why a drill stopped. The command maps `timeout` and AWS errors to exit code 3. */
export type DrillErrorCode =
  | 'source-missing'
  | 'no-backups'
  | 'bad-restore-time'
  | 'no-snapshot'
  | 'locked'
  | 'restore-failed'
  | 'timeout'
  | 'refused';

export class DrillError extends Error {
  constructor(
    public readonly code: DrillErrorCode,
    message: string,
  ) {
    super(message);
    // Step Functions reports a Lambda error by its name: the code travels with it (DrillError.timeout).
    this.name = `DrillError.${code}`;
  }
}

/** The point in time a drill restores. */
export interface RestorePoint {
  readonly kind: 'latest-restorable' | 'time' | 'snapshot';
  /** ISO time the restored data reproduces. */
  readonly time: string;
  readonly snapshotIdentifier?: string;
}

/** One drill run, as it travels between the steps (and through Step Functions state). No secrets. */
export interface DrillRun {
  readonly runId: string;
  /** ISO time the drill started. */
  readonly startedAt: string;
  readonly point: RestorePoint;
  readonly instanceIdentifier: string;
  /** ISO time the restore was requested. */
  readonly restoreStartedAt?: string;
  /** ISO time until which a kept instance survives the sweeper (`--keep`). */
  readonly keepUntil?: string;
}

/** What the caller may ask of a run. */
export interface DrillRequest {
  /** Restore to this ISO time instead of the latest restorable time. */
  readonly restoreTime?: string;
  /** Restore from the latest automated snapshot. */
  readonly useLatestSnapshot?: boolean;
  /** Keep the drill instance for investigation until this ISO time (capped at 7 days). */
  readonly keepUntil?: string;
}

const RETRYABLE = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'ServiceUnavailable',
  'InternalFailure',
]);

/**
 * Runs an AWS call with bounded retries on throttling and transient errors (5 attempts, exponential
 * backoff with jitter from 200 ms), on top of the SDK's own.
 */
export async function withRetries<T>(clients: Pick<DrillClients, 'sleep'>, call: () => Promise<T>): Promise<T> {
  const sleep = clients.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const retryable = RETRYABLE.has(name) || (error as { $retryable?: unknown })?.$retryable !== undefined;
      if (!retryable || attempt >= 5) throw error;
      await sleep(200 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
  }
}

/** A run ID: the start time in base 36, short enough for an RDS identifier and sortable. */
export function newRunId(now: Date): string {
  return now.getTime().toString(36);
}

/**
 * A run ID from a Step Functions execution name (a UUID when EventBridge Scheduler starts it): its
 * first 12 letters and digits, lower-cased. The failure-cleanup rule derives the same ID from the
 * execution name in the event, so it finds the run's instance without reading execution state.
 */
export function runIdFromExecutionName(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 12);
  if (id === '') throw new DrillError('refused', `cannot derive a run ID from execution name "${name}"`);
  return id;
}

/** One part of a drill instance identifier: lower case, letters, digits and single inner hyphens. */
function identifierPart(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The drill instance identifier: `<prefix>-<source>-<run>`, at most 63 characters, valid for RDS. */
export function drillInstanceIdentifier(
  spec: Pick<DrillSpec, 'instancePrefix' | 'sourceInstanceIdentifier'>,
  runId: string,
): string {
  const prefix = identifierPart(spec.instancePrefix);
  const run = identifierPart(runId);
  const room = 63 - prefix.length - run.length - 2;
  const source = identifierPart(spec.sourceInstanceIdentifier).slice(0, Math.max(room, 1)).replace(/-$/, '');
  return `${prefix}-${source}-${run}`;
}

async function describeInstance(clients: DrillClients, identifier: string): Promise<DBInstance | undefined> {
  try {
    const out = await withRetries(clients, () =>
      clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })),
    );
    return out.DBInstances?.[0];
  } catch (error) {
    if (error instanceof Error && error.name === 'DBInstanceNotFoundFault') return undefined;
    throw error;
  }
}

/**
 * Chooses the restore point: the time the caller asked for, the latest automated snapshot, or (by
 * default) the source's latest restorable time, read now so the restore targets exactly that time.
 */
export async function choosePoint(
  clients: DrillClients,
  spec: DrillSpec,
  request: DrillRequest,
  now: Date,
): Promise<RestorePoint> {
  const source = await describeInstance(clients, spec.sourceInstanceIdentifier);
  if (!source) {
    throw new DrillError('source-missing', `source instance ${spec.sourceInstanceIdentifier} does not exist`);
  }
  if (!source.BackupRetentionPeriod) {
    throw new DrillError(
      'no-backups',
      `source instance ${spec.sourceInstanceIdentifier} has automated backups switched off (backup retention 0)`,
    );
  }

  // A restore time the caller asks for wins over the spec's default of restoring the latest snapshot.
  if (request.useLatestSnapshot ?? (request.restoreTime === undefined && spec.useLatestSnapshot)) {
    const out = await withRetries(clients, () =>
      clients.rds.send(
        new DescribeDBSnapshotsCommand({
          DBInstanceIdentifier: spec.sourceInstanceIdentifier,
          SnapshotType: 'automated',
        }),
      ),
    );
    const newest = (out.DBSnapshots ?? [])
      .filter((s) => s.Status === 'available' && s.SnapshotCreateTime)
      .sort((a, b) => (b.SnapshotCreateTime?.getTime() ?? 0) - (a.SnapshotCreateTime?.getTime() ?? 0))[0];
    if (!newest?.DBSnapshotIdentifier || !newest.SnapshotCreateTime) {
      throw new DrillError(
        'no-snapshot',
        `source instance ${spec.sourceInstanceIdentifier} has no available automated snapshot`,
      );
    }
    return {
      kind: 'snapshot',
      time: newest.SnapshotCreateTime.toISOString(),
      snapshotIdentifier: newest.DBSnapshotIdentifier,
    };
  }

  const latest = source.LatestRestorableTime;
  if (!latest) {
    throw new DrillError('no-backups', `source instance ${spec.sourceInstanceIdentifier} has no restorable time yet`);
  }
  if (request.restoreTime === undefined) return { kind: 'latest-restorable', time: latest.toISOString() };

  const asked = new Date(request.restoreTime);
  const earliest = new Date(now.getTime() - source.BackupRetentionPeriod * 24 * 3600 * 1000);
  if (Number.isNaN(asked.getTime())) {
    throw new DrillError(
      'bad-restore-time',
      `restore time must be an ISO time such as 2026-01-31T12:00:00Z, got "${request.restoreTime}"`,
    );
  }
  if (asked > latest || asked < earliest) {
    throw new DrillError(
      'bad-restore-time',
      `restore time must be between ${earliest.toISOString()} and the latest restorable time ${latest.toISOString()}, got ${asked.toISOString()}`,
    );
  }
  return { kind: 'time', time: asked.toISOString() };
}

/** Drill instances of the spec's source that exist now (any status), oldest run first. */
export async function findDrillInstances(clients: DrillClients, spec: DrillSpec): Promise<DBInstance[]> {
  const found: DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await withRetries(clients, () =>
      clients.rds.send(new DescribeDBInstancesCommand({ Marker: marker, MaxRecords: 100 })),
    );
    for (const instance of page.DBInstances ?? []) {
      if (isDrillInstanceOf(instance, spec)) found.push(instance);
    }
    marker = page.Marker;
  } while (marker);
  return found.sort((a, b) => (a.DBInstanceIdentifier ?? '').localeCompare(b.DBInstanceIdentifier ?? ''));
}

function tag(instance: DBInstance, key: string): string | undefined {
  return instance.TagList?.find((t) => t.Key === key)?.Value;
}

/** True when the instance carries the drill tag of this spec's source and the drill prefix. */
export function isDrillInstanceOf(
  instance: DBInstance,
  spec: Pick<DrillSpec, 'instancePrefix' | 'sourceInstanceIdentifier'>,
): boolean {
  return (
    instance.DBInstanceIdentifier !== spec.sourceInstanceIdentifier &&
    // The prefix as drillInstanceIdentifier writes it (`Drill-` and `drill` name the same instances).
    (instance.DBInstanceIdentifier ?? '').startsWith(`${identifierPart(spec.instancePrefix)}-`) &&
    tag(instance, DRILL_TAGS.source) === spec.sourceInstanceIdentifier
  );
}

/**
 * Restores the chosen point into a new, tagged drill instance: the source's parameter group, the
 * drill's subnet group and security group, the drill's instance class, never Multi-AZ, not public, no
 * deletion protection, no backups of its own. At most one drill per source: an existing drill instance
 * of the source is the lock.
 */
export async function startRestore(
  clients: DrillClients,
  spec: DrillSpec,
  run: { runId: string; startedAt: string; point: RestorePoint; keepUntil?: string },
  now: Date,
): Promise<DrillRun> {
  const existing = await findDrillInstances(clients, spec);
  if (existing.length > 0) {
    const holder = existing[0];
    throw new DrillError(
      'locked',
      `a drill of ${spec.sourceInstanceIdentifier} is already running: instance ${holder.DBInstanceIdentifier} (${holder.DBInstanceStatus})`,
    );
  }
  const instanceIdentifier = drillInstanceIdentifier(spec, run.runId);
  const keepUntil = run.keepUntil ? capKeep(run.keepUntil, now) : undefined;
  const tags: Tag[] = [
    { Key: DRILL_TAGS.source, Value: spec.sourceInstanceIdentifier },
    { Key: DRILL_TAGS.run, Value: run.runId },
    ...(keepUntil ? [{ Key: DRILL_TAGS.keepUntil, Value: keepUntil }] : []),
  ];
  const common = {
    TargetDBInstanceIdentifier: instanceIdentifier,
    DBInstanceClass: spec.instanceClass,
    DBSubnetGroupName: spec.subnetGroupName,
    VpcSecurityGroupIds: [...spec.securityGroupIds],
    DBParameterGroupName: spec.parameterGroupName,
    MultiAZ: false,
    PubliclyAccessible: false,
    DeletionProtection: false,
    AutoMinorVersionUpgrade: false,
    CopyTagsToSnapshot: false,
    BackupRetentionPeriod: 0,
    Tags: tags,
  };
  if (run.point.kind === 'snapshot') {
    const { TargetDBInstanceIdentifier, ...rest } = common;
    await withRetries(clients, () =>
      clients.rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          ...rest,
          DBInstanceIdentifier: TargetDBInstanceIdentifier,
          DBSnapshotIdentifier: run.point.snapshotIdentifier,
        }),
      ),
    );
  } else {
    await withRetries(clients, () =>
      clients.rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          ...common,
          SourceDBInstanceIdentifier: spec.sourceInstanceIdentifier,
          RestoreTime: new Date(run.point.time),
        }),
      ),
    );
  }
  return { ...run, keepUntil, instanceIdentifier, restoreStartedAt: now.toISOString() };
}

function capKeep(keepUntil: string, now: Date): string {
  const asked = new Date(keepUntil);
  const cap = new Date(now.getTime() + MAX_KEEP_SECONDS * 1000);
  return (Number.isNaN(asked.getTime()) || asked > cap ? cap : asked).toISOString();
}

/** Statuses from which a restore never becomes available. */
const FAILED_STATUSES = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'incompatible-option-group',
  'restore-error',
  'storage-full',
  'inaccessible-encryption-credentials',
  'deleting',
]);

/** Where a restore stands, and how long to wait before asking again (backoff 30 s doubling to 5 minutes). */
export interface RestoreProgress {
  readonly status: string;
  readonly available: boolean;
  /** Seconds since the restore started. */
  readonly elapsedSeconds: number;
  readonly nextWaitSeconds: number;
}

export async function checkRestore(
  clients: DrillClients,
  spec: DrillSpec,
  run: DrillRun,
  now: Date,
  previousWaitSeconds = 0,
): Promise<RestoreProgress> {
  const instance = await describeInstance(clients, run.instanceIdentifier);
  const status = instance?.DBInstanceStatus ?? 'missing';
  const elapsedSeconds = Math.round((now.getTime() - new Date(run.restoreStartedAt ?? run.startedAt).getTime()) / 1000);
  if (!instance || FAILED_STATUSES.has(status)) {
    throw new DrillError('restore-failed', `the restore into ${run.instanceIdentifier} failed: status ${status}`);
  }
  const available = status === 'available';
  if (!available && elapsedSeconds >= spec.maxWaitSeconds) {
    throw new DrillError(
      'timeout',
      `${run.instanceIdentifier} was not available after ${spec.maxWaitSeconds} s (status ${status})`,
    );
  }
  const nextWaitSeconds = Math.min(
    Math.max(previousWaitSeconds * 2, 30),
    300,
    Math.max(spec.maxWaitSeconds - elapsedSeconds, 1),
  );
  return { status, available, elapsedSeconds, nextWaitSeconds };
}

/** Where to connect to a drill instance. */
export interface DrillEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** Reads a drill instance's endpoint and master user name (refusing anything that is not a drill instance). */
export async function drillEndpoint(
  clients: DrillClients,
  spec: DrillSpec,
  identifier: string,
): Promise<DrillEndpoint> {
  const instance = await requireDrillInstance(clients, spec, identifier);
  if (!instance.Endpoint?.Address || !instance.Endpoint.Port || !instance.MasterUsername) {
    throw new DrillError('restore-failed', `${identifier} has no endpoint yet (status ${instance.DBInstanceStatus})`);
  }
  return {
    host: instance.Endpoint.Address,
    port: instance.Endpoint.Port,
    user: instance.MasterUsername,
    database: spec.databaseName,
  };
}

async function requireDrillInstance(clients: DrillClients, spec: DrillSpec, identifier: string): Promise<DBInstance> {
  const instance = await describeInstance(clients, identifier);
  if (!instance) throw new DrillError('restore-failed', `drill instance ${identifier} does not exist`);
  if (!isDrillInstanceOf(instance, spec)) {
    throw new DrillError(
      'refused',
      `refusing to touch ${identifier}: it is not a drill instance of ${spec.sourceInstanceIdentifier} (no ${DRILL_TAGS.source} tag or wrong prefix)`,
    );
  }
  return instance;
}

/**
 * Sets a fresh master password on a drill instance and waits until RDS has applied it (the instance
 * returns to `available`), polling every 10 s up to `maxWaitSeconds`. The password never leaves the caller.
 */
export async function resetDrillPassword(
  clients: DrillClients,
  spec: DrillSpec,
  identifier: string,
  password: string,
  maxWaitSeconds = 600,
): Promise<void> {
  await requireDrillInstance(clients, spec, identifier);
  await withRetries(clients, () =>
    clients.rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        MasterUserPassword: password,
        ApplyImmediately: true,
      }),
    ),
  );
  const sleep = clients.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + maxWaitSeconds * 1000;
  // RDS flips to resetting-master-credentials shortly after the call; wait for it to settle.
  let polls = 0;
  for (;;) {
    await sleep(polls === 0 ? 5_000 : 10_000);
    polls++;
    const instance = await describeInstance(clients, identifier);
    const pending = instance?.PendingModifiedValues?.MasterUserPassword !== undefined;
    if (instance?.DBInstanceStatus === 'available' && !pending) return;
    if (Date.now() > deadline) {
      throw new DrillError('timeout', `the new password of ${identifier} was not applied within ${maxWaitSeconds} s`);
    }
  }
}

/** What deleting a drill instance did. */
export type DeleteOutcome = 'deleted' | 'already-deleting' | 'gone' | 'kept';

/**
 * Deletes a drill instance without a final snapshot. Refuses any instance that does not carry the
 * drill tag of this source and the drill prefix. Safe to call again. With `respectKeep`, an instance
 * whose keep-until time lies ahead is kept.
 */
export async function deleteDrillInstance(
  clients: DrillClients,
  spec: DrillSpec,
  identifier: string,
  options: { respectKeep?: boolean; now?: Date } = {},
): Promise<DeleteOutcome> {
  const instance = await describeInstance(clients, identifier);
  if (!instance) return 'gone';
  if (!isDrillInstanceOf(instance, spec)) {
    throw new DrillError(
      'refused',
      `refusing to delete ${identifier}: it is not a drill instance of ${spec.sourceInstanceIdentifier} (no ${DRILL_TAGS.source} tag or wrong prefix)`,
    );
  }
  if (instance.DBInstanceStatus === 'deleting') return 'already-deleting';
  const keepUntil = tag(instance, DRILL_TAGS.keepUntil);
  if (options.respectKeep && keepUntil && new Date(keepUntil) > (options.now ?? new Date())) return 'kept';
  try {
    await withRetries(clients, () =>
      clients.rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      ),
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'DBInstanceNotFoundFault') return 'gone';
    // Deleting while a modification is under way is refused; the caller retries after a wait.
    if (name === 'InvalidDBInstanceStateFault' && /deleting|being deleted/i.test(String((error as Error).message))) {
      return 'already-deleting';
    }
    throw error;
  }
  return 'deleted';
}

/** True once the instance no longer exists. */
export async function isGone(clients: DrillClients, identifier: string): Promise<boolean> {
  return (await describeInstance(clients, identifier)) === undefined;
}

/** The figures of one drill, published as metrics. */
export interface DrillFigures {
  readonly succeeded: boolean;
  /** Seconds from restore request to available (RTO). */
  readonly restoreSeconds?: number;
  readonly verifySeconds?: number;
  /** Drill start minus restore point: the RPO the backups offer. */
  readonly restorePointLagSeconds?: number;
  /** Restore point minus the newest row of the freshness checks: the data actually recovered. */
  readonly dataAgeSeconds?: number;
  readonly checksFailed?: number;
}

/** Publishes a drill's figures in `ProdBaseline/RestoreDrill`, dimension `SourceInstance`. */
export async function publishFigures(
  clients: DrillClients,
  spec: DrillSpec,
  figures: DrillFigures,
  at: Date,
): Promise<void> {
  const metric = (MetricName: string, Value: number | undefined, Unit: StandardUnit) =>
    Value === undefined
      ? []
      : [
          {
            MetricName,
            Value,
            Unit,
            Timestamp: at,
            Dimensions: [{ Name: DRILL_DIMENSION, Value: spec.sourceInstanceIdentifier }],
          },
        ];
  const data = [
    ...metric('DrillSucceeded', figures.succeeded ? 1 : 0, 'Count'),
    ...metric('RestoreSeconds', figures.restoreSeconds, 'Seconds'),
    ...metric('VerifySeconds', figures.verifySeconds, 'Seconds'),
    ...metric('RestorePointLagSeconds', figures.restorePointLagSeconds, 'Seconds'),
    ...metric('DataAgeSeconds', figures.dataAgeSeconds, 'Seconds'),
    ...metric('ChecksFailed', figures.checksFailed, 'Count'),
  ];
  await withRetries(clients, () =>
    clients.cloudwatch.send(new PutMetricDataCommand({ Namespace: DRILL_NAMESPACE, MetricData: data })),
  );
}

/** Records the time of a successful drill in the spec's last-success parameter. */
export async function recordSuccess(clients: DrillClients, spec: DrillSpec, at: Date): Promise<void> {
  await withRetries(clients, () =>
    clients.ssm.send(
      new PutParameterCommand({
        Name: spec.lastSuccessParameter,
        Value: at.toISOString(),
        Type: 'String',
        Overwrite: true,
      }),
    ),
  );
}

/** The value the last-success parameter holds until the first drill succeeds. */
export const NEVER = 'never';

/**
 * Publishes `SecondsSinceLastSuccess` (run hourly): CloudWatch caps an alarm's span at 7 days, so
 * "the weekly drill is overdue" is an alarm on this metric. Before the first success it counts from
 * the parameter's creation (the deploy), so a new stack is not overdue at once.
 */
export async function publishSecondsSinceLastSuccess(
  clients: DrillClients,
  spec: DrillSpec,
  now: Date,
): Promise<number> {
  const out = await withRetries(clients, () =>
    clients.ssm.send(new GetParameterCommand({ Name: spec.lastSuccessParameter })),
  );
  const value = out.Parameter?.Value;
  const recorded = value && value !== NEVER ? new Date(value) : undefined;
  // A value that is not a time counts from when it was written, like "never" does; with no time at
  // all, publish nothing, so the overdue alarm (missing data breaching) fires rather than going quiet.
  const last = recorded && !Number.isNaN(recorded.getTime()) ? recorded : out.Parameter?.LastModifiedDate;
  if (!last || Number.isNaN(last.getTime())) {
    throw new DrillError(
      'refused',
      `the last-success parameter ${spec.lastSuccessParameter} holds no time (${JSON.stringify(value)}) and no modification date`,
    );
  }
  const seconds = Math.max(0, Math.round((now.getTime() - last.getTime()) / 1000));
  await withRetries(clients, () =>
    clients.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: DRILL_NAMESPACE,
        MetricData: [
          {
            MetricName: 'SecondsSinceLastSuccess',
            Value: seconds,
            Unit: 'Seconds',
            Timestamp: now,
            Dimensions: [{ Name: DRILL_DIMENSION, Value: spec.sourceInstanceIdentifier }],
          },
        ],
      }),
    ),
  );
  return seconds;
}

/** What the sweeper did with one drill instance. */
export interface SweepResult {
  readonly instanceIdentifier: string;
  readonly outcome: DeleteOutcome | 'young';
  readonly expiresAt: string;
}

/**
 * Deletes drill instances of the source older than the spec's limit; an instance kept with `--keep`
 * lives until its keep-until tag, and never longer than 7 days. A crashed drill cannot leave a running bill.
 */
export async function sweep(clients: DrillClients, spec: DrillSpec, now: Date): Promise<SweepResult[]> {
  const results: SweepResult[] = [];
  for (const instance of await findDrillInstances(clients, spec)) {
    const identifier = instance.DBInstanceIdentifier as string;
    const created = instance.InstanceCreateTime ?? now;
    const keepUntil = tag(instance, DRILL_TAGS.keepUntil);
    const hardCap = created.getTime() + MAX_KEEP_SECONDS * 1000;
    const limit = keepUntil
      ? Math.min(new Date(keepUntil).getTime() || created.getTime(), hardCap)
      : created.getTime() + spec.maxInstanceAgeSeconds * 1000;
    const expiresAt = new Date(limit).toISOString();
    if (now.getTime() < limit) {
      results.push({ instanceIdentifier: identifier, outcome: 'young', expiresAt });
      continue;
    }
    results.push({
      instanceIdentifier: identifier,
      outcome: await deleteDrillInstance(clients, spec, identifier),
      expiresAt,
    });
  }
  return results;
}
