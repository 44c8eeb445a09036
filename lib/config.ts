import { RegionInfo } from 'aws-cdk-lib/region-info';
import {
  EMAIL_PATTERN,
  FARGATE_MEMORY_MIB,
  storageCeilingProblem,
  URL_PATH_PATTERN,
} from '../constructs/core/validation';

/**
 * The context key under which the baseline stack's config lives in `cdk.json`.
 * Single settings can be overridden with `-c prodBaseline.<setting>=<value>`.
 */
export const CONFIG_CONTEXT_KEY = 'prodBaseline';

/** The two profiles. A profile only chooses defaults; every setting can still be overridden. */
export type Profile = 'dev' | 'production';
export const PROFILES: readonly Profile[] = ['dev', 'production'];

/** The validated, fully defaulted config of the baseline stack. */
export interface BaselineConfig {
  readonly profile: Profile;
  readonly stackName: string;
  readonly region: string;
  readonly alertEmails: readonly string[];
  readonly alertWebhooks: readonly string[];
  readonly notifyEmails: readonly string[];
  readonly slackWorkspaceId: string;
  readonly slackChannelId: string;
  readonly monthlyBudgetUsd: number;
  readonly containerImage: string;
  readonly containerPort: number;
  readonly healthCheckPath: string;
  readonly taskCpu: number;
  readonly taskMemoryMiB: number;
  readonly desiredCount: number;
  readonly natGateways: number;
  readonly vpcCidr: string;
  readonly multiAz: boolean;
  readonly deletionProtection: boolean;
  readonly terminationProtection: boolean;
  readonly logRetentionDays: number;
  readonly accessLogRetentionDays: number;
  readonly backupRetentionDays: number;
  readonly dbInstanceClass: string;
  readonly dbAllocatedStorageGiB: number;
  readonly dbMaxAllocatedStorageGiB: number;
  readonly databaseName: string;
  readonly restoreDrillSchedule: 'weekly' | 'daily';
  readonly rpoTargetMinutes: number;
  readonly rtoTargetMinutes: number;
  readonly canaryRateMinutes: number;
  readonly bakeTimeMinutes: number;
  readonly maxTasks: number;
  readonly preDeploySnapshots: boolean;
  readonly domainName: string;
  readonly certificateArn: string;
  readonly hostedZoneId: string;
  readonly edgeProtection: 'block' | 'count' | 'off';
  readonly awsBackupPlan: boolean;
}

type Kind = 'string' | 'integer' | 'boolean' | 'string-list';
type Defaults<T> = { readonly [P in Profile]: T };

interface SettingSpec {
  readonly kind: Kind;
  readonly description: string;
  readonly defaults: Defaults<unknown>;
  /** What is allowed, as a phrase that completes "must be …". */
  readonly allowed: string;
  /** Returns true when a value of the right kind is allowed. */
  readonly check: (value: never) => boolean;
  /** For lists: whether one item is allowed (the error then names the bad items). */
  readonly item?: (value: string) => boolean;
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Commercial AWS regions known to this aws-cdk-lib version. */
export const KNOWN_REGIONS: readonly string[] = RegionInfo.regions
  .filter((r) => r.partition === 'aws')
  .map((r) => r.name)
  .sort();

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const IMAGE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._/-][a-z0-9]+)*)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const INSTANCE_CLASS = /^[a-z][a-z0-9-]*\.[0-9]*[a-z0-9]+$/;
const DB_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const RESERVED_DB_NAMES = ['postgres', 'template0', 'template1', 'rdsadmin'];

const same = <T>(value: T): Defaults<T> => ({ dev: value, production: value });
const intBetween = (min: number, max: number) => (v: number) => v >= min && v <= max;

/**
 * Every setting of the baseline config: its type, its defaults per profile and what is allowed.
 * The README's config table is generated from this table (`npm run docs:config`).
 */
