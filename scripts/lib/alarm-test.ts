// The logic of `prod-baseline alarm-test`: list every alarm of a stack with its actions, check that each
// one reaches a person (an action, a topic with a confirmed subscription, a key CloudWatch may use), and
// fire chosen alarms to prove it. Every AWS call goes through clients passed in; nothing here parses
// arguments or prints (progress goes to an injected listener), so tests hand in moto-backed or mocked
// clients.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
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
import { DescribeServicesCommand, ECSClient, type Service } from '@aws-sdk/client-ecs';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
  type Subscription,
} from '@aws-sdk/client-sns';
import { AWS_CLIENT_CONFIG } from '../../constructs/core/aws-clients';

// ---------------------------------------------------------------------------------------------
// Clients and errors

/** Every AWS client the command uses; commands pass real ones, tests moto-backed or mocked ones. */
export interface AlarmTestClients {
  readonly cloudFormation: CloudFormationClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  readonly kms: KMSClient;
  readonly ecs: ECSClient;
}

/** Bounded retries and timeouts for the clients the command creates. */
export const ALARM_TEST_CLIENT_CONFIG = AWS_CLIENT_CONFIG;

/** Creates the command's clients for one region with {@link ALARM_TEST_CLIENT_CONFIG}. */
export function createAlarmTestClients(region?: string): AlarmTestClients {
  const config = { ...ALARM_TEST_CLIENT_CONFIG, region };
  return {
    cloudFormation: new CloudFormationClient(config),
    cloudwatch: new CloudWatchClient(config),
    sns: new SNSClient(config),
    kms: new KMSClient(config),
    ecs: new ECSClient(config),
  };
}

/** Closes the sockets of clients made by {@link createAlarmTestClients}. */
export function destroyAlarmTestClients(clients: AlarmTestClients): void {
  for (const client of [clients.cloudFormation, clients.cloudwatch, clients.sns, clients.kms, clients.ecs]) {
    client.destroy();
  }
}

/** What was asked cannot be done as asked: the stack does not exist, or an alarm name is not in it. */
export class AlarmTestUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlarmTestUsageError';
  }
}

/** `fire` refused: a deployment is in progress, and a fired deployment alarm would roll it back. */
export class DeploymentInProgressError extends Error {
  /** One line per deployment found, such as `stack "Shop" is UPDATE_IN_PROGRESS`. */
  public readonly deployments: readonly string[];

  constructor(deployments: readonly string[]) {
    super(
      `refusing to fire alarms while a deployment is in progress (a fired deployment alarm would roll it back): ${deployments.join('; ')}; run again when it ends, or pass --force`,
    );
    this.name = 'DeploymentInProgressError';
    this.deployments = deployments;
  }
}

// ---------------------------------------------------------------------------------------------
// Inventory

/** The CloudFormation resource types that are alarms. */
export const ALARM_RESOURCE_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'] as const;

/** How deep `inventory` follows nested stacks. */
const MAX_NESTING = 5;
/** CloudWatch accepts at most this many names in one DescribeAlarms call; ECS this many services. */
const ALARM_NAMES_PER_CALL = 100;
const SERVICES_PER_CALL = 10;
/** A bound on pagination loops, so a misbehaving endpoint cannot keep the command running. */
const MAX_PAGES = 100;

/** The actions an alarm runs on each state change. */
export interface AlarmActions {
  readonly alarm: readonly string[];
  readonly ok: readonly string[];
  readonly insufficientData: readonly string[];
}

/** One alarm of the stack, as CloudWatch describes it. */
export interface StackAlarm {
  readonly name: string;
  readonly arn?: string;
  readonly kind: 'metric' | 'composite';
  /** The logical ID in the stack (or nested stack) that declares it. */
  readonly logicalId: string;
  /** The name of the stack that declares it (a nested stack's name for nested alarms). */
  readonly stackName: string;
  /** `OK`, `ALARM` or `INSUFFICIENT_DATA`. */
  readonly state: string;
  readonly actionsEnabled: boolean;
  readonly actions: AlarmActions;
  /** For a composite alarm: the names of the alarms its rule references. Empty for a metric alarm. */
  readonly references: readonly string[];
}

/** An ECS service of the stack, checked for a deployment in progress before alarms are fired. */
export interface StackService {
  /** The cluster name, or undefined for a service ARN of the old format (default cluster). */
  readonly cluster?: string;
  /** The service ARN (or name). */
  readonly service: string;
}

/** Every alarm of a stack, and what `fire` needs to know whether a deployment is in progress. */
export interface StackInventory {
  readonly stackName: string;
  readonly stackStatus: string;
  readonly alarms: readonly StackAlarm[];
  /** Alarms the stack declares that CloudWatch does not know (deleted outside CloudFormation). */
  readonly missing: readonly { readonly logicalId: string; readonly name: string }[];
  readonly services: readonly StackService[];
}

interface DeclaredAlarm {
  readonly logicalId: string;
  readonly name: string;
  readonly stackName: string;
}

/**
 * Lists every alarm of a stack, metric and composite, including those of nested stacks, with its
 * actions, its state and, for a composite, the alarms its rule references. Throws
 * {@link AlarmTestUsageError} when the stack does not exist.
 */
