// The logic of `prod-baseline status`, and the live readings `rollback` acts on: which target group the
// production listener rule sends traffic to and with which weights, the health of each group's targets,
// the service's deployments and revisions (with their images), the bake window, the stack's alarms in
// ALARM, and a blue/green Lambda alias with its CodeDeploy deployment. Everything is read live; nothing
// comes from the template (the live target group alternates with every deployment). Every AWS call goes
// through clients passed in; nothing here parses arguments or prints.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  type DeploymentInfo,
  type DeploymentStatus,
  GetDeploymentTargetCommand,
  type LambdaFunctionInfo,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type Service,
  type ServiceDeployment,
  type ServiceDeploymentBrief,
  type ServiceRevision,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AWS_CLIENT_CONFIG } from '../../constructs/core/aws-clients';
import { inventory } from './alarm-test';
import { entriesOfRole, type LocatedEntry, readManifest } from './manifest';

// ---------------------------------------------------------------------------------------------
// Clients and errors

/** Every AWS client `status` and `rollback` use; commands pass real ones, tests moto-backed or mocked ones. */
export interface DeployClients {
  readonly cloudFormation: CloudFormationClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly lambda: LambdaClient;
  readonly codeDeploy: CodeDeployClient;
  readonly rds: RDSClient;
  readonly cloudwatch: CloudWatchClient;
}

/** Bounded retries and timeouts for the clients the commands create. */
export const DEPLOY_CLIENT_CONFIG = AWS_CLIENT_CONFIG;

/** Creates the commands' clients for one region with {@link DEPLOY_CLIENT_CONFIG}. */
export function createDeployClients(region?: string): DeployClients {
  const config = { ...DEPLOY_CLIENT_CONFIG, region };
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

/** Closes the sockets of clients made by {@link createDeployClients}. */
export function destroyDeployClients(clients: DeployClients): void {
  for (const client of Object.values(clients) as { destroy(): void }[]) client.destroy();
}

/**
 * What was asked cannot be done as asked: nothing in the stack to act on, an ambiguous or unknown
 * `--service`, a `--to` that does not name a revision. The commands exit 2 on it.
 */
export class DeployUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployUsageError';
  }
}

/** A bound on pagination loops, so a misbehaving endpoint cannot keep a command running. */
const MAX_PAGES = 20;
/** ECS describes at most this many service deployments or revisions in one call. */
const ECS_DESCRIBE_BATCH = 20;
/** How many of a service's most recent deployments are read. */
const RECENT_DEPLOYMENTS = 20;

// ---------------------------------------------------------------------------------------------
// What the manifest names

/** The listener rule and the two target groups of an ECS-native blue/green service. */
export interface TrafficLayout {
  /** The production listener rule whose forward action ECS moves between the groups. */
  readonly productionRuleArn: string;
  readonly blueTargetGroupArn: string;
  readonly greenTargetGroupArn: string;
}

/** An ECS service of the manifest (role `app-service`). */
export interface ServiceTarget {
  readonly kind: 'ecs-service';
  /** The construct path the manifest keys it by. */
  readonly path: string;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly serviceArn?: string;
  /** From the entry itself when it names its rule and groups. */
  readonly traffic?: TrafficLayout;
  /** The bake time the stack configured, when the entry says. */
  readonly bakeTimeMinutes?: number;
}

/** A blue/green Lambda alias of the manifest (role `blue-green-function`). */
export interface FunctionTarget {
  readonly kind: 'lambda-function';
  readonly path: string;
  readonly functionName: string;
  readonly aliasName: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
}

/** Where the pre-deployment hook keeps its snapshots (role `migration-snapshots`). */
export interface MigrationSnapshotSource {
  readonly path: string;
  readonly dbInstanceIdentifier: string;
  readonly snapshotPrefix: string;
}

/** Everything of a stack that `status` reads and `rollback` may act on. */
export interface DeployTargets {
  readonly stackName: string;
  readonly services: readonly ServiceTarget[];
  readonly functions: readonly FunctionTarget[];
  /** The `traffic` entries, for services whose own entry does not name its rule and groups. */
  readonly trafficLayouts: readonly TrafficLayout[];
  readonly migrationSnapshots: readonly MigrationSnapshotSource[];
}

