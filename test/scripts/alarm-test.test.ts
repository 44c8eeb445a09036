// `alarm-test` against moto_server: a stack whose template declares a KMS key, an encrypted SNS topic
// with an e-mail subscription, and metric alarms notifying it. moto's CloudFormation creates the key and
// the topic but skips AWS::CloudWatch::Alarm (it lists such resources with no type or ID), so the
// alarms are created with PutMetricAlarm from the same template properties, and the command's
// ListStackResources adds the entries CloudFormation would list for them. moto has no
// DescribeAlarmHistory: that one call is mocked; SetAlarmState and DescribeAlarms go to moto.
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type MetricAlarm,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Command, CommanderError } from 'commander';
import { type AlarmTestSeams, registerAlarmTest } from '../../scripts/commands/alarm-test';
import { type AlarmTestClients, fireReason, restoreReason } from '../../scripts/lib/alarm-test';
import { type Moto, startMoto } from '../moto';

const ACCOUNT = '123456789012';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:shop-alerts`;
const START = new Date('2026-01-31T12:00:00.000Z');

let moto: Moto;
/** Plain moto clients for the test's own setup and reads. */
let setup: { cloudFormation: CloudFormationClient; cloudwatch: CloudWatchClient };
/** The alarms the deployed template declares: logical ID → PutMetricAlarm input. */
let declared: Map<string, PutMetricAlarmCommandInput>;
let clock: number;
/** What the test saw while the command held the alarms in ALARM. */
let duringHold: MetricAlarm[];

beforeAll(async () => {
  moto = await startMoto();
  setup = {
    cloudFormation: new CloudFormationClient(moto.clientConfig),
    cloudwatch: new CloudWatchClient(moto.clientConfig),
  };
}, 30_000);
afterAll(async () => {
  setup?.cloudFormation.destroy();
  setup?.cloudwatch.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  declared = new Map();
  clock = START.getTime();
  duringHold = [];
});

const seams: AlarmTestSeams = {
  createClients: commandClients,
  now: () => new Date(clock),
  sleep: async (ms) => {
    if (duringHold.length === 0) duringHold = await readAlarms(['Shop-Http5xx', 'Shop-Latency']);
    clock += ms;
  },
  holdSeconds: 10,
  historyWaitSeconds: 10,
};

/**
 * The command's clients, all on moto. CloudFormation's ListStackResources adds the alarm entries moto
 * skipped; CloudWatch's DescribeAlarmHistory (missing in moto) answers that every action succeeded.
 */
function commandClients(): AlarmTestClients {
  const cloudFormation = new CloudFormationClient(moto.clientConfig);
  mockClient(cloudFormation)
    .on(DescribeStacksCommand)
    .callsFake((input) => setup.cloudFormation.send(new DescribeStacksCommand(input)))
    .on(ListStackResourcesCommand)
    .callsFake(async (input) => {
      const listed = await setup.cloudFormation.send(new ListStackResourcesCommand(input));
      const known = (listed.StackResourceSummaries ?? []).filter((r) => r.ResourceType);
      return { StackResourceSummaries: [...known, ...alarmSummaries()] };
    });
  const cloudwatch = new CloudWatchClient(moto.clientConfig);
  mockClient(cloudwatch)
    .on(DescribeAlarmsCommand)
    .callsFake((input) => setup.cloudwatch.send(new DescribeAlarmsCommand(input)))
    .on(SetAlarmStateCommand)
    .callsFake((input) => setup.cloudwatch.send(new SetAlarmStateCommand(input)))
    .on(DescribeAlarmHistoryCommand)
    .callsFake(async (input) => ({ AlarmHistoryItems: succeededActions(input.AlarmName ?? '') }));
  return {
    cloudFormation,
    cloudwatch,
    sns: new SNSClient(moto.clientConfig),
    kms: new KMSClient(moto.clientConfig),
    ecs: new ECSClient(moto.clientConfig),
  };
}

function alarmSummaries(): StackResourceSummary[] {
  return [...declared].map(([logicalId, alarm]) => ({
    LogicalResourceId: logicalId,
    PhysicalResourceId: alarm.AlarmName,
    ResourceType: 'AWS::CloudWatch::Alarm',
    ResourceStatus: 'CREATE_COMPLETE',
    LastUpdatedTimestamp: START,
  }));
}

function succeededActions(alarmName: string) {
  const alarm = [...declared.values()].find((a) => a.AlarmName === alarmName);
  const actions = [...new Set([...(alarm?.AlarmActions ?? []), ...(alarm?.OKActions ?? [])])];
  return actions.map((action) => ({
    AlarmName: alarmName,
    HistoryItemType: 'Action' as const,
    Timestamp: new Date(clock),
    HistorySummary: `Successfully executed action ${action}`,
  }));
}

async function readAlarms(names: string[]): Promise<MetricAlarm[]> {
  return (await setup.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names }))).MetricAlarms ?? [];
}

/** A key CloudWatch may use, the way the kit's AlertTopic writes it. */
const KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'AllowAlarmAndEventPublishers',
      Effect: 'Allow',
      Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    },
  ],
};

/** An alarm of the template: its PutMetricAlarm input, and whether it notifies the topic on ALARM and OK. */
interface AlarmSpec {
  readonly input: PutMetricAlarmCommandInput;
  readonly alarm?: boolean;
  readonly ok?: boolean;
}

function alarmSpec(name: string, metricName: string, actions: { alarm?: boolean; ok?: boolean }): AlarmSpec {
  return {
    input: {
      AlarmName: name,
      Namespace: 'AWS/ApplicationELB',
      MetricName: metricName,
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    },
    ...actions,
  };
}

/** The spec with its actions on the topic: `to` is the Ref in the template, the ARN for PutMetricAlarm. */
function withActions<T>(spec: AlarmSpec, to: T) {
  return { ...spec.input, AlarmActions: spec.alarm ? [to] : undefined, OKActions: spec.ok ? [to] : undefined };
}

/**
 * Creates stack "Shop" in moto from a template with the key, the topic, its subscription and the
 * given alarms, then the alarms with PutMetricAlarm. Returns the key ID.
 */
async function deployShop(alarms: Record<string, AlarmSpec>): Promise<string> {
  const template = {
    Resources: {
      // KeyPolicy as a JSON string (CloudFormation takes both): moto keeps the property as given and its
      // GetKeyPolicy returns it as it is, so an object would come back as an object, not a policy string.
      Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: JSON.stringify(KEY_POLICY) } },
      Topic: {
        Type: 'AWS::SNS::Topic',
        Properties: {
          TopicName: 'shop-alerts',
          KmsMasterKeyId: { Ref: 'Key' },
          Subscription: [{ Protocol: 'email', Endpoint: 'oncall@example.com' }],
        },
      },
      ...Object.fromEntries(
        Object.entries(alarms).map(([id, spec]) => [
          id,
          { Type: 'AWS::CloudWatch::Alarm', Properties: withActions(spec, { Ref: 'Topic' }) },
        ]),
      ),
    },
  };
  await setup.cloudFormation.send(
    new CreateStackCommand({ StackName: 'Shop', TemplateBody: JSON.stringify(template) }),
  );
  const resources = await setup.cloudFormation.send(new ListStackResourcesCommand({ StackName: 'Shop' }));
  const physical = (id: string) =>
    resources.StackResourceSummaries?.find((r) => r.LogicalResourceId === id)?.PhysicalResourceId;
  expect(physical('Topic')).toBe(TOPIC);
  for (const [logicalId, spec] of Object.entries(alarms)) {
    const input: PutMetricAlarmCommandInput = withActions(spec, TOPIC);
    await setup.cloudwatch.send(new PutMetricAlarmCommand(input));
    declared.set(logicalId, input);
  }
  return physical('Key') ?? '';
}

/** Runs `alarm-test` through a program built like `main` builds it. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const context = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) }, exitCode: 0 };
  const program = new Command('prod-baseline')
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.out.write(s), writeErr: (s) => context.err.write(s) });
  registerAlarmTest(program, context, seams);
  try {
    await program.parseAsync(['alarm-test', ...argv], { from: 'user' });
    return { code: context.exitCode, out, err };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: error.exitCode === 0 ? 0 : 2, out, err };
  }
}

const HTTP_5XX = alarmSpec('Shop-Http5xx', 'HTTPCode_Target_5XX_Count', { alarm: true, ok: true });
const LATENCY = alarmSpec('Shop-Latency', 'TargetResponseTime', { alarm: true });

describe('alarm-test on moto', () => {
  test('passes when every alarm notifies a topic with a confirmed subscription and a key CloudWatch may use', async () => {
    const keyId = await deployShop({ Http5xx: HTTP_5XX, Latency: LATENCY });

    const { code, out, err } = await run('--stack', 'Shop');

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.split('\n')).toEqual([
      'alarm-test of stack "Shop" (CREATE_COMPLETE): 2 alarm(s), 1 topic(s)',
      '',
      'ALARM         TYPE    STATE  ACTIONS                                      ROUTING',
      'Shop-Http5xx  metric  OK     alarm: sns:shop-alerts; ok: sns:shop-alerts  notifies',
      'Shop-Latency  metric  OK     alarm: sns:shop-alerts                       notifies',
      '',
      'TOPIC            SUBSCRIPTIONS           KEY',
      `sns:shop-alerts  1 confirmed, 0 pending  ${keyId} (CloudWatch allowed)`,
      '',
      'findings: none',
      '',
    ]);
  });

  test('--json prints the alarms, their routing and the topic', async () => {
    const keyId = await deployShop({ Http5xx: HTTP_5XX });

    const { code, out } = await run('--stack', 'Shop', '--json');

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      stackName: 'Shop',
      stackStatus: 'CREATE_COMPLETE',
      alarms: [
        {
          name: 'Shop-Http5xx',
          arn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:Shop-Http5xx`,
          kind: 'metric',
          logicalId: 'Http5xx',
          stackName: 'Shop',
          state: 'OK',
          actionsEnabled: true,
          actions: { alarm: [TOPIC], ok: [TOPIC], insufficientData: [] },
          references: [],
          routing: { kind: 'direct' },
        },
      ],
      missing: [],
      topics: [
        {
          topicArn: TOPIC,
          usedBy: ['Shop-Http5xx'],
          exists: true,
          confirmed: 1,
          pending: [],
          keyId,
          cloudWatchMayUseKey: 'yes',
        },
      ],
      findings: [],
    });
  });

  test('fails with exit code 1 on an alarm without an action', async () => {
    await deployShop({
      Http5xx: HTTP_5XX,
      Cpu: alarmSpec('Shop-Cpu', 'CPUUtilization', {}),
    });

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out).toContain('Shop-Cpu      metric  OK     -                                            NO ACTION\n');
    expect(out).toContain(
      ['findings (1):', '  - alarm "Shop-Cpu": it has no ALARM action: when it fires nobody is told', ''].join('\n'),
    );
  });

  test('--fire sets each alarm to ALARM with a test reason, then back to OK, and reports the actions', async () => {
    await deployShop({ Http5xx: HTTP_5XX, Latency: LATENCY });

    const { code, out, err } = await run('--stack', 'Shop', '--fire');

    expect(code).toBe(0);
    expect(duringHold.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['Shop-Http5xx', 'ALARM', fireReason(START)],
      ['Shop-Latency', 'ALARM', fireReason(START)],
    ]);
    const after = await readAlarms(['Shop-Http5xx', 'Shop-Latency']);
    const over = restoreReason(new Date(START.getTime() + 10_000));
    expect(after.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['Shop-Http5xx', 'OK', over],
      ['Shop-Latency', 'OK', over],
    ]);
    expect(over).toBe(
      'prod-baseline alarm-test: the test is over, back to OK (2026-01-31T12:00:10.000Z); the next evaluation sets the real state',
    );
    expect(out).toContain(
      [
        'fired at 2026-01-31T12:00:00.000Z, 10s:',
        '  ALARM         ROLE   ACTIONS',
        '  Shop-Http5xx  fired  sns:shop-alerts succeeded',
        '  Shop-Latency  fired  sns:shop-alerts succeeded',
        '',
        'findings: none',
        '',
      ].join('\n'),
    );
    expect(err.split('\n')).toEqual([
      '[   0s] check: looking for a deployment in progress',
      '[   0s] alarm: Shop-Http5xx set to ALARM',
      '[   0s] alarm: Shop-Latency set to ALARM',
      '[   0s] hold: holding ALARM 10s so composite alarms follow',
      '[  10s] ok: Shop-Http5xx set to OK',
      '[  10s] ok: Shop-Latency set to OK',
      '[  10s] history: 2 of 2 expected action(s) in the alarm history',
      '[  10s] done: 2 succeeded, 0 failed, 0 not seen',
      '',
    ]);
  });

  test('fails with exit code 2 when the stack does not exist', async () => {
    const { code, err } = await run('--stack', 'Nope');
    expect(code).toBe(2);
    expect(err).toBe('prod-baseline alarm-test: stack "Nope" does not exist in us-east-1\n');
  });
});
