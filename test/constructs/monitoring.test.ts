import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  AlertTopic,
  BlueGreenService,
  BlueGreenTraffic,
  ErrorLogAlarm,
  FunctionAlarms,
  MonthlyBudget,
  ServiceAlarms,
  type ServiceAlarmsProps,
} from '../../constructs';
import { acknowledgeNag } from '../../constructs/core/nag';
import { logicalId, synthBaseline, testApp } from '../helpers';

function serviceStack(props: Partial<ServiceAlarmsProps> = {}) {
  const stack = new Stack(testApp(), 'Web', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
  const alerts = new AlertTopic(stack, 'Alerts', { emails: ['ops@example.com'] });
  const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
  const app = new BlueGreenService(stack, 'App', {
    traffic,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
  });
  const alarms = new ServiceAlarms(stack, 'Alarms', {
    loadBalancer: traffic.loadBalancer,
    targetGroups: [traffic.blueTargetGroup, traffic.greenTargetGroup],
    service: app.service,
    routing: alerts,
    ...props,
  });
  const template = Template.fromStack(stack);
  return { stack, alerts, traffic, app, alarms, template, json: template.toJSON() };
}

const alarmOf = (json: Record<string, any>, stack: Stack, alarm: { alarm: cloudwatch.Alarm }) =>
  json.Resources[logicalId(stack, alarm.alarm)].Properties;

describe('ServiceAlarms', () => {
  test('the 5xx rates are metric math over RequestCount with a minimum-traffic guard, 1-minute periods', () => {
    const { json, stack, alarms } = serviceStack();
    const elb = alarmOf(json, stack, alarms.elb5xxRate);
    expect(elb).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    const expression = elb.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('IF(requests >= 20, 100 * FILL(elb5xx, 0) / requests, 0)');
    const byId = Object.fromEntries(elb.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat]));
    expect(byId.requests).toMatchObject({
      Metric: { MetricName: 'RequestCount', Namespace: 'AWS/ApplicationELB' },
      Period: 60,
      Stat: 'Sum',
    });
    expect(byId.elb5xx.Metric.MetricName).toBe('HTTPCode_ELB_5XX_Count');
    const target = alarmOf(json, stack, alarms.target5xxRate);
    expect(target.Metrics.find((m: any) => m.Id === 'target5xx').MetricStat.Metric.MetricName).toBe(
      'HTTPCode_Target_5XX_Count',
    );
  });

  test('healthy hosts add up both target groups, missing data breaching, so an outage without traffic pages', () => {
    const { json, stack, alarms, traffic } = serviceStack();
    const healthy = alarmOf(json, stack, alarms.healthyHosts);
    expect(healthy).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(healthy.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(h0, 0) + FILL(h1, 0)');
    const groups = healthy.Metrics.filter((m: any) => m.MetricStat).map(
      (m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'TargetGroup').Value['Fn::GetAtt'][0],
    );
    expect(groups).toEqual([logicalId(stack, traffic.blueTargetGroup), logicalId(stack, traffic.greenTargetGroup)]);
  });

  test('critical alarms have no actions of their own and page through the ServiceHealth composite', () => {
    const { json, stack, alarms, alerts } = serviceStack();
    for (const alarm of [alarms.elb5xxRate, alarms.target5xxRate, alarms.healthyHosts]) {
      expect(alarmOf(json, stack, alarm).AlarmActions).toBeUndefined();
    }
    const composite = json.Resources[logicalId(stack, alarms.serviceHealth)].Properties;
    expect(composite.AlarmActions).toEqual([{ Ref: logicalId(stack, alerts.topic) }]);
    expect(composite.OKActions).toEqual([{ Ref: logicalId(stack, alerts.topic) }]);
    const rule = JSON.stringify(composite.AlarmRule);
    for (const alarm of [alarms.elb5xxRate, alarms.target5xxRate, alarms.healthyHosts]) {
      expect(rule).toContain(logicalId(stack, alarm.alarm));
    }
  });

  test('alarms added later with addCriticalAlarm join the composite', () => {
    const stack = new Stack(testApp(), 'Web2', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
    const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
    const alarms = new ServiceAlarms(stack, 'Alarms', {
      loadBalancer: traffic.loadBalancer,
      targetGroups: [traffic.blueTargetGroup],
    });
    const extra = new cloudwatch.Alarm(stack, 'CanaryLike', {
      metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    alarms.addCriticalAlarm(extra);
    const composite = Template.fromStack(stack).toJSON().Resources[logicalId(stack, alarms.serviceHealth)].Properties;
    expect(JSON.stringify(composite.AlarmRule)).toContain(logicalId(stack, extra));
  });

  test('notify alarms and the deployment guards route to the notify topic', () => {
    const { json, stack, alarms, alerts } = serviceStack();
    const notify = [{ Ref: logicalId(stack, alerts.notifyTopic) }];
    for (const alarm of [alarms.p99Latency, alarms.rejectedConnections, ...alarms.deploymentAlarms]) {
      expect(alarmOf(json, stack, alarm).AlarmActions).toEqual(notify);
    }
    expect(alarmOf(json, stack, alarms.p99Latency)).toMatchObject({
      MetricName: 'TargetResponseTime',
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: 2,
      DatapointsToAlarm: 3,
    });
    expect(alarms.deploymentAlarms.map((a) => alarmOf(json, stack, a).DatapointsToAlarm)).toEqual([2, 2]);
  });

  test('the deployment guards are not members of the composite (ECS ignores alarms already in ALARM)', () => {
    const { json, stack, alarms } = serviceStack();
    const rule = JSON.stringify(json.Resources[logicalId(stack, alarms.serviceHealth)].Properties.AlarmRule);
    for (const alarm of alarms.deploymentAlarms) expect(rule).not.toContain(logicalId(stack, alarm.alarm));
  });

  test('CPU and memory of the service over 5 minutes', () => {
    const { json, stack, alarms } = serviceStack({ thresholds: { cpuPercent: 70 } });
    expect(alarmOf(json, stack, alarms.cpu as any)).toMatchObject({
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      Threshold: 70,
      DatapointsToAlarm: 5,
    });
    expect(alarmOf(json, stack, alarms.memory as any)).toMatchObject({
      MetricName: 'MemoryUtilization',
      Threshold: 85,
    });
  });

  test('time to detect meets the targets at the defaults: 3 minutes for an outage and for an error spike', () => {
    const { alarms } = serviceStack();
    expect(alarms.healthyHosts.timeToDetect.toMinutes()).toBe(3);
    expect(alarms.elb5xxRate.timeToDetect.toMinutes()).toBe(3);
    expect(alarms.target5xxRate.timeToDetect.toMinutes()).toBe(3);
    expect(alarms.p99Latency.timeToDetect.toMinutes()).toBe(5);
    expect(alarms.deploymentAlarms.map((a) => a.timeToDetect.toMinutes())).toEqual([4, 4]);
  });

  test('fails on thresholds that cannot work', () => {
    expect(() =>
      serviceStack({
        thresholds: { errorRatePercent: 0, minimumRequestsPerMinute: 0, minimumHealthyHosts: 0 },
        targetGroups: [],
      }),
    ).toThrow(
      'Web/Alarms: errorRatePercent must be more than 0 and at most 100, got 0; ' +
        'minimumRequestsPerMinute must be a whole number of at least 1, got 0; ' +
        'minimumHealthyHosts must be a whole number of at least 1, got 0; ' +
        'targetGroups must name at least one target group, got none',
    );
  });
});

describe('FunctionAlarms', () => {
  test('error rate with a traffic guard, throttles, p99 duration at 80 % of the timeout', () => {
    const stack = new Stack(testApp(), 'Fn', { env: { region: 'eu-west-1' } });
    const fn = new lambda.Function(stack, 'Api', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1'),
      timeout: Duration.seconds(10),
    });
    acknowledgeNag(fn, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The test function only writes its own logs.',
    });
    const alerts = new AlertTopic(stack, 'Alerts');
    const alarms = new FunctionAlarms(stack, 'ApiAlarms', {
      function: fn,
      timeout: Duration.seconds(10),
      routing: alerts,
    });
    const json = Template.fromStack(stack).toJSON();
    const error = json.Resources[logicalId(stack, alarms.errorRate.alarm)].Properties;
    expect(error.Metrics.find((m: any) => m.Expression).Expression).toBe(
      'IF(invocations >= 10, 100 * FILL(errors, 0) / invocations, 0)',
    );
    expect(error.AlarmActions).toEqual([{ Ref: logicalId(stack, alerts.topic) }]);
    expect(json.Resources[logicalId(stack, alarms.duration.alarm)].Properties).toMatchObject({
      ExtendedStatistic: 'p99',
      Threshold: 8000,
    });
    expect(json.Resources[logicalId(stack, alarms.throttles.alarm)].Properties).toMatchObject({
      MetricName: 'Throttles',
      Threshold: 0,
      DatapointsToAlarm: 3,
      EvaluationPeriods: 5,
    });
  });
});

describe('ErrorLogAlarm', () => {
  test('counts JSON lines at level error or fatal (words or pino numbers) and notifies', () => {
    const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
    const group = new logs.LogGroup(stack, 'App', { retention: logs.RetentionDays.ONE_MONTH });
    const alerts = new AlertTopic(stack, 'Alerts');
    const alarm = new ErrorLogAlarm(stack, 'Errors', { logGroup: group, routing: alerts });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern:
        '{ ($.level = "error") || ($.level = "fatal") || ($.level = "ERROR") || ($.level = "FATAL") || ($.level >= 50) }',
      MetricTransformations: [
        { MetricNamespace: 'ProdBaseline/Shop', MetricName: 'ErrorLogLines', MetricValue: '1', DefaultValue: 0 },
      ],
    });
    expect(Template.fromStack(stack).toJSON().Resources[logicalId(stack, alarm.alarm.alarm)].Properties).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      DatapointsToAlarm: 2,
      AlarmActions: [{ Ref: logicalId(stack, alerts.notifyTopic) }],
    });
  });
});