export const SETTINGS = {
  profile: {
    kind: 'string',
    description: 'Chooses the defaults of every other setting.',
    defaults: same('dev'),
    allowed: 'one of "dev", "production"',
    check: (v: string) => (PROFILES as readonly string[]).includes(v),
  },
  stackName: {
    kind: 'string',
    description: 'CloudFormation stack name; also names the manifest parameter.',
    defaults: same('ProdBaseline'),
    allowed: 'a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128 characters',
    check: (v: string) => STACK_NAME.test(v),
  },
  region: {
    kind: 'string',
    description: 'AWS region of the stack. The account comes from the environment at deploy time.',
    defaults: same('us-east-1'),
    allowed: 'a commercial AWS region such as "us-east-1" or "eu-west-1"',
    check: (v: string) => KNOWN_REGIONS.includes(v),
  },
  alertEmails: {
    kind: 'string-list',
    description: 'E-mail addresses subscribed to the alert topic (comma-separated with -c).',
    defaults: same([]),
    allowed: 'a list of at most 10 e-mail addresses such as "oncall@example.com"',
    check: (v: string[]) => v.length <= 10 && v.every((e) => EMAIL_PATTERN.test(e)),
    item: (e: string) => EMAIL_PATTERN.test(e),
  },
  alertWebhooks: {
    kind: 'string-list',
    description:
      'HTTPS endpoints (an incident tool, for example) subscribed to the page topic (comma-separated with -c).',
    defaults: same([]),
    allowed: 'a list of at most 10 https:// URLs',
    check: (v: string[]) => v.length <= 10 && v.every(isHttpsUrl),
    item: isHttpsUrl,
  },
  notifyEmails: {
    kind: 'string-list',
    description: 'E-mail addresses for warnings (the notify topic); empty means the alertEmails.',
    defaults: same([]),
    allowed: 'a list of at most 10 e-mail addresses such as "oncall@example.com"',
    check: (v: string[]) => v.length <= 10 && v.every((e) => EMAIL_PATTERN.test(e)),
    item: (e: string) => EMAIL_PATTERN.test(e),
  },
  slackWorkspaceId: {
    kind: 'string',
    description:
      'AWS Chatbot Slack workspace ID (authorised once in the Chatbot console); with slackChannelId, both topics go to Slack.',
    defaults: same(''),
    allowed: 'empty, or a Slack workspace ID such as "T0123ABCD"',
    check: (v: string) => v === '' || /^[A-Z0-9]{9,12}$/.test(v),
  },
  slackChannelId: {
    kind: 'string',
    description: 'Slack channel ID (not its name) for AWS Chatbot.',
    defaults: same(''),
    allowed: 'empty, or a Slack channel ID such as "C0123ABCD"',
    check: (v: string) => v === '' || /^[A-Z0-9]{9,12}$/.test(v),
  },
  monthlyBudgetUsd: {
    kind: 'integer',
    description:
      'AWS Budgets monthly cost budget for the account (warns the notify topic at 80 % actual and 100 % forecast); 0 turns it off.',
    defaults: { dev: 100, production: 500 },
    allowed: 'a whole number of US dollars from 0 to 1000000',
    check: intBetween(0, 1_000_000),
  },
  containerImage: {
    kind: 'string',
    description: 'Container image of the app. The default is a public sample that serves HTTP on port 80.',
    defaults: same('public.ecr.aws/nginx/nginx:1.27-alpine'),
    allowed: 'an image reference with a tag or digest, such as "public.ecr.aws/nginx/nginx:1.27-alpine"',
    check: (v: string) => IMAGE.test(v),
  },
  containerPort: {
    kind: 'integer',
    description: 'Port the container listens on.',
    defaults: same(80),
    allowed: 'a whole number from 1 to 65535',
    check: intBetween(1, 65535),
  },
  healthCheckPath: {
    kind: 'string',
    description: 'Path the load balancer health check requests; it must answer 200-399 when the app is healthy.',
    defaults: same('/'),
    allowed: 'a path that starts with "/" and has no spaces, at most 1024 characters',
    check: (v: string) => URL_PATH_PATTERN.test(v),
  },
  taskCpu: {
    kind: 'integer',
    description: 'Fargate task CPU units.',
    defaults: { dev: 256, production: 512 },
    allowed: 'one of 256, 512, 1024, 2048, 4096, 8192, 16384',
    check: (v: number) => v in FARGATE_MEMORY_MIB,
  },
  taskMemoryMiB: {
    kind: 'integer',
    description: 'Fargate task memory (MiB); must fit taskCpu.',
    defaults: { dev: 512, production: 1024 },
    allowed: 'a whole number from 512 to 122880',
    check: intBetween(512, 122880),
  },
  desiredCount: {
    kind: 'integer',
    description: 'Number of app tasks.',
    defaults: { dev: 1, production: 2 },
    allowed: 'a whole number from 1 to 100',
    check: intBetween(1, 100),
  },
  natGateways: {
    kind: 'integer',
    description: 'NAT gateways (one per AZ for production; one is a single point of failure for egress).',
    defaults: { dev: 1, production: 2 },
    allowed: 'a whole number from 1 to 2 (the VPC spans two AZs)',
    check: intBetween(1, 2),
  },
  vpcCidr: {
    kind: 'string',
    description: 'IPv4 range of the VPC.',
    defaults: same('10.0.0.0/16'),
    allowed: 'an IPv4 CIDR block with a prefix from /16 to /22, such as "10.0.0.0/16"',
    check: (v: string) => isCidr(v, 16, 22),
  },
  multiAz: {
    kind: 'boolean',
    description: 'Run the database with a standby in a second AZ.',
    defaults: { dev: false, production: true },
    allowed: 'true or false',
    check: () => true,
  },
  deletionProtection: {
    kind: 'boolean',
    description: 'Deletion protection on the database and the load balancer.',
    defaults: { dev: false, production: true },
    allowed: 'true or false',
    check: () => true,
  },
  terminationProtection: {
    kind: 'boolean',
    description: 'CloudFormation termination protection on the stack.',
    defaults: { dev: false, production: true },
    allowed: 'true or false',
    check: () => true,
  },
  logRetentionDays: {
    kind: 'integer',
    description: 'Retention of every log group the stack creates (app, VPC flow logs, database).',
    defaults: { dev: 14, production: 90 },
    allowed: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
    check: (v: number) => (LOG_RETENTION_DAYS as readonly number[]).includes(v),
  },
  accessLogRetentionDays: {
    kind: 'integer',
    description: 'Days the load balancer access logs are kept in S3.',
    defaults: { dev: 30, production: 90 },
    allowed: 'a whole number from 1 to 3650',
    check: intBetween(1, 3650),
  },
  backupRetentionDays: {
    kind: 'integer',
    description: 'Days automated database backups (and point-in-time recovery) are kept.',
    defaults: { dev: 7, production: 14 },
    allowed: 'a whole number from 1 to 35',
    check: intBetween(1, 35),
  },
  dbInstanceClass: {
    kind: 'string',
    description: 'Database instance class, without the "db." prefix.',
    defaults: { dev: 't4g.micro', production: 't4g.small' },
    allowed: 'an instance class without the "db." prefix, such as "t4g.micro" or "r7g.large"',
    check: (v: string) => INSTANCE_CLASS.test(v),
  },
  dbAllocatedStorageGiB: {
    kind: 'integer',
    description: 'Initial database storage (GiB).',
    defaults: same(20),
    allowed: 'a whole number from 20 to 65536',
    check: intBetween(20, 65536),
  },
  dbMaxAllocatedStorageGiB: {
    kind: 'integer',
    description:
      'Ceiling for storage autoscaling (GiB): equal to dbAllocatedStorageGiB turns autoscaling off, otherwise at least 10 % above it.',
    defaults: { dev: 50, production: 100 },
    allowed: 'a whole number from 20 to 65536',
    check: intBetween(20, 65536),
  },
  databaseName: {
    kind: 'string',
    description: 'Name of the database created in the instance.',
    defaults: same('app'),
    allowed: `a letter, then letters, digits or underscores, at most 63 characters, not one of ${RESERVED_DB_NAMES.join(', ')}`,
    check: (v: string) => DB_NAME.test(v) && !RESERVED_DB_NAMES.includes(v.toLowerCase()),
  },
  restoreDrillSchedule: {
    kind: 'string',
    description:
      'How often the restore drill restores the latest backup into a temporary instance and checks the data (weekly on Tuesday, or daily, at 03:00 UTC).',
    defaults: { dev: 'weekly', production: 'daily' },
    allowed: 'one of "weekly", "daily"',
    check: (v: string) => v === 'weekly' || v === 'daily',
  },
  rpoTargetMinutes: {
    kind: 'integer',
    description: 'Recovery point objective: the drill alarms when the latest restorable time lags by more.',
    defaults: same(15),
    allowed: 'a whole number from 5 to 1440',
    check: intBetween(5, 1440),
  },
  canaryRateMinutes: {
    kind: 'integer',
    description:
      'Minutes between health-canary runs against the app URL (about $10 a month at 5 minutes); a broken external path is detected within this plus 3 minutes.',
    defaults: { dev: 15, production: 5 },
    allowed: 'a whole number from 1 to 60',
    check: intBetween(1, 60),
  },
  bakeTimeMinutes: {
    kind: 'integer',
    description:
      'Minutes the previous revision keeps running after a blue/green deployment moved production traffic: within them a rollback is a traffic shift.',
    defaults: same(15),
    allowed: 'a whole number from 0 to 1440',
    check: intBetween(0, 1440),
  },
  maxTasks: {
    kind: 'integer',
    description:
      'Autoscaling ceiling of the app tasks (the floor is desiredCount); scales on CPU (60 %) and requests per task.',
    defaults: { dev: 4, production: 10 },
    allowed: 'a whole number from 1 to 200',
    check: intBetween(1, 200),
  },
  preDeploySnapshots: {
    kind: 'boolean',
    description:
      'Take an RDS snapshot before each forward deployment (kept 14 days), so a rollback across a schema migration has a restore point.',
    defaults: { dev: false, production: true },
    allowed: 'true or false',
    check: () => true,
  },
  domainName: {
    kind: 'string',
    description:
      "The app's domain. With certificateArn or hostedZoneId the app is served over HTTPS (TLS 1.2+) and HTTP redirects to it; empty means plain HTTP on the load balancer's name.",
    defaults: same(''),
    allowed: 'empty, or a domain name such as "app.example.com"',
    check: (v: string) => v === '' || /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(v),
  },
  certificateArn: {
    kind: 'string',
    description: 'An ACM certificate (same region) for domainName.',
    defaults: same(''),
    allowed: 'empty, or an ACM certificate ARN such as "arn:aws:acm:us-east-1:123456789012:certificate/…"',
    check: (v: string) => v === '' || /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/.test(v),
  },
  hostedZoneId: {
    kind: 'string',
    description:
      'A Route 53 public hosted zone of domainName: the stack creates a DNS-validated certificate and an alias record.',
    defaults: same(''),
    allowed: 'empty, or a Route 53 hosted zone ID such as "Z0123456789ABCDEFGHIJ"',
    check: (v: string) => v === '' || /^Z[A-Z0-9]{4,31}$/.test(v),
  },
  edgeProtection: {
    kind: 'string',
    description:
      'AWS WAF on the load balancer: managed rule groups (common, known bad inputs, SQL injection, IP reputation), a per-IP rate limit and a stricter one on /login and /api/auth/* (about $11 a month plus $0.60 per million requests). "count" only counts, for a first rollout.',
    defaults: same('block'),
    allowed: 'one of "block", "count", "off"',
    check: (v: string) => v === 'block' || v === 'count' || v === 'off',
  },
  awsBackupPlan: {
    kind: 'boolean',
    description:
      'An AWS Backup plan for the database besides RDS automated backups: encrypted vault, daily and continuous backups kept 35 days.',
    defaults: { dev: false, production: true },
    allowed: 'true or false',
    check: () => true,
  },
  rtoTargetMinutes: {
    kind: 'integer',
    description: 'Recovery time objective: the drill alarms when a restore takes longer.',
    defaults: same(60),
    allowed: 'a whole number from 10 to 360',
    check: intBetween(10, 360),
  },
} satisfies Record<keyof BaselineConfig, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** Every problem of a config, reported together. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(
      `Invalid prod-baseline config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Where config values come from: the object in cdk.json, then single `-c prodBaseline.<setting>=…` overrides. */
export interface ConfigSources {
  /** The value of the `prodBaseline` context key (an object, or a JSON string of one). */
  readonly base?: unknown;
  /** Single-setting overrides, keyed by setting name. Strings are parsed by the setting's type. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Reads the config from CDK context values: `prodBaseline` (object) and any `prodBaseline.<setting>` keys.
 * @param tryGetContext usually `(k) => app.node.tryGetContext(k)`
 * @param contextKeys every context key that is set (to find the `prodBaseline.*` overrides)
 */
export function configSourcesFromContext(
  contextKeys: readonly string[],
  tryGetContext: (key: string) => unknown,
): ConfigSources {
  const overrides: Record<string, unknown> = {};
  const prefix = `${CONFIG_CONTEXT_KEY}.`;
  for (const key of contextKeys) {
    if (key.startsWith(prefix)) overrides[key.slice(prefix.length)] = tryGetContext(key);
  }
  return { base: tryGetContext(CONFIG_CONTEXT_KEY), overrides };
}

/**
 * Validates and defaults the config. Throws one {@link ConfigError} listing every problem.
 */
export function resolveConfig(sources: ConfigSources = {}): BaselineConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};

  let base = sources.base ?? {};
  if (typeof base === 'string') {
    try {
      base = JSON.parse(base);
    } catch {
      problems.push(`${CONFIG_CONTEXT_KEY} must be an object (or its JSON text), got ${show(base)}`);
      base = {};
    }
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    problems.push(`${CONFIG_CONTEXT_KEY} must be an object of settings, got ${show(base)}`);
    base = {};
  }
  for (const [key, value] of Object.entries(base as Record<string, unknown>)) raw[key] = value;
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    raw[key] =
      typeof value === 'string' && key in SETTINGS ? parseOverride(SETTINGS[key as SettingName].kind, value) : value;
  }

  for (const key of Object.keys(raw)) {
    if (!(key in SETTINGS)) {
      const near = closest(key, SETTING_NAMES);
      problems.push(
        `${CONFIG_CONTEXT_KEY}.${key} is not a known setting${near ? ` (did you mean "${near}"?)` : ''}; known settings: ${SETTING_NAMES.join(', ')}`,
      );
    }
  }

  // The profile is read first: it chooses every other default.
  const profileProblem = checkSetting('profile', raw.profile);
  if (profileProblem) problems.push(profileProblem);
  const profile: Profile = profileProblem || raw.profile === undefined ? 'dev' : (raw.profile as Profile);

  const config: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const value = raw[name];
    if (value === undefined) {
      config[name] = SETTINGS[name].defaults[profile];
      continue;
    }
    const problem = name === 'profile' ? undefined : checkSetting(name, value);
    if (problem) problems.push(problem);
    config[name] = problem ? SETTINGS[name].defaults[profile] : value;
  }

  const c = config as unknown as BaselineConfig;
  // Rules across settings, reported only when each setting is valid on its own.
  const valid = (n: SettingName) => !problems.some((p) => p.startsWith(`${CONFIG_CONTEXT_KEY}.${n} `));
  if (valid('taskCpu') && valid('taskMemoryMiB') && !FARGATE_MEMORY_MIB[c.taskCpu].includes(c.taskMemoryMiB)) {
    problems.push(
      `${CONFIG_CONTEXT_KEY}.taskMemoryMiB must fit taskCpu ${c.taskCpu}: one of ${FARGATE_MEMORY_MIB[c.taskCpu].join(', ')}, got ${c.taskMemoryMiB}`,
    );
  }
  if (valid('domainName') && c.domainName === '' && (c.certificateArn !== '' || c.hostedZoneId !== '')) {
    problems.push(`${CONFIG_CONTEXT_KEY}.domainName must be set when certificateArn or hostedZoneId is, got ""`);
  }
  if (valid('domainName') && c.domainName !== '' && c.certificateArn === '' && c.hostedZoneId === '') {
    problems.push(
      `${CONFIG_CONTEXT_KEY}.domainName ${show(c.domainName)} needs certificateArn or hostedZoneId (to serve it over HTTPS), got neither`,
    );
  }
  if (valid('maxTasks') && valid('desiredCount') && c.maxTasks < c.desiredCount) {
    problems.push(
      `${CONFIG_CONTEXT_KEY}.maxTasks must be at least desiredCount (${c.desiredCount}), got ${c.maxTasks}`,
    );
  }
  // A rollback to a mutable tag would redeploy whatever the tag points at now: the new code.
  if (valid('containerImage') && profile === 'production' && /:latest$|^[^:@]+$/.test(c.containerImage)) {
    problems.push(
      `${CONFIG_CONTEXT_KEY}.containerImage must be pinned by digest or an immutable tag in the production profile (a rollback to a mutable tag redeploys the new code), got ${show(c.containerImage)}`,
    );
  }
  if (
    valid('slackWorkspaceId') &&
    valid('slackChannelId') &&
    (c.slackWorkspaceId === '') !== (c.slackChannelId === '')
  ) {
    problems.push(
      `${CONFIG_CONTEXT_KEY}.slackChannelId and slackWorkspaceId must be set together, got ${show(c.slackWorkspaceId)} and ${show(c.slackChannelId)}`,
    );
  }
  if (valid('dbAllocatedStorageGiB') && valid('dbMaxAllocatedStorageGiB')) {
    const problem = storageCeilingProblem(c.dbAllocatedStorageGiB, c.dbMaxAllocatedStorageGiB);
    if (problem) problems.push(`${CONFIG_CONTEXT_KEY}.dbMaxAllocatedStorageGiB ${problem}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...c,
    alertEmails: Object.freeze([...c.alertEmails]),
    alertWebhooks: Object.freeze([...c.alertWebhooks]),
    notifyEmails: Object.freeze([...c.notifyEmails]),
  });
}