export async function inventory(
  clients: Pick<AlarmTestClients, 'cloudFormation' | 'cloudwatch'>,
  stackName: string,
): Promise<StackInventory> {
  const stackStatus = await readStackStatus(clients.cloudFormation, stackName);
  const declared: DeclaredAlarm[] = [];
  const services: StackService[] = [];
  await walkStack(clients.cloudFormation, stackName, stackName, 0, (resource, owner) => {
    const type = resource.ResourceType ?? '';
    const physicalId = resource.PhysicalResourceId;
    if (!physicalId) return;
    if ((ALARM_RESOURCE_TYPES as readonly string[]).includes(type)) {
      declared.push({ logicalId: resource.LogicalResourceId ?? '', name: physicalId, stackName: owner });
    } else if (type === 'AWS::ECS::Service') {
      services.push(serviceOfArn(physicalId));
    }
  });
  const described = await describeAlarms(
    clients.cloudwatch,
    declared.map((d) => d.name),
  );
  const alarms: StackAlarm[] = [];
  const missing: { logicalId: string; name: string }[] = [];
  for (const d of declared) {
    const found = described.get(d.name);
    if (found) alarms.push(toStackAlarm(found, d));
    else missing.push({ logicalId: d.logicalId, name: d.name });
  }
  alarms.sort((a, b) => a.name.localeCompare(b.name));
  return { stackName, stackStatus, alarms, missing, services };
}

async function readStackStatus(cloudFormation: CloudFormationClient, stackName: string): Promise<string> {
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    return described.Stacks?.[0]?.StackStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      const region = await cloudFormation.config.region();
      throw new AlarmTestUsageError(`stack "${stackName}" does not exist in ${region}`);
    }
    throw error;
  }
}

/** Calls `visit` for every resource of a stack and its nested stacks (up to {@link MAX_NESTING} deep). */
async function walkStack(
  cloudFormation: CloudFormationClient,
  stackId: string,
  stackName: string,
  depth: number,
  visit: (resource: StackResourceSummary, stackName: string) => void,
): Promise<void> {
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await cloudFormation.send(
      new ListStackResourcesCommand({ StackName: stackId, NextToken: nextToken }),
    );
    for (const resource of listed.StackResourceSummaries ?? []) {
      if (resource.ResourceType === 'AWS::CloudFormation::Stack' && resource.PhysicalResourceId) {
        if (depth < MAX_NESTING) {
          const nestedId = resource.PhysicalResourceId;
          await walkStack(cloudFormation, nestedId, stackNameOfArn(nestedId), depth + 1, visit);
        }
      } else {
        visit(resource, stackName);
      }
    }
    nextToken = listed.NextToken;
    if (!nextToken) return;
  }
}

/** `arn:aws:cloudformation:r:a:stack/NAME/id` → NAME; anything else is returned as it is. */
function stackNameOfArn(arn: string): string {
  return /:stack\/([^/]+)\//.exec(arn)?.[1] ?? arn;
}

/** `arn:aws:ecs:r:a:service/CLUSTER/NAME` → its cluster; an old-format ARN has none (default cluster). */
function serviceOfArn(arn: string): StackService {
  const cluster = /:service\/([^/]+)\/[^/]+$/.exec(arn)?.[1];
  return cluster ? { cluster, service: arn } : { service: arn };
}

type DescribedAlarm = (MetricAlarm & { kind: 'metric' }) | (CompositeAlarm & { kind: 'composite' });

async function describeAlarms(cloudwatch: CloudWatchClient, names: readonly string[]) {
  const found = new Map<string, DescribedAlarm>();
  for (let i = 0; i < names.length; i += ALARM_NAMES_PER_CALL) {
    const chunk = names.slice(i, i + ALARM_NAMES_PER_CALL);
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const described = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: chunk,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          NextToken: nextToken,
        }),
      );
      for (const a of described.MetricAlarms ?? []) found.set(a.AlarmName ?? '', { ...a, kind: 'metric' });
      for (const a of described.CompositeAlarms ?? []) found.set(a.AlarmName ?? '', { ...a, kind: 'composite' });
      nextToken = described.NextToken;
      if (!nextToken) break;
    }
  }
  return found;
}

function toStackAlarm(alarm: DescribedAlarm, declared: DeclaredAlarm): StackAlarm {
  return {
    name: declared.name,
    arn: alarm.AlarmArn,
    kind: alarm.kind,
    logicalId: declared.logicalId,
    stackName: declared.stackName,
    state: alarm.StateValue ?? 'UNKNOWN',
    actionsEnabled: alarm.ActionsEnabled !== false,
    actions: {
      alarm: alarm.AlarmActions ?? [],
      ok: alarm.OKActions ?? [],
      insufficientData: alarm.InsufficientDataActions ?? [],
    },
    references: alarm.kind === 'composite' ? alarmRuleReferences(alarm.AlarmRule ?? '') : [],
  };
}

/** A state function of a composite rule: `ALARM("name")`, `OK(name)`, `INSUFFICIENT_DATA("arn:…")`. */
const STATE_FUNCTION = /\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:"([^"]*)"|'([^']*)'|([^\s()"',]+))\s*\)/g;
/** `AT_LEAST(2, ALARM, ("a", "b"))`: the alarm list of the threshold function. */
const AT_LEAST = /\bAT_LEAST\s*\([^,]+,\s*[A-Z_]+\s*,\s*\(([^)]*)\)\s*\)/g;

