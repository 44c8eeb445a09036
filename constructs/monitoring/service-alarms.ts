import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { markKitResource } from '../core/metadata';
import { throwIfProblems, wholeNumberProblem } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from './alarms';

const MINUTE = Duration.minutes(1);

/** Thresholds of the golden-signal alarms of a web service. Every one has a production default. */
export interface ServiceAlarmThresholds {
  /**
   * Share of requests answered 5xx (by the load balancer, or by the targets) that pages.
   * @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * Requests per minute below which the error rate is not judged (a few errors of a few requests are noise).
   * @default 20
   */
  readonly minimumRequestsPerMinute?: number;
  /**
   * p99 target response time that, sustained for 3 minutes, notifies.
   * @default Duration.seconds(2)
   */
  readonly p99Latency?: Duration;
  /**
   * Healthy targets (both target groups together) below which the service pages.
   * @default 1
   */
  readonly minimumHealthyHosts?: number;
  /**
   * Service CPU utilisation that, sustained for 5 minutes, notifies.
   * @default 85
   */
  readonly cpuPercent?: number;
  /**
   * Service memory utilisation that, sustained for 5 minutes, notifies.
   * @default 85
   */
  readonly memoryPercent?: number;
}

export interface ServiceAlarmsProps {
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * Every target group the service's traffic can be in: blue/green deployments alternate the live one,
   * so both are watched.
   */
  readonly targetGroups: readonly elbv2.IApplicationTargetGroup[];
  /**
   * The ECS service, for CPU and memory.
   * @default - no CPU and memory alarms
   */
  readonly service?: ecs.BaseService;
  readonly thresholds?: ServiceAlarmThresholds;
  /** Where the alarms notify: page alarms through the `ServiceHealth` composite, notify alarms directly. */
  readonly routing?: IAlertRouting;
  /**
   * Extra critical alarms the `ServiceHealth` composite pages on (a canary's, for example).
   * @default - none
   */
  readonly criticalAlarms?: readonly cloudwatch.IAlarm[];
}

/**
 * Golden-signal alarms of a web service behind an ALB, in one-minute periods: load balancer and
 * target 5xx rates (metric math over RequestCount with a minimum-traffic guard), p99 latency, healthy
 * hosts across both target groups (detects a full outage with no traffic at all), rejected connections,
 * service CPU and memory. Critical signals page through one composite `ServiceHealth` alarm; a separate
 * set of deployment alarms (target 5xx rate and p99 latency) is for automatic rollback, never the
 * composite: ECS ignores deployment alarms that are already in ALARM when a deployment starts.
 */