/** Reads the stack's manifest and returns its services, functions, traffic layouts and snapshot sources. */
export async function findDeployTargets(
  clients: Pick<DeployClients, 'cloudFormation' | 'ssm'>,
  stackName: string,
): Promise<DeployTargets> {
  const manifest = await readManifest(clients, stackName);
  const services = entriesOfRole(manifest, 'app-service').flatMap((e): ServiceTarget[] => {
    const a = e.attributes;
    if (!a.clusterName || !a.serviceName) return [];
    const bake = Number(a.bakeTimeMinutes);
    return [
      {
        kind: 'ecs-service',
        path: e.path,
        clusterName: a.clusterName,
        serviceName: a.serviceName,
        serviceArn: a.serviceArn || undefined,
        traffic: layoutOf(e),
        bakeTimeMinutes: a.bakeTimeMinutes !== undefined && Number.isFinite(bake) ? bake : undefined,
      },
    ];
  });
  const functions = entriesOfRole(manifest, 'blue-green-function').flatMap((e): FunctionTarget[] => {
    const a = e.attributes;
    if (!a.functionName || !a.aliasName) return [];
    return [
      {
        kind: 'lambda-function',
        path: e.path,
        functionName: a.functionName,
        aliasName: a.aliasName,
        applicationName: a.applicationName ?? '',
        deploymentGroupName: a.deploymentGroupName ?? '',
      },
    ];
  });
  const trafficLayouts = entriesOfRole(manifest, 'traffic').flatMap((e) => {
    const layout = layoutOf(e);
    return layout ? [layout] : [];
  });
  const migrationSnapshots = entriesOfRole(manifest, 'migration-snapshots').flatMap((e) =>
    e.attributes.dbInstanceIdentifier && e.attributes.snapshotPrefix
      ? [
          {
            path: e.path,
            dbInstanceIdentifier: e.attributes.dbInstanceIdentifier,
            snapshotPrefix: e.attributes.snapshotPrefix,
          },
        ]
      : [],
  );
  return { stackName, services, functions, trafficLayouts, migrationSnapshots };
}

function layoutOf(entry: LocatedEntry): TrafficLayout | undefined {
  const a = entry.attributes;
  if (!a.productionRuleArn || !a.blueTargetGroupArn || !a.greenTargetGroupArn) return undefined;
  return {
    productionRuleArn: a.productionRuleArn,
    blueTargetGroupArn: a.blueTargetGroupArn,
    greenTargetGroupArn: a.greenTargetGroupArn,
  };
}

/** How a target is named in messages: `ShopService (Shop/App)`. */
export function targetLabel(target: ServiceTarget | FunctionTarget): string {
  return target.kind === 'ecs-service'
    ? `service ${target.serviceName} (${target.path})`
    : `function ${target.functionName}:${target.aliasName} (${target.path})`;
}

/**
 * The one service or function `--service ID` names (its construct path or the end of it, its service or
 * function name, or its ARN), or the only one of the stack when `id` is not given. Throws
 * {@link DeployUsageError} when nothing matches or the choice is ambiguous.
 */