/**
 * The names of the alarms a composite alarm rule references, in order of first mention. ARNs
 * (`arn:aws:cloudwatch:…:alarm:NAME`) are reduced to names.
 */
export function alarmRuleReferences(rule: string): string[] {
  const names: string[] = [];
  for (const m of rule.matchAll(STATE_FUNCTION)) names.push(m[1] ?? m[2] ?? m[3] ?? '');
  for (const m of rule.matchAll(AT_LEAST)) {
    names.push(...m[1].split(',').map((s) => s.trim().replace(/^["']|["']$/g, '')));
  }
  return [...new Set(names.filter((n) => n !== '').map(alarmNameOf))];
}

function alarmNameOf(nameOrArn: string): string {
  const at = nameOrArn.indexOf(':alarm:');
  return nameOrArn.startsWith('arn:') && at >= 0 ? nameOrArn.slice(at + ':alarm:'.length) : nameOrArn;
}

// ---------------------------------------------------------------------------------------------
// Findings: routing

/** How an alarm reaches a person. */
export type Routing =
  /** It has actions of its own for the ALARM state. */
  | { readonly kind: 'direct' }
  /** It has none, but feeds composites that do; `via` runs from its parent to the composite that notifies. */
  | { readonly kind: 'via'; readonly via: readonly string[] }
  /** Nothing is told when it fires. */
  | { readonly kind: 'none'; readonly reason: string };

/** What kind of problem a finding is. */
export type FindingKind =
  | 'no-action'
  | 'missing-alarm'
  | 'topic-missing'
  | 'no-subscription'
  | 'pending-only'
  | 'aws-managed-key'
  | 'key-policy'
  | 'key-unreadable'
  | 'action-failed'
  | 'action-unconfirmed';

/** One problem, about one alarm, topic or key. */
export interface Finding {
  readonly kind: FindingKind;
  /** The alarm name or topic ARN it is about. */
  readonly subject: string;
  readonly message: string;
}

/** One alarm with its routing verdict. */
export interface AlarmVerdict {
  readonly alarm: string;
  readonly routing: Routing;
}

/**
 * How each alarm reaches a person. An alarm with no ALARM action (or with actions disabled) is routed
 * when it feeds a composite alarm of the stack that has an action, directly or through further
 * composites; otherwise its routing is `none`.
 */
export function routingOf(alarms: readonly StackAlarm[]): AlarmVerdict[] {
  const byName = new Map(alarms.map((a) => [a.name, a]));
  const parents = new Map<string, StackAlarm[]>();
  for (const composite of alarms) {
    for (const child of composite.references) parents.set(child, [...(parents.get(child) ?? []), composite]);
  }
  const chainOf = (name: string, seen: ReadonlySet<string>): string[] | undefined => {
    for (const parent of parents.get(name) ?? []) {
      if (seen.has(parent.name)) continue;
      if (notifies(parent)) return [parent.name];
      const rest = chainOf(parent.name, new Set([...seen, parent.name]));
      if (rest) return [parent.name, ...rest];
    }
    return undefined;
  };
  return alarms.map((alarm) => {
    if (notifies(alarm)) return { alarm: alarm.name, routing: { kind: 'direct' } };
    const via = chainOf(alarm.name, new Set([alarm.name]));
    if (via) return { alarm: alarm.name, routing: { kind: 'via', via } };
    return { alarm: alarm.name, routing: { kind: 'none', reason: whyUnrouted(alarm, parents, byName) } };
  });
}

function notifies(alarm: StackAlarm): boolean {
  return alarm.actionsEnabled && alarm.actions.alarm.length > 0;
}

function whyUnrouted(
  alarm: StackAlarm,
  parents: ReadonlyMap<string, StackAlarm[]>,
  byName: ReadonlyMap<string, StackAlarm>,
): string {
  const feeds = (parents.get(alarm.name) ?? []).filter((p) => byName.has(p.name)).map((p) => `"${p.name}"`);
  const own =
    alarm.actions.alarm.length > 0 && !alarm.actionsEnabled
      ? 'its actions are disabled (ActionsEnabled is false)'
      : 'it has no ALARM action';
  if (feeds.length > 0) return `${own}, and the composite alarm(s) it feeds (${feeds.join(', ')}) have none either`;
  return `${own}: when it fires nobody is told`;
}

/** The routing findings: one per alarm whose routing is `none`, one per declared alarm CloudWatch lacks. */
export function routingFindings(inventoried: StackInventory, verdicts: readonly AlarmVerdict[]): Finding[] {
  const unrouted: Finding[] = verdicts.flatMap((v) =>
    v.routing.kind === 'none'
      ? [{ kind: 'no-action' as const, subject: v.alarm, message: `alarm "${v.alarm}": ${v.routing.reason}` }]
      : [],
  );
  const missing: Finding[] = inventoried.missing.map((m) => ({
    kind: 'missing-alarm',
    subject: m.name,
    message: `alarm "${m.name}" (${m.logicalId}) is declared by the stack but does not exist in CloudWatch`,
  }));
  return [...unrouted, ...missing];
}

// ---------------------------------------------------------------------------------------------
// Findings: topics and keys

/** The AWS managed key of SNS: CloudWatch may not use it, so alarm notifications to such a topic are dropped. */
export const AWS_MANAGED_SNS_KEY = 'alias/aws/sns';
/** The principal that must be allowed to use a topic's key. */
export const CLOUDWATCH_PRINCIPAL = 'cloudwatch.amazonaws.com';
/** The key actions CloudWatch needs to publish to an encrypted topic. */
export const CLOUDWATCH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'] as const;

/** What the check learnt about one SNS topic that alarms notify. */
export interface TopicCheck {
  readonly topicArn: string;
  /** The alarms with an action (of any state) on this topic. */
  readonly usedBy: readonly string[];
  readonly exists: boolean;
  readonly confirmed: number;
  /** Subscriptions waiting for confirmation: they receive nothing. */
  readonly pending: readonly string[];
  /** The topic's KMS key (`KmsMasterKeyId`), if it is encrypted. */
  readonly keyId?: string;
  /** Whether CloudWatch may use the key: `yes`, `no` or `unknown`; absent when not encrypted. */
  readonly cloudWatchMayUseKey?: 'yes' | 'no' | 'unknown';
}

/** The outcome of the checks that need no state change. */
export interface CheckResult {
  readonly verdicts: readonly AlarmVerdict[];
  readonly topics: readonly TopicCheck[];
  readonly findings: readonly Finding[];
}

/**
 * Checks that every alarm of the inventory reaches a person: routing (an action, or a composite with
 * one), and for every SNS topic an action targets: it exists, has a confirmed subscription, and is not
 * encrypted with a key CloudWatch may not use. Lambda and other actions are listed, not checked.
 */
export async function findings(
  clients: Pick<AlarmTestClients, 'sns' | 'kms'>,
  inventoried: StackInventory,
): Promise<CheckResult> {
  const verdicts = routingOf(inventoried.alarms);
  const topics: TopicCheck[] = [];
  const topicFindings: Finding[] = [];
  for (const [topicArn, usedBy] of topicsOf(inventoried.alarms)) {
    const checked = await checkTopic(clients, topicArn, usedBy);
    topics.push(checked.topic);
    topicFindings.push(...checked.findings);
  }
  return { verdicts, topics, findings: [...routingFindings(inventoried, verdicts), ...topicFindings] };
}

/** Whether an action ARN is an SNS topic. */
export function isTopicArn(arn: string): boolean {
  return /^arn:[^:]+:sns:/.test(arn);
}

/** SNS topics that any action of the alarms targets, with the alarms using each, in ARN order. */
function topicsOf(alarms: readonly StackAlarm[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const alarm of alarms) {
    const arns = new Set([...alarm.actions.alarm, ...alarm.actions.ok, ...alarm.actions.insufficientData]);
    for (const arn of [...arns].filter(isTopicArn)) used.set(arn, [...(used.get(arn) ?? []), alarm.name]);
  }
  return new Map([...used].sort(([a], [b]) => a.localeCompare(b)));
}

async function checkTopic(
  clients: Pick<AlarmTestClients, 'sns' | 'kms'>,
  topicArn: string,
  usedBy: readonly string[],
): Promise<{ topic: TopicCheck; findings: Finding[] }> {
  const users = usedBy.map((n) => `"${n}"`).join(', ');
  const attributes = await topicAttributes(clients.sns, topicArn);
  if (!attributes) {
    const message = `topic ${topicArn} does not exist: notifications of ${users} reach nobody`;
    return {
      topic: { topicArn, usedBy, exists: false, confirmed: 0, pending: [] },
      findings: [{ kind: 'topic-missing', subject: topicArn, message }],
    };
  }
  const { confirmed, pending } = await subscriptionsOf(clients.sns, topicArn);
  const found: Finding[] = [];
  if (confirmed === 0) found.push(subscriptionFinding(topicArn, users, pending));
  const keyId = attributes.KmsMasterKeyId || undefined;
  let cloudWatchMayUseKey: TopicCheck['cloudWatchMayUseKey'];
  if (keyId) {
    const keyFinding = await checkTopicKey(clients.kms, topicArn, keyId);
    if (keyFinding) found.push(keyFinding);
    cloudWatchMayUseKey = !keyFinding ? 'yes' : keyFinding.kind === 'key-unreadable' ? 'unknown' : 'no';
  }
  return { topic: { topicArn, usedBy, exists: true, confirmed, pending, keyId, cloudWatchMayUseKey }, findings: found };
}

async function topicAttributes(sns: SNSClient, topicArn: string): Promise<Record<string, string> | undefined> {
  try {
    const described = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
    return described.Attributes ?? {};
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /^NotFound(Exception)?$/.test(error.name);
}

/** The marker SNS puts in place of a subscription ARN until the subscription is confirmed. */
const PENDING = 'PendingConfirmation';

async function subscriptionsOf(sns: SNSClient, topicArn: string): Promise<{ confirmed: number; pending: string[] }> {
  const subscriptions: Subscription[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: nextToken }));
    subscriptions.push(...(listed.Subscriptions ?? []));
    nextToken = listed.NextToken;
    if (!nextToken) break;
  }
  let confirmed = 0;
  const pending: string[] = [];
  for (const subscription of subscriptions) {
    if (await isPending(sns, subscription)) pending.push(describeSubscription(subscription));
    else if (subscription.SubscriptionArn?.startsWith('arn:')) confirmed++;
  }
  return { confirmed, pending };
}

async function isPending(sns: SNSClient, subscription: Subscription): Promise<boolean> {
  const arn = subscription.SubscriptionArn ?? '';
  if (arn === PENDING) return true;
  if (!arn.startsWith('arn:')) return false;
  const described = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn }));
  return described.Attributes?.PendingConfirmation === 'true';
}

