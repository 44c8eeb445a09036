// `rollback` on what moto 5.2.1 lacks, played by aws-sdk-client-mock: ECS service deployments and
// revisions (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
// StopServiceDeployment) and CodeDeploy StopDeployment. A small model of an ECS-native blue/green
// service answers the calls: the production rule's weights, the target health of the blue and green
// groups, the deployments and their revisions; StopServiceDeployment and UpdateService move the
// weights back after a few polls, as ECS would. The clock only moves when the command sleeps.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  GetDeploymentTargetCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ServiceDeploymentStatus,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { snapshotIdentifier } from '../../constructs/deploy/migration-snapshot.handler';
import { ExitCode, main } from '../../scripts/cli';
import type { RollbackSeams } from '../../scripts/commands/rollback';
import { migrationSnapshotIdentifier } from '../../scripts/lib/rollback';
import type { DeployClients } from '../../scripts/lib/status';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const START = new Date('2026-01-31T12:00:00.000Z');
const CLUSTER = 'shop-cluster';
const SERVICE = 'shop-api';
const SERVICE_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/${SERVICE}`;
const RULE = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/shop/1/2/3`;
const BLUE = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/shop-blue/aaaa`;
const GREEN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/shop-green/bbbb`;
const td = (n: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${SERVICE}:${n}`;
const deploymentArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${CLUSTER}/${SERVICE}/${id}`;
const revisionArn = (n: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/${CLUSTER}/${SERVICE}/${n}`;

const cloudFormation = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const lambda = mockClient(LambdaClient);
const codeDeploy = mockClient(CodeDeployClient);
const rds = mockClient(RDSClient);
const cloudwatch = mockClient(CloudWatchClient);

/** Clients that could only ever reach the discard port of this machine; every call is mocked. */
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

// ---------------------------------------------------------------------------------------------
// A model of the stack

interface Revision {
  readonly n: number;
  readonly taskDefinition: number;
  readonly group: string;
}

interface Deployment {
  readonly id: string;
  status: ServiceDeploymentStatus;
  stage?: string;
  readonly createdAt: Date;
  readonly source?: number;
  readonly target: number;
}

let clock: number;
let sleeps: number;
/** Things that happen after the command has slept this many times. */
let scheduled: { at: number; run: () => void }[];
let weights: Record<string, number>;
let health: Record<string, string[]>;
let revisions: Map<number, Revision>;
let deployments: Deployment[];
let serviceTaskDefinition: number;
let manifestEntries: Record<string, unknown>;
/** How many polls after a stop or an update ECS takes to move production traffic. */
let shiftAfterSleeps: number;

function later(afterSleeps: number, run: () => void): void {
  scheduled.push({ at: sleeps + afterSleeps, run });
}

const baseSeams: RollbackSeams = {
  createClients: clients,
  now: () => new Date(clock),
  sleep: async (ms) => {
    clock += ms;
    sleeps++;
    for (const s of scheduled.filter((e) => e.at <= sleeps)) s.run();
    scheduled = scheduled.filter((e) => e.at > sleeps);
  },
  isInteractive: () => false,
  timeoutSeconds: 900,
  pollSeconds: 5,
};

async function run(
  argv: string[],
  seams: Partial<RollbackSeams> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    ['rollback', ...argv],
    { write: (s: string) => (out += s) },
    { write: (s: string) => (err += s) },
    { rollback: { ...baseSeams, ...seams } },
  );
  return { code, out, err };
}

const APP_SERVICE = {
  role: 'app-service',
  construct: 'BlueGreenService',
  attributes: { clusterName: CLUSTER, serviceName: SERVICE, serviceArn: SERVICE_ARN, logGroupName: 'shop-logs' },
};
const TRAFFIC = {
  role: 'traffic',
  construct: 'BlueGreenTraffic',
  attributes: {
    loadBalancerArn: 'lb',
    loadBalancerDnsName: 'shop.example',
    listenerArn: 'listener',
    productionRuleArn: RULE,
    testRuleArn: 'test-rule',
    blueTargetGroupArn: BLUE,
    greenTargetGroupArn: GREEN,
    testTrafficSecretArn: 'secret',
  },
};

function givenManifest(extra: Record<string, unknown> = {}) {
  manifestEntries = { 'Shop/App': APP_SERVICE, 'Shop/Traffic': TRAFFIC, ...extra };
}

function brief(d: Deployment) {
  return {
    serviceDeploymentArn: deploymentArn(d.id),
    serviceArn: SERVICE_ARN,
    createdAt: d.createdAt,
    startedAt: d.createdAt,
    status: d.status,
    targetServiceRevisionArn: revisionArn(d.target),
  };
}

/** Installs the mocks; the model variables are read on every call, so tests change them freely. */
function installMocks() {
  cloudFormation.on(DescribeStacksCommand).callsFake(() => ({
    Stacks: [
      {
        StackName: 'Shop',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: START,
        Outputs: [{ OutputKey: 'ProdBaselineManifest', OutputValue: '/prod-baseline/Shop/manifest' }],
      },
    ],
  }));
  ssm.on(GetParameterCommand).callsFake(() => ({
    Parameter: {
      Name: '/prod-baseline/Shop/manifest',
      Value: JSON.stringify({ schema: 1, kitVersion: '0.1.0', stackName: 'Shop', entries: manifestEntries }),
    },
  }));
  ecs.on(DescribeServicesCommand).callsFake(() => ({
    services: [
      {
        serviceArn: SERVICE_ARN,
        serviceName: SERVICE,
        status: 'ACTIVE',
        taskDefinition: td(serviceTaskDefinition),
        desiredCount: 2,
        runningCount: 2,
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 },
      },
    ],
  }));
  ecs.on(ListServiceDeploymentsCommand).callsFake(() => ({
    serviceDeployments: [...deployments].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map(brief),
  }));
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input) => ({
    serviceDeployments: deployments
      .filter((d) => input.serviceDeploymentArns.includes(deploymentArn(d.id)))
      .map((d) => ({
        ...brief(d),
        lifecycleStage: d.stage,
        updatedAt: d.createdAt,
        sourceServiceRevisions: d.source === undefined ? [] : [{ arn: revisionArn(d.source) }],
        targetServiceRevision: { arn: revisionArn(d.target) },
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 },
      })),
  }));
  ecs.on(DescribeServiceRevisionsCommand).callsFake((input) => ({
    serviceRevisions: [...revisions.values()]
      .filter((r) => input.serviceRevisionArns.includes(revisionArn(r.n)))
      .map((r) => ({
        serviceRevisionArn: revisionArn(r.n),
        serviceArn: SERVICE_ARN,
        taskDefinition: td(r.taskDefinition),
        containerImages: [{ containerName: 'app', image: `shop/api:v${r.taskDefinition}` }],
        resolvedConfiguration: { loadBalancers: [{ targetGroupArn: r.group, productionListenerRule: RULE }] },
      })),
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
    const match = /:(\d+)$/.exec(input.taskDefinition);
    if (!match || Number(match[1]) > 9) {
      throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
    }
    return { taskDefinition: { taskDefinitionArn: td(Number(match[1])) } };
  });
  ecs.on(StopServiceDeploymentCommand).callsFake((input) => {
    const d = deployments.find((x) => deploymentArn(x.id) === input.serviceDeploymentArn);
    if (!d) throw new Error('no such deployment');
    d.status = 'ROLLBACK_IN_PROGRESS';
    const source = revisions.get(d.source ?? -1);
    later(shiftAfterSleeps, () => {
      if (source) moveTrafficTo(source.group);
      d.status = 'ROLLBACK_SUCCESSFUL';
      serviceTaskDefinition = source?.taskDefinition ?? serviceTaskDefinition;
    });
    return { serviceDeploymentArn: input.serviceDeploymentArn };
  });
  ecs.on(UpdateServiceCommand).callsFake((input) => {
    const current = [...deployments]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .find((d) => d.status === 'SUCCESSFUL');
    const live = weights[BLUE] > 0 ? BLUE : GREEN;
    const n = revisions.size + 1;
    const taskDefinition = Number(/:(\d+)$/.exec(input.taskDefinition ?? '')?.[1]);
    revisions.set(n, { n, taskDefinition, group: live === BLUE ? GREEN : BLUE });
    const created: Deployment = {
      id: `dep${n}`,
      status: 'IN_PROGRESS',
      stage: 'SCALE_UP',
      createdAt: new Date(clock),
      source: current?.target,
      target: n,
    };
    deployments.push(created);
    serviceTaskDefinition = taskDefinition;
    later(shiftAfterSleeps, () => {
      moveTrafficTo(live === BLUE ? GREEN : BLUE);
      created.stage = 'BAKE_TIME';
    });
    later(shiftAfterSleeps + 200, () => {
      created.status = 'SUCCESSFUL';
      created.stage = undefined;
    });
    return { service: { serviceArn: SERVICE_ARN, currentServiceDeployment: deploymentArn(created.id) } };
  });
  elbv2.on(DescribeRulesCommand).callsFake(() => ({
    Rules: [
      {
        RuleArn: RULE,
        Priority: '10',
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: BLUE, Weight: weights[BLUE] },
                { TargetGroupArn: GREEN, Weight: weights[GREEN] },
              ],
            },
          },
        ],
      },
    ],
  }));
  elbv2.on(DescribeTargetHealthCommand).callsFake((input) => ({
    TargetHealthDescriptions: (health[input.TargetGroupArn] ?? []).map((state, i) => ({
      Target: { Id: `10.0.${input.TargetGroupArn === BLUE ? 1 : 2}.${i + 10}`, Port: 8080 },
      TargetHealth: { State: state },
    })),
  }));
}

function moveTrafficTo(group: string) {
  weights = { [BLUE]: group === BLUE ? 100 : 0, [GREEN]: group === GREEN ? 100 : 0 };
}

/**
 * Revision 1 (task definition 1) served from blue, then deployment dep2 put revision 2 (task definition
 * 2) on green; `status` is dep2's status.
 */
function givenTwoDeployments(status: ServiceDeploymentStatus, stage?: string) {
  revisions = new Map([
    [1, { n: 1, taskDefinition: 1, group: BLUE }],
    [2, { n: 2, taskDefinition: 2, group: GREEN }],
  ]);
  deployments = [
    { id: 'dep1', status: 'SUCCESSFUL', createdAt: new Date(START.getTime() - 86_400_000), target: 1 },
    { id: 'dep2', status, stage, createdAt: new Date(START.getTime() - 600_000), source: 1, target: 2 },
  ];
  serviceTaskDefinition = 2;
  moveTrafficTo(status === 'SUCCESSFUL' || stage === 'BAKE_TIME' ? GREEN : BLUE);
  health = { [BLUE]: ['healthy', 'healthy'], [GREEN]: ['healthy', 'healthy'] };
}

function expectNoMutatingCall() {
  expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
  expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
}

beforeEach(() => {
  for (const m of [cloudFormation, ssm, ecs, elbv2, lambda, codeDeploy, rds, cloudwatch]) m.reset();
  clock = START.getTime();
  sleeps = 0;
  scheduled = [];
  shiftAfterSleeps = 2;
  givenManifest();
  installMocks();
});

// ---------------------------------------------------------------------------------------------
// ECS

describe('rollback of an ECS blue/green service', () => {
  test('stops a deployment that is baking with stop type ROLLBACK and waits for traffic on the old group', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');

    const { code, out, err } = await run(['--stack', 'Shop', '--yes']);

    expect(code).toBe(ExitCode.OK);
    expect(ecs.commandCalls(StopServiceDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { serviceDeploymentArn: deploymentArn('dep2'), stopType: 'ROLLBACK' },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(out).toContain('rollback of shop-api (Shop/App) in stack "Shop": ROLLED BACK');
    expect(out).toContain('versions   shop-api:2 -> shop-api:1');
    expect(out).toContain('took       10s (stop 0s, traffic 10s, health 0s)');
    expect(out).toContain('shop-blue 100% (2 healthy, live)');
    expect(out).toContain('the next `cdk deploy` deploys whatever the code says');
    expect(err).toContain('[   0s] plan: deployment dep2 is IN_PROGRESS (BAKE_TIME)');
    expect(err).toContain('[   0s] stop: stopping deployment dep2 with stop type ROLLBACK');
    expect(err).toContain('[   0s] traffic: shop-blue has 0% of production traffic');
    expect(err).toContain(
      '[  10s] health: shop-blue has 100% of production traffic, 2 healthy and 0 unhealthy target(s)',
    );
    expect(err).toContain('[  10s] done: production traffic is back on shop-api:1 (shop-blue), healthy');
  });

  test('redeploys the previous revision after a completed deployment: done once weights flip and targets are healthy', async () => {
    givenTwoDeployments('SUCCESSFUL');
    shiftAfterSleeps = 12;

    const { code, out } = await run(['--stack', 'Shop', '--yes', '--json']);

    expect(code).toBe(ExitCode.OK);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, service: SERVICE_ARN, taskDefinition: td(1) },
    ]);
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      action: 'redeploy',
      outcome: 'rolled-back',
      from: 'shop-api:2',
      to: 'shop-api:1',
      totalSeconds: 60,
      warnings: [],
      deployment: { arn: deploymentArn('dep3'), status: 'IN_PROGRESS' },
    });
    expect(report.traffic.liveTargetGroupArn).toBe(BLUE);
    // Done at the traffic shift: the new deployment is still baking.
    expect(deployments.find((d) => d.id === 'dep3')?.stage).toBe('BAKE_TIME');
  });

  test('--to redeploys the named task definition', async () => {
    givenTwoDeployments('SUCCESSFUL');
    revisions.set(3, { n: 3, taskDefinition: 3, group: BLUE });
    deployments.push({
      id: 'dep3',
      status: 'SUCCESSFUL',
      createdAt: new Date(START.getTime() - 60_000),
      source: 2,
      target: 3,
    });
    serviceTaskDefinition = 3;
    moveTrafficTo(BLUE);

    const { code } = await run(['--stack', 'Shop', '--to', 'shop-api:1', '--yes']);

    expect(code).toBe(ExitCode.OK);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0].args[0].input).toEqual({ taskDefinition: 'shop-api:1' });
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(td(1));
    expect(weights[GREEN]).toBe(100);
  });

  test('--to takes a bare revision number of the service family', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code } = await run(['--stack', 'Shop', '--to', '1', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(td(1));
  });

  test('fails with exit code 2 when --to names a task definition ECS does not have', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, err } = await run(['--stack', 'Shop', '--to', 'shop-api:42', '--yes']);
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toContain('prod-baseline rollback: --to shop-api:42: ECS has no task definition shop-api:42\n');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('fails with exit code 2 when --to differs from where stopping the deployment in progress would return', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    const { code, err } = await run(['--stack', 'Shop', '--to', 'shop-api:3', '--yes']);
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toContain('deployment dep2 is IN_PROGRESS: rollback stops it and returns to shop-api:1');
    expectNoMutatingCall();
  });

  test('fails with exit code 1 on the very first deployment: nothing to roll back to', async () => {
    revisions = new Map([[1, { n: 1, taskDefinition: 1, group: BLUE }]]);
    deployments = [{ id: 'dep1', status: 'SUCCESSFUL', createdAt: START, target: 1 }];
    serviceTaskDefinition = 1;
    moveTrafficTo(BLUE);
    health = { [BLUE]: ['healthy'], [GREEN]: [] };

    const { code, out, err } = await run(['--stack', 'Shop', '--yes']);

    expect(code).toBe(ExitCode.FINDINGS);
    expect(out).toContain(': REFUSED');
    expect(err).toContain(
      'prod-baseline rollback: refused: service shop-api (Shop/App) has had only its first deployment (shop-api:1): there is no previous revision to roll back to\n',
    );
    expectNoMutatingCall();
  });

  test('running twice after a stop does not roll back twice', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    expect((await run(['--stack', 'Shop', '--yes'])).code).toBe(ExitCode.OK);
    // The second run comes while ECS is still finishing the rollback, the third after it.
    const during = await run(['--stack', 'Shop', '--yes']);
    await baseSeams.sleep?.(5_000);
    const after = await run(['--stack', 'Shop', '--yes']);

    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(1);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(during.code).toBe(ExitCode.OK);
    expect(after.code).toBe(ExitCode.OK);
    expect(after.out).toContain('ALREADY ROLLED BACK');
    expect(after.out).toContain('deployment dep2 was already rolled back');
  });

  test('follows a rollback already in progress instead of stopping again', async () => {
    givenTwoDeployments('ROLLBACK_IN_PROGRESS', 'BAKE_TIME');
    later(1, () => moveTrafficTo(BLUE));

    const { code, out } = await run(['--stack', 'Shop', '--yes']);

    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('ROLLED BACK');
    expect(out).not.toContain('calls');
    expectNoMutatingCall();
  });

  test('running twice after a redeploy does not roll forward again', async () => {
    givenTwoDeployments('SUCCESSFUL');
    expect((await run(['--stack', 'Shop', '--yes'])).code).toBe(ExitCode.OK);
    // While the redeploy bakes: followed, not stopped (that would bring back the bad version).
    const baking = await run(['--stack', 'Shop', '--yes']);
    expect(baking.code).toBe(ExitCode.OK);
    expect(baking.out).toContain('ROLLED BACK');
    // After the redeploy finished: already rolled back.
    for (let i = 0; i < 210; i++) await baseSeams.sleep?.(5_000);
    const done = await run(['--stack', 'Shop', '--yes']);

    expect(done.code).toBe(ExitCode.OK);
    expect(done.out).toContain('already rolled back: deployment dep3 redeployed the earlier shop-api:1');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
  });

  test('--to the task definition the service already runs does nothing', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, out } = await run(['--stack', 'Shop', '--to', 'shop-api:2', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('the service already runs shop-api:2');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('--dry-run prints the exact call and makes no mutating call', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');

    const { code, out } = await run(['--stack', 'Shop', '--dry-run']);

    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('rollback plan for service shop-api (Shop/App) of stack "Shop": stop the deployment');
    expect(out).toContain(
      `1. ecs:StopServiceDeployment {"serviceDeploymentArn":"${deploymentArn('dep2')}","stopType":"ROLLBACK"}`,
    );
    expect(out).toContain(`elbv2:DescribeRules {"RuleArns":["${RULE}"]}`);
    expectNoMutatingCall();
  });

  test('--dry-run of a redeploy shows UpdateService with the task definition', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, out } = await run(['--stack', 'Shop', '--dry-run', '--json']);
    expect(code).toBe(ExitCode.OK);
    expect(JSON.parse(out).calls).toEqual([
      `ecs:UpdateService {"cluster":"${CLUSTER}","service":"${SERVICE_ARN}","taskDefinition":"${td(1)}"}`,
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('fails with exit code 2 without --yes when stdin is not a terminal, before calling AWS', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, err } = await run(['--stack', 'Shop']);
    expect(code).toBe(ExitCode.USAGE);
    expect(err.split('\n')[0]).toBe(
      'error: stdin is not a terminal, so rollback cannot ask for a confirmation: pass --yes (or --dry-run to see what it would do)',
    );
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  test('on a terminal asks, and rolls back on "y"', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, err } = await run(['--stack', 'Shop'], { isInteractive: () => true, readLine: async () => 'y' });
    expect(code).toBe(ExitCode.OK);
    expect(err).toContain('Roll back service shop-api (Shop/App) from shop-api:2 to shop-api:1? [y/N] ');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  test('fails with exit code 1 when the answer is not yes, changing nothing', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, err } = await run(['--stack', 'Shop'], { isInteractive: () => true, readLine: async () => '' });
    expect(code).toBe(ExitCode.FINDINGS);
    expect(err).toContain('prod-baseline rollback: not confirmed; nothing was changed\n');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('fails with exit code 3 when traffic does not move back in time', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    shiftAfterSleeps = 10_000;

    const { code, out, err } = await run(['--stack', 'Shop', '--yes'], { timeoutSeconds: 60 });

    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(out).toContain('TIMED OUT');
    expect(err).toContain(
      'prod-baseline rollback: timed out after 1m 00s: shop-blue has 0% of production traffic, 2 healthy and 0 unhealthy target(s); deployment ROLLBACK_IN_PROGRESS\n',
    );
  });

  test('fails with exit code 1 when the old group stays unhealthy after traffic moved', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    health[BLUE] = ['unhealthy', 'healthy'];

    const { code, err } = await run(['--stack', 'Shop', '--yes'], { healthGraceSeconds: 30 });

    expect(code).toBe(ExitCode.FINDINGS);
    expect(err).toContain(
      'prod-baseline rollback: production traffic is on shop-blue, but its targets are not healthy after 30s',
    );
  });

  test('warns when the rollback took more than 5 minutes', async () => {
    givenTwoDeployments('SUCCESSFUL');
    shiftAfterSleeps = 70;
    const { code, out } = await run(['--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('took       5m 50s');
    expect(out).toContain('WARNING    the rollback took 5m 50s, more than the 5-minute target');
  });

  test('prints the migration snapshot taken before the deployment it rolls back', async () => {
    givenManifest({
      'Shop/Migrations': {
        role: 'migration-snapshots',
        construct: 'MigrationSnapshotHook',
        attributes: { dbInstanceIdentifier: 'shop-db', snapshotPrefix: 'shop-pre-deploy' },
      },
    });
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    const identifier = 'shop-pre-deploy-2';
    expect(migrationSnapshotIdentifier('shop-pre-deploy', revisionArn(2))).toBe(identifier);
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: identifier }).resolves({
      DBSnapshots: [
        {
          DBSnapshotIdentifier: identifier,
          DBInstanceIdentifier: 'shop-db',
          Status: 'available',
          SnapshotCreateTime: START,
        },
      ],
    });

    const { code, out } = await run(['--stack', 'Shop', '--yes']);

    expect(code).toBe(ExitCode.OK);
    expect(out).toContain(
      'snapshot   shop-pre-deploy-2 of shop-db (available, 2026-01-31T12:00:00.000Z): the restore point from before the deployment',
    );
  });

  test.each([
    ['predeploy', revisionArn(2)],
    ['shop-pre', 'arn:aws:ecs:us-east-1:123456789012:service-revision/shop-cluster/shop-api/4817301862749Ab_x'],
    ['p', 'arn:aws:ecs:us-east-1:123456789012:service-revision/c/s/--A..B--'],
  ])('names the snapshot of prefix %s and revision %s as the hook does', (prefix, arn) => {
    expect(migrationSnapshotIdentifier(prefix, arn)).toBe(snapshotIdentifier(prefix, arn));
  });

  test('says nothing of snapshots when the stack takes none', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    const { code, out } = await run(['--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(out).not.toContain('snapshot');
    expect(rds.calls()).toHaveLength(0);
  });

  test('skips a snapshot that does not exist', async () => {
    givenManifest({
      'Shop/Migrations': {
        role: 'migration-snapshots',
        construct: 'MigrationSnapshotHook',
        attributes: { dbInstanceIdentifier: 'shop-db', snapshotPrefix: 'shop-pre-deploy' },
      },
    });
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(Object.assign(new Error('DBSnapshot not found'), { name: 'DBSnapshotNotFoundFault' }));
    const { code, out } = await run(['--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(out).not.toContain('snapshot ');
  });

  test('fails with exit code 3 and one line on an AWS error', async () => {
    givenTwoDeployments('IN_PROGRESS', 'BAKE_TIME');
    ecs
      .on(StopServiceDeploymentCommand)
      .rejects(Object.assign(new Error('User is not authorized\nmore'), { name: 'AccessDeniedException' }));
    const { code, err } = await run(['--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(err.trim().split('\n').pop()).toBe('prod-baseline rollback: AccessDeniedException: User is not authorized');
  });

  test('fails with exit code 2 when --service names nothing in the stack', async () => {
    givenTwoDeployments('SUCCESSFUL');
    const { code, err } = await run(['--stack', 'Shop', '--service', 'Worker', '--yes']);
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toBe('prod-baseline rollback: --service Worker names nothing in stack "Shop"; it has: shop-api\n');
  });

  test('--help shows examples and exit codes', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('Usage: prod-baseline rollback [options]');
    expect(out).toContain('$ prod-baseline rollback --stack Shop --dry-run');
    expect(out).toContain('Exit codes: 0 rolled back');
  });
});

// ---------------------------------------------------------------------------------------------
// Lambda with CodeDeploy (moto has no StopDeployment)

describe('rollback of a blue/green Lambda alias', () => {
  const FUNCTION = {
    role: 'blue-green-function',
    construct: 'BlueGreenFunction',
    attributes: {
      functionName: 'shop-worker',
      aliasName: 'live',
      applicationName: 'shop-app',
      deploymentGroupName: 'shop-dg',
    },
  };
  let alias: { version: string; weights: Record<string, number> };

  beforeEach(() => {
    manifestEntries = { 'Shop/Worker': FUNCTION };
    alias = { version: '4', weights: { '5': 0.1 } };
    lambda.on(GetAliasCommand).callsFake(() => ({
      Name: 'live',
      FunctionVersion: alias.version,
      RoutingConfig: { AdditionalVersionWeights: alias.weights },
    }));
    lambda.on(GetFunctionConfigurationCommand).resolves({ State: 'Active', LastUpdateStatus: 'Successful' });
    codeDeploy
      .on(ListDeploymentsCommand, { includeOnlyStatuses: ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'] })
      .resolves({
        deployments: ['d-CANARY'],
      });
    codeDeploy.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [
        { deploymentId: 'd-CANARY', status: 'InProgress', creator: 'CloudFormation', createTime: START },
      ],
    });
    codeDeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['shop-worker:live'] });
    codeDeploy.on(GetDeploymentTargetCommand).resolves({
      deploymentTarget: {
        deploymentTargetType: 'LambdaTarget',
        lambdaTarget: {
          lambdaFunctionInfo: {
            functionName: 'shop-worker',
            currentVersion: '4',
            targetVersion: '5',
            targetVersionWeight: 10,
          },
        },
      },
    });
    codeDeploy.on(StopDeploymentCommand).callsFake(() => {
      later(1, () => {
        alias = { version: '4', weights: {} };
      });
      return { status: 'Pending' };
    });
  });

  test('stops the CodeDeploy deployment in progress with auto-rollback and waits for the alias', async () => {
    const { code, out, err } = await run(['--stack', 'Shop', '--yes']);

    expect(code).toBe(ExitCode.OK);
    expect(codeDeploy.commandCalls(StopDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { deploymentId: 'd-CANARY', autoRollbackEnabled: true },
    ]);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
    expect(out).toContain('versions   5 -> 4');
    expect(out).toContain('alias      version 4 100%');
    expect(err).toContain('[   0s] plan: alias live: version 4 90%, version 5 10%');
    expect(err).toContain('[   5s] traffic: alias live: version 4 100%');
  });

  test('--dry-run shows StopDeployment and calls nothing that changes', async () => {
    const { code, out } = await run(['--stack', 'Shop', '--dry-run']);
    expect(code).toBe(ExitCode.OK);
    expect(out).toContain('1. codedeploy:StopDeployment {"deploymentId":"d-CANARY","autoRollbackEnabled":true}');
    expect(codeDeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  test('follows a CodeDeploy rollback deployment instead of stopping it', async () => {
    codeDeploy.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [
        { deploymentId: 'd-CANARY', status: 'InProgress', creator: 'codeDeployRollback', createTime: START },
      ],
    });
    codeDeploy.on(GetDeploymentTargetCommand).resolves({
      deploymentTarget: { lambdaTarget: { lambdaFunctionInfo: { currentVersion: '5', targetVersion: '4' } } },
    });
    later(1, () => {
      alias = { version: '4', weights: {} };
    });
    const { code } = await run(['--stack', 'Shop', '--yes']);
    expect(code).toBe(ExitCode.OK);
    expect(codeDeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });
});