function checkSetting(name: SettingName, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const spec: SettingSpec = SETTINGS[name];
  const fail = () => `${CONFIG_CONTEXT_KEY}.${name} must be ${spec.allowed}, got ${show(value)}`;
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string' && spec.check(value as never) ? undefined : fail();
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && spec.check(value as never) ? undefined : fail();
    case 'boolean':
      return typeof value === 'boolean' ? undefined : fail();
    case 'string-list': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail();
      if (spec.check(value as never)) return undefined;
      const bad = spec.item ? value.filter((v) => !spec.item?.(v)) : [];
      return bad.length > 0
        ? `${CONFIG_CONTEXT_KEY}.${name} must be ${spec.allowed}, got ${bad.map((b) => show(b)).join(', ')}`
        : fail();
    }
  }
}

/** `-c` values always arrive as strings; read them the way the setting's type needs. */
function parseOverride(kind: Kind, value: string): unknown {
  const text = value.trim();
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : value;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : value;
    case 'string-list':
      if (text.startsWith('[')) {
        try {
          return JSON.parse(text);
        } catch {
          return value;
        }
      }
      return text === '' ? [] : text.split(',').map((s) => s.trim());
    default:
      return value;
  }
}

function isHttpsUrl(value: string): boolean {
  return /^https:\/\/[^\s/]+\S*$/.test(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isCidr(value: string, minPrefix: number, maxPrefix: number): boolean {
  const m = CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < minPrefix || prefix > maxPrefix) return false;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return address % 2 ** (32 - prefix) === 0;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