function describeSubscription(subscription: Subscription): string {
  return `${subscription.Protocol ?? '?'}:${subscription.Endpoint ?? '?'}`;
}

function subscriptionFinding(topicArn: string, users: string, pending: readonly string[]): Finding {
  const message =
    pending.length === 0
      ? `topic ${topicArn} has no subscription: notifications of ${users} reach nobody`
      : `topic ${topicArn} has no confirmed subscription (${pending.length} pending confirmation: ${pending.join(', ')}): notifications of ${users} reach nobody until one is confirmed`;
  return { kind: pending.length === 0 ? 'no-subscription' : 'pending-only', subject: topicArn, message };
}

function isAwsManagedAlias(keyId: string): boolean {
  return keyId === AWS_MANAGED_SNS_KEY || keyId.endsWith(`:${AWS_MANAGED_SNS_KEY}`);
}

/** A finding when CloudWatch may not use the topic's key, or undefined when it may. */
async function checkTopicKey(kms: KMSClient, topicArn: string, keyId: string): Promise<Finding | undefined> {
  const managed: Finding = {
    kind: 'aws-managed-key',
    subject: topicArn,
    message: `topic ${topicArn} is encrypted with the AWS managed key ${AWS_MANAGED_SNS_KEY}, which CloudWatch may not use: alarm notifications are dropped silently; use a customer managed key that allows ${CLOUDWATCH_PRINCIPAL} ${CLOUDWATCH_KEY_ACTIONS.join(' and ')}`,
  };
  if (isAwsManagedAlias(keyId)) return managed;
  try {
    let policyKeyId = keyId;
    if (keyId.startsWith('alias/') || keyId.includes(':alias/')) {
      const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      if (described.KeyMetadata?.KeyManager === 'AWS') return managed;
      policyKeyId = described.KeyMetadata?.KeyId ?? keyId;
    }
    const read = await kms.send(new GetKeyPolicyCommand({ KeyId: policyKeyId, PolicyName: 'default' }));
    const missing = cloudWatchKeyAccess(read.Policy ?? '{}');
    if (missing.length === 0) return undefined;
    return {
      kind: 'key-policy',
      subject: topicArn,
      message: `the key policy of ${keyId} (topic ${topicArn}) does not allow ${CLOUDWATCH_PRINCIPAL} ${missing.join(' and ')}: CloudWatch cannot publish to the topic and alarm notifications are dropped silently`,
    };
  } catch (error) {
    if (!(error instanceof Error) || !/^(AccessDenied|NotFound)(Exception)?$/.test(error.name)) throw error;
    return {
      kind: 'key-unreadable',
      subject: topicArn,
      message: `cannot read the key policy of ${keyId} (topic ${topicArn}): ${error.name}: ${firstLine(error.message)}`,
    };
  }
}

