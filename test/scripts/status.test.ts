// `status` with every AWS call mocked (moto has no ECS service deployments): a service in the middle of
// its bake, a blue/green Lambda alias mid-canary, and the stack's alarms, one of them in ALARM.
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  GetDeploymentTargetCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode, main } from '../../scripts/cli';
import { bakeWindow, type DeployClients, type StatusReport } from '../../scripts/lib/status';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const NOW = new Date('2026-01-31T12:00:00.000Z');
const SERVICE_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/shop-cluster/shop-api`;
const RULE = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/shop/1/2/3`;
const BLUE = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/shop-blue/aaaa`;
const GREEN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/shop-green/bbbb`;
const dep = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/shop-cluster/shop-api/${id}`;
const rev = (n: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/shop-cluster/shop-api/${n}`;

const cloudFormation = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const lambda = mockClient(LambdaClient);
const codeDeploy = mockClient(CodeDeployClient);
const cloudwatch = mockClient(CloudWatchClient);

function clients(): DeployClients {
  const config = {
    region: REGION,
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  return {
    cloudFormation: new CloudFormationClient(config),
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    lambda: new LambdaClient(config),
    codeDeploy: new CodeDeployClient(config),
    rds: new RDSClient(config),
    cloudwatch: new CloudWatchClient(config),
  };
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    ['status', ...argv],
    { write: (s: string) => (out += s) },
    { write: (s: string) => (err += s) },
    { status: { createClients: clients, now: () => NOW } },
  );
  return { code, out, err };
}