export function pickTarget(targets: DeployTargets, id?: string): ServiceTarget | FunctionTarget {
  const all: (ServiceTarget | FunctionTarget)[] = [...targets.services, ...targets.functions];
  const names = all.map((t) => (t.kind === 'ecs-service' ? t.serviceName : t.functionName));
  if (all.length === 0) {
    throw new DeployUsageError(
      `stack "${targets.stackName}" has no blue/green service or function in its manifest (roles app-service, blue-green-function)`,
    );
  }
  if (id === undefined) {
    if (all.length === 1) return all[0];
    throw new DeployUsageError(
      `stack "${targets.stackName}" has ${all.length} services and functions: pick one with --service (${names.join(', ')})`,
    );
  }
  const matches = all.filter(
    (t) =>
      t.path === id ||
      t.path.endsWith(`/${id}`) ||
      (t.kind === 'ecs-service'
        ? t.serviceName === id || t.serviceArn === id
        : t.functionName === id || `${t.functionName}:${t.aliasName}` === id),
  );
  if (matches.length === 1) return matches[0];
  throw new DeployUsageError(
    matches.length === 0
      ? `--service ${id} names nothing in stack "${targets.stackName}"; it has: ${names.join(', ')}`
      : `--service ${id} is ambiguous in stack "${targets.stackName}": ${matches.map((m) => m.path).join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Live traffic

/** One target of a target group and its health. */
export interface TargetState {
  readonly id: string;
  readonly port?: number;
  /** `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`, … */
  readonly state: string;
  readonly reason?: string;
}

/** A target group as the production rule weights it, with the health of its targets. */
export interface TargetGroupState {
  readonly arn: string;
  /** The group's name, from its ARN. */
  readonly name: string;
  /** The weight of the production rule's forward action; 0 when the rule does not forward to it. */
  readonly weight: number;
  /** The share of production traffic, 0 to 100. */
  readonly percent: number;
  readonly healthy: number;
  readonly unhealthy: number;
  readonly targets: readonly TargetState[];
}

/** Where production traffic goes right now. */
export interface TrafficState {
  readonly productionRuleArn: string;
  /** The group with the largest share of production traffic; undefined when the rule forwards nowhere. */
  readonly liveTargetGroupArn?: string;
  readonly groups: readonly TargetGroupState[];
}

/** `arn:…:targetgroup/shop-blue/0123` → `shop-blue`. */
export function targetGroupName(arn: string): string {
  return /:targetgroup\/([^/]+)/.exec(arn)?.[1] ?? arn;
}

/**
 * Reads the production rule's forward weights (DescribeRules) and the health of each target group's
 * targets (DescribeTargetHealth): the blue and green groups of the layout, and any other group the rule
 * forwards to.
 */
export async function readTraffic(elbv2: ElasticLoadBalancingV2Client, layout: TrafficLayout): Promise<TrafficState> {
  const rules = await elbv2.send(new DescribeRulesCommand({ RuleArns: [layout.productionRuleArn] }));
  const rule = rules.Rules?.[0];
  const weights = new Map<string, number>();
  for (const action of rule?.Actions ?? []) {
    if (action.Type !== 'forward') continue;
    const tuples = action.ForwardConfig?.TargetGroups;
    if (tuples && tuples.length > 0) {
      for (const t of tuples) if (t.TargetGroupArn) weights.set(t.TargetGroupArn, t.Weight ?? 1);
    } else if (action.TargetGroupArn) {
      weights.set(action.TargetGroupArn, 1);
    }
  }
  const arns = [...new Set([layout.blueTargetGroupArn, layout.greenTargetGroupArn, ...weights.keys()])];
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  const groups = await Promise.all(
    arns.map(async (arn): Promise<TargetGroupState> => {
      const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
      const targets = (health.TargetHealthDescriptions ?? []).map((d) => ({
        id: d.Target?.Id ?? '?',
        port: d.Target?.Port,
        state: d.TargetHealth?.State ?? 'unknown',
        reason: d.TargetHealth?.Reason,
      }));
      const weight = weights.get(arn) ?? 0;
      return {
        arn,
        name: targetGroupName(arn),
        weight,
        percent: total > 0 ? Math.round((weight / total) * 1000) / 10 : 0,
        healthy: targets.filter((t) => t.state === 'healthy').length,
        unhealthy: targets.filter((t) => t.state === 'unhealthy' || t.state === 'unhealthy.draining').length,
        targets,
      };
    }),
  );
  const live = groups.filter((g) => g.weight > 0).sort((a, b) => b.weight - a.weight)[0];
  return { productionRuleArn: layout.productionRuleArn, liveTargetGroupArn: live?.arn, groups };
}

/** All production traffic goes to `arn`, and it has at least one healthy target and no unhealthy one. */
export function servesAllTraffic(traffic: TrafficState, arn: string): { shifted: boolean; healthy: boolean } {
  const group = traffic.groups.find((g) => g.arn === arn);
  return {
    shifted: group !== undefined && group.percent === 100,
    healthy: group !== undefined && group.healthy > 0 && group.unhealthy === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// ECS services, deployments and revisions

/** A service revision: what a deployment deploys. */
export interface RevisionInfo {
  readonly arn: string;
  /** The task definition ARN. */
  readonly taskDefinition: string;
  readonly images: readonly { readonly container: string; readonly image: string; readonly digest?: string }[];
  /** The target groups the revision's tasks serve from (ECS's resolved configuration), when known. */
  readonly targetGroupArns: readonly string[];
  readonly createdAt?: string;
}

/** A service deployment, as ECS describes it. */
export interface DeploymentSummary {
  readonly arn: string;
  /** The last part of the ARN: what the migration snapshot identifiers are named after. */
  readonly id: string;
  /** `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`, `ROLLBACK_IN_PROGRESS`, … */
  readonly status: string;
  readonly statusReason?: string;
  /** Such as `BAKE_TIME`; only while the deployment is in progress. */
  readonly lifecycleStage?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt?: string;
  readonly sourceRevisionArns: readonly string[];
  readonly targetRevisionArn?: string;
  readonly bakeTimeMinutes?: number;
}

/** The statuses of a deployment that is still moving traffic forward. */
export const ACTIVE_STATUSES: readonly string[] = ['PENDING', 'IN_PROGRESS'];
/** The statuses of a deployment that is being rolled back or stopped. */
export const ROLLING_BACK_STATUSES: readonly string[] = [
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'STOP_REQUESTED',
];

/** `arn:aws:ecs:…:service-deployment/cluster/service/AbC123` → `AbC123`. */
export function deploymentId(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** `arn:aws:ecs:…:task-definition/shop:7` → `shop:7`. */
export function taskDefinitionName(arnOrName: string): string {
  return arnOrName.includes(':task-definition/') ? arnOrName.split(':task-definition/')[1] : arnOrName;
}

/** The service as ECS describes it; throws when ECS does not know it. */
export async function describeService(ecs: ECSClient, target: ServiceTarget): Promise<Service> {
  const described = await ecs.send(
    new DescribeServicesCommand({ cluster: target.clusterName, services: [target.serviceArn ?? target.serviceName] }),
  );
  const service = described.services?.[0];
  if (!service || service.status === 'INACTIVE') {
    const reason = described.failures?.[0]?.reason ?? service?.status ?? 'MISSING';
    throw new Error(`ECS does not know ${targetLabel(target)} in cluster ${target.clusterName}: ${reason}`);
  }
  return service;
}

/** The service's most recent deployments (all statuses), newest first. */
export async function listServiceDeployments(
  ecs: ECSClient,
  target: ServiceTarget,
  limit = RECENT_DEPLOYMENTS,
): Promise<ServiceDeploymentBrief[]> {
  const briefs: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES && briefs.length < limit; page++) {
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({
        cluster: target.clusterName,
        service: target.serviceArn ?? target.serviceName,
        maxResults: Math.min(100, limit),
        nextToken,
      }),
    );
    briefs.push(...(listed.serviceDeployments ?? []));
    nextToken = listed.nextToken;
    if (!nextToken) break;
  }
  return briefs.sort((a, b) => timeOf(b.createdAt ?? b.startedAt) - timeOf(a.createdAt ?? a.startedAt)).slice(0, limit);
}

function timeOf(date: Date | undefined): number {
  return date ? new Date(date).getTime() : 0;
}

function iso(date: Date | undefined): string | undefined {
  return date ? new Date(date).toISOString() : undefined;
}

/** Describes service deployments by ARN (in batches), keyed by ARN. */
export async function describeDeployments(
  ecs: ECSClient,
  arns: readonly string[],
): Promise<Map<string, DeploymentSummary>> {
  const found = new Map<string, DeploymentSummary>();
  for (const batch of batches(unique(arns), ECS_DESCRIBE_BATCH)) {
    const described = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: batch }));
    for (const d of described.serviceDeployments ?? []) {
      if (d.serviceDeploymentArn) found.set(d.serviceDeploymentArn, toDeploymentSummary(d));
    }
  }
  return found;
}

function toDeploymentSummary(d: ServiceDeployment): DeploymentSummary {
  const arn = d.serviceDeploymentArn ?? '';
  return {
    arn,
    id: deploymentId(arn),
    status: d.status ?? 'UNKNOWN',
    statusReason: d.statusReason,
    lifecycleStage: d.lifecycleStage,
    createdAt: iso(d.createdAt),
    startedAt: iso(d.startedAt),
    finishedAt: iso(d.finishedAt),
    updatedAt: iso(d.updatedAt),
    sourceRevisionArns: (d.sourceServiceRevisions ?? []).flatMap((r) => (r.arn ? [r.arn] : [])),
    targetRevisionArn: d.targetServiceRevision?.arn,
    bakeTimeMinutes: d.deploymentConfiguration?.bakeTimeInMinutes,
  };
}

/** A deployment summary from a ListServiceDeployments entry (no source revisions, no stage). */
export function briefSummary(b: ServiceDeploymentBrief): DeploymentSummary {
  const arn = b.serviceDeploymentArn ?? '';
  return {
    arn,
    id: deploymentId(arn),
    status: b.status ?? 'UNKNOWN',
    statusReason: b.statusReason,
    createdAt: iso(b.createdAt),
    startedAt: iso(b.startedAt),
    finishedAt: iso(b.finishedAt),
    sourceRevisionArns: [],
    targetRevisionArn: b.targetServiceRevisionArn,
  };
}

/** Describes service revisions by ARN (in batches), keyed by ARN. */
export async function describeRevisions(
  ecs: ECSClient,
  arns: readonly (string | undefined)[],
): Promise<Map<string, RevisionInfo>> {
  const found = new Map<string, RevisionInfo>();
  const wanted = unique(arns.filter((a): a is string => !!a));
  for (const batch of batches(wanted, ECS_DESCRIBE_BATCH)) {
    const described = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch }));
    for (const r of described.serviceRevisions ?? []) {
      if (r.serviceRevisionArn) found.set(r.serviceRevisionArn, toRevisionInfo(r));
    }
  }
  return found;
}

function toRevisionInfo(r: ServiceRevision): RevisionInfo {
  const resolved = r.resolvedConfiguration?.loadBalancers ?? [];
  return {
    arn: r.serviceRevisionArn ?? '',
    taskDefinition: r.taskDefinition ?? '',
    images: (r.containerImages ?? []).map((c) => ({
      container: c.containerName ?? '?',
      image: c.image ?? '?',
      digest: c.imageDigest,
    })),
    targetGroupArns: resolved.flatMap((lb) => (lb.targetGroupArn ? [lb.targetGroupArn] : [])),
    createdAt: iso(r.createdAt),
  };
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The traffic layout of a service: from its own manifest entry, else the stack's only `traffic` entry,
 * else the `traffic` entry whose production rule the service's load balancer configuration names.
 */
export function layoutForService(
  target: ServiceTarget,
  layouts: readonly TrafficLayout[],
  service?: Service,
): TrafficLayout | undefined {
  if (target.traffic) return target.traffic;
  if (layouts.length === 1) return layouts[0];
  const rules = new Set(
    (service?.loadBalancers ?? []).flatMap((lb) => lb.advancedConfiguration?.productionListenerRule ?? []),
  );
  return layouts.find((l) => rules.has(l.productionRuleArn));
}

/** The other group of the pair. */
export function otherGroup(layout: TrafficLayout, arn: string | undefined): string {
  return arn === layout.blueTargetGroupArn ? layout.greenTargetGroupArn : layout.blueTargetGroupArn;
}

/** The group of the pair that a revision's tasks serve from, when ECS resolved it. */
export function groupOfRevision(layout: TrafficLayout, revision: RevisionInfo | undefined): string | undefined {
  return revision?.targetGroupArns.find(
    (arn) => arn === layout.blueTargetGroupArn || arn === layout.greenTargetGroupArn,
  );
}

/** A service's deployments read together: the newest, the one in progress, the current and previous revisions. */
export interface ServiceHistory {
  readonly service: Service;
  /** Newest first, as ListServiceDeployments lists them. */
  readonly deployments: readonly DeploymentSummary[];
  /** A deployment PENDING or IN_PROGRESS, fully described. */
  readonly active?: DeploymentSummary;
  /** A deployment being rolled back or stopped, fully described. */
  readonly rollingBack?: DeploymentSummary;
  /** The newest SUCCESSFUL deployment, fully described. */
  readonly lastSuccessful?: DeploymentSummary;
  /** Every revision the described deployments name, keyed by ARN. */
  readonly revisions: ReadonlyMap<string, RevisionInfo>;
}

/** Reads the service, its recent deployments, and the revisions of the ones that matter for a rollback. */
export async function readServiceHistory(ecs: ECSClient, target: ServiceTarget): Promise<ServiceHistory> {
  const service = await describeService(ecs, target);
  const briefs = (await listServiceDeployments(ecs, target)).map(briefSummary);
  const activeBrief = briefs.find((d) => ACTIVE_STATUSES.includes(d.status));
  const rollingBrief = briefs.find((d) => ROLLING_BACK_STATUSES.includes(d.status));
  const successfulBrief = briefs.find((d) => d.status === 'SUCCESSFUL');
  const described = await describeDeployments(
    ecs,
    [activeBrief, rollingBrief, successfulBrief].flatMap((d) => (d ? [d.arn] : [])),
  );
  const full = (d: DeploymentSummary | undefined) => (d ? (described.get(d.arn) ?? d) : undefined);
  const active = full(activeBrief);
  const rollingBack = full(rollingBrief);
  const lastSuccessful = full(successfulBrief);
  const revisions = await describeRevisions(ecs, [
    ...briefs.filter((d) => d.status === 'SUCCESSFUL').map((d) => d.targetRevisionArn),
    ...[active, rollingBack, lastSuccessful].flatMap((d) => (d ? [d.targetRevisionArn, ...d.sourceRevisionArns] : [])),
    ...(service.currentServiceRevisions ?? []).map((r) => r.arn),
  ]);
  const deployments = briefs.map((b) => described.get(b.arn) ?? b);
  return { service, deployments, active, rollingBack, lastSuccessful, revisions };
}

// ---------------------------------------------------------------------------------------------
// Lambda aliases and CodeDeploy

/** The versions an alias sends traffic to, with their shares. */
export interface AliasState {
  readonly functionName: string;
  readonly aliasName: string;
  /** The primary version. */
  readonly version: string;
  readonly description?: string;
  /** Each version with its share of traffic, 0 to 1; the primary first. */
  readonly weights: readonly { readonly version: string; readonly weight: number }[];
}

/** Reads an alias (GetAlias): its primary version and the weights of its routing config. */
export async function readAlias(lambda: LambdaClient, target: FunctionTarget): Promise<AliasState> {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: target.functionName, Name: target.aliasName }));
  const version = alias.FunctionVersion ?? '$LATEST';
  const additional = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, w]) => w > 0);
  const rest = additional.reduce((sum, [, w]) => sum + w, 0);
  return {
    functionName: target.functionName,
    aliasName: target.aliasName,
    version,
    description: alias.Description || undefined,
    weights: [
      { version, weight: Math.round((1 - rest) * 1000) / 1000 },
      ...additional.map(([v, weight]) => ({ version: v, weight })),
    ],
  };
}

/** A CodeDeploy deployment of a Lambda deployment group. */
export interface FunctionDeployment {
  readonly deploymentId: string;
  /** `Created`, `Queued`, `InProgress`, `Baking`, `Ready`, `Succeeded`, `Failed`, `Stopped`. */
  readonly status: string;
  /** `user`, `CloudFormation`, `codeDeployRollback`, … */
  readonly creator?: string;
  readonly createTime?: string;
  readonly completeTime?: string;
  /** The version the alias pointed at before (CodeDeploy's `currentVersion`). */
  readonly currentVersion?: string;
  /** The version the deployment moves the alias to. */
  readonly targetVersion?: string;
  /** The share of traffic on the target version, 0 to 100, when CodeDeploy says. */
  readonly targetVersionWeight?: number;
}

/** CodeDeploy statuses of a deployment that has not ended. */
export const CODEDEPLOY_ACTIVE: readonly DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];

/**
 * The newest deployment of the group with one of `statuses` (ListDeployments, BatchGetDeployments), with
 * the alias versions it moves between (ListDeploymentTargets, GetDeploymentTarget); undefined when there
 * is none or the function has no deployment group.
 */
export async function newestFunctionDeployment(
  codeDeploy: CodeDeployClient,
  target: FunctionTarget,
  statuses: readonly DeploymentStatus[],
): Promise<FunctionDeployment | undefined> {
  if (!target.applicationName || !target.deploymentGroupName) return undefined;
  const listed = await codeDeploy.send(
    new ListDeploymentsCommand({
      applicationName: target.applicationName,
      deploymentGroupName: target.deploymentGroupName,
      includeOnlyStatuses: [...statuses],
    }),
  );
  const ids = (listed.deployments ?? []).slice(0, 25);
  if (ids.length === 0) return undefined;
  const batch = await codeDeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: ids }));
  const newest = [...(batch.deploymentsInfo ?? [])].sort((a, b) => timeOf(b.createTime) - timeOf(a.createTime))[0] as
    | DeploymentInfo
    | undefined;
  if (!newest?.deploymentId) return undefined;
  const info = await lambdaInfo(codeDeploy, newest.deploymentId);
  return {
    deploymentId: newest.deploymentId,
    status: newest.status ?? 'Unknown',
    creator: newest.creator,
    createTime: iso(newest.createTime),
    completeTime: iso(newest.completeTime),
    currentVersion: info?.currentVersion,
    targetVersion: info?.targetVersion,
    targetVersionWeight: info?.targetVersionWeight,
  };
}

async function lambdaInfo(codeDeploy: CodeDeployClient, id: string): Promise<LambdaFunctionInfo | undefined> {
  const targets = await codeDeploy.send(new ListDeploymentTargetsCommand({ deploymentId: id }));
  const targetId = targets.targetIds?.[0];
  if (!targetId) return undefined;
  const got = await codeDeploy.send(new GetDeploymentTargetCommand({ deploymentId: id, targetId }));
  return got.deploymentTarget?.lambdaTarget?.lambdaFunctionInfo;
}

// ---------------------------------------------------------------------------------------------
// The status report

/** What `status` reports about one ECS service. */
export interface ServiceStatus {
  readonly path: string;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly taskDefinition?: string;
  readonly desiredCount?: number;
  readonly runningCount?: number;
  /** `BLUE_GREEN`, `ROLLING`, … */
  readonly strategy?: string;
  readonly bakeTimeMinutes?: number;
  /** Undefined when the manifest names no traffic layout for the service. */
  readonly traffic?: TrafficState;
  /** The revision of the newest successful deployment (or the service's current revision). */
  readonly current?: RevisionInfo;
  /** The revision the newest successful deployment replaced. */
  readonly previous?: RevisionInfo;
  /** The newest deployment, whatever its status. */
  readonly lastDeployment?: DeploymentSummary;
  /** A deployment in progress (or being rolled back), its target revision and its bake window. */
  readonly inProgress?: {
    readonly deployment: DeploymentSummary;
    readonly target?: RevisionInfo;
    /** When the bake ends: the deployment's last update (when it entered BAKE_TIME) plus the bake time. */
    readonly bakeEndsAt?: string;
    /** Seconds left in the bake window; the whole bake time before BAKE_TIME, 0 after. */
    readonly bakeSecondsLeft?: number;
  };
  /** The live group has a healthy target and no unhealthy one. Undefined without a traffic layout. */
  readonly healthy?: boolean;
}

/** What `status` reports about one blue/green Lambda alias. */
export interface FunctionStatus {
  readonly path: string;
  readonly alias: AliasState;
  /** A CodeDeploy deployment that has not ended. */
  readonly inProgress?: FunctionDeployment;
}

/** An alarm of the stack in ALARM. */
export interface FiringAlarm {
  readonly name: string;
  readonly kind: 'metric' | 'composite';
}

/** What `status --json` prints. */
export interface StatusReport {
  readonly stackName: string;
  readonly checkedAt: string;
  readonly services: readonly ServiceStatus[];
  readonly functions: readonly FunctionStatus[];
  readonly alarms: {
    /** How the alarms were found: the stack's CloudFormation resources, nested stacks included. */
    readonly source: 'stack-resources';
    readonly total: number;
    readonly inAlarm: readonly FiringAlarm[];
  };
  /** No alarm in ALARM, and every live target group has a healthy target and no unhealthy one. */
  readonly healthy: boolean;
}

/** Stages before the bake: the whole bake time is still ahead. */
const BEFORE_BAKE = new Set([
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
]);

/**
 * The bake window of a deployment: ECS gives no bake start, so the deployment's `updatedAt` (when it
 * entered BAKE_TIME) stands for it. Before BAKE_TIME the whole bake is ahead; after it, none.
 */
export function bakeWindow(
  deployment: DeploymentSummary,
  bakeTimeMinutes: number | undefined,
  now: Date,
): { bakeEndsAt?: string; bakeSecondsLeft?: number } {
  if (bakeTimeMinutes === undefined) return {};
  const stage = deployment.lifecycleStage ?? '';
  if (stage === 'BAKE_TIME') {
    const since = deployment.updatedAt ?? deployment.startedAt;
    if (!since) return {};
    const ends = new Date(new Date(since).getTime() + bakeTimeMinutes * 60_000);
    return {
      bakeEndsAt: ends.toISOString(),
      bakeSecondsLeft: Math.max(0, Math.round((ends.getTime() - now.getTime()) / 1000)),
    };
  }
  if (BEFORE_BAKE.has(stage)) return { bakeSecondsLeft: bakeTimeMinutes * 60 };
  return stage ? { bakeSecondsLeft: 0 } : {};
}

/** Options of {@link status}. */
export interface StatusOptions {
  /** @default - () => new Date() */
  readonly now?: () => Date;
}

/**
 * Reads what a person looks at before deciding to roll back: for each blue/green service of the stack
 * the live target group and weights, healthy targets per group, the current and previous revisions with
 * their images, a deployment in progress with its lifecycle stage and the time left in its bake window;
 * for each blue/green function the alias's versions and weights and a CodeDeploy deployment in
 * progress; and the stack's alarms (found through its CloudFormation resources, nested stacks included)
 * that are in ALARM.
 */
export async function status(
  clients: DeployClients,
  stackName: string,
  options: StatusOptions = {},
): Promise<StatusReport> {
  const now = (options.now ?? (() => new Date()))();
  const targets = await findDeployTargets(clients, stackName);
  const [services, functions, stackAlarms] = await Promise.all([
    Promise.all(targets.services.map((s) => serviceStatus(clients, s, targets.trafficLayouts, now))),
    Promise.all(targets.functions.map((f) => functionStatus(clients, f))),
    inventory(clients, stackName),
  ]);
  const inAlarm = stackAlarms.alarms
    .filter((a) => a.state === 'ALARM')
    .map((a): FiringAlarm => ({ name: a.name, kind: a.kind }));
  return {
    stackName,
    checkedAt: now.toISOString(),
    services,
    functions,
    alarms: { source: 'stack-resources', total: stackAlarms.alarms.length, inAlarm },
    healthy: inAlarm.length === 0 && services.every((s) => s.healthy !== false),
  };
}

async function serviceStatus(
  clients: Pick<DeployClients, 'ecs' | 'elbv2'>,
  target: ServiceTarget,
  layouts: readonly TrafficLayout[],
  now: Date,
): Promise<ServiceStatus> {
  const history = await readServiceHistory(clients.ecs, target);
  const { service, revisions } = history;
  const layout = layoutForService(target, layouts, service);
  const traffic = layout ? await readTraffic(clients.elbv2, layout) : undefined;
  const bakeTimeMinutes =
    history.active?.bakeTimeMinutes ?? service.deploymentConfiguration?.bakeTimeInMinutes ?? target.bakeTimeMinutes;
  const currentArn =
    history.active?.sourceRevisionArns[0] ??
    history.lastSuccessful?.targetRevisionArn ??
    service.currentServiceRevisions?.[0]?.arn;
  const previousArn = history.lastSuccessful?.sourceRevisionArns[0];
  const moving = history.active ?? history.rollingBack;
  const live = traffic?.groups.find((g) => g.arn === traffic.liveTargetGroupArn);
  return {
    path: target.path,
    clusterName: target.clusterName,
    serviceName: target.serviceName,
    taskDefinition: service.taskDefinition,
    desiredCount: service.desiredCount,
    runningCount: service.runningCount,
    strategy: service.deploymentConfiguration?.strategy,
    bakeTimeMinutes,
    traffic,
    current: currentArn ? revisions.get(currentArn) : undefined,
    previous: previousArn ? revisions.get(previousArn) : undefined,
    lastDeployment: history.deployments[0],
    inProgress: moving
      ? {
          deployment: moving,
          target: moving.targetRevisionArn ? revisions.get(moving.targetRevisionArn) : undefined,
          ...(moving === history.active ? bakeWindow(moving, bakeTimeMinutes, now) : {}),
        }
      : undefined,
    healthy: traffic ? live !== undefined && live.healthy > 0 && live.unhealthy === 0 : undefined,
  };
}

async function functionStatus(
  clients: Pick<DeployClients, 'lambda' | 'codeDeploy'>,
  target: FunctionTarget,
): Promise<FunctionStatus> {
  const [alias, inProgress] = await Promise.all([
    readAlias(clients.lambda, target),
    newestFunctionDeployment(clients.codeDeploy, target, CODEDEPLOY_ACTIVE),
  ]);
  return { path: target.path, alias, inProgress };
}