interface PolicyStatement {
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly Action?: string | string[];
}

/**
 * The actions of {@link CLOUDWATCH_KEY_ACTIONS} that a key policy does not allow the CloudWatch
 * service principal (empty when it allows both). An action is allowed by an `Allow` statement whose
 * principal names `cloudwatch.amazonaws.com` and whose actions cover it (wildcards such as `kms:*`
 * count), unless a `Deny` statement for that principal or `*` covers it. Conditions are not evaluated.
 */
export function cloudWatchKeyAccess(policy: string): string[] {
  let statements: PolicyStatement[];
  try {
    const parsed = JSON.parse(policy) as { Statement?: PolicyStatement | PolicyStatement[] };
    statements = [parsed.Statement ?? []].flat();
  } catch {
    return [...CLOUDWATCH_KEY_ACTIONS];
  }
  const covers = (statement: PolicyStatement, action: string) =>
    [statement.Action ?? []].flat().some((pattern) => wildcardMatch(pattern, action));
  return CLOUDWATCH_KEY_ACTIONS.filter((required) => {
    const action = required.replace(/\*$/, '');
    const allowed = statements.some(
      (s) => s.Effect === 'Allow' && namesPrincipal(s.Principal, false) && covers(s, action),
    );
    const denied = statements.some(
      (s) => s.Effect === 'Deny' && namesPrincipal(s.Principal, true) && covers(s, action),
    );
    return !allowed || denied;
  });
}

function namesPrincipal(principal: unknown, starCounts: boolean): boolean {
  if (principal === '*') return starCounts;
  if (typeof principal !== 'object' || principal === null) return false;
  const service = [(principal as { Service?: string | string[] }).Service ?? []].flat();
  const aws = [(principal as { AWS?: string | string[] }).AWS ?? []].flat();
  return service.includes(CLOUDWATCH_PRINCIPAL) || (starCounts && aws.includes('*'));
}

