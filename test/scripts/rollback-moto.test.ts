// `rollback` (and `status`) against moto_server.
// - Lambda alias path, all moto: a function made from a zip written here, two published versions, an
//   alias on version 2, a CodeDeploy application and deployment group with no deployment in progress.
// - ECS UpdateService path: a CloudFormation stack in moto (VPC, load balancer, blue and green target
//   groups, a production rule forwarding with weights, a cluster, two task definitions, the service, and
//   the manifest parameter). UpdateService, DescribeServices, DescribeTaskDefinition, DescribeRules and
//   DescribeTargetHealth go to moto. moto 5.2.1 has no service deployments: ListServiceDeployments,
//   DescribeServiceDeployments and DescribeServiceRevisions are mocked on the command's own ECS client,
//   from a small history that UpdateService extends; the test plays ECS moving the weights (ModifyRule
//   and RegisterTargets on moto) a few polls after UpdateService.
import { crc32 } from 'node:zlib';
import { CloudFormationClient, CreateStackCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient, CreateApplicationCommand, CreateDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  GetAliasCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode, main } from '../../scripts/cli';
import type { RollbackSeams } from '../../scripts/commands/rollback';
import type { DeployClients, StatusReport } from '../../scripts/lib/status';
import { type Moto, startMoto } from '../moto';

const ACCOUNT = '123456789012';
const START = new Date('2026-01-31T12:00:00.000Z');

let moto: Moto;
let clock: number;
let sleeps: number;
let scheduled: { at: number; run: () => Promise<void> }[];
/** Plain moto clients for the test's own setup and reads. */
let setup: DeployClients;
/** The ECS mock installed on the command's client, when a test needs one. */
let ecsStub: { restore(): void } | undefined;

function motoClients(): DeployClients {
  const config = moto.clientConfig;
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

beforeAll(async () => {
  moto = await startMoto();
  setup = motoClients();
}, 30_000);
afterAll(async () => {
  if (setup) for (const client of Object.values(setup)) client.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  clock = START.getTime();
  sleeps = 0;
  scheduled = [];
});
afterEach(() => {
  ecsStub?.restore();
  ecsStub = undefined;
});

/** Something that happens after the command has slept this many more times. */
function later(afterSleeps: number, run: () => Promise<void>): void {
  scheduled.push({ at: sleeps + afterSleeps, run });
}

/** Runs a command with moto-backed clients (plus `prepare` for mocks) and an instant, counted sleep. */
async function run(
  argv: string[],
  prepare: (clients: DeployClients) => void = () => {},
  seams: Partial<RollbackSeams> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const createClients = () => {
    const clients = motoClients();
    prepare(clients);
    return clients;
  };
  const code = await main(
    argv,
    { write: (s: string) => (out += s) },
    { write: (s: string) => (err += s) },
    {
      rollback: {
        createClients,
        now: () => new Date(clock),
        sleep: async (ms) => {
          clock += ms;
          sleeps++;
          const due = scheduled.filter((e) => e.at <= sleeps);
          scheduled = scheduled.filter((e) => e.at > sleeps);
          for (const e of due) await e.run();
        },
        isInteractive: () => false,
        ...seams,
      },
      status: { createClients, now: () => new Date(clock) },
    },
  );
  return { code, out, err };
}

// ---------------------------------------------------------------------------------------------
// A zip for Lambda, written by hand (node:zlib makes no zips): one stored file.

function zip(name: string, content: string): Uint8Array {
  const data = Buffer.from(content);
  const file = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); // local file header
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0x21, 12); // DOS date: 1980-01-01
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18); // compressed size (stored)
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); // central directory header
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x21, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + file.length, 12);
  end.writeUInt32LE(local.length + file.length + data.length, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}