describe('MonthlyBudget', () => {
  test('notifies at 80 % actual and 100 % forecast, and lets AWS Budgets publish to the encrypted topic', () => {
    const stack = new Stack(testApp(), 'Cost', { env: { region: 'eu-west-1' } });
    const alerts = new AlertTopic(stack, 'Alerts');
    new MonthlyBudget(stack, 'Budget', { amountUsd: 250, topic: alerts.notifyTopic, topicKey: alerts.key });
    const template = Template.fromStack(stack);
    const subscriber = [{ SubscriptionType: 'SNS', Address: { Ref: logicalId(stack, alerts.notifyTopic) } }];
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 250, Unit: 'USD' } },
      NotificationsWithSubscribers: [
        {
          Notification: {
            NotificationType: 'ACTUAL',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 80,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscriber,
        },
        {
          Notification: {
            NotificationType: 'FORECASTED',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 100,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscriber,
        },
      ],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowBudgetNotifications',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowBudgetNotifications', Principal: { Service: 'budgets.amazonaws.com' } }),
        ]),
      },
    });
  });

  test('fails on an amount of zero', () => {
    const stack = new Stack(testApp(), 'Cost2', { env: { region: 'eu-west-1' } });
    const alerts = new AlertTopic(stack, 'Alerts');
    expect(() => new MonthlyBudget(stack, 'Budget', { amountUsd: 0, topic: alerts.notifyTopic })).toThrow(
      'Cost2/Budget: amountUsd must be more than 0 and at most 1000000, got 0',
    );
  });
});