function wildcardMatch(pattern: string, action: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(action);
}

// ---------------------------------------------------------------------------------------------
// Deployments in progress

/**
 * The deployments in progress in the stack, one line each: a CloudFormation operation
 * (`*_IN_PROGRESS`), or an ECS service of the stack with a rollout in progress, more than one
 * deployment, or more than one task set (blue/green). Empty when there is none.
 */
export async function deploymentsInProgress(
  clients: Pick<AlarmTestClients, 'cloudFormation' | 'ecs'>,
  inventoried: Pick<StackInventory, 'stackName' | 'services'>,
): Promise<string[]> {
  const found: string[] = [];
  const status = await readStackStatus(clients.cloudFormation, inventoried.stackName);
  if (status.endsWith('_IN_PROGRESS')) found.push(`stack "${inventoried.stackName}" is ${status}`);
  for (const [cluster, services] of groupByCluster(inventoried.services)) {
    for (let i = 0; i < services.length; i += SERVICES_PER_CALL) {
      const described = await clients.ecs.send(
        new DescribeServicesCommand({ cluster, services: services.slice(i, i + SERVICES_PER_CALL) }),
      );
      for (const service of described.services ?? []) {
        const line = serviceDeployment(service);
        if (line) found.push(line);
      }
    }
  }
  return found;
}

function groupByCluster(services: readonly StackService[]): Map<string | undefined, string[]> {
  const grouped = new Map<string | undefined, string[]>();
  for (const s of services) grouped.set(s.cluster, [...(grouped.get(s.cluster) ?? []), s.service]);
  return grouped;
}

function serviceDeployment(service: Service): string | undefined {
  const name = `ECS service "${service.serviceName ?? service.serviceArn}"`;
  const deployments = service.deployments ?? [];
  const rolling = deployments.find((d) => d.rolloutState === 'IN_PROGRESS');
  if (rolling) return `${name} has a deployment in progress (${rolling.id ?? '?'}, rollout ${rolling.rolloutState})`;
  if (deployments.length > 1) return `${name} has ${deployments.length} deployments (one is in progress)`;
  const taskSets = service.taskSets ?? [];
  if (taskSets.length > 1) return `${name} has ${taskSets.length} task sets (a blue/green deployment is in progress)`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Fire

/** One progress event of {@link fire}; the command prints it on stderr. */
export interface FireProgressEvent {
  readonly phase: 'check' | 'alarm' | 'hold' | 'ok' | 'history' | 'done';
  readonly detail: string;
  readonly elapsedSeconds: number;
}

/** Options of {@link fire}. */
export interface FireOptions {
  /** The stack the alarms belong to: its status and ECS services are checked for a deployment in progress. */
  readonly stack: Pick<StackInventory, 'stackName' | 'services' | 'alarms'>;
  /** Fire even while a deployment is in progress. @default false */
  readonly force?: boolean;
  /** @default - () => new Date() */
  readonly now?: () => Date;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onProgress?: (event: FireProgressEvent) => void;
  /** How long the alarms stay in ALARM before going back to OK, so composites can follow. @default 10 */
  readonly holdSeconds?: number;
  /** How long to wait for the history of every expected action. @default 60 */
  readonly historyWaitSeconds?: number;
  /** How often to read the history while waiting. @default 5 */
  readonly pollSeconds?: number;
}

/** What became of one action during the test. */
export interface ActionOutcome {
  readonly action: string;
  readonly outcome: 'succeeded' | 'failed' | 'not-seen';
  /** The history summary of a failure, or why it was not seen. */
  readonly detail?: string;
}

/** One fired alarm (or a composite it is routed through) and its actions' outcomes. */
export interface FiredAlarm {
  readonly alarm: string;
  /** `fired`: set to ALARM and back; `routed`: a composite reached through a fired alarm; `skipped`. */
  readonly role: 'fired' | 'routed' | 'skipped';
  /** Why it was skipped. */
  readonly note?: string;
  readonly actions: readonly ActionOutcome[];
}

/** The outcome of {@link fire}. */
export interface FireReport {
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** Deployments that were in progress and ignored because of `force`. */
  readonly forcedPast: readonly string[];
  readonly alarms: readonly FiredAlarm[];
  readonly findings: readonly Finding[];
}

/** The reason SetAlarmState records when the test sets an alarm to ALARM. */
export function fireReason(at: Date): string {
  return `prod-baseline alarm-test: this is a test, not an incident (${at.toISOString()})`;
}

/** The reason SetAlarmState records when the test sets an alarm back to OK. */
export function restoreReason(at: Date): string {
  return `prod-baseline alarm-test: the test is over, back to OK (${at.toISOString()}); the next evaluation sets the real state`;
}

/** Alarms already in ALARM are not fired: it may be a real incident, and no state change means no action. */
function skipNote(alarm: StackAlarm): string | undefined {
  return alarm.state === 'ALARM' ? 'already in ALARM (a real incident?): not fired' : undefined;
}

/**
 * Sets each alarm to ALARM with a reason that says it is a test, waits `holdSeconds`, sets it back to
 * OK, then reads the alarm history (HistoryItemType Action) since the start for which actions
 * succeeded and which failed. The history of the composites an alarm is routed through is read too.
 * Alarms already in ALARM are skipped. Throws {@link DeploymentInProgressError} while a deployment is
 * in progress, unless `force`.
 */
export async function fire(
  clients: Pick<AlarmTestClients, 'cloudFormation' | 'cloudwatch' | 'ecs'>,
  alarms: readonly StackAlarm[],
  options: FireOptions,
): Promise<FireReport> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const progress = (phase: FireProgressEvent['phase'], detail: string) =>
    options.onProgress?.({ phase, detail, elapsedSeconds: Math.round((now().getTime() - started.getTime()) / 1000) });

  const forcedPast = await guardDeployments(clients, options, progress);
  const toFire = alarms.filter((a) => !skipNote(a));
  await setStates(clients.cloudwatch, toFire, 'ALARM', fireReason(now()), progress);
  if (toFire.length > 0) {
    progress('hold', `holding ALARM ${options.holdSeconds ?? 10}s so composite alarms follow`);
    await sleep((options.holdSeconds ?? 10) * 1000);
  }
  await setStates(clients.cloudwatch, toFire, 'OK', restoreReason(now()), progress);

  const expected = expectedActions(toFire, options.stack.alarms);
  const outcomes = await waitForHistory(clients.cloudwatch, expected, started, { ...options, now, sleep }, progress);
  const fired = [
    ...alarms
      .filter(skipNote)
      .map((a) => ({ alarm: a.name, role: 'skipped' as const, note: skipNote(a), actions: [] })),
    ...outcomes,
  ];
  const report: FireReport = {
    startedAt: started.toISOString(),
    durationSeconds: Math.round((now().getTime() - started.getTime()) / 1000),
    forcedPast,
    alarms: fired,
    findings: fireFindings(outcomes, options.historyWaitSeconds ?? 60),
  };
  const count = (o: ActionOutcome['outcome']) =>
    outcomes.flatMap((f) => f.actions).filter((a) => a.outcome === o).length;
  progress('done', `${count('succeeded')} succeeded, ${count('failed')} failed, ${count('not-seen')} not seen`);
  return report;
}

