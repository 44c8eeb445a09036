// The logic of `prod-baseline rollback`: put production traffic back on the last known-good version of
// a blue/green ECS service or Lambda alias, wait until it is there and healthy, and say how long it took.
// Planning reads only (the live listener weights and target health, never the template); executing
// makes at most one mutating call (StopServiceDeployment, UpdateService, StopDeployment or UpdateAlias)
// and then polls. Every AWS call goes through clients passed in; nothing here parses arguments or
// prints (progress goes to an injected listener), so tests hand in moto-backed or mocked clients.
import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  GetFunctionConfigurationCommand,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { snapshotIdentifier } from '../../constructs/deploy/snapshot-name';
import {
  ACTIVE_STATUSES,
  type AliasState,
  CODEDEPLOY_ACTIVE,
  type DeployClients,
  type DeploymentSummary,
  DeployUsageError,
  describeDeployments,
  describeRevisions,
  type FunctionDeployment,
  type FunctionTarget,
  findDeployTargets,
  groupOfRevision,
  layoutForService,
  listServiceDeployments,
  type MigrationSnapshotSource,
  newestFunctionDeployment,
  otherGroup,
  pickTarget,
  type RevisionInfo,
  readAlias,
  readServiceHistory,
  readTraffic,
  type ServiceHistory,
  type ServiceTarget,
  servesAllTraffic,
  type TrafficLayout,
  type TrafficState,
  targetGroupName,
  targetLabel,
  taskDefinitionName,
} from './status';

// ---------------------------------------------------------------------------------------------
// Plan

/**
 * What a rollback does:
 * - `stop-deployment`: stop the ECS deployment in progress with stop type ROLLBACK (a traffic shift);
 * - `redeploy`: deploy the previous task definition as a new ECS blue/green deployment;
 * - `stop-codedeploy`: stop the CodeDeploy deployment in progress with auto-rollback;
 * - `point-alias`: point the Lambda alias back at the previous version, clearing its routing config;
 * - `follow`: a rollback is already in progress: make no call, wait for it;
 * - `none`: already rolled back, or already on the version asked for;
 * - `refuse`: nothing to roll back to (the very first deployment).
 */
export type RollbackAction =
  | 'stop-deployment'
  | 'redeploy'
  | 'stop-codedeploy'
  | 'point-alias'
  | 'follow'
  | 'none'
  | 'refuse';

/** The actions that change something, and so need a confirmation. */
export const MUTATING_ACTIONS: readonly RollbackAction[] = [
  'stop-deployment',
  'redeploy',
  'stop-codedeploy',
  'point-alias',
];

/** The migration snapshot taken before the deployment being rolled back. */
export interface MigrationSnapshot {
  readonly identifier: string;
  readonly dbInstanceIdentifier: string;
  readonly status?: string;
  readonly createdAt?: string;
}

/** What a rollback would do, worked out from live reads only. `--dry-run` prints it. */
export interface RollbackPlan {
  readonly stackName: string;
  readonly target: ServiceTarget | FunctionTarget;
  readonly action: RollbackAction;
  /** Why, in one line. */
  readonly reason: string;
  /** The task definition (`family:revision`) or alias version serving now. */
  readonly from?: string;
  /** The task definition or alias version the rollback goes back to. */
  readonly to?: string;
  /** The mutating call the rollback makes, with its exact input (none for follow, none and refuse). */
  readonly calls: readonly string[];
  /** The read-only calls it polls afterwards, and until when. */
  readonly waits: readonly string[];
  /** ECS: the deployment being stopped, followed, or undone. */
  readonly deployment?: DeploymentSummary;
  /** Lambda: the CodeDeploy deployment being stopped or followed. */
  readonly functionDeployment?: FunctionDeployment;
  /** ECS: the live traffic when planned. */
  readonly traffic?: TrafficState;
  /** ECS: the rule and groups, and the group production traffic must end on. */
  readonly layout?: TrafficLayout;
  readonly expectedTargetGroupArn?: string;
  /** ECS redeploy: the task definition ARN for UpdateService. */
  readonly taskDefinitionArn?: string;
  /** Lambda: the alias when planned. */
  readonly alias?: AliasState;
  /** Lambda point-alias: the description UpdateAlias sets (it records the rollback). */
  readonly aliasDescription?: string;
  /** The snapshot the pre-deployment hook took before the deployment being rolled back, when one exists. */
  readonly migrationSnapshot?: MigrationSnapshot;
  readonly notes: readonly string[];
}

/** One progress line: the phase, what happens, and the seconds since the rollback began. */
export interface RollbackProgressEvent {
  readonly phase: 'plan' | 'stop' | 'redeploy' | 'alias' | 'traffic' | 'health' | 'done';
  readonly detail: string;
  readonly elapsedSeconds: number;
}