/** moto's Lambda wants a role that exists; there is no IAM client here, so a plain query call makes one. */
async function createRole(name: string): Promise<string> {
  const body = new URLSearchParams({
    Action: 'CreateRole',
    Version: '2010-05-08',
    RoleName: name,
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  });
  const response = await fetch(`${moto.endpoint}/`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // moto routes by the credential scope's service; it does not check the signature.
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260131/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
  });
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(await response.text())?.[1];
  if (!arn) throw new Error(`moto did not create role ${name}`);
  return arn;
}

/** A stack "Shop" whose manifest parameter (named by its output) holds `entries`. */
async function createStack(resources: Record<string, unknown>, entries: unknown): Promise<Record<string, string>> {
  const template = {
    Resources: {
      ...resources,
      Manifest: {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: '/prod-baseline/Shop/manifest',
          Type: 'String',
          Value: { 'Fn::Join': ['', ['{"schema":1,"kitVersion":"0.1.0","stackName":"Shop","entries":', entries, '}']] },
        },
      },
    },
    Outputs: { ProdBaselineManifest: { Value: { Ref: 'Manifest' } } },
  };
  await setup.cloudFormation.send(
    new CreateStackCommand({ StackName: 'Shop', TemplateBody: JSON.stringify(template) }),
  );
  const listed = await setup.cloudFormation.send(new ListStackResourcesCommand({ StackName: 'Shop' }));
  return Object.fromEntries(
    (listed.StackResourceSummaries ?? []).map((r) => [r.LogicalResourceId, r.PhysicalResourceId]),
  );
}

// ---------------------------------------------------------------------------------------------
// Lambda alias

