import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AlertTopic,
  DrillCheck,
  DrillSchedule,
  ResilientDatabase,
  RestoreDrill,
  type RestoreDrillProps,
  RestoreFrom,
  WeekDay,
} from '../../../constructs';
import { cdkJsonContext, logicalId, testApp } from '../../helpers';

function drillStack(props: Partial<RestoreDrillProps> = {}) {
  const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    flowLogs: { All: {} },
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const alerts = new AlertTopic(stack, 'Alerts');
  const db = new ResilientDatabase(stack, 'Db', { vpc, alerts, databaseName: 'shop' });
  const drill = new RestoreDrill(stack, 'Drill', { source: db, alerts, ...props });
  const template = Template.fromStack(stack);
  return { stack, db, drill, alerts, template, json: template.toJSON() };
}

/** The state machine definition as an object, with tokens left as placeholders. */
function definitionOf(json: Record<string, any>, stack: Stack, drill: RestoreDrill): Record<string, any> {
  const body = json.Resources[logicalId(stack, drill.stateMachine)].Properties.DefinitionString;
  const text = (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '"TOKEN"')).join('');
  return JSON.parse(text.replace(/""TOKEN""/g, '"TOKEN"'));
}

describe('schedule', () => {
  test('weekly on Tuesday at 03:00 UTC by default, starting the state machine with an empty request', () => {
    const { template, stack, drill } = drillStack();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 ? * TUE *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: { Arn: { Ref: logicalId(stack, drill.stateMachine) }, Input: '{"request":{}}' },
    });
  });

  test.each([
    [DrillSchedule.daily({ hour: 5, minute: 30 }), 'cron(30 5 * * ? *)'],
    [DrillSchedule.weekly(WeekDay.SUNDAY, { hour: 1 }), 'cron(0 1 ? * SUN *)'],
    [DrillSchedule.cron('cron(0 4 1 * ? *)', Duration.days(31)), 'cron(0 4 1 * ? *)'],
  ])('%#: other schedules render as EventBridge Scheduler cron', (schedule, expression) => {
    drillStack({ schedule }).template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: expression,
    });
  });

  test('an hourly housekeeping schedule invokes the step function', () => {
    const { template, stack, drill } = drillStack();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(stack, drill.stepsFunction), 'Arn'] },
        Input: '{"action":"housekeeping"}',
      },
    });
  });

  test('fails on a time of day that does not exist, and on a malformed cron', () => {
    expect(() => DrillSchedule.daily({ hour: 24, minute: 60 })).toThrow(
      'DrillSchedule: hour must be a whole number from 0 to 23, got 24; minute must be a whole number from 0 to 59, got 60',
    );
    expect(() => DrillSchedule.cron('0 3 * * ? *', Duration.days(1))).toThrow(
      'DrillSchedule.cron: expression must look like "cron(0 3 ? * TUE *)", got "0 3 * * ? *"',
    );
  });
});

describe('state machine', () => {
  test('runs choose, restore, wait, check, verify, publish, cleanup and confirms deletion', () => {
    const { json, stack, drill } = drillStack();
    const definition = definitionOf(json, stack, drill);
    expect(definition.StartAt).toBe('Choose');
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        'Available?',
        'CheckDeleted',
        'CheckRestore',
        'Choose',
        'Cleanup',
        'CleanupAfterError',
        'Deleted?',
        'DrillFailed',
        'DrillPassed',
        'FirstWait',
        'KeptOrDeleting?',
        'Outcome',
        'Publish',
        'Restore',
        'Verify',
        'WaitForDeletion',
        'WaitForRestore',
      ].sort(),
    );
    expect(definition.States.Choose.Next).toBe('Restore');
    expect(definition.States.Restore.Next).toBe('FirstWait');
    expect(definition.States.WaitForRestore).toMatchObject({ Type: 'Wait', SecondsPath: '$.progress.nextWaitSeconds' });
    expect(definition.States['Available?'].Choices[0]).toMatchObject({
      Variable: '$.progress.available',
      BooleanEquals: true,
      Next: 'Verify',
    });
    expect(definition.States['Available?'].Default).toBe('WaitForRestore');
    expect(definition.States.Verify.Next).toBe('Publish');
    expect(definition.States.Publish.Next).toBe('Cleanup');
    expect(definition.States.Outcome.Choices[0]).toMatchObject({ Variable: '$.cleanup.passed', Next: 'DrillPassed' });
  });

  test('every step that can fail before cleanup has a Catch that leads to the cleanup', () => {
    const { json, stack, drill } = drillStack();
    const states = definitionOf(json, stack, drill).States;
    for (const name of ['Choose', 'Restore', 'CheckRestore', 'Verify', 'Publish']) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CleanupAfterError' },
      ]);
      expect(states[name].Retry[0]).toMatchObject({ MaxAttempts: 3, BackoffRate: 2 });
    }
    expect(states.CleanupAfterError.Next).toBe('KeptOrDeleting?');
    expect(states.Cleanup.Next).toBe('KeptOrDeleting?');
  });

  test('never passes secrets through state: the verify step receives only the run', () => {
    const { json, stack, drill } = drillStack();
    expect(definitionOf(json, stack, drill).States.Verify.Parameters).toEqual({ 'run.$': '$.run' });
  });

  test('logs every state without execution data, traces, and times out after maxWait plus 2 hours', () => {
    const { template } = drillStack({ maxWait: Duration.hours(3) });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    const { json, stack, drill } = drillStack({ maxWait: Duration.hours(3) });
    expect(definitionOf(json, stack, drill).TimeoutSeconds).toBe(5 * 3600);
  });

  test('an EventBridge rule cleans up after executions that end ABORTED, TIMED_OUT or FAILED', () => {
    const { template, stack, drill } = drillStack();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
          stateMachineArn: [{ Ref: logicalId(stack, drill.stateMachine) }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, drill.stepsFunction), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
        }),
      ],
    });
  });
});