/** Options of {@link planRollback} and {@link executeRollback}. */
export interface RollbackOptions {
  /** `--service`: which service or function, when the stack has several. */
  readonly service?: string;
  /** `--to`: a task definition (`family:revision`, its ARN, or a revision number of the same family) or a Lambda version. */
  readonly to?: string;
  readonly onProgress?: (event: RollbackProgressEvent) => void;
  /** @default - () => new Date() */
  readonly now?: () => Date;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long to wait for traffic on the old version and healthy. @default 900 */
  readonly timeoutSeconds?: number;
  /** Seconds between polls. @default 5 */
  readonly pollSeconds?: number;
  /**
   * How long targets may stay unhealthy once production traffic is on their group before the rollback
   * ends `unhealthy` (ALB health checks need a few intervals to pass). @default 180
   */
  readonly healthGraceSeconds?: number;
}

/** The rollback should be done within this many seconds; the report warns above it. */
export const ROLLBACK_TARGET_SECONDS = 300;
const DEFAULT_TIMEOUT_SECONDS = 900;
const DEFAULT_POLL_SECONDS = 5;
const DEFAULT_HEALTH_GRACE_SECONDS = 180;

/** The lifecycle stages at and after which production traffic is on the new revision. */
const SHIFTED_STAGES = new Set(['PRODUCTION_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME', 'CLEAN_UP']);

/**
 * Works out what a rollback of the stack's service or function would do, reading only: for ECS the
 * service, its recent deployments and revisions, the live production rule weights and target health;
 * for Lambda the alias, the CodeDeploy deployments and the published versions. Throws
 * {@link DeployUsageError} when `--service` or `--to` do not fit the stack.
 */
export async function planRollback(
  clients: DeployClients,
  stackName: string,
  options: RollbackOptions = {},
): Promise<RollbackPlan> {
  const clock = new Clock(options);
  const targets = await findDeployTargets(clients, stackName);
  const target = pickTarget(targets, options.service);
  clock.emit('plan', `reading ${targetLabel(target)}`);
  if (target.kind === 'lambda-function') return planFunctionRollback(clients, stackName, target, options, clock);
  const plan = await planServiceRollback(clients, stackName, target, targets.trafficLayouts, options, clock);
  const undone = plan.deployment;
  const migrationSnapshot = undone
    ? await findMigrationSnapshot(clients, targets.migrationSnapshots, undone)
    : undefined;
  return migrationSnapshot ? { ...plan, migrationSnapshot } : plan;
}