async function guardDeployments(
  clients: Pick<AlarmTestClients, 'cloudFormation' | 'ecs'>,
  options: FireOptions,
  progress: (phase: FireProgressEvent['phase'], detail: string) => void,
): Promise<string[]> {
  progress('check', 'looking for a deployment in progress');
  const deployments = await deploymentsInProgress(clients, options.stack);
  if (deployments.length === 0) return [];
  if (!options.force) throw new DeploymentInProgressError(deployments);
  progress('check', `--force: firing despite ${deployments.join('; ')}`);
  return deployments;
}

async function setStates(
  cloudwatch: CloudWatchClient,
  alarms: readonly StackAlarm[],
  state: 'ALARM' | 'OK',
  reason: string,
  progress: (phase: FireProgressEvent['phase'], detail: string) => void,
): Promise<void> {
  for (const alarm of alarms) {
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm.name, StateValue: state, StateReason: reason }));
    progress(state === 'ALARM' ? 'alarm' : 'ok', `${alarm.name} set to ${state}`);
  }
}

interface ExpectedHistory {
  readonly alarm: string;
  readonly role: 'fired' | 'routed';
  readonly actions: readonly string[];
}

/**
 * The actions each fired alarm should run (its ALARM and OK actions), and the ALARM actions of the
 * composites its routing goes through.
 */
export function expectedActions(fired: readonly StackAlarm[], all: readonly StackAlarm[]): ExpectedHistory[] {
  const verdicts = new Map(routingOf(all).map((v) => [v.alarm, v.routing]));
  const byName = new Map(all.map((a) => [a.name, a]));
  const expected: ExpectedHistory[] = fired.map((a) => ({
    alarm: a.name,
    role: 'fired',
    actions: a.actionsEnabled ? [...new Set([...a.actions.alarm, ...a.actions.ok])] : [],
  }));
  const routedThrough = new Set(
    fired.flatMap((a) => {
      const routing = verdicts.get(a.name);
      return routing?.kind === 'via' ? routing.via : [];
    }),
  );
  for (const name of routedThrough) {
    const composite = byName.get(name);
    if (composite && !fired.some((a) => a.name === name) && notifies(composite)) {
      expected.push({ alarm: name, role: 'routed', actions: [...composite.actions.alarm] });
    }
  }
  return expected;
}

async function waitForHistory(
  cloudwatch: CloudWatchClient,
  expected: readonly ExpectedHistory[],
  since: Date,
  options: FireOptions & { now: () => Date; sleep: (ms: number) => Promise<void> },
  progress: (phase: FireProgressEvent['phase'], detail: string) => void,
): Promise<FiredAlarm[]> {
  const waitMs = (options.historyWaitSeconds ?? 60) * 1000;
  const pollMs = (options.pollSeconds ?? 5) * 1000;
  const deadline = options.now().getTime() + waitMs;
  const total = expected.reduce((n, e) => n + e.actions.length, 0);
  for (;;) {
    const outcomes = await readOutcomes(cloudwatch, expected, since);
    const seen = outcomes.flatMap((o) => o.actions).filter((a) => a.outcome !== 'not-seen').length;
    progress('history', `${seen} of ${total} expected action(s) in the alarm history`);
    if (seen === total || options.now().getTime() + pollMs > deadline) return outcomes;
    await options.sleep(pollMs);
  }
}