describe('functions and network', () => {
  test('the verify function alone runs in the VPC, and only it reaches drill instances', () => {
    const { template, json, stack, drill } = drillStack();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 900,
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    expect(json.Resources[logicalId(stack, drill.stepsFunction)].Properties.VpcConfig).toBeUndefined();
    const drillGroup = logicalId(stack, drill.instanceSecurityGroup);
    expect(json.Resources[drillGroup].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
    const ingress = Object.values<any>(json.Resources).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId?.['Fn::GetAtt']?.[0] === drillGroup,
    );
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(/^DrillVerifySecurityGroup/);
  });

  test('function logs keep a retention', () => {
    const { json, stack, drill } = drillStack();
    for (const fn of [drill.stepsFunction, drill.verifyFunction]) {
      const group = json.Resources[logicalId(stack, fn)].Properties.LoggingConfig.LogGroup.Ref;
      expect(json.Resources[group].Properties.RetentionInDays).toBe(30);
    }
  });
});

describe('drill spec', () => {
  test('holds what a restore needs and the declared checks', () => {
    const { json, stack, drill, db } = drillStack({
      checks: [
        DrillCheck.rowCount('orders', { min: 1 }),
        DrillCheck.freshness('orders', 'created_at', { maxAge: Duration.hours(1) }),
      ],
      restoreFrom: RestoreFrom.LATEST_SNAPSHOT,
      instancePrefix: 'rehearsal',
    });
    const value = json.Resources[logicalId(stack, drill.specParameter)].Properties.Value['Fn::Join'][1] as unknown[];
    const text = value.map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).replace(/"/g, "'")}>`)).join('');
    expect(JSON.parse(text)).toEqual({
      version: 1,
      sourceInstanceIdentifier: `<{'Ref':'${logicalId(stack, db.instance)}'}>`,
      instancePrefix: 'rehearsal',
      subnetGroupName: `<{'Ref':'${logicalId(stack, db.subnetGroup)}'}>`,
      securityGroupIds: [`<{'Fn::GetAtt':['${logicalId(stack, drill.instanceSecurityGroup)}','GroupId']}>`],
      parameterGroupName: `<{'Ref':'${logicalId(stack, db.parameterGroup.node.findChild('Resource'))}'}>`,
      instanceClass: 'db.t4g.micro',
      databaseName: 'shop',
      checks: [
        { kind: 'rowCount', table: 'orders', min: 1 },
        { kind: 'freshness', table: 'orders', column: 'created_at', maxAgeSeconds: 3600 },
      ],
      useLatestSnapshot: true,
      maxWaitSeconds: 7200,
      maxInstanceAgeSeconds: 21600,
      lastSuccessParameter: `<{'Ref':'${logicalId(stack, drill.lastSuccessParameter)}'}>`,
      rpoTargetSeconds: 900,
      rtoTargetSeconds: 3600,
    });
  });

  test('the last-success parameter starts as "never"', () => {
    const { json, stack, drill } = drillStack();
    expect(json.Resources[logicalId(stack, drill.lastSuccessParameter)].Properties.Value).toBe('never');
  });
});