async function planServiceRollback(
  clients: DeployClients,
  stackName: string,
  target: ServiceTarget,
  layouts: readonly TrafficLayout[],
  options: RollbackOptions,
  clock: Clock,
): Promise<RollbackPlan> {
  const history = await readServiceHistory(clients.ecs, target);
  const layout = layoutForService(target, layouts, history.service);
  if (!layout) {
    throw new DeployUsageError(
      `the manifest of stack "${stackName}" names no production listener rule and target groups for ${targetLabel(target)}: rollback reads the live weights there`,
    );
  }
  const traffic = await readTraffic(clients.elbv2, layout);
  clock.emit('plan', describeTraffic(traffic));
  const td = (arn: string | undefined) => (arn ? history.revisions.get(arn)?.taskDefinition : undefined);
  const current = history.service.taskDefinition;
  const base = { stackName, target, traffic, layout, notes: [] as string[] };
  const wanted = options.to === undefined ? undefined : await resolveTaskDefinition(clients.ecs, options.to, current);
  const { active, rollingBack } = history;

  if (rollingBack) {
    const source = history.revisions.get(rollingBack.sourceRevisionArns[0] ?? '');
    const expected = returnGroup(
      layout,
      traffic,
      source,
      history.revisions.get(rollingBack.targetRevisionArn ?? ''),
      rollingBack.lifecycleStage,
    );
    return {
      ...base,
      action: 'follow',
      reason: `deployment ${rollingBack.id} is already ${rollingBack.status}: following it instead of rolling back twice`,
      from: shortTd(td(rollingBack.targetRevisionArn)),
      to: shortTd(source?.taskDefinition),
      deployment: rollingBack,
      expectedTargetGroupArn: expected,
      calls: [],
      waits: ecsWaits(layout, expected, rollingBack, options),
    };
  }

  if (active) {
    clock.emit(
      'plan',
      `deployment ${active.id} is ${active.status}${active.lifecycleStage ? ` (${active.lifecycleStage})` : ''}`,
    );
    const source = history.revisions.get(active.sourceRevisionArns[0] ?? '');
    const targetRevision = history.revisions.get(active.targetRevisionArn ?? '');
    if (isRollbackRedeploy(active, history)) {
      if (wanted && !sameTd(wanted.name, targetRevision?.taskDefinition)) {
        throw new DeployUsageError(
          `a rollback to ${shortTd(targetRevision?.taskDefinition)} is in progress (deployment ${active.id}); --to ${options.to} applies once it has ended`,
        );
      }
      const expected =
        groupOfRevision(layout, targetRevision) ??
        (SHIFTED_STAGES.has(active.lifecycleStage ?? '')
          ? traffic.liveTargetGroupArn
          : otherGroup(layout, traffic.liveTargetGroupArn));
      return {
        ...base,
        action: 'follow',
        reason: `deployment ${active.id} already redeploys the earlier ${shortTd(targetRevision?.taskDefinition)}: following it instead of rolling back twice`,
        from: shortTd(source?.taskDefinition),
        to: shortTd(targetRevision?.taskDefinition),
        deployment: active,
        expectedTargetGroupArn: expected,
        calls: [],
        waits: ecsWaits(layout, expected, active, options),
      };
    }
    if (wanted && !sameTd(wanted.name, source?.taskDefinition)) {
      throw new DeployUsageError(
        `deployment ${active.id} is ${active.status}: rollback stops it and returns to ${shortTd(source?.taskDefinition) ?? 'its source revision'}; --to ${options.to} applies once it has ended`,
      );
    }
    const expected = returnGroup(layout, traffic, source, targetRevision, active.lifecycleStage);
    return {
      ...base,
      action: 'stop-deployment',
      reason: `deployment ${active.id} is ${active.status}${active.lifecycleStage ? ` in ${active.lifecycleStage}` : ''}: stopping it with a rollback moves production traffic back`,
      from: shortTd(targetRevision?.taskDefinition),
      to: shortTd(source?.taskDefinition),
      deployment: active,
      expectedTargetGroupArn: expected,
      calls: [call('ecs', 'StopServiceDeployment', { serviceDeploymentArn: active.arn, stopType: 'ROLLBACK' })],
      waits: ecsWaits(layout, expected, active, options),
    };
  }

  const last = history.lastSuccessful;
  const newest = history.deployments[0];
  let toTd: { name: string; arn: string } | undefined = wanted;
  if (toTd) {
    if (sameTd(toTd.name, current)) {
      return {
        ...base,
        action: 'none',
        reason: `the service already runs ${shortTd(current)}`,
        from: shortTd(current),
        to: shortTd(current),
        calls: [],
        waits: [],
      };
    }
  } else {
    if (newest?.status === 'ROLLBACK_SUCCESSFUL') {
      return {
        ...base,
        action: 'none',
        reason: `deployment ${newest.id} was already rolled back${newest.finishedAt ? ` (${newest.finishedAt})` : ''}; the service runs ${shortTd(current)}`,
        from: shortTd(td(newest.targetRevisionArn)),
        to: shortTd(current),
        deployment: newest,
        calls: [],
        waits: [],
      };
    }
    if (!last) {
      return refuse(base, `${targetLabel(target)} has no completed deployment: nothing to roll back to`);
    }
    if (isRollbackRedeploy(last, history)) {
      return {
        ...base,
        action: 'none',
        reason: `already rolled back: deployment ${last.id} redeployed the earlier ${shortTd(td(last.targetRevisionArn))}; name an older one with --to to go further back`,
        from: shortTd(td(last.sourceRevisionArns[0])),
        to: shortTd(td(last.targetRevisionArn)),
        calls: [],
        waits: [],
      };
    }
    const previous = previousTaskDefinition(history, last, current);
    if (!previous) {
      return refuse(
        base,
        `${targetLabel(target)} has had only its first deployment (${shortTd(current)}): there is no previous revision to roll back to`,
      );
    }
    toTd = { name: taskDefinitionName(previous), arn: previous };
  }
  const expected = otherGroup(layout, traffic.liveTargetGroupArn);
  const input = {
    cluster: target.clusterName,
    service: target.serviceArn ?? target.serviceName,
    taskDefinition: toTd.arn,
  };
  return {
    ...base,
    action: 'redeploy',
    reason: wanted
      ? `deploying ${toTd.name} as a new blue/green deployment (--to)`
      : `no deployment in progress: deploying the previous revision ${toTd.name} as a new blue/green deployment`,
    from: shortTd(current),
    to: toTd.name,
    deployment: last,
    taskDefinitionArn: toTd.arn,
    expectedTargetGroupArn: expected,
    calls: [call('ecs', 'UpdateService', input)],
    waits: ecsWaits(layout, expected, undefined, options),
    notes: [
      'the new deployment goes on through its test traffic, production shift and bake; the rollback is done once production traffic has shifted and the targets are healthy',
    ],
  };
}

function refuse<T extends { notes: string[] }>(
  base: T,
  reason: string,
): T & Pick<RollbackPlan, 'action' | 'reason' | 'calls' | 'waits'> {
  return { ...base, action: 'refuse', reason, calls: [], waits: [] };
}

/** The group production traffic returns to when a deployment is stopped with a rollback. */
function returnGroup(
  layout: TrafficLayout,
  traffic: TrafficState,
  source: RevisionInfo | undefined,
  target: RevisionInfo | undefined,
  stage: string | undefined,
): string {
  const resolved = groupOfRevision(layout, source);
  if (resolved) return resolved;
  const targetGroup = groupOfRevision(layout, target);
  if (targetGroup) return otherGroup(layout, targetGroup);
  const live = traffic.liveTargetGroupArn ?? layout.blueTargetGroupArn;
  return SHIFTED_STAGES.has(stage ?? '') ? otherGroup(layout, live) : live;
}

/**
 * A deployment that deploys the task definition of an earlier successful deployment, other than its own
 * source: a rollback redeploy (by this command or by hand). Rolling it back again would restore the
 * version that was rolled back.
 */
