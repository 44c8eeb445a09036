import { ArnFormat, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { HANDLER_RUNTIME, handlerCode } from '../core/handler-code';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag, nagName } from '../core/nag';
import { throwIfProblems } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from '../monitoring/alarms';
import type { DrillCheck } from './drill-check';
import { DrillSchedule } from './drill-schedule';
import { DRILL_DIMENSION, DRILL_NAMESPACE, DRILL_SPEC_VERSION, DRILL_TAGS, type DrillSpec } from './drill-spec';

/**
 * The database a drill restores, and what a restore needs that `rds.IDatabaseInstance` lacks.
 * A `ResilientDatabase` is one as it is.
 */
export interface DrillSource {
  readonly instance: rds.IDatabaseInstance;
  /** The VPC of the instance: the drill instance and the verify function run in it. */
  readonly vpc: ec2.IVpc;
  /** Subnet group the drill instance uses (the source's: isolated subnets). */
  readonly subnetGroup: rds.ISubnetGroup;
  /**
   * Parameter group of the drill instance (the source's, so `rds.force_ssl` and settings match).
   * @default - the engine's default parameter group
   */
  readonly parameterGroup?: rds.IParameterGroup;
  /**
   * The key that encrypts the source's storage: restoring an encrypted backup needs a grant on it.
   * @default - the source is not encrypted with a customer-managed key
   */
  readonly key?: kms.IKey;
  /** The database the checks run in. */
  readonly databaseName: string;
}

/** Where a drill restores from. */
export enum RestoreFrom {
  /** Point-in-time recovery to the latest restorable time: proves the backups and the log shipping. */
  LATEST_RESTORABLE_TIME = 'latest-restorable-time',
  /** The newest automated snapshot. */
  LATEST_SNAPSHOT = 'latest-snapshot',
}

