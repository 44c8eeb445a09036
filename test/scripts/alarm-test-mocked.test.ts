// `alarm-test` on what moto lacks or fakes, played by aws-sdk-client-mock: composite alarms (moto has
// no PutCompositeAlarm), alarm history, subscriptions pending confirmation (moto confirms every one),
// key policies, and deployments in progress.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import {
  type AlarmHistoryItem,
  CloudWatchClient,
  type CompositeAlarm,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type MetricAlarm,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Command, CommanderError } from 'commander';
import { type AlarmTestSeams, registerAlarmTest } from '../../scripts/commands/alarm-test';
import {
  type AlarmTestClients,
  actionResults,
  alarmRuleReferences,
  cloudWatchKeyAccess,
  fireReason,
  restoreReason,
} from '../../scripts/lib/alarm-test';

const ACCOUNT = '123456789012';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:shop-page`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1111aaaa-2222-3333-4444-555566667777`;
const START = new Date('2026-01-31T12:00:00.000Z');

const cloudFormation = mockClient(CloudFormationClient);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const kms = mockClient(KMSClient);
const ecs = mockClient(ECSClient);

/** Clients that could only ever reach the discard port of this machine; every call is mocked. */
function clients(): AlarmTestClients {
  const config = {
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  return {
    cloudFormation: new CloudFormationClient(config),
    cloudwatch: new CloudWatchClient(config),
    sns: new SNSClient(config),
    kms: new KMSClient(config),
    ecs: new ECSClient(config),
  };
}

/** A clock that only moves when the command sleeps. */
let clock: number;
const seams: AlarmTestSeams = {
  createClients: clients,
  now: () => new Date(clock),
  sleep: async (ms) => {
    clock += ms;
  },
  holdSeconds: 10,
  historyWaitSeconds: 10,
};

/** Runs `alarm-test` through a program built like `main` builds it: exit codes, output, no process exit. */
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

interface AlarmSpec {
  readonly name: string;
  readonly actions?: string[];
  readonly ok?: string[];
  readonly rule?: string;
  readonly state?: string;
  readonly enabled?: boolean;
}

/** A stack "Shop" whose resources are these alarms (metric, or composite when `rule` is set). */
function givenStack(
  alarms: AlarmSpec[],
  status: StackStatus = 'UPDATE_COMPLETE',
  extra: { type: string; id: string }[] = [],
) {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'Shop', StackStatus: status, CreationTime: START }],
  });
  const resource = (logicalId: string, type: string, physicalId: string) => ({
    LogicalResourceId: logicalId,
    PhysicalResourceId: physicalId,
    ResourceType: type,
    ResourceStatus: 'UPDATE_COMPLETE' as const,
    LastUpdatedTimestamp: START,
  });
  cloudFormation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      ...alarms.map((a) =>
        resource(
          a.name.replace(/\W/g, ''),
          a.rule ? 'AWS::CloudWatch::CompositeAlarm' : 'AWS::CloudWatch::Alarm',
          a.name,
        ),
      ),
      ...extra.map((e) => resource(e.id.replace(/\W/g, ''), e.type, e.id)),
      resource('Topic', 'AWS::SNS::Topic', TOPIC),
    ],
  });
  const common = (a: AlarmSpec) => ({
    AlarmName: a.name,
    AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${a.name}`,
    ActionsEnabled: a.enabled ?? true,
    AlarmActions: a.actions ?? [],
    OKActions: a.ok ?? [],
    InsufficientDataActions: [],
    StateValue: (a.state ?? 'OK') as MetricAlarm['StateValue'],
  });
  const metric: MetricAlarm[] = alarms.filter((a) => !a.rule).map((a) => ({ ...common(a), MetricName: 'M' }));
  const composite: CompositeAlarm[] = alarms.filter((a) => a.rule).map((a) => ({ ...common(a), AlarmRule: a.rule }));
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: metric, CompositeAlarms: composite });
}

/** The page topic, with one confirmed e-mail subscription unless `subscriptions` says otherwise. */
function givenTopic(attributes: Record<string, string> = {}, subscriptions?: { arn: string; pending?: boolean }[]) {
  sns.on(GetTopicAttributesCommand, { TopicArn: TOPIC }).resolves({ Attributes: { TopicArn: TOPIC, ...attributes } });
  const subs = subscriptions ?? [{ arn: `${TOPIC}:0001` }];
  sns.on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC }).resolves({
    Subscriptions: subs.map((s, i) => ({
      SubscriptionArn: s.arn,
      TopicArn: TOPIC,
      Protocol: 'email',
      Endpoint: `oncall${i + 1}@example.com`,
      Owner: ACCOUNT,
    })),
  });
  for (const s of subs) {
    sns
      .on(GetSubscriptionAttributesCommand, { SubscriptionArn: s.arn })
      .resolves({ Attributes: { PendingConfirmation: s.pending ? 'true' : 'false' } });
  }
}

function historyItem(alarm: string, summary: string, offsetSeconds = 1): AlarmHistoryItem {
  return {
    AlarmName: alarm,
    AlarmType: 'MetricAlarm',
    HistoryItemType: 'Action',
    Timestamp: new Date(START.getTime() + offsetSeconds * 1000),
    HistorySummary: summary,
  };
}

beforeEach(() => {
  for (const mock of [cloudFormation, cloudwatch, sns, kms, ecs]) mock.reset();
  clock = START.getTime();
  cloudwatch.on(SetAlarmStateCommand).resolves({});
  cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ AlarmHistoryItems: [] });
});

describe('alarm-test --fire with the alarm history', () => {
  test('reports a failed action from the history as a finding, and a succeeded one as such', async () => {
    givenStack([
      { name: 'Shop-Http5xx', actions: [TOPIC], ok: [TOPIC] },
      { name: 'Shop-Latency', actions: [TOPIC] },
    ]);
    givenTopic();
    cloudwatch.on(DescribeAlarmHistoryCommand, { AlarmName: 'Shop-Http5xx' }).resolves({
      AlarmHistoryItems: [historyItem('Shop-Http5xx', `Successfully executed action ${TOPIC}`)],
    });
    cloudwatch.on(DescribeAlarmHistoryCommand, { AlarmName: 'Shop-Latency' }).resolves({
      AlarmHistoryItems: [
        historyItem(
          'Shop-Latency',
          `Failed to execute action ${TOPIC}. Received error: "CloudWatch Alarms does not have authorization to access the SNS topic encryption key."`,
        ),
      ],
    });

    const { code, out, err } = await run('--stack', 'Shop', '--fire');

    expect(code).toBe(1);
    const setCalls = cloudwatch.commandCalls(SetAlarmStateCommand).map((c) => c.args[0].input);
    expect(setCalls).toEqual([
      { AlarmName: 'Shop-Http5xx', StateValue: 'ALARM', StateReason: fireReason(START) },
      { AlarmName: 'Shop-Latency', StateValue: 'ALARM', StateReason: fireReason(START) },
      { AlarmName: 'Shop-Http5xx', StateValue: 'OK', StateReason: restoreReason(new Date(START.getTime() + 10_000)) },
      { AlarmName: 'Shop-Latency', StateValue: 'OK', StateReason: restoreReason(new Date(START.getTime() + 10_000)) },
    ]);
    expect(fireReason(START)).toBe(
      'prod-baseline alarm-test: this is a test, not an incident (2026-01-31T12:00:00.000Z)',
    );
    const history = cloudwatch.commandCalls(DescribeAlarmHistoryCommand).map((c) => c.args[0].input);
    expect(history[0]).toEqual({
      AlarmName: 'Shop-Http5xx',
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      HistoryItemType: 'Action',
      StartDate: new Date(START.getTime() - 5_000),
      NextToken: undefined,
    });
    expect(out.split('\n')).toEqual([
      'alarm-test of stack "Shop" (UPDATE_COMPLETE): 2 alarm(s), 1 topic(s)',
      '',
      'ALARM         TYPE    STATE  ACTIONS                                  ROUTING',
      'Shop-Http5xx  metric  OK     alarm: sns:shop-page; ok: sns:shop-page  notifies',
      'Shop-Latency  metric  OK     alarm: sns:shop-page                     notifies',
      '',
      'TOPIC          SUBSCRIPTIONS           KEY',
      'sns:shop-page  1 confirmed, 0 pending  none',
      '',
      'fired at 2026-01-31T12:00:00.000Z, 10s:',
      '  ALARM         ROLE   ACTIONS',
      '  Shop-Http5xx  fired  sns:shop-page succeeded',
      '  Shop-Latency  fired  sns:shop-page FAILED',
      '',
      'findings (1):',
      `  - alarm "Shop-Latency": action ${TOPIC} failed: Failed to execute action ${TOPIC}. Received error: "CloudWatch Alarms does not have authorization to access the SNS topic encryption key."`,
      '',
    ]);
    expect(err.split('\n')).toEqual([
      '[   0s] check: looking for a deployment in progress',
      '[   0s] alarm: Shop-Http5xx set to ALARM',
      '[   0s] alarm: Shop-Latency set to ALARM',
      '[   0s] hold: holding ALARM 10s so composite alarms follow',
      '[  10s] ok: Shop-Http5xx set to OK',
      '[  10s] ok: Shop-Latency set to OK',
      '[  10s] history: 2 of 2 expected action(s) in the alarm history',
      '[  10s] done: 1 succeeded, 1 failed, 0 not seen',
      '',
    ]);
  });

  test('waits for the history, then reports an action that never appears', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic();

    const { code, out, err } = await run('--stack', 'Shop', '--fire', '--json');

    expect(code).toBe(1);
    const report = JSON.parse(out);
    expect(report.fire.alarms).toEqual([
      { alarm: 'Shop-Http5xx', role: 'fired', actions: [{ action: TOPIC, outcome: 'not-seen' }] },
    ]);
    expect(report.findings).toEqual([
      {
        kind: 'action-unconfirmed',
        subject: 'Shop-Http5xx',
        message: `alarm "Shop-Http5xx": action ${TOPIC} does not appear in the alarm history within 10s`,
      },
    ]);
    // Read at 10 s (after the hold), 15 s and 20 s (the 10 s wait is over), polling every 5 s.
    expect(cloudwatch.commandCalls(DescribeAlarmHistoryCommand)).toHaveLength(3);
    expect(err).toContain('[  15s] history: 0 of 1 expected action(s) in the alarm history\n');
  });

  test('skips an alarm already in ALARM', async () => {
    givenStack([
      { name: 'Shop-Down', actions: [TOPIC], state: 'ALARM' },
      { name: 'Shop-Http5xx', actions: [TOPIC] },
    ]);
    givenTopic();
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({
      AlarmHistoryItems: [historyItem('Shop-Http5xx', `Successfully executed action ${TOPIC}`)],
    });

    const { code, out } = await run('--stack', 'Shop', '--fire');

    expect(code).toBe(0);
    expect(cloudwatch.commandCalls(SetAlarmStateCommand).map((c) => c.args[0].input.AlarmName)).toEqual([
      'Shop-Http5xx',
      'Shop-Http5xx',
    ]);
    expect(out).toContain('  Shop-Down     skipped  already in ALARM (a real incident?): not fired\n');
    expect(out).toContain('  Shop-Http5xx  fired    sns:shop-page succeeded\n');
  });

  test('--alarm fires only the named alarms; an unknown name is a usage error', async () => {
    givenStack([
      { name: 'Shop-Http5xx', actions: [TOPIC] },
      { name: 'Shop-Latency', actions: [TOPIC] },
    ]);
    givenTopic();

    const one = await run('--stack', 'Shop', '--fire', '--alarm', 'Shop-Latency');
    expect(cloudwatch.commandCalls(SetAlarmStateCommand).map((c) => c.args[0].input.AlarmName)).toEqual([
      'Shop-Latency',
      'Shop-Latency',
    ]);
    expect(one.out).toContain('  Shop-Latency  fired  sns:shop-page NOT SEEN\n');

    cloudwatch.resetHistory();
    const unknown = await run('--stack', 'Shop', '--fire', '--alarm', 'Shop-Cpu');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
    expect(unknown.err).toBe(
      'prod-baseline alarm-test: no alarm "Shop-Cpu" in stack "Shop"; its alarms: Shop-Http5xx, Shop-Latency\n',
    );
    expect(cloudwatch.commandCalls(SetAlarmStateCommand)).toHaveLength(0);
  });

  test('--dry-run lists the SetAlarmState calls and makes none', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic();

    const { code, out } = await run('--stack', 'Shop', '--fire', '--dry-run');

    expect(code).toBe(0);
    expect(cloudwatch.commandCalls(SetAlarmStateCommand)).toHaveLength(0);
    expect(out).toContain(
      [
        'dry run: --fire would make these calls (nothing was changed):',
        `  1. SetAlarmState Shop-Http5xx ALARM "${fireReason(START)}"`,
        '  2. wait 10s',
        `  3. SetAlarmState Shop-Http5xx OK "${restoreReason(START)}"`,
        '  4. DescribeAlarmHistory (HistoryItemType Action) of each alarm since the start',
        '',
      ].join('\n'),
    );
  });
});

describe('alarm-test subscriptions', () => {
  test('fails when the only subscriptions are pending confirmation (both ways SNS says so)', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({}, [{ arn: 'PendingConfirmation' }, { arn: `${TOPIC}:0002`, pending: true }]);

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out).toContain('sns:shop-page  0 confirmed, 2 pending  none\n');
    expect(out).toContain(
      [
        'findings (1):',
        `  - topic ${TOPIC} has no confirmed subscription (2 pending confirmation: email:oncall1@example.com, email:oncall2@example.com): notifications of "Shop-Http5xx" reach nobody until one is confirmed`,
        '',
      ].join('\n'),
    );
  });

  test('a topic with one confirmed subscription besides pending ones passes', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({}, [{ arn: 'PendingConfirmation' }, { arn: `${TOPIC}:0002` }]);

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(0);
    expect(out).toContain('sns:shop-page  1 confirmed, 1 pending  none\n');
    expect(out).toContain('\nfindings: none\n');
  });

  test('fails when the topic has no subscription, or does not exist', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({}, []);
    expect((await run('--stack', 'Shop')).out).toContain(
      `  - topic ${TOPIC} has no subscription: notifications of "Shop-Http5xx" reach nobody\n`,
    );

    sns
      .on(GetTopicAttributesCommand)
      .rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const { code, out } = await run('--stack', 'Shop');
    expect(code).toBe(1);
    expect(out).toContain('sns:shop-page  DOES NOT EXIST  -\n');
    expect(out).toContain(`  - topic ${TOPIC} does not exist: notifications of "Shop-Http5xx" reach nobody\n`);
  });
});

describe('alarm-test topic keys', () => {
  const allowCloudWatch = {
    Sid: 'AllowAlarmAndEventPublishers',
    Effect: 'Allow',
    Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    Resource: '*',
  };
  const accountRoot = {
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    Action: 'kms:*',
    Resource: '*',
  };

  test('fails when the key policy does not let CloudWatch use the key', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({ KmsMasterKeyId: KEY });
    kms.on(GetKeyPolicyCommand, { KeyId: KEY, PolicyName: 'default' }).resolves({
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [accountRoot] }),
    });

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out).toContain(`sns:shop-page  1 confirmed, 0 pending  ${KEY} (CloudWatch NOT allowed)\n`);
    expect(out).toContain(
      `  - the key policy of ${KEY} (topic ${TOPIC}) does not allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*: CloudWatch cannot publish to the topic and alarm notifications are dropped silently\n`,
    );
  });

  test('passes when the key policy lets CloudWatch use the key', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({ KmsMasterKeyId: KEY });
    kms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify({ Statement: [accountRoot, allowCloudWatch] }) });

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(0);
    expect(out).toContain(`sns:shop-page  1 confirmed, 0 pending  ${KEY} (CloudWatch allowed)\n`);
  });

  test.each([
    ['alias/aws/sns', undefined],
    ['alias/shop-alerts', 'AWS'],
  ])('fails on the AWS managed key (%s, key manager %s)', async (keyId, keyManager) => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({ KmsMasterKeyId: keyId });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k-1', KeyManager: keyManager as 'AWS' } });

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out).toContain(
      `  - topic ${TOPIC} is encrypted with the AWS managed key alias/aws/sns, which CloudWatch may not use: alarm notifications are dropped silently; use a customer managed key that allows cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*\n`,
    );
    expect(kms.commandCalls(GetKeyPolicyCommand)).toHaveLength(0);
  });

  test('resolves a customer alias to its key before reading the policy', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    givenTopic({ KmsMasterKeyId: 'alias/shop-alerts' });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k-1', KeyManager: 'CUSTOMER' } });
    kms
      .on(GetKeyPolicyCommand, { KeyId: 'k-1' })
      .resolves({ Policy: JSON.stringify({ Statement: [allowCloudWatch] }) });

    expect((await run('--stack', 'Shop')).code).toBe(0);
  });

  test.each([
    ['both actions', [allowCloudWatch], []],
    ['kms:* for the service', [{ ...allowCloudWatch, Action: 'kms:*' }], []],
    ['a single service string', [{ ...allowCloudWatch, Principal: { Service: 'cloudwatch.amazonaws.com' } }], []],
    [
      'the actions split over two statements',
      [
        { ...allowCloudWatch, Action: 'kms:Decrypt' },
        { ...allowCloudWatch, Action: ['kms:GenerateDataKey'] },
      ],
      [],
    ],
    ['only Decrypt', [{ ...allowCloudWatch, Action: 'kms:Decrypt' }], ['kms:GenerateDataKey*']],
    [
      'another service',
      [{ ...allowCloudWatch, Principal: { Service: 'events.amazonaws.com' } }],
      ['kms:Decrypt', 'kms:GenerateDataKey*'],
    ],
    [
      'a Deny for everyone',
      [allowCloudWatch, { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt' }],
      ['kms:Decrypt'],
    ],
    ['the account root only', [accountRoot], ['kms:Decrypt', 'kms:GenerateDataKey*']],
  ])('cloudWatchKeyAccess: %s', (_name, statements, missing) => {
    expect(cloudWatchKeyAccess(JSON.stringify({ Statement: statements }))).toEqual(missing);
  });

  test('cloudWatchKeyAccess: a policy that is not JSON allows nothing', () => {
    expect(cloudWatchKeyAccess('{')).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });
});

describe('alarm-test composite routing', () => {
  test('an alarm without action that feeds a composite with one is routed; one whose composite has none is a finding', async () => {
    givenStack([
      { name: 'Shop-Http5xx' },
      { name: 'Shop-Latency' },
      { name: 'Shop-Cpu' },
      { name: 'Shop-ServiceHealth', rule: 'ALARM("Shop-Http5xx") OR ALARM(Shop-Latency)', actions: [TOPIC] },
      { name: 'Shop-Inner', rule: `ALARM("arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:Shop-Cpu")` },
    ]);
    givenTopic();

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out.split('\n')).toEqual([
      'alarm-test of stack "Shop" (UPDATE_COMPLETE): 5 alarm(s), 1 topic(s)',
      '',
      'ALARM               TYPE       STATE  ACTIONS               ROUTING',
      'Shop-Cpu            metric     OK     -                     NO ACTION',
      'Shop-Http5xx        metric     OK     -                     routed via Shop-ServiceHealth',
      'Shop-Inner          composite  OK     -                     NO ACTION',
      'Shop-Latency        metric     OK     -                     routed via Shop-ServiceHealth',
      'Shop-ServiceHealth  composite  OK     alarm: sns:shop-page  notifies',
      '',
      'TOPIC          SUBSCRIPTIONS           KEY',
      'sns:shop-page  1 confirmed, 0 pending  none',
      '',
      'findings (2):',
      '  - alarm "Shop-Cpu": it has no ALARM action, and the composite alarm(s) it feeds ("Shop-Inner") have none either',
      '  - alarm "Shop-Inner": it has no ALARM action: when it fires nobody is told',
      '',
    ]);
  });

  test('routing goes through nested composites, and --fire reads the history of the composite that notifies', async () => {
    givenStack([
      { name: 'Shop-Http5xx' },
      { name: 'Shop-Inner', rule: 'ALARM("Shop-Http5xx")' },
      { name: 'Shop-ServiceHealth', rule: 'ALARM("Shop-Inner")', actions: [TOPIC] },
    ]);
    givenTopic();
    cloudwatch.on(DescribeAlarmHistoryCommand, { AlarmName: 'Shop-ServiceHealth' }).resolves({
      AlarmHistoryItems: [historyItem('Shop-ServiceHealth', `Successfully executed action ${TOPIC}`)],
    });

    const { code, out } = await run('--stack', 'Shop', '--fire', '--alarm', 'Shop-Http5xx');

    expect(code).toBe(0);
    expect(out).toContain(
      'Shop-Http5xx        metric     OK     -                     routed via Shop-Inner -> Shop-ServiceHealth\n',
    );
    expect(out).toContain(
      [
        '  ALARM               ROLE    ACTIONS',
        '  Shop-Http5xx        fired   no actions',
        '  Shop-ServiceHealth  routed  sns:shop-page succeeded',
        '',
      ].join('\n'),
    );
  });

  test('an alarm whose actions are disabled is a finding', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC], enabled: false }]);
    givenTopic();

    const { code, out } = await run('--stack', 'Shop');

    expect(code).toBe(1);
    expect(out).toContain('Shop-Http5xx  metric  OK     alarm: sns:shop-page (disabled)  NO ACTION\n');
    expect(out).toContain(
      '  - alarm "Shop-Http5xx": its actions are disabled (ActionsEnabled is false): when it fires nobody is told\n',
    );
  });

  test.each([
    ['ALARM("a") OR ALARM(b)', ['a', 'b']],
    ['ALARM(\'a\') AND NOT OK("b")', ['a', 'b']],
    [`INSUFFICIENT_DATA("arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:a b")`, ['a b']],
    ['AT_LEAST(2, ALARM, ("a", "b", c))', ['a', 'b', 'c']],
    ['TRUE', []],
  ])('alarmRuleReferences(%s)', (rule, names) => {
    expect(alarmRuleReferences(rule)).toEqual(names);
  });
});

describe('alarm-test deployments in progress', () => {
  const SERVICE = `arn:aws:ecs:us-east-1:${ACCOUNT}:service/shop-cluster/shop-web`;

  test.each([
    ['a CloudFormation update', 'UPDATE_IN_PROGRESS', undefined, 'stack "Shop" is UPDATE_IN_PROGRESS'],
    [
      'an ECS rollout',
      'UPDATE_COMPLETE',
      [{ id: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'IN_PROGRESS' as const }],
      'ECS service "shop-web" has a deployment in progress (ecs-svc/1, rollout IN_PROGRESS)',
    ],
    [
      'two ECS deployments',
      'UPDATE_COMPLETE',
      [
        { id: 'ecs-svc/2', status: 'PRIMARY' },
        { id: 'ecs-svc/1', status: 'ACTIVE' },
      ],
      'ECS service "shop-web" has 2 deployments (one is in progress)',
    ],
  ])('--fire refuses during %s (exit 3) and fires with --force', async (_name, status, deployments, line) => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }], status as StackStatus, [
      { type: 'AWS::ECS::Service', id: SERVICE },
    ]);
    givenTopic();
    ecs.on(DescribeServicesCommand, { cluster: 'shop-cluster', services: [SERVICE] }).resolves({
      services: [
        {
          serviceName: 'shop-web',
          serviceArn: SERVICE,
          deployments: deployments ?? [{ id: 'ecs-svc/0', status: 'PRIMARY', rolloutState: 'COMPLETED' }],
        },
      ],
    });
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({
      AlarmHistoryItems: [historyItem('Shop-Http5xx', `Successfully executed action ${TOPIC}`)],
    });

    const refused = await run('--stack', 'Shop', '--fire');
    expect(refused.code).toBe(3);
    expect(cloudwatch.commandCalls(SetAlarmStateCommand)).toHaveLength(0);
    const message = `refusing to fire alarms while a deployment is in progress (a fired deployment alarm would roll it back): ${line}; run again when it ends, or pass --force`;
    expect(refused.err).toBe(
      `[   0s] check: looking for a deployment in progress\nprod-baseline alarm-test: ${message}\n`,
    );
    expect(refused.out).toContain(`\nrefused: ${message}\n`);

    const forced = await run('--stack', 'Shop', '--fire', '--force');
    expect(forced.code).toBe(0);
    expect(cloudwatch.commandCalls(SetAlarmStateCommand)).toHaveLength(2);
    expect(forced.out).toContain(`fired at 2026-01-31T12:00:00.000Z, 10s:\n  --force: fired despite ${line}\n`);
  });

  test('--dry-run shows that --fire would refuse', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }], 'UPDATE_IN_PROGRESS');
    givenTopic();

    const { code, out } = await run('--stack', 'Shop', '--fire', '--dry-run');

    expect(code).toBe(0);
    expect(out).toContain('  REFUSES without --force: stack "Shop" is UPDATE_IN_PROGRESS\n');
  });

  test('without --fire a deployment in progress changes nothing', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }], 'UPDATE_IN_PROGRESS');
    givenTopic();
    expect((await run('--stack', 'Shop')).code).toBe(0);
  });
});

describe('alarm-test usage and errors', () => {
  test.each([
    [['--stack', 'Shop', '--force'], 'error: --force only applies with --fire'],
    [['--stack', 'Shop', '--alarm', 'A', '--dry-run'], 'error: --alarm, --dry-run only apply with --fire'],
    [[], "error: required option '--stack <name>' not specified"],
    [['--stack', 'Shop', '--colour'], "error: unknown option '--colour'"],
  ])('fails with exit code 2 on bad flags: %j', async (argv, message) => {
    const { code, err } = await run(...argv);
    expect(code).toBe(2);
    expect(err).toContain(`${message}\n`);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  test('fails with exit code 2 when the stack does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    const { code, out, err } = await run('--stack', 'Nope');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe('prod-baseline alarm-test: stack "Nope" does not exist in us-east-1\n');
  });

  test('an AWS error is one line with exit code 3', async () => {
    givenStack([{ name: 'Shop-Http5xx', actions: [TOPIC] }]);
    cloudwatch.on(DescribeAlarmsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms\n    at somewhere'), {
        name: 'AccessDenied',
      }),
    );
    const { code, out, err } = await run('--stack', 'Shop');
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toBe(
      'prod-baseline alarm-test: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms\n',
    );
  });

  test('--help shows the examples and the exit codes', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage: prod-baseline alarm-test [options]');
    expect(out).toContain('  $ prod-baseline alarm-test --stack Shop --fire --dry-run\n');
    expect(out).toContain('3 AWS error, or --fire refused because a deployment');
  });

  test('the stack with no alarms passes with a note', async () => {
    givenStack([]);
    const { code, out } = await run('--stack', 'Shop');
    expect(code).toBe(0);
    expect(out).toBe(
      'alarm-test of stack "Shop" (UPDATE_COMPLETE): 0 alarm(s), 0 topic(s)\n\nthe stack has no alarms\n\nfindings: none\n',
    );
  });
});

describe('actionResults', () => {
  test('reads outcomes from HistoryData when present, and a failure outweighs a success', () => {
    const other = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:notify`;
    const results = actionResults([
      historyItem('A', `Successfully executed action ${TOPIC}`),
      historyItem('A', `Failed to execute action ${TOPIC}. Received error: "throttled"`),
      historyItem('A', `Successfully executed action ${TOPIC}`),
      {
        ...historyItem('A', 'Failed to execute action'),
        HistoryData: JSON.stringify({ actionState: 'Failed', notificationResource: other, error: 'no permission' }),
      },
      historyItem('A', 'Alarm updated from OK to ALARM'),
    ]);
    expect([...results.values()]).toEqual([
      { action: TOPIC, outcome: 'failed', detail: `Failed to execute action ${TOPIC}. Received error: "throttled"` },
      { action: other, outcome: 'failed', detail: 'no permission' },
    ]);
  });
});