describe('rollback of a Lambda alias against moto', () => {
  beforeEach(async () => {
    const role = await createRole('shop-worker-role');
    await setup.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'shop-worker',
        Runtime: 'nodejs20.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: zip('index.js', 'exports.handler = async () => 1;') },
      }),
    );
    await setup.lambda.send(new PublishVersionCommand({ FunctionName: 'shop-worker' }));
    await setup.lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'shop-worker',
        ZipFile: zip('index.js', 'exports.handler = async () => 2;'),
      }),
    );
    await setup.lambda.send(new PublishVersionCommand({ FunctionName: 'shop-worker' }));
    await setup.lambda.send(
      new CreateAliasCommand({ FunctionName: 'shop-worker', Name: 'live', FunctionVersion: '2' }),
    );
    await setup.codeDeploy.send(
      new CreateApplicationCommand({ applicationName: 'shop-app', computePlatform: 'Lambda' }),
    );
    await setup.codeDeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'shop-app',
        deploymentGroupName: 'shop-dg',
        serviceRoleArn: role,
        deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      }),
    );
    await createStack(
      { Placeholder: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'shop-placeholder' } } },
      JSON.stringify({
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
      }),
    );
  });

  const alias = () => setup.lambda.send(new GetAliasCommand({ FunctionName: 'shop-worker', Name: 'live' }));

  test('points the alias from version 2 back at version 1 and reports the time', async () => {
    const { code, out, err } = await run(['rollback', '--stack', 'Shop', '--yes', '--json']);

    expect(code).toBe(ExitCode.OK);
    expect((await alias()).FunctionVersion).toBe('1');
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      action: 'point-alias',
      outcome: 'rolled-back',
      from: '2',
      to: '1',
      totalSeconds: 0,
    });
    expect(report.calls).toEqual([
      `lambda:UpdateAlias {"FunctionName":"shop-worker","Name":"live","FunctionVersion":"1","Description":"prod-baseline rollback from version 2 to 1 at 2026-01-31T12:00:00.000Z","RoutingConfig":{"AdditionalVersionWeights":{}}}`,
    ]);
    expect(report.alias.weights).toEqual([{ version: '1', weight: 1 }]);
    expect(err).toContain('[   0s] alias: pointing live at version 1');
    expect(err).toContain('[   0s] health: version 1 is Active, last update Successful');
  });

  test('running twice does not roll back twice', async () => {
    expect((await run(['rollback', '--stack', 'Shop', '--yes'])).code).toBe(ExitCode.OK);
    const again = await run(['rollback', '--stack', 'Shop', '--yes']);

    expect(again.code).toBe(ExitCode.OK);
    expect(again.out).toContain('ALREADY ROLLED BACK');
    expect(again.out).toContain('already rolled back from version 2 to 1 (2026-01-31T12:00:00.000Z)');
    expect((await alias()).FunctionVersion).toBe('1');
  });

  test('sends all traffic to the primary version when the alias splits it', async () => {
    await setup.lambda.send(
      new UpdateAliasCommand({
        FunctionName: 'shop-worker',
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.2 } },
      }),
    );
    const { code } = await run(['rollback', '--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.OK);
    const now = await alias();
    expect(now.FunctionVersion).toBe('1');
    expect(now.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
  });

  test('--to moves the alias to the version named', async () => {
    await setup.lambda.send(
      new UpdateAliasCommand({ FunctionName: 'shop-worker', Name: 'live', FunctionVersion: '1' }),
    );
    const { code } = await run(['rollback', '--stack', 'Shop', '--to', '2', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect((await alias()).FunctionVersion).toBe('2');
  });

  test('fails with exit code 1 on the first published version: nothing to roll back to', async () => {
    await setup.lambda.send(
      new UpdateAliasCommand({ FunctionName: 'shop-worker', Name: 'live', FunctionVersion: '1' }),
    );
    const { code, err } = await run(['rollback', '--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.FINDINGS);
    expect(err).toContain(
      'prod-baseline rollback: refused: alias live of shop-worker is on version 1, the first published version: nothing to roll back to\n',
    );
  });

  test('--dry-run changes nothing', async () => {
    const { code, out } = await run(['rollback', '--stack', 'Shop', '--dry-run']);
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('1. lambda:UpdateAlias {"FunctionName":"shop-worker","Name":"live","FunctionVersion":"1"');
    expect((await alias()).FunctionVersion).toBe('2');
  });
});

// ---------------------------------------------------------------------------------------------
// ECS UpdateService

const ECS_RESOURCES = {
  Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
  SubnetA: {
    Type: 'AWS::EC2::Subnet',
    Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' },
  },
  SubnetB: {
    Type: 'AWS::EC2::Subnet',
    Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b' },
  },
  Lb: {
    Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    Properties: { Name: 'shop', Subnets: [{ Ref: 'SubnetA' }, { Ref: 'SubnetB' }] },
  },
  Blue: {
    Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
    Properties: { Name: 'shop-blue', Port: 8080, Protocol: 'HTTP', TargetType: 'ip', VpcId: { Ref: 'Vpc' } },
  },
  Green: {
    Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
    Properties: { Name: 'shop-green', Port: 8080, Protocol: 'HTTP', TargetType: 'ip', VpcId: { Ref: 'Vpc' } },
  },
  Listener: {
    Type: 'AWS::ElasticLoadBalancingV2::Listener',
    Properties: {
      LoadBalancerArn: { Ref: 'Lb' },
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    },
  },
  // After deployment 2, production traffic is on green.
  Rule: {
    Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
    Properties: {
      ListenerArn: { Ref: 'Listener' },
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: 'Blue' }, Weight: 0 },
              { TargetGroupArn: { Ref: 'Green' }, Weight: 100 },
            ],
          },
        },
      ],
    },
  },
  Cluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'shop-cluster' } },
  TaskV1: {
    Type: 'AWS::ECS::TaskDefinition',
    Properties: { Family: 'shop-api', ContainerDefinitions: [{ Name: 'app', Image: 'shop/api:v1', Memory: 512 }] },
  },
  TaskV2: {
    Type: 'AWS::ECS::TaskDefinition',
    DependsOn: 'TaskV1',
    Properties: { Family: 'shop-api', ContainerDefinitions: [{ Name: 'app', Image: 'shop/api:v2', Memory: 512 }] },
  },
  Service: {
    Type: 'AWS::ECS::Service',
    Properties: {
      Cluster: { Ref: 'Cluster' },
      ServiceName: 'shop-api',
      TaskDefinition: { Ref: 'TaskV2' },
      DesiredCount: 2,
    },
  },
};

