import { Duration, Size } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { throwIfProblems } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from '../monitoring/alarms';

/** Thresholds of the database alarms. Every one has a production default. */
export interface DatabaseAlarmThresholds {
  /**
   * CPU utilisation that, sustained for 10 minutes, is worth a look.
   * @default 80
   */
  readonly cpuPercent?: number;
  /**
   * Free storage below which the database pages (storage autoscaling has not kept up, or has hit its ceiling).
   * @default - 10 % of the allocated storage, at least 2 GiB
   */
  readonly freeStorage?: Size;
  /**
   * Freeable memory below which the instance is about to swap.
   * @default - 10 % of the instance class's memory
   */
  readonly freeableMemory?: Size;
  /**
   * The instance's `max_connections`. RDS derives it from memory (DBInstanceClassMemory / 9531392);
   * set it when you changed `max_connections` or use a class the kit does not know.
   * @default - estimated from the instance class
   */
  readonly maxConnections?: number;
  /**
   * Share of `maxConnections` in use that pages: new connections are about to be refused.
   * @default 80
   */
  readonly connectionsPercent?: number;
  /**
   * Average read latency that, sustained for 5 minutes, is worth a look.
   * @default Duration.millis(20)
   */
  readonly readLatency?: Duration;
  /**
   * Average write latency that, sustained for 5 minutes, is worth a look.
   * @default Duration.millis(20)
   */
  readonly writeLatency?: Duration;
}

export interface DatabaseAlarmsProps {
  readonly instance: rds.IDatabaseInstance;
  /** Instance class without the `db.` prefix, such as `t4g.micro`. */
  readonly instanceClass: string;
  readonly allocatedStorageGiB: number;
  readonly thresholds?: DatabaseAlarmThresholds;
  /**
   * Where the alarms notify.
   * @default - no actions
   */
  readonly routing?: IAlertRouting;
}

/** Memory (GiB) of the instance classes the kit knows, per size, by family prefix. */
const BURSTABLE_GIB: Record<string, number> = {
  micro: 1,
  small: 2,
  medium: 4,
  large: 8,
  xlarge: 16,
  '2xlarge': 32,
};
const GIB_PER_LARGE: Record<string, number> = { m: 8, r: 16, x: 32, z: 16 };

/**
 * Memory of an RDS instance class in GiB, or undefined for a class the kit does not know.
 * @param instanceClass such as `t4g.micro`, `m7g.large`, `r6i.2xlarge`
 */
export function instanceClassMemoryGiB(instanceClass: string): number | undefined {
  const [family, size] = instanceClass.split('.');
  if (!family || !size) return undefined;
  if (/^t\d/.test(family)) return BURSTABLE_GIB[size];
  const perLarge = GIB_PER_LARGE[family[0]];
  if (!perLarge || !/^[a-z]\d/.test(family)) return undefined;
  if (size === 'large') return perLarge;
  const multiple = /^(\d*)xlarge$/.exec(size);
  if (!multiple) return undefined;
  return perLarge * 2 * Number(multiple[1] || 1);
}

/**
 * PostgreSQL's default `max_connections` on RDS for an instance class: LEAST(DBInstanceClassMemory /
 * 9531392, 5000), where DBInstanceClassMemory is the memory left after the OS and RDS processes
 * (about 80 % of the class's memory on small classes).
 */
export function estimatedMaxConnections(instanceClass: string): number | undefined {
  const gib = instanceClassMemoryGiB(instanceClass);
  if (gib === undefined) return undefined;
  return Math.min(Math.floor((gib * 2 ** 30 * 0.8) / 9531392), 5000);
}

/**
 * The alarms of an RDS PostgreSQL instance: CPU, free storage, freeable memory, connections near
 * the maximum, read and write latency. One-minute periods, M-of-N datapoints, explicit missing data.
 */