function isRollbackRedeploy(deployment: DeploymentSummary, history: ServiceHistory): boolean {
  const td = (arn: string | undefined) => (arn ? history.revisions.get(arn)?.taskDefinition : undefined);
  const target = td(deployment.targetRevisionArn);
  if (!target || sameTd(target, td(deployment.sourceRevisionArns[0]))) return false;
  const created = Date.parse(deployment.createdAt ?? deployment.startedAt ?? '') || Number.POSITIVE_INFINITY;
  return history.deployments.some(
    (d) =>
      d.arn !== deployment.arn &&
      d.status === 'SUCCESSFUL' &&
      (Date.parse(d.createdAt ?? d.startedAt ?? '') || 0) < created &&
      sameTd(td(d.targetRevisionArn), target),
  );
}

/** The task definition the newest successful deployment replaced, else that of an older successful one. */
function previousTaskDefinition(
  history: ServiceHistory,
  last: DeploymentSummary,
  current: string | undefined,
): string | undefined {
  const td = (arn: string | undefined) => (arn ? history.revisions.get(arn)?.taskDefinition : undefined);
  const candidates = [
    ...last.sourceRevisionArns.map(td),
    ...history.deployments
      .filter((d) => d.status === 'SUCCESSFUL' && d.arn !== last.arn)
      .map((d) => td(d.targetRevisionArn)),
  ];
  return candidates.find((c): c is string => !!c && !sameTd(c, current ?? td(last.targetRevisionArn)));
}

function sameTd(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && taskDefinitionName(a) === taskDefinitionName(b);
}

function shortTd(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : taskDefinitionName(arn);
}

/**
 * `--to` as a task definition: `family:revision`, its ARN, or a bare revision number of the service's
 * family. Checked with DescribeTaskDefinition.
 */
async function resolveTaskDefinition(
  ecs: ECSClient,
  to: string,
  current: string | undefined,
): Promise<{ name: string; arn: string }> {
  let wanted = to.trim();
  if (/^\d+$/.test(wanted)) {
    const family = current ? taskDefinitionName(current).split(':')[0] : undefined;
    if (!family)
      throw new DeployUsageError(`--to ${to}: the service's task definition family is unknown; give family:revision`);
    wanted = `${family}:${wanted}`;
  } else if (!wanted.includes(':task-definition/') && !/^[A-Za-z0-9_-]+:\d+$/.test(wanted)) {
    throw new DeployUsageError(
      `--to must name a task definition revision (family:revision, its ARN, or a revision number), got "${to}"`,
    );
  }
  try {
    const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: wanted }));
    const arn = described.taskDefinition?.taskDefinitionArn ?? wanted;
    return { name: taskDefinitionName(arn), arn };
  } catch (error) {
    if (error instanceof Error && error.name === 'ClientException') {
      throw new DeployUsageError(`--to ${to}: ECS has no task definition ${taskDefinitionName(wanted)}`);
    }
    throw error;
  }
}

function ecsWaits(
  layout: TrafficLayout,
  expected: string | undefined,
  deployment: DeploymentSummary | undefined,
  options: RollbackOptions,
): string[] {
  const every = options.pollSeconds ?? DEFAULT_POLL_SECONDS;
  const limit = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  return [
    `every ${every}s, up to ${limit}s: elbv2:DescribeRules ${JSON.stringify({ RuleArns: [layout.productionRuleArn] })}, ` +
      `elbv2:DescribeTargetHealth for ${targetGroupName(layout.blueTargetGroupArn)} and ${targetGroupName(layout.greenTargetGroupArn)}, ` +
      `ecs:DescribeServiceDeployments ${deployment ? deployment.id : '(the new deployment, found with ecs:ListServiceDeployments)'}`,
    `until ${expected ? targetGroupName(expected) : 'the old group'} has all production traffic, at least one healthy target and no unhealthy one`,
  ];
}

function call(service: string, operation: string, input: unknown): string {
  return `${service}:${operation} ${JSON.stringify(input)}`;
}