describe('AlertTopic severities', () => {
  test('page and notify topics share the key; webhooks subscribe over HTTPS; Slack gets both topics read-only', () => {
    const stack = new Stack(testApp(), 'Alerting', { env: { region: 'eu-west-1' } });
    const alerts = new AlertTopic(stack, 'Alerts', {
      page: { emails: ['oncall@example.com'], webhooks: ['https://events.example.com/hook'] },
      notify: { emails: ['team@example.com'] },
      slack: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.resourcePropertiesCountIs(
      'AWS::SNS::Topic',
      { KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack, alerts.key), 'Arn'] } },
      2,
    );
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.example.com/hook',
      TopicArn: { Ref: logicalId(stack, alerts.topic) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'team@example.com',
      TopicArn: { Ref: logicalId(stack, alerts.notifyTopic) },
    });
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [{ Ref: logicalId(stack, alerts.topic) }, { Ref: logicalId(stack, alerts.notifyTopic) }],
      GuardrailPolicies: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/ReadOnlyAccess']] }],
    });
  });

  test('fails on webhooks that are not https', () => {
    const stack = new Stack(testApp(), 'Alerting2', { env: { region: 'eu-west-1' } });
    expect(() => new AlertTopic(stack, 'Alerts', { page: { webhooks: ['http://insecure.example.com'] } })).toThrow(
      'Alerting2/Alerts: page webhooks must be https:// URLs, got "http://insecure.example.com"; notify webhooks must be https:// URLs, got "http://insecure.example.com"',
    );
  });
});