export class ServiceAlarms extends Construct {
  public readonly elb5xxRate: KitAlarm;
  public readonly target5xxRate: KitAlarm;
  public readonly p99Latency: KitAlarm;
  public readonly healthyHosts: KitAlarm;
  public readonly rejectedConnections: KitAlarm;
  public readonly cpu?: KitAlarm;
  public readonly memory?: KitAlarm;
  /** Pages when any critical signal is in ALARM. */
  public readonly serviceHealth: cloudwatch.CompositeAlarm;
  /** The alarms a deployment rolls back on (routed to notify, so a rollback is seen). */
  public readonly deploymentAlarms: readonly KitAlarm[];
  /** Every metric alarm this construct made. */
  public readonly all: KitAlarm[];
  private readonly critical: cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const t = props.thresholds ?? {};
    const errorRate = t.errorRatePercent ?? 5;
    const minRequests = t.minimumRequestsPerMinute ?? 20;
    const p99 = t.p99Latency ?? Duration.seconds(2);
    const minHealthy = t.minimumHealthyHosts ?? 1;
    throwIfProblems(this, [
      (errorRate <= 0 || errorRate > 100) && `errorRatePercent must be more than 0 and at most 100, got ${errorRate}`,
      wholeNumberProblem('minimumRequestsPerMinute', minRequests, 1),
      wholeNumberProblem('minimumHealthyHosts', minHealthy, 1),
      props.targetGroups.length === 0 && 'targetGroups must name at least one target group, got none',
    ]);
    const lb = props.loadBalancer.metrics;
    const requests = lb.requestCount({ period: MINUTE, statistic: 'Sum' });
    // Each expression names its error metric differently, so both can share a dashboard graph.
    const rate = (errors: cloudwatch.IMetric, errorsId: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `IF(requests >= ${minRequests}, 100 * FILL(${errorsId}, 0) / requests, 0)`,
        usingMetrics: { [errorsId]: errors, requests },
        period: MINUTE,
        label,
      });
    const target5xx = () =>
      rate(
        lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: MINUTE, statistic: 'Sum' }),
        'target5xx',
        'target 5xx %',
      );
    const targetP99 = () => lb.targetResponseTime({ period: MINUTE, statistic: 'p99' });

    this.elb5xxRate = new KitAlarm(this, 'Elb5xxRate', {
      metric: rate(
        lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: MINUTE, statistic: 'Sum' }),
        'elb5xx',
        'load balancer 5xx %',
      ),
      threshold: errorRate,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.PAGE,
      runbook: {
        meaning: `More than ${errorRate} % of requests got a 5xx from the load balancer itself (no healthy target, or targets refusing connections).`,
        firstCheck: 'Healthy targets in both target groups and the service events; a deployment in progress.',
        command: 'npx prod-baseline status --stack <stack>, then rollback if a deploy caused it',
      },
    });
    this.target5xxRate = new KitAlarm(this, 'Target5xxRate', {
      metric: target5xx(),
      threshold: errorRate,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.PAGE,
      runbook: {
        meaning: `More than ${errorRate} % of requests got a 5xx from the app (at least ${minRequests} requests a minute).`,
        firstCheck: 'Error logs of the app (the ErrorLogs alarm) and the last deployment.',
        command: 'npx prod-baseline rollback --stack <stack>',
      },
    });
    this.p99Latency = new KitAlarm(this, 'P99Latency', {
      metric: targetP99(),
      threshold: p99.toMilliseconds() / 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 3,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `p99 response time above ${p99.toHumanString()} for 3 minutes.`,
        firstCheck: 'Database latency and connections; CPU of the service; slow endpoints in the app logs.',
      },
    });

    const healthy: Record<string, cloudwatch.IMetric> = {};
    props.targetGroups.forEach((tg, i) => {
      healthy[`h${i}`] = tg.metrics.healthyHostCount({ period: MINUTE, statistic: 'Minimum' });
    });
    this.healthyHosts = new KitAlarm(this, 'HealthyHosts', {
      metric: new cloudwatch.MathExpression({
        expression: Object.keys(healthy)
          .map((k) => `FILL(${k}, 0)`)
          .join(' + '),
        usingMetrics: healthy,
        period: MINUTE,
        label: 'healthy targets (all target groups)',
      }),
      threshold: minHealthy,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: Severity.PAGE,
      runbook: {
        meaning: `Fewer than ${minHealthy} healthy target(s): the service is down, with or without traffic.`,
        firstCheck: 'Stopped tasks and their reasons in the ECS service events; failing health checks.',
        command: 'npx prod-baseline status --stack <stack>',
      },
    });
    this.rejectedConnections = new KitAlarm(this, 'RejectedConnections', {
      metric: lb.rejectedConnectionCount({ period: MINUTE, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 2,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: 'The load balancer rejected connections: it reached its connection limit.',
        firstCheck: 'Traffic spikes and slow targets holding connections open.',
      },
    });

    if (props.service) {
      const utilisation = (name: 'Cpu' | 'Memory', metric: cloudwatch.IMetric, percent: number) =>
        new KitAlarm(this, name, {
          metric,
          threshold: percent,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          datapointsToAlarm: 5,
          evaluationPeriods: 5,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          severity: Severity.NOTIFY,
          routing: props.routing,
          runbook: {
            meaning: `Service ${name === 'Cpu' ? 'CPU' : 'memory'} above ${percent} % for 5 minutes.`,
            firstCheck: 'Traffic, recent deploys, and whether the task size or task count needs raising.',
          },
        });
      this.cpu = utilisation('Cpu', props.service.metricCpuUtilization({ period: MINUTE }), t.cpuPercent ?? 85);
      this.memory = utilisation(
        'Memory',
        props.service.metricMemoryUtilization({ period: MINUTE }),
        t.memoryPercent ?? 85,
      );
    }

    this.deploymentAlarms = [
      new KitAlarm(this, 'DeploymentTarget5xxRate', {
        metric: target5xx(),
        threshold: errorRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        datapointsToAlarm: 2,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        severity: Severity.NOTIFY,
        routing: props.routing,
        runbook: {
          meaning: `Deployment guard: more than ${errorRate} % target 5xx in 2 of 3 minutes; a deployment in progress rolls back.`,
          firstCheck: 'The deployment that was in progress and its new revision.',
        },
      }),
      new KitAlarm(this, 'DeploymentP99Latency', {
        metric: targetP99(),
        threshold: p99.toMilliseconds() / 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        datapointsToAlarm: 2,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        severity: Severity.NOTIFY,
        routing: props.routing,
        runbook: {
          meaning: `Deployment guard: p99 above ${p99.toHumanString()} in 2 of 3 minutes; a deployment in progress rolls back.`,
          firstCheck: 'The deployment that was in progress and its new revision.',
        },
      }),
    ];

    this.critical = [
      this.elb5xxRate.alarm,
      this.target5xxRate.alarm,
      this.healthyHosts.alarm,
      ...(props.criticalAlarms ?? []),
    ];
    this.serviceHealth = new cloudwatch.CompositeAlarm(this, 'ServiceHealth', {
      alarmDescription: KitAlarm.description(Severity.PAGE, {
        meaning: 'ServiceHealth: a critical signal of the service is in ALARM (5xx rate, healthy hosts or the canary).',
        firstCheck: 'Which member alarm is in ALARM; its own description says what to check.',
        command: 'npx prod-baseline status --stack <stack>',
      }),
      // Rendered at synthesis, so alarms added later with addCriticalAlarm() are included.
      alarmRule: cloudwatch.AlarmRule.fromString(
        Lazy.string({ produce: () => cloudwatch.AlarmRule.anyOf(...this.critical).renderAlarmRule() }),
      ),
    });
    for (const action of props.routing?.actionsFor(Severity.PAGE) ?? []) {
      this.serviceHealth.addAlarmAction(action);
      this.serviceHealth.addOkAction(action);
    }
    markKitResource(this.serviceHealth, 'ServiceAlarms', 'service-health');

    this.all = [
      this.elb5xxRate,
      this.target5xxRate,
      this.p99Latency,
      this.healthyHosts,
      this.rejectedConnections,
      ...(this.cpu ? [this.cpu] : []),
      ...(this.memory ? [this.memory] : []),
      ...this.deploymentAlarms,
    ];
    // Notify alarms route directly; the critical ones (no actions of their own) page through ServiceHealth.
  }

  /** Adds a critical alarm (a canary's, for example) that `ServiceHealth` pages on. */
  public addCriticalAlarm(alarm: cloudwatch.IAlarm): void {
    this.critical.push(alarm);
  }
}