/** Deployment dep2 (shop-api:1 on blue → shop-api:2 on green) entered BAKE_TIME 6 minutes ago. */
function givenServiceMidBake() {
  ecs.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceArn: SERVICE_ARN,
        serviceName: 'shop-api',
        status: 'ACTIVE',
        taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/shop-api:2`,
        desiredCount: 2,
        runningCount: 4,
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 },
        currentServiceRevisions: [{ arn: rev(1) }, { arn: rev(2) }],
      },
    ],
  });
  ecs.on(ListServiceDeploymentsCommand).resolves({
    serviceDeployments: [
      {
        serviceDeploymentArn: dep('dep2'),
        status: 'IN_PROGRESS',
        createdAt: new Date(NOW.getTime() - 600_000),
        targetServiceRevisionArn: rev(2),
      },
      {
        serviceDeploymentArn: dep('dep1'),
        status: 'SUCCESSFUL',
        createdAt: new Date(NOW.getTime() - 86_400_000),
        finishedAt: new Date(NOW.getTime() - 86_000_000),
        targetServiceRevisionArn: rev(1),
      },
    ],
  });
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input) => ({
    serviceDeployments: [
      {
        serviceDeploymentArn: dep('dep2'),
        status: 'IN_PROGRESS',
        lifecycleStage: 'BAKE_TIME',
        createdAt: new Date(NOW.getTime() - 600_000),
        updatedAt: new Date(NOW.getTime() - 360_000),
        sourceServiceRevisions: [{ arn: rev(1) }],
        targetServiceRevision: { arn: rev(2) },
        deploymentConfiguration: { bakeTimeInMinutes: 15 },
      },
      {
        serviceDeploymentArn: dep('dep1'),
        status: 'SUCCESSFUL',
        createdAt: new Date(NOW.getTime() - 86_400_000),
        sourceServiceRevisions: [],
        targetServiceRevision: { arn: rev(1) },
      },
    ].filter((d) => input.serviceDeploymentArns.includes(d.serviceDeploymentArn)),
  }));
  ecs.on(DescribeServiceRevisionsCommand).callsFake((input) => ({
    serviceRevisions: [1, 2]
      .filter((n) => input.serviceRevisionArns.includes(rev(n)))
      .map((n) => ({
        serviceRevisionArn: rev(n),
        taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/shop-api:${n}`,
        containerImages: [
          {
            containerName: 'app',
            image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:${String(n).repeat(8)}`,
          },
        ],
        resolvedConfiguration: { loadBalancers: [{ targetGroupArn: n === 1 ? BLUE : GREEN }] },
      })),
  }));
  elbv2.on(DescribeRulesCommand).resolves({
    Rules: [
      {
        RuleArn: RULE,
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: BLUE, Weight: 0 },
                { TargetGroupArn: GREEN, Weight: 100 },
              ],
            },
          },
        ],
      },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: BLUE }).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: '10.0.1.10', Port: 8080 }, TargetHealth: { State: 'healthy' } },
      { Target: { Id: '10.0.1.11', Port: 8080 }, TargetHealth: { State: 'healthy' } },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: GREEN }).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: '10.0.2.10', Port: 8080 }, TargetHealth: { State: 'healthy' } },
      {
        Target: { Id: '10.0.2.11', Port: 8080 },
        TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' },
      },
    ],
  });
}

function givenFunctionMidCanary() {
  lambda.on(GetAliasCommand).resolves({
    Name: 'live',
    FunctionVersion: '4',
    RoutingConfig: { AdditionalVersionWeights: { '5': 0.1 } },
  });
  codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-CANARY'] });
  codeDeploy.on(BatchGetDeploymentsCommand).resolves({
    deploymentsInfo: [{ deploymentId: 'd-CANARY', status: 'InProgress', creator: 'CloudFormation', createTime: NOW }],
  });
  codeDeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['shop-worker:live'] });
  codeDeploy.on(GetDeploymentTargetCommand).resolves({
    deploymentTarget: {
      lambdaTarget: { lambdaFunctionInfo: { currentVersion: '4', targetVersion: '5', targetVersionWeight: 10 } },
    },
  });
}

function givenStack(alarms: { name: string; state: string }[]) {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Shop',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: NOW,
        Outputs: [{ OutputKey: 'ProdBaselineManifest', OutputValue: '/prod-baseline/Shop/manifest' }],
      },
    ],
  });
  cloudFormation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: alarms.map((a) => ({
      LogicalResourceId: a.name.replace(/\W/g, ''),
      PhysicalResourceId: a.name,
      ResourceType: 'AWS::CloudWatch::Alarm',
      ResourceStatus: 'UPDATE_COMPLETE',
      LastUpdatedTimestamp: NOW,
    })),
  });
  cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: alarms.map((a) => ({ AlarmName: a.name, StateValue: a.state as 'OK' })),
  });
  ssm.on(GetParameterCommand).resolves({
    Parameter: {
      Value: JSON.stringify({
        schema: 1,
        kitVersion: '0.1.0',
        stackName: 'Shop',
        entries: {
          'Shop/App': {
            role: 'app-service',
            construct: 'BlueGreenService',
            attributes: { clusterName: 'shop-cluster', serviceName: 'shop-api', serviceArn: SERVICE_ARN },
          },
          'Shop/Traffic': {
            role: 'traffic',
            construct: 'BlueGreenTraffic',
            attributes: { productionRuleArn: RULE, blueTargetGroupArn: BLUE, greenTargetGroupArn: GREEN },
          },
          'Shop/Worker': {
            role: 'blue-green-function',
            construct: 'BlueGreenFunction',
            attributes: {
              functionName: 'shop-worker',
              aliasName: 'live',
              applicationName: 'shop-app',
              deploymentGroupName: 'shop-dg',
            },
          },
        },
      }),
    },
  });
}

beforeEach(() => {
  for (const m of [cloudFormation, ssm, ecs, elbv2, lambda, codeDeploy, cloudwatch]) m.reset();
  givenServiceMidBake();
  givenFunctionMidCanary();
  givenStack([
    { name: 'Shop-Http5xx', state: 'ALARM' },
    { name: 'Shop-Latency', state: 'OK' },
  ]);
});

describe('status', () => {
  test('shows a service mid-bake with its phase and the time left in the bake window', async () => {
    const { code, out } = await run('--stack', 'Shop', '--json');
    const report: StatusReport = JSON.parse(out);

    expect(code).toBe(ExitCode.FINDINGS);
    const service = report.services[0];
    expect(service.traffic?.liveTargetGroupArn).toBe(GREEN);
    expect(service.traffic?.groups.map((g) => [g.name, g.percent, g.healthy, g.unhealthy])).toEqual([
      ['shop-blue', 0, 2, 0],
      ['shop-green', 100, 1, 1],
    ]);
    expect(service.current?.taskDefinition).toMatch(/shop-api:1$/);
    expect(service.inProgress).toMatchObject({
      deployment: { id: 'dep2', status: 'IN_PROGRESS', lifecycleStage: 'BAKE_TIME' },
      bakeEndsAt: '2026-01-31T12:09:00.000Z',
      bakeSecondsLeft: 540,
    });
    expect(service.inProgress?.target?.images[0].image).toContain('shop@sha256:22222222');
    expect(service.healthy).toBe(false);
    expect(report.functions[0]).toMatchObject({
      alias: {
        version: '4',
        weights: [
          { version: '4', weight: 0.9 },
          { version: '5', weight: 0.1 },
        ],
      },
      inProgress: { deploymentId: 'd-CANARY', status: 'InProgress', currentVersion: '4', targetVersion: '5' },
    });
  });

  test('lists the alarms in ALARM, found through the stack resources', async () => {
    const { out } = await run('--stack', 'Shop', '--json');
    expect(JSON.parse(out).alarms).toEqual({
      source: 'stack-resources',
      total: 2,
      inAlarm: [{ name: 'Shop-Http5xx', kind: 'metric' }],
    });
  });

  test('prints it in words for a terminal', async () => {
    const { code, out } = await run('--stack', 'Shop');
    expect(code).toBe(ExitCode.FINDINGS);
    expect(out).toContain('status of stack "Shop" at 2026-01-31T12:00:00.000Z: UNHEALTHY');
    expect(out).toContain('service shop-api (Shop/App), cluster shop-cluster: UNHEALTHY');
    expect(out).toContain('  traffic      shop-blue 0% (2 healthy), shop-green 100% (1 healthy, 1 UNHEALTHY, live)');
    expect(out).toContain(
      '  current      shop-api:1 [app=123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:11111111]',
    );
    expect(out).toContain(
      'deployment   dep2 IN_PROGRESS in BAKE_TIME -> shop-api:2 [app=123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:22222222], 9m 00s left in the bake (ends about 2026-01-31T12:09:00.000Z)',
    );
    expect(out).toContain('function shop-worker:live (Shop/Worker)');
    expect(out).toContain('  alias        version 4 90%, version 5 10%');
    expect(out).toContain('  deployment   d-CANARY InProgress (version 4 -> 5, 10% shifted)');
    expect(out).toContain('alarms in ALARM (1 of 2): Shop-Http5xx');
  });

  test('exits 0 when every alarm is OK and the live group is healthy', async () => {
    givenStack([{ name: 'Shop-Http5xx', state: 'OK' }]);
    elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: GREEN }).resolves({
      TargetHealthDescriptions: [{ Target: { Id: '10.0.2.10', Port: 8080 }, TargetHealth: { State: 'healthy' } }],
    });
    const { code, out } = await run('--stack', 'Shop');
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('alarms in ALARM: none of 1');
  });

  test('fails with exit code 2 on a stack without a manifest', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: NOW, Outputs: [] }],
    });
    const { code, err } = await run('--stack', 'Other');
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toBe(
      'prod-baseline status: stack "Other" has no ProdBaselineManifest output: it was not deployed with prod-baseline constructs\n',
    );
  });

  test.each([
    ['PRE_SCALE_UP', { bakeSecondsLeft: 900 }],
    ['CLEAN_UP', { bakeSecondsLeft: 0 }],
    ['BAKE_TIME', { bakeEndsAt: '2026-01-31T12:15:00.000Z', bakeSecondsLeft: 900 }],
  ])('the bake window in stage %s', (stage, expected) => {
    const deployment = {
      arn: dep('x'),
      id: 'x',
      status: 'IN_PROGRESS',
      lifecycleStage: stage,
      updatedAt: NOW.toISOString(),
      sourceRevisionArns: [],
    };
    expect(bakeWindow(deployment, 15, NOW)).toEqual(expected);
  });
});