describe('in the baseline', () => {
  test('one dashboard with golden signals, service, database, drill and every alarm', () => {
    const { json, stack } = synthBaseline();
    const body = JSON.stringify(json.Resources[logicalId(stack, stack.dashboard.dashboard)].Properties.DashboardBody);
    for (const heading of [
      '## Golden signals',
      '## Service and logs',
      '## Database',
      '## Restore drill',
      '## Every alarm',
    ]) {
      expect(body).toContain(heading);
    }
    expect(body).toContain('HTTPCode_Target_5XX_Count');
    expect(body).toContain('SecondsSinceLastSuccess');
  });

  test('every alarm of the baseline is routed: an action, or a member of a composite that has one', () => {
    const { json } = synthBaseline({ alertEmails: 'ops@example.com' });
    const resources = Object.entries<any>(json.Resources);
    const composites = resources.filter(([, r]) => r.Type === 'AWS::CloudWatch::CompositeAlarm');
    const inComposite = (id: string) =>
      composites.some(
        ([, c]) => JSON.stringify(c.Properties.AlarmRule).includes(id) && c.Properties.AlarmActions?.length,
      );
    const unrouted = resources
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .filter(([id, r]) => !(r.Properties.AlarmActions?.length > 0) && !inComposite(id))
      .map(([id]) => id);
    expect(unrouted).toEqual([]);
    expect(composites).toHaveLength(1);
  });

  test('the canary runs at the profile rate against the app URL, pages through ServiceHealth and guards deployments', () => {
    const { json, stack } = synthBaseline({ profile: 'production' });
    const canary = json.Resources[logicalId(stack, stack.canary.canary)].Properties;
    expect(canary.Schedule.Expression).toBe('rate(5 minutes)');
    const rule = JSON.stringify(
      json.Resources[logicalId(stack, stack.serviceAlarms.serviceHealth)].Properties.AlarmRule,
    );
    expect(rule).toContain(logicalId(stack, stack.canary.alarm.alarm));
    expect(stack.deploymentAlarms.map((a) => a.node.path)).toEqual([
      'ProdBaseline/ServiceAlarms/DeploymentTarget5xxRate',
      'ProdBaseline/ServiceAlarms/DeploymentP99Latency',
      stack.canary.alarm.node.path,
    ]);
    expect(
      synthBaseline().json.Resources[logicalId(synthBaseline().stack, synthBaseline().stack.canary.canary)].Properties
        .Schedule.Expression,
    ).toBe('rate(15 minutes)');
  });

  test('the budget follows the profile and 0 turns it off', () => {
    synthBaseline().template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: Match.objectLike({ BudgetLimit: { Amount: 100, Unit: 'USD' } }),
    });
    synthBaseline({ monthlyBudgetUsd: 0 }).template.resourceCountIs('AWS::Budgets::Budget', 0);
  });
});