const ECS_MANIFEST = {
  'Fn::Join': [
    '',
    [
      '{"Shop/App":{"role":"app-service","construct":"BlueGreenService","attributes":{"clusterName":"shop-cluster","serviceName":"shop-api","serviceArn":"',
      { Ref: 'Service' },
      '"}},"Shop/Traffic":{"role":"traffic","construct":"BlueGreenTraffic","attributes":{"productionRuleArn":"',
      { Ref: 'Rule' },
      '","blueTargetGroupArn":"',
      { Ref: 'Blue' },
      '","greenTargetGroupArn":"',
      { Ref: 'Green' },
      '"}}}',
    ],
  ],
};

describe('rollback of an ECS service with UpdateService against moto', () => {
  let ids: Record<string, string>;
  const dep = (id: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:service-deployment/shop-cluster/shop-api/${id}`;
  const rev = (n: number) => `arn:aws:ecs:us-east-1:${ACCOUNT}:service-revision/shop-cluster/shop-api/${n}`;
  /** The service deployments ECS would list; moto has none. */
  let history: { id: string; status: string; source?: number; target: number; createdAt: Date }[];
  let revisions: Map<number, { taskDefinition: string; group: string }>;

  beforeEach(async () => {
    ids = await createStack(ECS_RESOURCES, ECS_MANIFEST);
    await setup.elbv2.send(
      new RegisterTargetsCommand({
        TargetGroupArn: ids.Green,
        Targets: [
          { Id: '10.0.2.10', Port: 8080 },
          { Id: '10.0.2.11', Port: 8080 },
        ],
      }),
    );
    revisions = new Map([
      [1, { taskDefinition: ids.TaskV1, group: ids.Blue }],
      [2, { taskDefinition: ids.TaskV2, group: ids.Green }],
    ]);
    history = [
      { id: 'dep1', status: 'SUCCESSFUL', target: 1, createdAt: new Date(START.getTime() - 86_400_000) },
      { id: 'dep2', status: 'SUCCESSFUL', source: 1, target: 2, createdAt: new Date(START.getTime() - 3_600_000) },
    ];
  });

  /** Mocks what moto lacks on the command's ECS client; passes the rest through to moto. */
  function serviceDeployments(clients: DeployClients) {
    const stub = mockClient(clients.ecs);
    ecsStub = stub;
    stub.on(DescribeServicesCommand).callsFake((input) => setup.ecs.send(new DescribeServicesCommand(input)));
    stub
      .on(DescribeTaskDefinitionCommand)
      .callsFake((input) => setup.ecs.send(new DescribeTaskDefinitionCommand(input)));
    stub.on(UpdateServiceCommand).callsFake(async (input) => {
      const updated = await setup.ecs.send(new UpdateServiceCommand(input));
      // ECS starts a blue/green deployment to the group not serving production traffic, then shifts.
      const n = revisions.size + 1;
      revisions.set(n, { taskDefinition: input.taskDefinition ?? '', group: ids.Blue });
      const created = { id: `dep${n}`, status: 'IN_PROGRESS', source: 2, target: n, createdAt: new Date(clock) };
      history.push(created);
      later(2, async () => {
        await setup.elbv2.send(
          new RegisterTargetsCommand({ TargetGroupArn: ids.Blue, Targets: [{ Id: '10.0.1.10', Port: 8080 }] }),
        );
      });
      later(4, async () => {
        await setup.elbv2.send(
          new ModifyRuleCommand({
            RuleArn: ids.Rule,
            Actions: [
              {
                Type: 'forward',
                ForwardConfig: {
                  TargetGroups: [
                    { TargetGroupArn: ids.Blue, Weight: 100 },
                    { TargetGroupArn: ids.Green, Weight: 0 },
                  ],
                },
              },
            ],
          }),
        );
      });
      return { ...updated, service: { ...updated.service, currentServiceDeployment: dep(created.id) } };
    });
    stub.on(ListServiceDeploymentsCommand).callsFake(() => ({
      serviceDeployments: [...history].reverse().map((d) => ({
        serviceDeploymentArn: dep(d.id),
        status: d.status,
        createdAt: d.createdAt,
        targetServiceRevisionArn: rev(d.target),
      })),
    }));
    stub.on(DescribeServiceDeploymentsCommand).callsFake((input) => ({
      serviceDeployments: history
        .filter((d) => input.serviceDeploymentArns.includes(dep(d.id)))
        .map((d) => ({
          serviceDeploymentArn: dep(d.id),
          status: d.status,
          lifecycleStage: d.status === 'IN_PROGRESS' ? 'SCALE_UP' : undefined,
          createdAt: d.createdAt,
          sourceServiceRevisions: d.source ? [{ arn: rev(d.source) }] : [],
          targetServiceRevision: { arn: rev(d.target) },
        })),
    }));
    stub.on(DescribeServiceRevisionsCommand).callsFake((input) => ({
      serviceRevisions: [...revisions.entries()]
        .filter(([n]) => input.serviceRevisionArns.includes(rev(n)))
        .map(([n, r]) => ({
          serviceRevisionArn: rev(n),
          taskDefinition: r.taskDefinition,
          containerImages: [{ containerName: 'app', image: `shop/api:v${n}` }],
          resolvedConfiguration: { loadBalancers: [{ targetGroupArn: r.group }] },
        })),
    }));
    stub.on(StopServiceDeploymentCommand).rejects(new Error('not expected in this test'));
  }

  test('redeploys the previous task definition with UpdateService and is done when traffic is on blue and healthy', async () => {
    const { code, out, err } = await run(['rollback', '--stack', 'Shop', '--yes', '--json'], serviceDeployments);

    expect(code).toBe(ExitCode.OK);
    const described = await setup.ecs.send(
      new DescribeServicesCommand({ cluster: 'shop-cluster', services: ['shop-api'] }),
    );
    expect(described.services?.[0].taskDefinition).toBe(ids.TaskV1);
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      action: 'redeploy',
      outcome: 'rolled-back',
      from: 'shop-api:2',
      to: 'shop-api:1',
      totalSeconds: 20,
    });
    expect(report.traffic.liveTargetGroupArn).toBe(ids.Blue);
    const rule = await setup.elbv2.send(new DescribeRulesCommand({ RuleArns: [ids.Rule] }));
    expect(
      rule.Rules?.[0].Actions?.[0].ForwardConfig?.TargetGroups?.find((t) => t.TargetGroupArn === ids.Blue)?.Weight,
    ).toBe(100);
    const health = await setup.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: ids.Blue }));
    expect(health.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(['healthy']);
    expect(err).toContain(
      '[   0s] traffic: shop-blue has 0% of production traffic, 0 healthy and 0 unhealthy target(s)',
    );
    expect(err).toContain(
      '[  20s] health: shop-blue has 100% of production traffic, 1 healthy and 0 unhealthy target(s)',
    );
  });

  test('status shows the live group and its healthy targets from moto', async () => {
    const { code, out } = await run(['status', '--stack', 'Shop', '--json'], serviceDeployments);
    const report: StatusReport = JSON.parse(out);
    expect(code).toBe(ExitCode.OK);
    expect(report.services[0].traffic?.liveTargetGroupArn).toBe(ids.Green);
    expect(report.services[0].traffic?.groups.map((g) => [g.name, g.percent, g.healthy])).toEqual([
      ['shop-blue', 0, 0],
      ['shop-green', 100, 2],
    ]);
    expect(report.services[0].previous?.taskDefinition).toBe(ids.TaskV1);
  });
});