export interface RestoreDrillProps {
  readonly source: DrillSource;
  /**
   * Checks that prove the restored data.
   * @default - list the tables and count the rows of each (fails when there are none)
   */
  readonly checks?: readonly DrillCheck[];
  /**
   * When the drill runs.
   * @default DrillSchedule.weekly()
   */
  readonly schedule?: DrillSchedule;
  /**
   * Where the drill restores from.
   * @default RestoreFrom.LATEST_RESTORABLE_TIME
   */
  readonly restoreFrom?: RestoreFrom;
  /**
   * Instance class of the temporary drill instance (never Multi-AZ).
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Prefix of drill instance identifiers (`<prefix>-<source>-<run>`). The drill's IAM policies only
   * let it modify and delete instances with this prefix that carry the drill tag.
   * @default 'drill'
   */
  readonly instancePrefix?: string;
  /**
   * Longest wait for the restored instance to become available.
   * @default Duration.hours(2)
   */
  readonly maxWait?: Duration;
  /**
   * Age after which the hourly sweeper deletes a drill instance that a crashed drill left behind.
   * @default Duration.hours(6)
   */
  readonly maxInstanceAge?: Duration;
  /**
   * Recovery point objective: the alarm fires when the restore point lags the drill's start by more.
   * @default Duration.minutes(15)
   */
  readonly rpoTarget?: Duration;
  /**
   * Recovery time objective: the alarm fires when a restore takes longer.
   * @default Duration.hours(1)
   */
  readonly rtoTarget?: Duration;
  /**
   * Slack on top of the schedule's interval before the overdue alarm fires.
   * @default Duration.days(1)
   */
  readonly overdueSlack?: Duration;
  /**
   * Where the drill alarms notify.
   * @default - the alarms are created without actions
   */
  readonly alerts?: IAlertRouting;
  /**
   * Subnets of the verify function: it must reach the RDS and SSM APIs and the drill instance.
   * @default - the VPC's private-with-egress subnets
   */
  readonly verifySubnets?: ec2.SubnetSelection;
  /**
   * Retention of the drill's logs (functions and state machine).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const STEP_RETRY: sfn.RetryProps = {
  errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.SdkClientException'],
  interval: Duration.seconds(5),
  maxAttempts: 3,
  backoffRate: 2,
};

/**
 * A scheduled restore drill for an RDS PostgreSQL instance that proves the data: it restores the
 * latest restorable time into a temporary, tagged instance, runs the declared checks over TLS,
 * publishes RPO and RTO figures, deletes the instance and confirms it is gone. Cleanup always
 * runs: a Catch on every state, an EventBridge rule for executions that end ABORTED, TIMED_OUT or
 * FAILED, and an hourly sweeper. Alarms: a drill failed, the drill is overdue, RPO and RTO above target.
 */
export class RestoreDrill extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly stepsFunction: lambda.Function;
  public readonly verifyFunction: lambda.Function;
  /** The drill spec the functions and `prod-baseline restore-drill` read. */
  public readonly specParameter: ssm.StringParameter;
  /** Time of the last successful drill (`never` until the first). */
  public readonly lastSuccessParameter: ssm.StringParameter;
  /** Security group of the drill instances: reachable only from the verify function. */
  public readonly instanceSecurityGroup: ec2.SecurityGroup;
  public readonly schedule: scheduler.Schedule;
  public readonly failedAlarm: KitAlarm;
  public readonly overdueAlarm: KitAlarm;
  public readonly rpoAlarm: KitAlarm;
  public readonly rtoAlarm: KitAlarm;
  public readonly alarms: readonly KitAlarm[];
  private readonly sourceIdentifier: string;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { source } = props;
    const schedule = props.schedule ?? DrillSchedule.weekly();
    const prefix = props.instancePrefix ?? 'drill';
    const maxWait = props.maxWait ?? Duration.hours(2);
    const maxInstanceAge = props.maxInstanceAge ?? Duration.hours(6);
    const rpoTarget = props.rpoTarget ?? Duration.minutes(15);
    const rtoTarget = props.rtoTarget ?? Duration.hours(1);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const seconds = (d: Duration) => d.toSeconds();
    throwIfProblems(this, [
      !/^[a-z][a-z0-9]{0,19}$/.test(prefix) &&
        `instancePrefix must be a lower-case letter, then letters or digits, at most 20 characters, got "${prefix}"`,
      !Token.isUnresolved(seconds(maxWait)) &&
        (seconds(maxWait) < 600 || seconds(maxWait) > 6 * 3600) &&
        `maxWait must be between 10 minutes and 6 hours, got ${maxWait.toHumanString()}`,
      !Token.isUnresolved(seconds(maxInstanceAge)) &&
        seconds(maxInstanceAge) <= seconds(maxWait) &&
        `maxInstanceAge must be longer than maxWait (${maxWait.toHumanString()}), got ${maxInstanceAge.toHumanString()}`,
      !Token.isUnresolved(seconds(rpoTarget)) &&
        seconds(rpoTarget) < 300 &&
        `rpoTarget must be at least 5 minutes (RDS ships transaction logs every 5 minutes), got ${rpoTarget.toHumanString()}`,
    ]);

    this.sourceIdentifier = source.instance.instanceIdentifier;
    const port = source.instance.connections.defaultPort ?? ec2.Port.tcp(5432);