describe('IAM', () => {
  const statementsOf = (json: Record<string, any>, stack: Stack, fn: { role?: iam.IRole }) =>
    Object.values<any>(json.Resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles[0].Ref === logicalId(stack, fn.role as iam.Role),
    ).Properties.PolicyDocument.Statement as any[];
  const arn = (rest: unknown[]) => ({
    'Fn::Join': ['', ['arn:aws:rds:eu-west-1:', { Ref: 'AWS::AccountId' }, ...rest]],
  });

  test('restores only into tagged drill instances, tagging at creation with the drill tags only', () => {
    const { json, stack, drill, db } = drillStack();
    const source = { Ref: logicalId(stack, db.instance) };
    const statements = statementsOf(json, stack, drill.stepsFunction);
    const byId = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    const tagConditions = {
      StringEquals: { 'aws:RequestTag/prod-baseline:drill-source': source },
      'ForAllValues:StringEquals': {
        'aws:TagKeys': ['prod-baseline:drill-source', 'prod-baseline:drill-run', 'prod-baseline:drill-keep-until'],
      },
    };
    expect(byId.RestoreIntoTaggedDrillInstances).toMatchObject({
      Effect: 'Allow',
      Action: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:RestoreDBInstanceToPointInTime'],
      Condition: tagConditions,
    });
    expect(byId.RestoreIntoTaggedDrillInstances.Resource).toEqual(
      expect.arrayContaining([arn([':db:', source]), arn([':db:drill-*']), arn([':snapshot:rds:', source, '-*'])]),
    );
    expect(byId.TagDrillInstancesAtCreation).toEqual({
      Sid: 'TagDrillInstancesAtCreation',
      Effect: 'Allow',
      Action: 'rds:AddTagsToResource',
      Resource: arn([':db:drill-*']),
      Condition: tagConditions,
    });
  });

  test('modifies and deletes only drill-prefixed instances that carry the drill tag of this source', () => {
    const { json, stack, drill, db } = drillStack();
    const byId = Object.fromEntries(statementsOf(json, stack, drill.stepsFunction).map((s) => [s.Sid, s]));
    const tagged = {
      StringEquals: { 'rds:db-tag/prod-baseline:drill-source': { Ref: logicalId(stack, db.instance) } },
    };
    expect(byId.ModifyTaggedDrillInstances).toMatchObject({
      Action: 'rds:ModifyDBInstance',
      Resource: arn([':db:drill-*']),
      Condition: tagged,
    });
    expect(byId.DeleteTaggedDrillInstances).toMatchObject({
      Action: 'rds:DeleteDBInstance',
      Resource: arn([':db:drill-*']),
      Condition: tagged,
    });
  });

  test.each(['steps', 'verify'] as const)(
    'the %s function is denied every change to the source and removing any tag',
    (which) => {
      const { json, stack, drill, db } = drillStack();
      const fn = which === 'steps' ? drill.stepsFunction : drill.verifyFunction;
      const byId = Object.fromEntries(statementsOf(json, stack, fn).map((s) => [s.Sid, s]));
      expect(byId.NeverTouchTheSource).toEqual({
        Sid: 'NeverTouchTheSource',
        Effect: 'Deny',
        Action: [
          'rds:AddTagsToResource',
          'rds:DeleteDBInstance',
          'rds:ModifyDBInstance',
          'rds:RebootDBInstance',
          'rds:RemoveTagsFromResource',
          'rds:StopDBInstance',
        ],
        Resource: arn([':db:', { Ref: logicalId(stack, db.instance) }]),
      });
      expect(byId.NeverRemoveTags).toEqual({
        Sid: 'NeverRemoveTags',
        Effect: 'Deny',
        Action: 'rds:RemoveTagsFromResource',
        Resource: '*',
      });
    },
  );

  test('the verify function cannot restore or delete', () => {
    const { json, stack, drill } = drillStack();
    const actions = statementsOf(json, stack, drill.verifyFunction)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual(
      [
        'rds:DescribeDBInstances',
        'rds:DescribeDBSnapshots',
        'rds:ListTagsForResource',
        'rds:ModifyDBInstance',
        'ssm:GetParameter',
      ].sort(),
    );
  });

  test('KMS grants only on the source key, metrics only in the drill namespace', () => {
    const { json, stack, drill, db } = drillStack();
    const byId = Object.fromEntries(statementsOf(json, stack, drill.stepsFunction).map((s) => [s.Sid, s]));
    expect(byId.RestoreEncryptedBackups).toEqual({
      Sid: 'RestoreEncryptedBackups',
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey'],
      Resource: { 'Fn::GetAtt': [logicalId(stack, db.key), 'Arn'] },
    });
    expect(byId.PublishDrillMetrics.Condition).toEqual({
      StringEquals: { 'cloudwatch:namespace': 'ProdBaseline/RestoreDrill' },
    });
  });

  test('grantStartDrill lets a principal start and follow executions of this drill and read its spec', () => {
    // A plain App: the grant's execution wildcard is the user's own cdk-nag finding to acknowledge.
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Ops', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const db = new ResilientDatabase(stack, 'Db', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    const drill = new RestoreDrill(stack, 'Drill', { source: db });
    const role = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    drill.grantStartDrill(role);
    const statements = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(stack, role) }] },
    });
    const actions = Object.values<any>(statements).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.map((x: any) => x.Action),
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'states:StartExecution',
        ['states:DescribeExecution', 'states:GetExecutionHistory'],
        ['ssm:DescribeParameters', 'ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters'],
      ]),
    );
  });
});

