import { Annotations, ArnFormat, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { throwIfProblems, wholeNumberProblem } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from '../monitoring/alarms';

/** What the web ACL does with requests its rules match. */
export class EdgeMode {
  /** Rules block what they match (production). */
  public static readonly BLOCK = new EdgeMode('block');
  /**
   * Every rule only counts what it matches: managed rule groups get the `Count` override action and
   * the kit's own rules the `Count` action. Use it for a first rollout, read the WAF logs and the
   * `CountedRequests` metrics, then switch to `BLOCK`. In this mode the blocked-requests alarm stays
   * quiet; graph `metricCountedRequests()` instead.
   */
  public static readonly COUNT = new EdgeMode('count');

  private constructor(public readonly name: 'block' | 'count') {}
}

/**
 * A managed rule group in the web ACL. The kit's defaults are static members; `of()` adds any other
 * AWS managed group. Instances are immutable: `withExcludedRules()` returns a copy.
 */
export class ManagedRuleGroup {
  /** Core rule set (CRS): OWASP-style protections, including `SizeRestrictions_BODY` (bodies over 8 KB). */
  public static readonly COMMON = new ManagedRuleGroup('AWS', 'AWSManagedRulesCommonRuleSet', []);
  /** Request patterns known to be invalid or exploit vulnerabilities (Log4j, Java deserialization, …). */
  public static readonly KNOWN_BAD_INPUTS = new ManagedRuleGroup('AWS', 'AWSManagedRulesKnownBadInputsRuleSet', []);
  /** SQL injection patterns in query string, body, URI path and cookies. */
  public static readonly SQLI = new ManagedRuleGroup('AWS', 'AWSManagedRulesSQLiRuleSet', []);
  /** IP addresses Amazon threat intelligence flags as bots or sources of attacks. */
  public static readonly IP_REPUTATION = new ManagedRuleGroup('AWS', 'AWSManagedRulesAmazonIpReputationList', []);

  /** The kit's default groups, in evaluation order. */
  public static defaults(): ManagedRuleGroup[] {
    return [
      ManagedRuleGroup.IP_REPUTATION,
      ManagedRuleGroup.COMMON,
      ManagedRuleGroup.KNOWN_BAD_INPUTS,
      ManagedRuleGroup.SQLI,
    ];
  }

  /**
   * Any managed rule group, by vendor and name (for example `AWSManagedRulesLinuxRuleSet`).
   * @param vendorName the vendor, `AWS` for AWS managed rules
   */
  public static of(name: string, vendorName = 'AWS'): ManagedRuleGroup {
    return new ManagedRuleGroup(vendorName, name, []);
  }

  private constructor(
    public readonly vendorName: string,
    public readonly name: string,
    /** Rules of the group whose action is overridden to `Count` (WAF's "excluded rules"). */
    public readonly excludedRules: readonly string[],
  ) {}

  /**
   * A copy of this group in which the named rules only count (their action is overridden to `Count`,
   * they still add their labels). Use it for rules that produce false positives for your application.
   */
  public withExcludedRules(rules: readonly string[]): ManagedRuleGroup {
    return new ManagedRuleGroup(this.vendorName, this.name, [...new Set([...this.excludedRules, ...rules])]);
  }
}

/** A per-IP rate limit: at most `limit` requests per `window` from one client IP. */
export interface RateLimit {
  /**
   * Requests allowed per window and IP; WAF's minimum is 10.
   * @default - 2000 for the global rule, 100 for the auth-path rule
   */
  readonly limit?: number;
  /**
   * Evaluation window: 1, 2, 5 or 10 minutes (the windows WAF supports).
   * @default Duration.minutes(5)
   */
  readonly window?: Duration;
}

export interface EdgeProtectionProps {
  /** The load balancer the web ACL protects (REGIONAL scope, associated by ARN). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * Block, or only count for a first rollout.
   * @default EdgeMode.BLOCK
   */
  readonly mode?: EdgeMode;
  /**
   * Managed rule groups, evaluated in this order after the rate-based rules (priorities 100, 110, …).
   * @default - ManagedRuleGroup.defaults(): IP reputation, common rule set, known bad inputs, SQL injection
   */
  readonly managedRuleGroups?: readonly ManagedRuleGroup[];
  /**
   * The global per-IP rate limit, over every path.
   * @default - 2000 requests per 5 minutes per IP
   */
  readonly rateLimit?: RateLimit;
  /**
   * The stricter per-IP rate limit on `authPaths` (brute-force and credential-stuffing protection).
   * @default - 100 requests per 5 minutes per IP
   */
  readonly authRateLimit?: RateLimit;
  /**
   * URI paths the auth rate limit applies to. `/login` matches that path exactly, `/api/auth/*` every
   * path that starts with `/api/auth/`, and a `*` elsewhere one path segment. Matching is
   * case-insensitive, after URL-decoding and path normalization. An empty list removes the auth-path rule.
   * @default ['/login', '/api/auth/*']
   */
  readonly authPaths?: readonly string[];
  /**
   * URI paths (same patterns as `authPaths`) that accept bodies over 8 KB. An ALB passes WAF only the
   * first 8 KB of a body, and the common rule set's `SizeRestrictions_BODY` blocks larger bodies. For
   * these paths that rule only counts: it is overridden to `Count`, and a follow-up rule
   * (`BodySizeOutsideUploadPaths`, priority 1000) blocks on its label
   * (`awswaf:managed:aws:core-rule-set:SizeRestrictions_Body`) for every other path. The part of an
   * upload beyond 8 KB is not inspected by WAF. Ignored (with an info annotation) when the common rule
   * set is not in `managedRuleGroups` or its `SizeRestrictions_BODY` is already excluded everywhere.
   * @default - none: bodies over 8 KB are blocked on every path
   */
  readonly uploadPaths?: readonly string[];
  /**
   * How long WAF logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Key that encrypts the WAF log group. It must let `logs.<region>.amazonaws.com` use it.
   * @default - WAF logs are encrypted with CloudWatch Logs' own keys
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Blocked requests per minute above which the blocked-requests alarm counts a breaching minute
   * (3 breaching minutes out of 5 raise it).
   * @default 100
   */
  readonly blockedRequestsThreshold?: number;
  /**
   * Where the blocked-requests alarm (notify severity) goes.
   * @default - no actions
   */
  readonly alerts?: IAlertRouting;
}

/** The CRS label its `SizeRestrictions_BODY` rule adds to a request with a body over 8 KB. */
export const SIZE_RESTRICTIONS_BODY_LABEL = 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body';

/** The CRS rule that blocks bodies over 8 KB. */
const SIZE_RULE = 'SizeRestrictions_BODY';

/** Headers WAF logs never contain. */
export const REDACTED_HEADERS = ['authorization', 'cookie'] as const;

/** Evaluation windows WAF supports for rate-based rules, in seconds. */
const RATE_WINDOWS = [60, 120, 300, 600];
/** WAF's bounds on a rate-based rule's limit. */
const MIN_RATE_LIMIT = 10;
const MAX_RATE_LIMIT = 2_000_000_000;
/** WAF caps a byte-match search string at 200 bytes. */
const MAX_PATH_LENGTH = 200;
const PATH_PATTERN = /^\/[^\s*]*(\*[^\s*]*)*$/;
/**
 * Paths are matched after URL-decoding, path normalization (`//`, `/./`, `/../`) and lower-casing, so
 * `/LOGIN` or `/%6Cogin` cannot dodge the auth rate limit.
 */
const PATH_TRANSFORMATIONS = ['URL_DECODE', 'NORMALIZE_PATH', 'LOWERCASE'];
/** Managed rule group, vendor and rule names as WAF accepts them. */
const NAME_PATTERN = /^[\w-]{1,64}$/;

/** Rule priorities: stable, so adding a managed group never renumbers the rate-based rules. */
const PRIORITY = { authRateLimit: 10, rateLimit: 20, firstManagedGroup: 100, managedGroupStep: 10, bodySize: 1000 };

/**
 * A WAFv2 web ACL (REGIONAL) in front of an Application Load Balancer: a per-IP rate limit, a stricter
 * one on the auth paths, AWS managed rule groups, per-path body-size exemptions for uploads, logging
 * to CloudWatch Logs with the `authorization` and `cookie` headers redacted, and an alarm on spikes of
 * blocked requests.
 *
 * Rules, in evaluation order: `AuthRateLimit` (10), `RateLimit` (20), the managed groups (100, 110, …, in
 * the order of `managedRuleGroups`, named `<vendor>-<group>`), and `BodySizeOutsideUploadPaths` (1000)
 * when `uploadPaths` is set. Requests no rule blocks are allowed.
 *
 * The web ACL's name derives from the construct path: moving or renaming the construct replaces the
 * web ACL. WAF creates the CloudWatch Logs resource policy that lets it deliver to the log group; the
 * deploying role needs `logs:CreateLogDelivery`, `logs:PutResourcePolicy` and
 * `logs:DescribeResourcePolicies` (the CDK bootstrap's CloudFormation execution role has them).
 */
export class EdgeProtection extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** The WAF log group (its name starts with `aws-waf-logs-`, as WAF requires). */
  public readonly logGroup: logs.LogGroup;
  public readonly blockedRequestsAlarm: KitAlarm;
  public readonly mode: EdgeMode;
  /** Name of the web ACL (the `WebACL` dimension of the `AWS/WAFV2` metrics). */
  public readonly webAclName: string;

  constructor(scope: Construct, id: string, props: EdgeProtectionProps) {
    super(scope, id);
    const mode = props.mode ?? EdgeMode.BLOCK;
    const groups = props.managedRuleGroups ?? ManagedRuleGroup.defaults();
    const authPaths = props.authPaths ?? ['/login', '/api/auth/*'];
    const uploadPaths = props.uploadPaths ?? [];
    const rate = { limit: props.rateLimit?.limit ?? 2000, window: props.rateLimit?.window ?? Duration.minutes(5) };
    const authRate = {
      limit: props.authRateLimit?.limit ?? 100,
      window: props.authRateLimit?.window ?? Duration.minutes(5),
    };
    const threshold = props.blockedRequestsThreshold ?? 100;
    const groupNames = groups.map((g) => `${g.vendorName}:${g.name}`);
    throwIfProblems(this, [
      ...rateLimitProblems('rateLimit', rate.limit, rate.window),
      ...rateLimitProblems('authRateLimit', authRate.limit, authRate.window),
      ...pathProblems('authPaths', authPaths),
      ...pathProblems('uploadPaths', uploadPaths),
      ...groupNames
        .filter((name, i) => groupNames.indexOf(name) !== i)
        .map((name) => `managedRuleGroups must not repeat a group, got ${name} twice`),
      ...groups.flatMap((g) =>
        [g.vendorName, g.name, ...g.excludedRules]
          .filter((n) => !NAME_PATTERN.test(n))
          .map(
            (n) => `managedRuleGroups must name groups and rules with 1 to 64 letters, digits, "_" or "-", got "${n}"`,
          ),
      ),
      wholeNumberProblem('blockedRequestsThreshold', threshold, 1),
    ]);

    this.mode = mode;
    const stack = Stack.of(this);
    this.webAclName = Names.uniqueResourceName(this, { maxLength: 128, separator: '-' });
    const counting = mode === EdgeMode.COUNT;
    const blockAction = counting ? { count: {} } : { block: {} };
    const common = groups.find((g) => isCommonRuleSet(g));
    const exemptUploads = uploadPaths.length > 0 && common !== undefined && !common.excludedRules.includes(SIZE_RULE);
    if (uploadPaths.length > 0 && !exemptUploads) {
      Annotations.of(this).addInfo(
        'uploadPaths has no effect: the common rule set, whose SizeRestrictions_BODY it exempts, is not in managedRuleGroups or already counts that rule on every path',
      );
    }

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    if (authPaths.length > 0) {
      rules.push({
        name: 'AuthRateLimit',
        priority: PRIORITY.authRateLimit,
        action: blockAction,
        statement: {
          rateBasedStatement: {
            limit: authRate.limit,
            evaluationWindowSec: authRate.window.toSeconds(),
            aggregateKeyType: 'IP',
            scopeDownStatement: pathsStatement(authPaths),
          },
        },
        visibilityConfig: visibility(`${this.webAclName}-AuthRateLimit`),
      });
    }
    rules.push({
      name: 'RateLimit',
      priority: PRIORITY.rateLimit,
      action: blockAction,
      statement: {
        rateBasedStatement: { limit: rate.limit, evaluationWindowSec: rate.window.toSeconds(), aggregateKeyType: 'IP' },
      },
      visibilityConfig: visibility(`${this.webAclName}-RateLimit`),
    });
    groups.forEach((group, i) => {
      const excluded = [...group.excludedRules];
      if (exemptUploads && isCommonRuleSet(group)) excluded.push(SIZE_RULE);
      rules.push({
        name: `${group.vendorName}-${group.name}`,
        priority: PRIORITY.firstManagedGroup + PRIORITY.managedGroupStep * i,
        overrideAction: counting ? { count: {} } : { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: group.vendorName,
            name: group.name,
            ruleActionOverrides:
              excluded.length > 0 ? excluded.map((name) => ({ name, actionToUse: { count: {} } })) : undefined,
          },
        },
        visibilityConfig: visibility(`${this.webAclName}-${group.name}`),
      });
    });
    if (exemptUploads) {
      rules.push({
        name: 'BodySizeOutsideUploadPaths',
        priority: PRIORITY.bodySize,
        action: blockAction,
        statement: {
          andStatement: {
            statements: [
              { labelMatchStatement: { scope: 'LABEL', key: SIZE_RESTRICTIONS_BODY_LABEL } },
              { notStatement: { statement: pathsStatement(uploadPaths) } },
            ],
          },
        },
        visibilityConfig: visibility(`${this.webAclName}-BodySizeOutsideUploadPaths`),
      });
    }

    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      name: this.webAclName,
      description: `prod-baseline edge protection, ${mode.name} mode`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility(this.webAclName),
    });
    markKitResource(this.webAcl, 'EdgeProtection', 'web-acl');

    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancer.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `aws-waf-logs-${Names.uniqueResourceName(this, { maxLength: 400, separator: '-' })}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group ARN without the trailing ":*" that the GetAtt returns.
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: REDACTED_HEADERS.map((name) => ({ singleHeader: { Name: name } })),
    });

    this.blockedRequestsAlarm = new KitAlarm(this, 'BlockedRequestsAlarm', {
      metric: this.metricBlockedRequests(),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.alerts,
      runbook: {
        meaning: `The web ACL ${this.webAclName} blocks more than ${threshold} requests a minute: an attack, a scanner, or a rule blocking legitimate traffic.`,
        firstCheck: `Query the WAF log group ${this.logGroup.logGroupName} in CloudWatch Logs Insights (terminatingRuleId, clientIp, uri of action = BLOCK); if legitimate users are blocked, exclude the rule with ManagedRuleGroup.withExcludedRules or add the path to uploadPaths.`,
      },
    });

    BaselineManifest.of(this).addEntry(this, {
      role: 'edge',
      construct: 'EdgeProtection',
      attributes: {
        webAclArn: this.webAcl.attrArn,
        webAclName: this.webAclName,
        logGroupName: this.logGroup.logGroupName,
      },
    });
  }

  /** Requests the web ACL blocked (all rules), summed per minute by default. */
  public metricBlockedRequests(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.wafMetric('BlockedRequests', options);
  }

  /** Requests the web ACL's rules counted (all rules; in COUNT mode, what BLOCK would have blocked). */
  public metricCountedRequests(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.wafMetric('CountedRequests', options);
  }

  private wafMetric(metricName: string, options: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName,
      dimensionsMap: { WebACL: this.webAclName, Region: Stack.of(this).region, Rule: 'ALL' },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      ...options,
    });
  }
}

function isCommonRuleSet(group: ManagedRuleGroup): boolean {
  return group.vendorName === ManagedRuleGroup.COMMON.vendorName && group.name === ManagedRuleGroup.COMMON.name;
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return {
    cloudWatchMetricsEnabled: true,
    sampledRequestsEnabled: true,
    metricName: metricName.slice(0, 255),
  };
}

function rateLimitProblems(name: string, limit: number, window: Duration): (string | undefined)[] {
  const seconds = window.toSeconds();
  return [
    wholeNumberProblem(`${name}.limit`, limit, MIN_RATE_LIMIT, MAX_RATE_LIMIT),
    Token.isUnresolved(seconds) || RATE_WINDOWS.includes(seconds)
      ? undefined
      : `${name}.window must be 60, 120, 300 or 600 seconds, got ${seconds} seconds`,
  ];
}

function pathProblems(name: string, paths: readonly string[]): string[] {
  return paths
    .filter((p) => !Token.isUnresolved(p))
    .flatMap((p) => {
      if (!PATH_PATTERN.test(p)) {
        return [`${name} must hold URI paths that start with "/" and have no spaces, got "${p}"`];
      }
      if (p.length > MAX_PATH_LENGTH) {
        return [`${name} must hold paths of at most ${MAX_PATH_LENGTH} characters, got ${p.length} ("${p}")`];
      }
      return [];
    });
}

/** A statement matching any of the paths: exact, prefix (`/x/*`), or a regex for `*` elsewhere. */
function pathsStatement(paths: readonly string[]): wafv2.CfnWebACL.StatementProperty {
  const statements = paths.map(pathStatement);
  return statements.length === 1 ? statements[0] : { orStatement: { statements } };
}

function pathStatement(path: string): wafv2.CfnWebACL.StatementProperty {
  const fieldToMatch = { uriPath: {} };
  const textTransformations = PATH_TRANSFORMATIONS.map((type, priority) => ({ priority, type }));
  path = path.toLowerCase();
  const star = path.indexOf('*');
  if (star === -1) {
    return {
      byteMatchStatement: { fieldToMatch, textTransformations, positionalConstraint: 'EXACTLY', searchString: path },
    };
  }
  if (star === path.length - 1) {
    return {
      byteMatchStatement: {
        fieldToMatch,
        textTransformations,
        positionalConstraint: 'STARTS_WITH',
        searchString: path.slice(0, -1),
      },
    };
  }
  const regex = path
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return {
    regexMatchStatement: {
      fieldToMatch,
      textTransformations,
      regexString: `^${regex}${path.endsWith('*') ? '' : '$'}`,
    },
  };
}