    // Network: the drill instance accepts connections only from the verify function.
    const verifySecurityGroup = new ec2.SecurityGroup(this, 'VerifySecurityGroup', {
      vpc: source.vpc,
      description: 'prod-baseline restore drill: verify function',
      allowAllOutbound: true,
    });
    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: source.vpc,
      description: 'prod-baseline restore drill: temporary drill instances',
      allowAllOutbound: false,
    });
    this.instanceSecurityGroup.addIngressRule(verifySecurityGroup, port, 'verify function to drill instance');

    // State the functions read and write.
    this.lastSuccessParameter = new ssm.StringParameter(this, 'LastSuccess', {
      description: `prod-baseline restore drill: time of the last successful drill of ${this.node.path}`,
      stringValue: 'never',
    });
    const parameterGroupName = source.parameterGroup?.bindToInstance({}).parameterGroupName;
    const spec: DrillSpec = {
      version: DRILL_SPEC_VERSION,
      sourceInstanceIdentifier: this.sourceIdentifier,
      instancePrefix: prefix,
      subnetGroupName: source.subnetGroup.subnetGroupName,
      securityGroupIds: [this.instanceSecurityGroup.securityGroupId],
      parameterGroupName,
      instanceClass: `db.${(props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)).toString()}`,
      databaseName: source.databaseName,
      checks: (props.checks ?? []).map((c) => c.spec),
      useLatestSnapshot: props.restoreFrom === RestoreFrom.LATEST_SNAPSHOT,
      maxWaitSeconds: seconds(maxWait),
      maxInstanceAgeSeconds: seconds(maxInstanceAge),
      lastSuccessParameter: this.lastSuccessParameter.parameterName,
      rpoTargetSeconds: seconds(rpoTarget),
      rtoTargetSeconds: seconds(rtoTarget),
    };
    this.specParameter = new ssm.StringParameter(this, 'Spec', {
      description: `prod-baseline restore drill spec of ${this.node.path}`,
      stringValue: Lazy.string({ produce: () => stack.toJsonString(spec) }),
      tier: ssm.ParameterTier.INTELLIGENT_TIERING,
    });
    markKitResource(this.specParameter, 'RestoreDrill', 'restore-drill-spec');

    // Functions.
    const functionLogs = (name: string) => new logs.LogGroup(this, `${name}Logs`, { retention });
    const environment = { DRILL_SPEC_PARAMETER: this.specParameter.parameterName };
    this.stepsFunction = new lambda.Function(this, 'Steps', {
      description: 'prod-baseline restore drill: restore, status, metrics, cleanup, sweeper',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(__dirname, 'steps'),
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment,
      logGroup: functionLogs('Steps'),
    });
    this.verifyFunction = new lambda.Function(this, 'Verify', {
      description: 'prod-baseline restore drill: sets a fresh password on the drill instance and checks the data',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(__dirname, 'verify'),
      memorySize: 512,
      timeout: Duration.minutes(15),
      environment,
      logGroup: functionLogs('Verify'),
      vpc: source.vpc,
      vpcSubnets: props.verifySubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [verifySecurityGroup],
    });
    this.grantDrillPermissions(spec, source, parameterGroupName);

    this.stateMachine = this.buildStateMachine(maxWait, retention);
    markKitResource(this.stateMachine, 'RestoreDrill', 'restore-drill');

    // Schedules and the failure backstop. One role of our own, so its policy stays in this construct.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'prod-baseline restore drill: starts the drill and the hourly housekeeping',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `prod-baseline restore drill, ${schedule.description}`,
      schedule: schedule.expression,
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ request: {} }),
      }),
    });
    new scheduler.Schedule(this, 'Housekeeping', {
      description: 'prod-baseline restore drill: hourly sweeper and SecondsSinceLastSuccess',
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: new schedulerTargets.LambdaInvoke(this.stepsFunction, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ action: 'housekeeping' }),
      }),
    });
    new events.Rule(this, 'CleanupOnFailure', {
      description: 'prod-baseline restore drill: delete the drill instance of an execution that ended without success',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [
        new eventTargets.LambdaFunction(this.stepsFunction, { retryAttempts: 8, maxEventAge: Duration.hours(6) }),
      ],
    });

    // Alarms.
    const command = 'npx prod-baseline restore-drill --stack <stack> --local';
    this.failedAlarm = new KitAlarm(this, 'FailedAlarm', {
      metric: this.metricDrillSucceeded({ period: Duration.minutes(5), statistic: 'Minimum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      severity: Severity.PAGE,
      routing: props.alerts,
      runbook: {
        meaning: 'The restore drill failed: a backup did not restore, or the restored data failed its checks.',
        firstCheck:
          'The failed execution of the drill state machine and the verify function logs (each check says why).',
        command,
      },
    });
    const overdueAfter = schedule.interval.plus(props.overdueSlack ?? Duration.days(1));
    this.overdueAlarm = new KitAlarm(this, 'OverdueAlarm', {
      metric: this.metricSecondsSinceLastSuccess({ period: Duration.hours(1), statistic: 'Maximum' }),
      threshold: overdueAfter.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: Severity.PAGE,
      routing: props.alerts,
      runbook: {
        meaning: `No successful restore drill for ${overdueAfter.toHumanString()} (schedule: ${schedule.description}).`,
        firstCheck: 'Whether the drill schedule is enabled and the last executions of the drill state machine.',
        command,
      },
    });
    this.rpoAlarm = new KitAlarm(this, 'RpoAlarm', {
      metric: this.metricRestorePointLagSeconds({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: rpoTarget.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      severity: Severity.NOTIFY,
      routing: props.alerts,
      runbook: {
        meaning: `The latest restorable time lagged the drill by more than the RPO target (${rpoTarget.toHumanString()}).`,
        firstCheck:
          'Whether transaction-log backups are delayed: the source instance events and its LatestRestorableTime.',
      },
    });
    this.rtoAlarm = new KitAlarm(this, 'RtoAlarm', {
      metric: this.metricRestoreSeconds({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: rtoTarget.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      severity: Severity.NOTIFY,
      routing: props.alerts,
      runbook: {
        meaning: `A restore took longer than the RTO target (${rtoTarget.toHumanString()}).`,
        firstCheck: 'Database size and storage type; a larger drill instance class restores faster.',
      },
    });
    this.alarms = [this.failedAlarm, this.overdueAlarm, this.rpoAlarm, this.rtoAlarm];

    this.acknowledgeFindings(spec);

    BaselineManifest.of(this).addEntry(this, {
      role: 'restore-drill',
      construct: 'RestoreDrill',
      attributes: {
        stateMachineArn: this.stateMachine.stateMachineArn,
        specParameterName: this.specParameter.parameterName,
        sourceInstanceIdentifier: this.sourceIdentifier,
      },
    });
  }

  /** A drill metric of this source, in `ProdBaseline/RestoreDrill`. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: DRILL_NAMESPACE,
      metricName,
      dimensionsMap: { [DRILL_DIMENSION]: this.sourceIdentifier },
      ...props,
    });
  }

  /** 1 when a drill passed, 0 when it failed. @default - minimum over 5 minutes */
  public metricDrillSucceeded(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('DrillSucceeded', { statistic: 'Minimum', period: Duration.minutes(5), ...props });
  }

  /** Seconds from the restore request to an available instance (RTO). @default - maximum over 5 minutes */
  public metricRestoreSeconds(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('RestoreSeconds', { statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Seconds the checks took. @default - maximum over 5 minutes */
  public metricVerifySeconds(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('VerifySeconds', { statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Drill start minus the restore point: the RPO the backups offer. @default - maximum over 5 minutes */
  public metricRestorePointLagSeconds(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('RestorePointLagSeconds', { statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Restore point minus the newest row of the freshness checks. @default - maximum over 5 minutes */
  public metricDataAgeSeconds(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('DataAgeSeconds', { statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Checks that failed in a drill. @default - maximum over 5 minutes */
  public metricChecksFailed(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ChecksFailed', { statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Seconds since the last successful drill, published hourly. @default - maximum over 1 hour */
  public metricSecondsSinceLastSuccess(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('SecondsSinceLastSuccess', { statistic: 'Maximum', period: Duration.hours(1), ...props });
  }

  /** Lets `grantee` start a drill and follow it (what `prod-baseline restore-drill --stack` needs). */
  public grantStartDrill(grantee: iam.IGrantable): iam.Grant {
    this.stateMachine.grantExecution(grantee, 'states:DescribeExecution', 'states:GetExecutionHistory');
    this.specParameter.grantRead(grantee);
    return this.stateMachine.grantStartExecution(grantee);
  }

  private buildStateMachine(maxWait: Duration, retention: logs.RetentionDays): sfn.StateMachine {
    const step = (id: string, payload: Record<string, unknown>, resultPath: string) => {
      const task = new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.stepsFunction,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultPath,
      });
      task.addRetry(STEP_RETRY);
      return task;
    };

    const cleanupAfterError = step('CleanupAfterError', { action: 'cleanup-after-error', 'state.$': '$' }, '$.cleanup');
    const catching = <T extends sfn.TaskStateBase>(task: T): T => {
      task.addCatch(cleanupAfterError, { resultPath: '$.error' });
      return task;
    };

    const choose = catching(
      step('Choose', { action: 'choose', 'executionName.$': '$$.Execution.Name', 'input.$': '$' }, '$.run'),
    );
    const restore = catching(step('Restore', { action: 'restore', 'run.$': '$.run' }, '$.run'));
    const initProgress = new sfn.Pass(this, 'FirstWait', {
      result: sfn.Result.fromObject({ nextWaitSeconds: 60 }),
      resultPath: '$.progress',
    });
    const waitForRestore = new sfn.Wait(this, 'WaitForRestore', {
      time: sfn.WaitTime.secondsPath('$.progress.nextWaitSeconds'),
    });
    const checkRestore = catching(
      step(
        'CheckRestore',
        { action: 'status', 'run.$': '$.run', 'previousWaitSeconds.$': '$.progress.nextWaitSeconds' },
        '$.progress',
      ),
    );
    const verify = catching(
      new tasks.LambdaInvoke(this, 'VerifyStep', {
        stateName: 'Verify',
        lambdaFunction: this.verifyFunction,
        payload: sfn.TaskInput.fromObject({ 'run.$': '$.run' }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultPath: '$.verify',
      }),
    );
    verify.addRetry(STEP_RETRY);
    const publish = catching(
      step(
        'Publish',
        { action: 'publish', 'run.$': '$.run', 'progress.$': '$.progress', 'verify.$': '$.verify' },
        '$.figures',
      ),
    );
    const cleanup = step(
      'Cleanup',
      { action: 'cleanup', 'run.$': '$.run', 'passed.$': '$.verify.passed' },
      '$.cleanup',
    );
    const waitForDeletion = new sfn.Wait(this, 'WaitForDeletion', {
      time: sfn.WaitTime.duration(Duration.seconds(30)),
    });
    const checkDeleted = step('CheckDeleted', { action: 'gone', 'run.$': '$.run' }, '$.gone');
    const passed = new sfn.Succeed(this, 'DrillPassed');
    const failed = new sfn.Fail(this, 'DrillFailed', {
      error: 'DrillFailed',
      cause: 'The restore or the checks failed; see the Verify output or the error of the failed state.',
    });
    const outcome = new sfn.Choice(this, 'Outcome')
      .when(sfn.Condition.booleanEquals('$.cleanup.passed', true), passed)
      .otherwise(failed);
    const deletionDone = new sfn.Choice(this, 'Deleted?')
      .when(sfn.Condition.booleanEquals('$.gone.gone', true), outcome)
      .otherwise(waitForDeletion);
    const afterCleanup = new sfn.Choice(this, 'KeptOrDeleting?')
      .when(sfn.Condition.stringEquals('$.cleanup.outcome', 'gone'), outcome)
      .when(sfn.Condition.stringEquals('$.cleanup.outcome', 'kept'), outcome)
      .otherwise(waitForDeletion);
    waitForDeletion.next(checkDeleted).next(deletionDone);
    cleanupAfterError.next(afterCleanup);
    // Without a run there is no $.run for CheckDeleted; a failed choose goes straight to the outcome.
    cleanup.next(afterCleanup);

    const available = new sfn.Choice(this, 'Available?')
      .when(sfn.Condition.booleanEquals('$.progress.available', true), verify.next(publish).next(cleanup))
      .otherwise(waitForRestore);
    const definition = choose.next(restore).next(initProgress).next(waitForRestore);
    waitForRestore.next(checkRestore).next(available);

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention });
    return new sfn.StateMachine(this, 'Resource', {
      comment: 'prod-baseline restore drill',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: maxWait.plus(Duration.hours(2)),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }

  private grantDrillPermissions(spec: DrillSpec, source: DrillSource, parameterGroupName: string | undefined): void {
    const stack = Stack.of(this);
    const rdsArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const sourceArn = rdsArn('db', spec.sourceInstanceIdentifier);
    const drillInstances = rdsArn('db', `${spec.instancePrefix}-*`);
    const drillTagCondition = { [`aws:RequestTag/${DRILL_TAGS.source}`]: spec.sourceInstanceIdentifier };
    const onlyDrillTags = { 'aws:TagKeys': Object.values(DRILL_TAGS) };
    const taggedDrillInstance = { [`rds:db-tag/${DRILL_TAGS.source}`]: spec.sourceInstanceIdentifier };

    const describe = new iam.PolicyStatement({
      sid: 'Describe',
      actions: ['rds:DescribeDBInstances', 'rds:DescribeDBSnapshots', 'rds:ListTagsForResource'],
      resources: ['*'],
    });
    const modifyDrillInstance = new iam.PolicyStatement({
      sid: 'ModifyTaggedDrillInstances',
      actions: ['rds:ModifyDBInstance'],
      resources: [drillInstances],
      conditions: { StringEquals: taggedDrillInstance },
    });
    const denyOnSource = new iam.PolicyStatement({
      sid: 'NeverTouchTheSource',
      effect: iam.Effect.DENY,
      actions: [
        'rds:DeleteDBInstance',
        'rds:ModifyDBInstance',
        'rds:RebootDBInstance',
        'rds:StopDBInstance',
        'rds:AddTagsToResource',
        'rds:RemoveTagsFromResource',
      ],
      resources: [sourceArn],
    });
    const denyUntagging = new iam.PolicyStatement({
      sid: 'NeverRemoveTags',
      effect: iam.Effect.DENY,
      actions: ['rds:RemoveTagsFromResource'],
      resources: ['*'],
    });
    const readSpec = new iam.PolicyStatement({
      sid: 'ReadSpec',
      actions: ['ssm:GetParameter'],
      resources: [this.specParameter.parameterArn],
    });

    const steps = this.stepsFunction;
    for (const statement of [describe, modifyDrillInstance, denyOnSource, denyUntagging, readSpec]) {
      steps.addToRolePolicy(statement);
    }
    steps.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RestoreIntoTaggedDrillInstances',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:RestoreDBInstanceFromDBSnapshot'],
        resources: [
          sourceArn,
          drillInstances,
          rdsArn('snapshot', `rds:${spec.sourceInstanceIdentifier}-*`),
          rdsArn('subgrp', spec.subnetGroupName),
          rdsArn('og', '*'),
          ...(parameterGroupName ? [rdsArn('pg', parameterGroupName)] : []),
        ],
        conditions: {
          StringEquals: drillTagCondition,
          'ForAllValues:StringEquals': onlyDrillTags,
        },
      }),
    );
    steps.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TagDrillInstancesAtCreation',
        actions: ['rds:AddTagsToResource'],
        resources: [drillInstances],
        conditions: { StringEquals: drillTagCondition, 'ForAllValues:StringEquals': onlyDrillTags },
      }),
    );
    steps.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeleteTaggedDrillInstances',
        actions: ['rds:DeleteDBInstance'],
        resources: [drillInstances],
        conditions: { StringEquals: taggedDrillInstance },
      }),
    );
    if (source.key) {
      steps.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'RestoreEncryptedBackups',
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [source.key.keyArn],
        }),
      );
    }
    steps.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PublishDrillMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': DRILL_NAMESPACE } },
      }),
    );
    this.lastSuccessParameter.grantRead(steps);
    this.lastSuccessParameter.grantWrite(steps);

    const verify = this.verifyFunction;
    for (const statement of [describe, modifyDrillInstance, denyOnSource, denyUntagging, readSpec]) {
      verify.addToRolePolicy(statement);
    }
  }

  private acknowledgeFindings(spec: DrillSpec): void {
    const stack = Stack.of(this);
    const rdsArn = (resource: string, resourceName: string) =>
      nagName(
        stack,
        stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      );
    const reasons: Record<string, string> = {
      'AwsSolutions-IAM5[Resource::*]':
        'RDS Describe* and ListTagsForResource cannot be scoped to the drill instances before they exist, CloudWatch PutMetricData has no resource (it is limited to the drill namespace by condition), and the Deny on removing tags covers every resource on purpose.',
      [`AwsSolutions-IAM5[Resource::${rdsArn('db', `${spec.instancePrefix}-*`)}]`]:
        'Drill instances get a new identifier every run; the statements also require the drill tag of this source (rds:db-tag / aws:RequestTag).',
      [`AwsSolutions-IAM5[Resource::${rdsArn('og', '*')}]`]:
        'A restore uses the engine default option group, whose name depends on the engine version; restores are limited to tagged drill instances by condition.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The managed policy only lets the function write its own logs.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]':
        'The managed policy lets the verify function attach its network interfaces in the VPC, nothing else.',
      [`AwsSolutions-IAM5[Resource::${rdsArn('snapshot', `rds:${spec.sourceInstanceIdentifier}-*`)}]`]:
        "The source's automated snapshots are named rds:<source>-<date>; only restores into tagged drill instances are allowed.",
      [`AwsSolutions-IAM5[Resource::${nagName(stack, this.stepsFunction.functionArn)}:*]`]:
        'aws-cdk-lib grants invoking the step function and its versions; nothing else matches.',
      [`AwsSolutions-IAM5[Resource::${nagName(stack, this.verifyFunction.functionArn)}:*]`]:
        'aws-cdk-lib grants invoking the verify function and its versions; nothing else matches.',
    };
    acknowledgeNag(this, ...Object.entries(reasons).map(([id, reason]) => ({ id, reason })));
  }
}