describe('alarms', () => {
  test.each([
    ['DrillSucceeded', 'Minimum', 300, 1, 'LessThanThreshold', 'ignore', '[page] The restore drill failed'],
    [
      'SecondsSinceLastSuccess',
      'Maximum',
      3600,
      8 * 86400,
      'GreaterThanThreshold',
      'breaching',
      '[page] No successful restore drill for 8 days',
    ],
    [
      'RestorePointLagSeconds',
      'Maximum',
      300,
      900,
      'GreaterThanThreshold',
      'ignore',
      '[notify] The latest restorable time lagged',
    ],
    ['RestoreSeconds', 'Maximum', 300, 3600, 'GreaterThanThreshold', 'ignore', '[notify] A restore took longer'],
  ])(
    '%s: %s over %d s, threshold %d, %s, missing data %s',
    (metric, statistic, period, threshold, operator, missing, text) => {
      const { template, stack, db, alerts } = drillStack();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ProdBaseline/RestoreDrill',
        MetricName: metric,
        Dimensions: [{ Name: 'SourceInstance', Value: { Ref: logicalId(stack, db.instance) } }],
        Statistic: statistic,
        Period: period,
        Threshold: threshold,
        ComparisonOperator: operator,
        TreatMissingData: missing,
        EvaluationPeriods: 1,
        AlarmActions: [{ Ref: logicalId(stack, text.startsWith('[page]') ? alerts.topic : alerts.notifyTopic) }],
        AlarmDescription: Match.stringLikeRegexp(`^${text.replace(/[[\]]/g, '\\$&')}`),
      });
    },
  );

  test('the overdue alarm follows the schedule: a daily drill is overdue after 2 days', () => {
    drillStack({ schedule: DrillSchedule.daily() }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SecondsSinceLastSuccess',
      Threshold: 2 * 86400,
    });
  });

  test('the failed alarm tells the reader which command to run', () => {
    const { drill } = drillStack();
    expect(Stack.of(drill).resolve((drill.failedAlarm.alarm.node.defaultChild as any).alarmDescription)).toContain(
      'Run: npx prod-baseline restore-drill --stack <stack> --local',
    );
  });

  test('metric helpers name the source', () => {
    const { drill, stack, db } = drillStack();
    expect(stack.resolve(drill.metricDataAgeSeconds().dimensions)).toEqual({
      SourceInstance: { Ref: logicalId(stack, db.instance) },
    });
    expect(drill.metricChecksFailed().metricName).toBe('ChecksFailed');
    expect(drill.metricVerifySeconds().namespace).toBe('ProdBaseline/RestoreDrill');
  });
});

describe('props', () => {
  test('fails with every bad prop at once', () => {
    expect(() =>
      drillStack({
        instancePrefix: 'Drill_',
        maxWait: Duration.minutes(5),
        maxInstanceAge: Duration.minutes(4),
        rpoTarget: Duration.minutes(1),
      }),
    ).toThrow(
      'Shop/Drill: instancePrefix must be a lower-case letter, then letters or digits, at most 20 characters, got "Drill_"; ' +
        'maxWait must be between 10 minutes and 6 hours, got 5 minutes; ' +
        'maxInstanceAge must be longer than maxWait (5 minutes), got 4 minutes; ' +
        'rpoTarget must be at least 5 minutes (RDS ships transaction logs every 5 minutes), got 1 minute',
    );
  });

  test('is listed in the manifest with what the command needs', () => {
    const { json, stack } = drillStack();
    const manifest = Object.values<any>(json.Resources).find(
      (r) => r.Type === 'AWS::SSM::Parameter' && r.Metadata?.['prod-baseline']?.role === 'manifest',
    );
    const text = JSON.stringify(manifest.Properties.Value);
    expect(text).toContain('\\"Drill\\":{\\"role\\":\\"restore-drill\\"');
    for (const key of ['stateMachineArn', 'specParameterName', 'sourceInstanceIdentifier']) expect(text).toContain(key);
    expect(stack.stackName).toBe('Shop');
  });
});