export interface FunctionAlarmsProps {
  readonly function: lambda.IFunction;
  /** The function's timeout: the duration alarm fires near it. */
  readonly timeout: Duration;
  readonly routing?: IAlertRouting;
  /**
   * Error rate that pages.
   * @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * Invocations per minute below which the error rate is not judged.
   * @default 10
   */
  readonly minimumInvocationsPerMinute?: number;
}

/** Alarms of a Lambda function: error rate, throttles, p99 duration near the timeout. */
export class FunctionAlarms extends Construct {
  public readonly errorRate: KitAlarm;
  public readonly throttles: KitAlarm;
  public readonly duration: KitAlarm;
  public readonly all: readonly KitAlarm[];

  constructor(scope: Construct, id: string, props: FunctionAlarmsProps) {
    super(scope, id);
    const errorRate = props.errorRatePercent ?? 5;
    const minInvocations = props.minimumInvocationsPerMinute ?? 10;
    const fn = props.function;
    const name = fn.functionName;
    this.errorRate = new KitAlarm(this, 'ErrorRate', {
      metric: new cloudwatch.MathExpression({
        expression: `IF(invocations >= ${minInvocations}, 100 * FILL(errors, 0) / invocations, 0)`,
        usingMetrics: {
          errors: fn.metricErrors({ period: MINUTE, statistic: 'Sum' }),
          invocations: fn.metricInvocations({ period: MINUTE, statistic: 'Sum' }),
        },
        period: MINUTE,
        label: 'error %',
      }),
      threshold: errorRate,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 2,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.PAGE,
      routing: props.routing,
      runbook: {
        meaning: `More than ${errorRate} % of invocations of function ${name} failed in 2 of 3 minutes.`,
        firstCheck: 'The function logs; the last deployment of the function.',
        command: 'npx prod-baseline rollback --stack <stack> --service <function>',
      },
    });
    this.throttles = new KitAlarm(this, 'Throttles', {
      metric: fn.metricThrottles({ period: MINUTE, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `Function ${name} was throttled in 3 of 5 minutes.`,
        firstCheck: 'Reserved and account concurrency; a traffic spike.',
      },
    });
    this.duration = new KitAlarm(this, 'Duration', {
      metric: fn.metricDuration({ period: MINUTE, statistic: 'p99' }),
      threshold: props.timeout.toMilliseconds() * 0.8,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `p99 duration of function ${name} above 80 % of its ${props.timeout.toHumanString()} timeout.`,
        firstCheck: 'Slow downstream calls (database, APIs) in the function logs.',
      },
    });
    this.all = [this.errorRate, this.throttles, this.duration];
  }
}