export class DatabaseAlarms extends Construct {
  public readonly cpu: KitAlarm;
  public readonly freeStorage: KitAlarm;
  public readonly freeableMemory: KitAlarm;
  public readonly connections: KitAlarm;
  public readonly readLatency: KitAlarm;
  public readonly writeLatency: KitAlarm;
  /** All of them, for dashboards and `check`. */
  public readonly all: readonly KitAlarm[];

  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    const t = props.thresholds ?? {};
    const memoryGiB = instanceClassMemoryGiB(props.instanceClass);
    const maxConnections = t.maxConnections ?? estimatedMaxConnections(props.instanceClass);
    const cpuPercent = t.cpuPercent ?? 80;
    const connectionsPercent = t.connectionsPercent ?? 80;
    throwIfProblems(this, [
      maxConnections === undefined &&
        `instance class "${props.instanceClass}" is unknown to the kit: set alarm thresholds maxConnections and freeableMemory`,
      memoryGiB === undefined &&
        t.freeableMemory === undefined &&
        maxConnections !== undefined &&
        `instance class "${props.instanceClass}" is unknown to the kit: set the alarm threshold freeableMemory`,
      (cpuPercent <= 0 || cpuPercent > 100) && `cpuPercent must be from 1 to 100, got ${cpuPercent}`,
      (connectionsPercent <= 0 || connectionsPercent > 100) &&
        `connectionsPercent must be from 1 to 100, got ${connectionsPercent}`,
    ]);

    const instance = props.instance;
    const metric = (name: string, statistic: string) =>
      instance.metric(name, { period: Duration.minutes(1), statistic });
    const where = `RDS instance ${instance.instanceIdentifier}`;

    this.cpu = new KitAlarm(this, 'Cpu', {
      metric: metric('CPUUtilization', 'Average'),
      threshold: cpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 10,
      evaluationPeriods: 10,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `Database CPU above ${cpuPercent} % for 10 minutes.`,
        firstCheck:
          'Top SQL by load in CloudWatch Database Insights; recent deploys that added queries or dropped indexes.',
      },
    });

    const freeStorage = t.freeStorage ?? Size.gibibytes(Math.max(2, Math.ceil(props.allocatedStorageGiB * 0.1)));
    this.freeStorage = new KitAlarm(this, 'FreeStorage', {
      metric: metric('FreeStorageSpace', 'Minimum'),
      threshold: freeStorage.toBytes(),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      datapointsToAlarm: 2,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: Severity.PAGE,
      routing: props.routing,
      runbook: {
        meaning: `Database free storage below ${freeStorage.toGibibytes({ rounding: 1 })} GiB: writes fail when it reaches zero.`,
        firstCheck:
          'Whether storage autoscaling hit its ceiling (maxAllocatedStorage); table and WAL growth; raise the ceiling.',
      },
    });

    const freeableMemory = t.freeableMemory ?? Size.mebibytes(Math.round((memoryGiB ?? 1) * 1024 * 0.1));
    this.freeableMemory = new KitAlarm(this, 'FreeableMemory', {
      metric: metric('FreeableMemory', 'Minimum'),
      threshold: freeableMemory.toBytes(),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      datapointsToAlarm: 5,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `Database freeable memory below ${freeableMemory.toMebibytes({ rounding: 1 })} MiB for 5 minutes: the instance is about to swap.`,
        firstCheck: 'Connection count and work_mem-heavy queries; consider a larger instance class.',
      },
    });

    const connectionLimit = Math.floor(((maxConnections ?? 0) * connectionsPercent) / 100);
    this.connections = new KitAlarm(this, 'Connections', {
      metric: metric('DatabaseConnections', 'Maximum'),
      threshold: connectionLimit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      datapointsToAlarm: 3,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.PAGE,
      routing: props.routing,
      runbook: {
        meaning: `Database connections at ${connectionLimit} of about ${maxConnections} for 3 minutes: new connections will be refused.`,
        firstCheck: 'Connection leaks or pool sizes times task count; an RDS Proxy (proxy: true) pools connections.',
      },
    });

    const latency = (name: 'Read' | 'Write', threshold: Duration) =>
      new KitAlarm(this, `${name}Latency`, {
        metric: metric(`${name}Latency`, 'Average'),
        threshold: threshold.toMilliseconds() / 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        datapointsToAlarm: 5,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        severity: Severity.NOTIFY,
        routing: props.routing,
        runbook: {
          meaning: `Database ${name.toLowerCase()} latency above ${threshold.toMilliseconds()} ms for 5 minutes.`,
          firstCheck: `Storage throughput and IOPS of ${where}; queries scanning large tables.`,
        },
      });
    this.readLatency = latency('Read', t.readLatency ?? Duration.millis(20));
    this.writeLatency = latency('Write', t.writeLatency ?? Duration.millis(20));

    this.all = [this.cpu, this.freeStorage, this.freeableMemory, this.connections, this.readLatency, this.writeLatency];
  }
}