async function readOutcomes(
  cloudwatch: CloudWatchClient,
  expected: readonly ExpectedHistory[],
  since: Date,
): Promise<FiredAlarm[]> {
  const outcomes: FiredAlarm[] = [];
  for (const e of expected) {
    const results = e.actions.length > 0 ? actionResults(await readHistory(cloudwatch, e.alarm, since)) : new Map();
    outcomes.push({
      alarm: e.alarm,
      role: e.role,
      actions: e.actions.map((action) => results.get(action) ?? { action, outcome: 'not-seen' }),
    });
  }
  return outcomes;
}

/** History entries may be stamped a moment before the local clock's start; look back this far. */
const CLOCK_SKEW_MS = 5_000;

async function readHistory(cloudwatch: CloudWatchClient, alarmName: string, since: Date): Promise<AlarmHistoryItem[]> {
  const items: AlarmHistoryItem[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const read = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: alarmName,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        HistoryItemType: 'Action',
        StartDate: new Date(since.getTime() - CLOCK_SKEW_MS),
        NextToken: nextToken,
      }),
    );
    items.push(...(read.AlarmHistoryItems ?? []));
    nextToken = read.NextToken;
    if (!nextToken) break;
  }
  return items;
}

const SUMMARY = /^(Successfully executed|Failed to execute) action (arn:[^\s"]+?)\.?(?:\s|$)/;

/** The outcome per action ARN in a list of Action history items; a failure outweighs a success. */
export function actionResults(items: readonly AlarmHistoryItem[]): Map<string, ActionOutcome> {
  const results = new Map<string, ActionOutcome>();
  for (const item of items) {
    const parsed = parseActionItem(item);
    if (!parsed) continue;
    if (results.get(parsed.action)?.outcome === 'failed') continue;
    results.set(parsed.action, parsed);
  }
  return results;
}

function parseActionItem(item: AlarmHistoryItem): ActionOutcome | undefined {
  const summary = item.HistorySummary ?? '';
  const fromData = parseHistoryData(item.HistoryData);
  const match = SUMMARY.exec(summary);
  const action = fromData?.action ?? match?.[2];
  if (!action) return undefined;
  const failed = fromData ? fromData.failed : match?.[1] === 'Failed to execute';
  return failed ? { action, outcome: 'failed', detail: fromData?.error ?? summary } : { action, outcome: 'succeeded' };
}

function parseHistoryData(data: string | undefined): { action: string; failed: boolean; error?: string } | undefined {
  if (!data) return undefined;
  try {
    const parsed = JSON.parse(data) as { actionState?: string; notificationResource?: string; error?: string };
    if (!parsed.actionState || !parsed.notificationResource) return undefined;
    return { action: parsed.notificationResource, failed: parsed.actionState !== 'Succeeded', error: parsed.error };
  } catch {
    return undefined;
  }
}

function fireFindings(outcomes: readonly FiredAlarm[], waitSeconds: number): Finding[] {
  return outcomes.flatMap((o) =>
    o.actions.flatMap((a): Finding[] => {
      if (a.outcome === 'failed') {
        return [
          {
            kind: 'action-failed',
            subject: o.alarm,
            message: `alarm "${o.alarm}": action ${a.action} failed: ${a.detail}`,
          },
        ];
      }
      if (a.outcome === 'not-seen') {
        return [
          {
            kind: 'action-unconfirmed',
            subject: o.alarm,
            message: `alarm "${o.alarm}": action ${a.action} does not appear in the alarm history within ${waitSeconds}s`,
          },
        ];
      }
      return [];
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Selection and plan

/**
 * The alarms named (all when `names` is empty). Throws {@link AlarmTestUsageError} naming the
 * unknown ones and the alarms the stack has.
 */
export function selectAlarms(inventoried: StackInventory, names: readonly string[]): StackAlarm[] {
  if (names.length === 0) return [...inventoried.alarms];
  const known = new Set(inventoried.alarms.map((a) => a.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const list = inventoried.alarms.map((a) => a.name).join(', ') || 'none';
    throw new AlarmTestUsageError(
      `no alarm ${unknown.map((n) => `"${n}"`).join(', ')} in stack "${inventoried.stackName}"; its alarms: ${list}`,
    );
  }
  return inventoried.alarms.filter((a) => names.includes(a.name));
}

/** The calls `fire` would make, in order, one line each (for `--dry-run`). */
export function planFire(alarms: readonly StackAlarm[], at: Date, holdSeconds = 10): string[] {
  const toFire = alarms.filter((a) => !skipNote(a));
  return [
    ...alarms.filter(skipNote).map((a) => `skip ${a.name}: ${skipNote(a)}`),
    ...toFire.map((a) => `SetAlarmState ${a.name} ALARM "${fireReason(at)}"`),
    ...(toFire.length > 0 ? [`wait ${holdSeconds}s`] : []),
    ...toFire.map((a) => `SetAlarmState ${a.name} OK "${restoreReason(at)}"`),
    ...(toFire.length > 0 ? ['DescribeAlarmHistory (HistoryItemType Action) of each alarm since the start'] : []),
  ];
}

/** The first line of a message, so errors print on one line. */
export function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