function describeTraffic(traffic: TrafficState): string {
  const groups = traffic.groups.map((g) => `${g.name} ${g.percent}% (${g.healthy} healthy, ${g.unhealthy} unhealthy)`);
  return `production rule: ${groups.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Lambda plan

/** The alias description a rollback leaves, so a second run knows it already rolled back. */
export function rollbackMarker(from: string, to: string, at: Date): string {
  return `prod-baseline rollback from version ${from} to ${to} at ${at.toISOString()}`;
}

function parseMarker(description: string | undefined): { from: string; to: string; at: string } | undefined {
  const match = /^prod-baseline rollback from version (\S+) to (\S+) at (\S+)$/.exec(description ?? '');
  return match ? { from: match[1], to: match[2], at: match[3] } : undefined;
}

async function planFunctionRollback(
  clients: DeployClients,
  stackName: string,
  target: FunctionTarget,
  options: RollbackOptions,
  clock: Clock,
): Promise<RollbackPlan> {
  if (options.to !== undefined && !/^\d+$/.test(options.to)) {
    throw new DeployUsageError(
      `--to must be a published version number of ${target.functionName}, got "${options.to}"`,
    );
  }
  const alias = await readAlias(clients.lambda, target);
  clock.emit('plan', describeAlias(alias));
  const base = { stackName, target, alias, notes: [] as string[] };
  const active = await newestFunctionDeployment(clients.codeDeploy, target, CODEDEPLOY_ACTIVE);
  const waits = (version: string) => [
    `every ${options.pollSeconds ?? DEFAULT_POLL_SECONDS}s, up to ${options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS}s: lambda:GetAlias ${JSON.stringify({ FunctionName: target.functionName, Name: target.aliasName })}`,
    `until the alias sends all traffic to version ${version}; then lambda:GetFunctionConfiguration ${JSON.stringify({ FunctionName: target.functionName, Qualifier: version })} checks that the version is Active`,
  ];

  if (active) {
    clock.emit('plan', `CodeDeploy deployment ${active.deploymentId} is ${active.status}`);
    if (active.creator === 'codeDeployRollback') {
      const to = active.targetVersion ?? alias.version;
      return {
        ...base,
        action: 'follow',
        reason: `CodeDeploy deployment ${active.deploymentId} is already a rollback: following it instead of rolling back twice`,
        from: active.currentVersion,
        to,
        functionDeployment: active,
        calls: [],
        waits: waits(to),
      };
    }
    const previous = active.currentVersion ?? (alias.version !== active.targetVersion ? alias.version : undefined);
    if (!previous) throw new Error(`cannot tell which version CodeDeploy deployment ${active.deploymentId} replaces`);
    if (options.to !== undefined && options.to !== previous) {
      throw new DeployUsageError(
        `CodeDeploy deployment ${active.deploymentId} is ${active.status}: rollback stops it and returns to version ${previous}; --to ${options.to} applies once it has ended`,
      );
    }
    return {
      ...base,
      action: 'stop-codedeploy',
      reason: `CodeDeploy deployment ${active.deploymentId} is ${active.status}: stopping it with auto-rollback returns the alias to version ${previous}`,
      from: active.targetVersion,
      to: previous,
      functionDeployment: active,
      calls: [call('codedeploy', 'StopDeployment', { deploymentId: active.deploymentId, autoRollbackEnabled: true })],
      waits: waits(previous),
    };
  }

  const single = alias.weights.length === 1;
  let to = options.to;
  let reason: string;
  if (to !== undefined) {
    if (single && alias.version === to) {
      return {
        ...base,
        action: 'none',
        reason: `the alias already sends all traffic to version ${to}`,
        from: to,
        to,
        calls: [],
        waits: [],
      };
    }
    reason = `pointing the alias at version ${to} (--to)`;
  } else if (!single) {
    to = alias.version;
    reason = `the alias splits traffic without a CodeDeploy deployment in progress: sending all of it to its primary version ${to}`;
  } else {
    const marker = parseMarker(alias.description);
    if (marker && marker.to === alias.version) {
      return {
        ...base,
        action: 'none',
        reason: `already rolled back from version ${marker.from} to ${marker.to} (${marker.at}); name an older version with --to to go further back`,
        from: marker.from,
        to: marker.to,
        calls: [],
        waits: [],
      };
    }
    const last = await newestFunctionDeployment(clients.codeDeploy, target, ['Succeeded']);
    if (last?.creator === 'codeDeployRollback' && last.targetVersion === alias.version) {
      return {
        ...base,
        action: 'none',
        reason: `already rolled back by CodeDeploy deployment ${last.deploymentId} to version ${alias.version}`,
        from: last.currentVersion,
        to: alias.version,
        functionDeployment: last,
        calls: [],
        waits: [],
      };
    }
    if (last && last.targetVersion === alias.version && last.currentVersion && last.currentVersion !== alias.version) {
      to = last.currentVersion;
      reason = `pointing the alias back at version ${to}, which CodeDeploy deployment ${last.deploymentId} replaced`;
    } else {
      to = await previousPublishedVersion(clients, target, alias.version);
      if (!to) {
        return refuse(
          base,
          `alias ${target.aliasName} of ${target.functionName} is on version ${alias.version}, the first published version: nothing to roll back to`,
        );
      }
      reason = `pointing the alias back at the previous published version ${to}`;
    }
  }
  const description = rollbackMarker(alias.version, to, clock.now());
  return {
    ...base,
    action: 'point-alias',
    reason,
    from: alias.version,
    to,
    calls: [
      call('lambda', 'UpdateAlias', {
        FunctionName: target.functionName,
        Name: target.aliasName,
        FunctionVersion: to,
        Description: description,
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    ],
    aliasDescription: description,
    waits: waits(to),
    notes: [`the alias description records the rollback ("${description}"), so a second run does not roll back twice`],
  };
}

async function previousPublishedVersion(
  clients: Pick<DeployClients, 'lambda'>,
  target: FunctionTarget,
  current: string,
): Promise<string | undefined> {
  if (!/^\d+$/.test(current)) return undefined;
  const versions: number[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 20; page++) {
    const listed = await clients.lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: target.functionName, Marker: marker }),
    );
    for (const v of listed.Versions ?? []) if (v.Version && /^\d+$/.test(v.Version)) versions.push(Number(v.Version));
    marker = listed.NextMarker;
    if (!marker) break;
  }
  const older = versions.filter((v) => v < Number(current)).sort((a, b) => b - a);
  return older.length > 0 ? String(older[0]) : undefined;
}

function describeAlias(alias: AliasState): string {
  return `alias ${alias.aliasName}: ${alias.weights.map((w) => `version ${w.version} ${Math.round(w.weight * 1000) / 10}%`).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Migration snapshots

/**
 * The identifier of the snapshot the pre-deployment hook (`MigrationSnapshotHook`) takes before a
 * deployment: the hook's own naming function, so the two cannot drift apart.
 */
export const migrationSnapshotIdentifier = snapshotIdentifier;

/** The migration snapshot of a deployment (DescribeDBSnapshots), when the stack takes them and one exists. */
async function findMigrationSnapshot(
  clients: Pick<DeployClients, 'rds'>,
  sources: readonly MigrationSnapshotSource[],
  deployment: DeploymentSummary,
): Promise<MigrationSnapshot | undefined> {
  if (!deployment.targetRevisionArn) return undefined;
  for (const source of sources) {
    const identifier = migrationSnapshotIdentifier(source.snapshotPrefix, deployment.targetRevisionArn);
    try {
      const described = await clients.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }));
      const snapshot = described.DBSnapshots?.[0];
      if (snapshot) {
        return {
          identifier,
          dbInstanceIdentifier: source.dbInstanceIdentifier,
          status: snapshot.Status,
          createdAt: snapshot.SnapshotCreateTime ? new Date(snapshot.SnapshotCreateTime).toISOString() : undefined,
        };
      }
    } catch (error) {
      if (!(error instanceof Error && error.name === 'DBSnapshotNotFoundFault')) throw error;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Execute

/**
 * How a rollback ended: `rolled-back` (traffic on the old version and healthy), `already-rolled-back`
 * (nothing to do), `refused` (nothing to roll back to), `unhealthy` (traffic moved but the old version
 * is not healthy, or the deployment failed), `timeout`.
 */
export type RollbackOutcome = 'rolled-back' | 'already-rolled-back' | 'refused' | 'unhealthy' | 'timeout';

/** What `rollback --json` prints. */
export interface RollbackReport {
  readonly stackName: string;
  readonly target: { readonly kind: string; readonly path: string; readonly name: string };
  readonly action: RollbackAction;
  readonly outcome: RollbackOutcome;
  /** One line: what happened. */
  readonly summary: string;
  readonly from?: string;
  readonly to?: string;
  /** The mutating calls made. */
  readonly calls: readonly string[];
  readonly startedAt: string;
  /** Seconds from the first call to traffic on the old version and healthy. */
  readonly totalSeconds: number;
  readonly phases: readonly { readonly name: string; readonly seconds: number }[];
  readonly warnings: readonly string[];
  /** ECS: the deployment stopped, followed or started. */
  readonly deployment?: { readonly arn: string; readonly status?: string };
  /** ECS: the production rule and target health at the end. */
  readonly traffic?: TrafficState;
  /** Lambda: the alias at the end. */
  readonly alias?: AliasState;
  readonly migrationSnapshot?: MigrationSnapshot;
  readonly notes: readonly string[];
}

/** What every rollback report ends with. */
export const REVERT_THE_CODE_NOTE =
  'the next `cdk deploy` deploys whatever the code says: revert the change in the code (or pin the previous image) too, or the next deploy rolls forward again';

/**
 * Carries out a plan: makes its mutating call (none for `follow`, `none` and `refuse`), then waits until
 * production traffic is on the old version and healthy, emitting progress. Never throws for a timeout
 * or an unhealthy end: the report's outcome says so.
 */
export async function executeRollback(
  clients: DeployClients,
  plan: RollbackPlan,
  options: RollbackOptions = {},
): Promise<RollbackReport> {
  const clock = new Clock(options);
  const base = {
    stackName: plan.stackName,
    target: {
      kind: plan.target.kind,
      path: plan.target.path,
      name:
        plan.target.kind === 'ecs-service'
          ? plan.target.serviceName
          : `${plan.target.functionName}:${plan.target.aliasName}`,
    },
    action: plan.action,
    from: plan.from,
    to: plan.to,
    startedAt: clock.startedAt.toISOString(),
    migrationSnapshot: plan.migrationSnapshot,
  };
  const finish = (result: WaitResult, calls: string[]): RollbackReport => {
    const totalSeconds = clock.elapsed();
    const warnings =
      totalSeconds > ROLLBACK_TARGET_SECONDS && result.outcome === 'rolled-back'
        ? [
            `the rollback took ${formatSeconds(totalSeconds)}, more than the ${ROLLBACK_TARGET_SECONDS / 60}-minute target`,
          ]
        : [];
    const notes = [...plan.notes, ...(result.notes ?? [])];
    if (plan.action !== 'refuse') notes.push(REVERT_THE_CODE_NOTE);
    clock.emit('done', result.summary);
    return {
      ...base,
      outcome: result.outcome,
      summary: result.summary,
      calls,
      totalSeconds,
      phases: clock.phases,
      warnings,
      deployment: result.deployment,
      traffic: result.traffic ?? plan.traffic,
      alias: result.alias ?? plan.alias,
      notes,
    };
  };

  if (plan.action === 'refuse') return finish({ outcome: 'refused', summary: `refused: ${plan.reason}` }, []);
  if (plan.action === 'none') {
    return finish(
      { outcome: 'already-rolled-back', summary: plan.reason, traffic: plan.traffic, alias: plan.alias },
      [],
    );
  }
  if (plan.target.kind === 'lambda-function') {
    return finish(
      await executeFunction(clients, plan, plan.target, options, clock),
      plan.action === 'follow' ? [] : [...plan.calls],
    );
  }
  return finish(
    await executeService(clients, plan, plan.target, options, clock),
    plan.action === 'follow' ? [] : [...plan.calls],
  );
}

interface WaitResult {
  readonly outcome: RollbackOutcome;
  readonly summary: string;
  readonly deployment?: { readonly arn: string; readonly status?: string };
  readonly traffic?: TrafficState;
  readonly alias?: AliasState;
  readonly notes?: readonly string[];
}

/** Statuses that end a stopped deployment badly, and those that end a redeploy badly. */
const STOP_FAILED = new Set(['ROLLBACK_FAILED']);
const REDEPLOY_FAILED = new Set([
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
  'STOPPED',
  'STOP_REQUESTED',
]);

async function executeService(
  clients: DeployClients,
  plan: RollbackPlan,
  target: ServiceTarget,
  options: RollbackOptions,
  clock: Clock,
): Promise<WaitResult> {
  const layout = plan.layout as TrafficLayout;
  let expected = plan.expectedTargetGroupArn ?? otherGroup(layout, plan.traffic?.liveTargetGroupArn);
  let deploymentArn = plan.deployment?.arn;
  // A stopped deployment fails by failing its rollback; a redeploy (ours, or one being followed) by being rolled back.
  let failed =
    plan.deployment && ACTIVE_STATUSES.includes(plan.deployment.status) && plan.action === 'follow'
      ? REDEPLOY_FAILED
      : STOP_FAILED;
  if (plan.action === 'stop-deployment' && deploymentArn) {
    clock.emit('stop', `stopping deployment ${plan.deployment?.id} with stop type ROLLBACK`);
    await clients.ecs.send(
      new StopServiceDeploymentCommand({ serviceDeploymentArn: deploymentArn, stopType: 'ROLLBACK' }),
    );
    clock.endPhase('stop');
  } else if (plan.action === 'redeploy') {
    clock.emit('redeploy', `UpdateService ${target.serviceName} with ${plan.to}`);
    const known = new Set((await listServiceDeployments(clients.ecs, target, 5)).map((d) => d.serviceDeploymentArn));
    const updated = await clients.ecs.send(
      new UpdateServiceCommand({
        cluster: target.clusterName,
        service: target.serviceArn ?? target.serviceName,
        taskDefinition: plan.taskDefinitionArn,
      }),
    );
    const started = updated.service?.currentServiceDeployment;
    deploymentArn = started && !known.has(started) ? started : undefined;
    if (!deploymentArn) deploymentArn = await findNewDeployment(clients.ecs, target, known);
    failed = REDEPLOY_FAILED;
    clock.endPhase('redeploy');
  }

  const sleep = options.sleep ?? realSleep;
  const every = (options.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
  const limit = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const grace = options.healthGraceSeconds ?? DEFAULT_HEALTH_GRACE_SECONDS;
  let phase: 'traffic' | 'health' = 'traffic';
  let shiftedAt: number | undefined;
  let last = '';
  let traffic = plan.traffic as TrafficState;
  let status: string | undefined;
  for (;;) {
    if (deploymentArn === undefined && plan.action === 'redeploy') {
      deploymentArn = await findNewDeployment(clients.ecs, target, new Set([plan.deployment?.arn]));
    }
    if (deploymentArn) {
      const deployment = (await describeDeployments(clients.ecs, [deploymentArn])).get(deploymentArn);
      status = deployment?.status;
      if (plan.action === 'redeploy' && deployment?.targetRevisionArn) {
        const revision = (await describeRevisions(clients.ecs, [deployment.targetRevisionArn])).get(
          deployment.targetRevisionArn,
        );
        expected = groupOfRevision(layout, revision) ?? expected;
      }
      if (status && failed.has(status)) {
        traffic = await readTraffic(clients.elbv2, layout);
        return {
          outcome: 'unhealthy',
          summary: `deployment ${deployment?.id} ended ${status}${deployment?.statusReason ? `: ${deployment.statusReason}` : ''}`,
          deployment: { arn: deploymentArn, status },
          traffic,
        };
      }
    }
    traffic = await readTraffic(clients.elbv2, layout);
    const { shifted, healthy } = servesAllTraffic(traffic, expected);
    const group = traffic.groups.find((g) => g.arn === expected);
    const line = `${targetGroupName(expected)} has ${group?.percent ?? 0}% of production traffic, ${group?.healthy ?? 0} healthy and ${group?.unhealthy ?? 0} unhealthy target(s)${status ? `; deployment ${status}` : ''}`;
    if (phase === 'traffic' && shifted) {
      clock.endPhase('traffic');
      phase = 'health';
      shiftedAt = clock.elapsed();
    }
    if (line !== last) {
      clock.emit(phase, line);
      last = line;
    }
    if (shifted && healthy) {
      clock.endPhase('health');
      return {
        outcome: 'rolled-back',
        summary: `production traffic is back on ${plan.to ?? 'the previous revision'} (${targetGroupName(expected)}), healthy`,
        deployment: deploymentArn ? { arn: deploymentArn, status } : undefined,
        traffic,
      };
    }
    const unhealthyFor = shiftedAt === undefined ? 0 : clock.elapsed() - shiftedAt;
    if (shiftedAt !== undefined && (unhealthyFor >= grace || clock.elapsed() >= limit)) {
      return {
        outcome: 'unhealthy',
        summary: `production traffic is on ${targetGroupName(expected)}, but its targets are not healthy after ${formatSeconds(unhealthyFor)}: ${line}`,
        deployment: deploymentArn ? { arn: deploymentArn, status } : undefined,
        traffic,
      };
    }
    if (clock.elapsed() >= limit) {
      return {
        outcome: 'timeout',
        summary: `timed out after ${formatSeconds(limit)}: ${line}`,
        deployment: deploymentArn ? { arn: deploymentArn, status } : undefined,
        traffic,
      };
    }
    await sleep(every);
  }
}

async function findNewDeployment(
  ecs: ECSClient,
  target: ServiceTarget,
  known: ReadonlySet<string | undefined>,
): Promise<string | undefined> {
  const listed = await listServiceDeployments(ecs, target, 5);
  return listed.find((d) => !known.has(d.serviceDeploymentArn))?.serviceDeploymentArn;
}

async function executeFunction(
  clients: DeployClients,
  plan: RollbackPlan,
  target: FunctionTarget,
  options: RollbackOptions,
  clock: Clock,
): Promise<WaitResult> {
  const to = plan.to as string;
  const deployment = plan.functionDeployment;
  if (plan.action === 'stop-codedeploy' && deployment) {
    clock.emit('stop', `stopping CodeDeploy deployment ${deployment.deploymentId} with auto-rollback`);
    await clients.codeDeploy.send(
      new StopDeploymentCommand({ deploymentId: deployment.deploymentId, autoRollbackEnabled: true }),
    );
    clock.endPhase('stop');
  } else if (plan.action === 'point-alias') {
    clock.emit('alias', `pointing ${target.aliasName} at version ${to}`);
    await clients.lambda.send(
      new UpdateAliasCommand({
        FunctionName: target.functionName,
        Name: target.aliasName,
        FunctionVersion: to,
        Description: plan.aliasDescription ?? rollbackMarker(plan.from ?? '?', to, clock.startedAt),
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
    clock.endPhase('alias');
  }
  const sleep = options.sleep ?? realSleep;
  const every = (options.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
  const limit = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  let last = '';
  for (;;) {
    const alias = await readAlias(clients.lambda, target);
    const line = describeAlias(alias);
    if (line !== last) {
      clock.emit('traffic', line);
      last = line;
    }
    if (alias.version === to && alias.weights.length === 1) {
      clock.endPhase('traffic');
      const config = await clients.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: target.functionName, Qualifier: to }),
      );
      const state = config.State ?? 'Active';
      const healthy = state === 'Active' && config.LastUpdateStatus !== 'Failed';
      clock.emit(
        'health',
        `version ${to} is ${state}${config.LastUpdateStatus ? `, last update ${config.LastUpdateStatus}` : ''}`,
      );
      clock.endPhase('health');
      return healthy
        ? {
            outcome: 'rolled-back',
            summary: `alias ${target.aliasName} sends all traffic to version ${to}, which is Active`,
            alias,
          }
        : {
            outcome: 'unhealthy',
            summary: `alias ${target.aliasName} is back on version ${to}, but the version is ${state}${config.StateReason ? `: ${config.StateReason}` : ''}`,
            alias,
          };
    }
    if (clock.elapsed() >= limit) {
      return { outcome: 'timeout', summary: `timed out after ${formatSeconds(limit)}: ${line}`, alias };
    }
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------------------------
// Time

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `45s`, `2m 05s`. */
export function formatSeconds(total: number): string {
  const s = Math.round(total);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Elapsed time, progress events and phase durations of one run. */
class Clock {
  public readonly startedAt: Date;
  public readonly phases: { name: string; seconds: number }[] = [];
  private phaseStart: number;
  private readonly clock: () => Date;

  constructor(private readonly options: Pick<RollbackOptions, 'now' | 'onProgress'>) {
    this.clock = options.now ?? (() => new Date());
    this.startedAt = this.clock();
    this.phaseStart = this.startedAt.getTime();
  }

  now(): Date {
    return this.clock();
  }

  /** Whole seconds since the start. */
  elapsed(): number {
    return Math.round((this.clock().getTime() - this.startedAt.getTime()) / 1000);
  }

  emit(phase: RollbackProgressEvent['phase'], detail: string): void {
    this.options.onProgress?.({ phase, detail, elapsedSeconds: this.elapsed() });
  }

  /** Records the seconds since the previous phase ended. */
  endPhase(name: string): void {
    const at = this.clock().getTime();
    this.phases.push({ name, seconds: Math.round((at - this.phaseStart) / 1000) });
    this.phaseStart = at;
  }
}
