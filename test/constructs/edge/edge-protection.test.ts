import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  EdgeMode,
  EdgeProtection,
  type EdgeProtectionProps,
  ManagedRuleGroup,
  SIZE_RESTRICTIONS_BODY_LABEL,
} from '../../../constructs/edge/edge-protection';
import { TopicRouting } from '../../../constructs/monitoring/alarms';
import { cfnLint, logicalId, testApp } from '../../helpers';

const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef';

function edgeStack(props: Partial<EdgeProtectionProps> = {}) {
  const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1', account: '123456789012' } });
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: ALB_ARN,
    securityGroupId: 'sg-0123456789abcdef0',
  });
  const edge = new EdgeProtection(stack, 'Edge', { loadBalancer, ...props });
  const template = Template.fromStack(stack);
  return { stack, edge, template, json: template.toJSON() as Record<string, any> };
}

/** The rules of the only web ACL in the template, by name. */
function rulesOf(json: Record<string, any>): Record<string, any> {
  const acls = Object.values(json.Resources).filter((r: any) => r.Type === 'AWS::WAFv2::WebACL') as any[];
  expect(acls).toHaveLength(1);
  return Object.fromEntries((acls[0].Properties.Rules as any[]).map((r) => [r.Name, r]));
}

/** URL-decoded, normalized and lower-cased before matching. */
const PATH_TRANSFORMATIONS = [
  { Priority: 0, Type: 'URL_DECODE' },
  { Priority: 1, Type: 'NORMALIZE_PATH' },
  { Priority: 2, Type: 'LOWERCASE' },
];

const uriPath = (positionalConstraint: string, searchString: string) => ({
  ByteMatchStatement: {
    FieldToMatch: { UriPath: {} },
    PositionalConstraint: positionalConstraint,
    SearchString: searchString,
    TextTransformations: PATH_TRANSFORMATIONS,
  },
});

describe('web ACL', () => {
  test('is REGIONAL, allows by default, and has the rate rules then the four managed groups at stable priorities', () => {
    const { json, template } = edgeStack();
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: Match.anyValue() },
    });
    const rules = rulesOf(json);
    expect(Object.fromEntries(Object.entries(rules).map(([name, r]) => [name, r.Priority]))).toEqual({
      AuthRateLimit: 10,
      RateLimit: 20,
      'AWS-AWSManagedRulesAmazonIpReputationList': 100,
      'AWS-AWSManagedRulesCommonRuleSet': 110,
      'AWS-AWSManagedRulesKnownBadInputsRuleSet': 120,
      'AWS-AWSManagedRulesSQLiRuleSet': 130,
    });
    for (const rule of Object.values(rules)) {
      expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
    }
  });

  test('managed groups leave their rules alone in BLOCK mode', () => {
    const rules = rulesOf(edgeStack().json);
    expect(rules['AWS-AWSManagedRulesCommonRuleSet']).toEqual({
      Name: 'AWS-AWSManagedRulesCommonRuleSet',
      Priority: 110,
      OverrideAction: { None: {} },
      Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
      VisibilityConfig: expect.objectContaining({
        MetricName: expect.stringContaining('AWSManagedRulesCommonRuleSet'),
      }),
    });
  });

  test('the global rate limit is 2000 requests per 5 minutes per IP, blocking', () => {
    expect(rulesOf(edgeStack().json).RateLimit).toMatchObject({
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 2000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' } },
    });
  });

  test('the auth rate limit is 100 per 5 minutes per IP, scoped down to /login and /api/auth/*', () => {
    const rule = rulesOf(edgeStack().json).AuthRateLimit;
    expect(rule.Action).toEqual({ Block: {} });
    expect(rule.Statement.RateBasedStatement).toEqual({
      Limit: 100,
      EvaluationWindowSec: 300,
      AggregateKeyType: 'IP',
      ScopeDownStatement: {
        OrStatement: { Statements: [uriPath('EXACTLY', '/login'), uriPath('STARTS_WITH', '/api/auth/')] },
      },
    });
  });

  test('custom limits, a single auth path and a mid-path wildcard', () => {
    const rules = rulesOf(
      edgeStack({
        rateLimit: { limit: 5000, window: Duration.minutes(10) },
        authRateLimit: { limit: 20, window: Duration.minutes(1) },
        authPaths: ['/V1/*/Login'],
      }).json,
    );
    expect(rules.RateLimit.Statement.RateBasedStatement).toMatchObject({ Limit: 5000, EvaluationWindowSec: 600 });
    expect(rules.AuthRateLimit.Statement.RateBasedStatement).toMatchObject({
      Limit: 20,
      EvaluationWindowSec: 60,
      ScopeDownStatement: {
        RegexMatchStatement: {
          FieldToMatch: { UriPath: {} },
          RegexString: '^/v1/[^/]*/login$',
          TextTransformations: PATH_TRANSFORMATIONS,
        },
      },
    });
  });

  test('no auth paths means no auth rule', () => {
    expect(Object.keys(rulesOf(edgeStack({ authPaths: [] }).json))).not.toContain('AuthRateLimit');
  });

  test('groups can be removed, reordered, added and have rules excluded', () => {
    const rules = rulesOf(
      edgeStack({
        managedRuleGroups: [
          ManagedRuleGroup.COMMON.withExcludedRules(['NoUserAgent_HEADER', 'GenericRFI_BODY']),
          ManagedRuleGroup.of('AWSManagedRulesLinuxRuleSet'),
        ],
      }).json,
    );
    expect(Object.keys(rules).sort()).toEqual(
      ['AWS-AWSManagedRulesCommonRuleSet', 'AWS-AWSManagedRulesLinuxRuleSet', 'AuthRateLimit', 'RateLimit'].sort(),
    );
    expect(rules['AWS-AWSManagedRulesCommonRuleSet'].Priority).toBe(100);
    expect(rules['AWS-AWSManagedRulesLinuxRuleSet'].Priority).toBe(110);
    expect(rules['AWS-AWSManagedRulesCommonRuleSet'].Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([
      { Name: 'NoUserAgent_HEADER', ActionToUse: { Count: {} } },
      { Name: 'GenericRFI_BODY', ActionToUse: { Count: {} } },
    ]);
    expect(ManagedRuleGroup.COMMON.excludedRules).toEqual([]);
  });
});

describe('COUNT mode', () => {
  test('every rule counts: managed groups override to Count, the kit rules use the Count action', () => {
    const rules = rulesOf(edgeStack({ mode: EdgeMode.COUNT, uploadPaths: ['/upload'] }).json);
    for (const rule of Object.values(rules)) {
      if (rule.Statement.ManagedRuleGroupStatement) {
        expect(rule.OverrideAction).toEqual({ Count: {} });
        expect(rule.Action).toBeUndefined();
      } else {
        expect(rule.Action).toEqual({ Count: {} });
      }
    }
    expect(Object.keys(rules)).toHaveLength(7);
  });
});

describe('upload paths', () => {
  test('SizeRestrictions_BODY counts, and a later rule blocks on its label outside the upload paths', () => {
    const rules = rulesOf(edgeStack({ uploadPaths: ['/api/uploads/*', '/avatar'] }).json);
    const common = rules['AWS-AWSManagedRulesCommonRuleSet'];
    expect(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
    const follow = rules.BodySizeOutsideUploadPaths;
    expect(follow.Priority).toBeGreaterThan(common.Priority);
    expect(follow).toMatchObject({
      Priority: 1000,
      Action: { Block: {} },
      Statement: {
        AndStatement: {
          Statements: [
            { LabelMatchStatement: { Scope: 'LABEL', Key: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body' } },
            {
              NotStatement: {
                Statement: {
                  OrStatement: { Statements: [uriPath('STARTS_WITH', '/api/uploads/'), uriPath('EXACTLY', '/avatar')] },
                },
              },
            },
          ],
        },
      },
    });
    expect(SIZE_RESTRICTIONS_BODY_LABEL).toBe('awswaf:managed:aws:core-rule-set:SizeRestrictions_Body');
  });

  test('without upload paths, or without the common rule set, there is no exemption', () => {
    expect(Object.keys(rulesOf(edgeStack().json))).not.toContain('BodySizeOutsideUploadPaths');
    const rules = rulesOf(edgeStack({ uploadPaths: ['/upload'], managedRuleGroups: [ManagedRuleGroup.SQLI] }).json);
    expect(Object.keys(rules)).not.toContain('BodySizeOutsideUploadPaths');
    expect(
      rules['AWS-AWSManagedRulesSQLiRuleSet'].Statement.ManagedRuleGroupStatement.RuleActionOverrides,
    ).toBeUndefined();
  });
});

describe('upload paths, edge cases', () => {
  test('a SizeRestrictions_BODY already excluded everywhere is left alone, with an info annotation', () => {
    const { json, stack } = edgeStack({
      uploadPaths: ['/upload'],
      managedRuleGroups: [ManagedRuleGroup.COMMON.withExcludedRules(['SizeRestrictions_BODY'])],
    });
    const rules = rulesOf(json);
    expect(Object.keys(rules)).not.toContain('BodySizeOutsideUploadPaths');
    expect(rules['AWS-AWSManagedRulesCommonRuleSet'].Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
    Annotations.fromStack(stack).hasInfo('/Shop/Edge', Match.stringLikeRegexp('^uploadPaths has no effect'));
  });
});

describe('association and logging', () => {
  test('associates the web ACL with the load balancer by ARN', () => {
    const { template, stack, edge } = edgeStack();
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: ALB_ARN,
      WebACLArn: { 'Fn::GetAtt': [logicalId(stack, edge.webAcl), 'Arn'] },
    });
  });

  test('logs to an aws-waf-logs- log group kept 30 days, with authorization and cookie redacted', () => {
    const { template, stack, edge, json } = edgeStack();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^aws-waf-logs-'),
      RetentionInDays: 30,
    });
    template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      ResourceArn: { 'Fn::GetAtt': [logicalId(stack, edge.webAcl), 'Arn'] },
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }],
    });
    const config = Object.values(json.Resources).find((r: any) => r.Type === 'AWS::WAFv2::LoggingConfiguration') as any;
    const destination = JSON.stringify(config.Properties.LogDestinationConfigs);
    expect(destination).toContain(':log-group:');
    expect(destination).not.toContain(':*');
  });

  test('retention and the encryption key are configurable', () => {
    const stack = new Stack(testApp(), 'Keyed', { env: { region: 'eu-west-1' } });
    const key = kms.Key.fromKeyArn(
      stack,
      'Key',
      'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555',
    );
    const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
      loadBalancerArn: ALB_ARN,
      securityGroupId: 'sg-0123456789abcdef0',
    });
    new EdgeProtection(stack, 'Edge', {
      loadBalancer,
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: key,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555',
    });
  });
});

describe('blocked-requests alarm', () => {
  test('Sum of BlockedRequests per minute over 100 for 3 of 5, missing data not breaching, notify severity', () => {
    const { template, edge, stack } = edgeStack();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/WAFV2',
      MetricName: 'BlockedRequests',
      Dimensions: [
        { Name: 'Region', Value: 'eu-west-1' },
        { Name: 'Rule', Value: 'ALL' },
        { Name: 'WebACL', Value: edge.webAclName },
      ],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 100,
      ComparisonOperator: 'GreaterThanThreshold',
      DatapointsToAlarm: 3,
      EvaluationPeriods: 5,
      TreatMissingData: 'notBreaching',
      AlarmDescription: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^\\[notify\\] ')])] },
    });
    expect(edge.blockedRequestsAlarm.timeToDetect.toMinutes()).toBe(5);
    expect(stack.resolve(edge.webAcl.name)).toBe(edge.webAclName);
  });

  test('routes to the notify actions and takes a threshold', () => {
    const stack = new Stack(testApp(), 'Routed', { env: { region: 'eu-west-1' } });
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
      loadBalancerArn: ALB_ARN,
      securityGroupId: 'sg-0123456789abcdef0',
    });
    new EdgeProtection(stack, 'Edge', { loadBalancer, alerts: new TopicRouting(topic), blockedRequestsThreshold: 500 });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 500,
      AlarmActions: [{ Ref: logicalId(stack, topic) }],
      OKActions: [{ Ref: logicalId(stack, topic) }],
    });
  });
});

describe('metadata and manifest', () => {
  test('marks the web ACL and adds an edge entry with its ARN', () => {
    const { json, stack, edge } = edgeStack();
    expect(json.Resources[logicalId(stack, edge.webAcl)].Metadata['prod-baseline']).toMatchObject({
      role: 'web-acl',
      construct: 'EdgeProtection',
    });
    const parameter = Object.values(json.Resources).find((r: any) => r.Type === 'AWS::SSM::Parameter') as any;
    const text = JSON.stringify(parameter.Properties.Value);
    expect(text).toContain('\\"role\\":\\"edge\\"');
    expect(text).toContain('webAclArn');
  });
});

describe('validation', () => {
  test('fails on rate limits WAF does not accept, listing every problem', () => {
    expect(() =>
      edgeStack({
        rateLimit: { limit: 5, window: Duration.seconds(90) },
        authRateLimit: { limit: 10.5, window: Duration.minutes(20) },
      }),
    ).toThrow(
      'Shop/Edge: rateLimit.limit must be a whole number from 10 to 2000000000, got 5; ' +
        'rateLimit.window must be 60, 120, 300 or 600 seconds, got 90 seconds; ' +
        'authRateLimit.limit must be a whole number from 10 to 2000000000, got 10.5; ' +
        'authRateLimit.window must be 60, 120, 300 or 600 seconds, got 1200 seconds',
    );
  });

  test('fails on paths that are not URI paths', () => {
    expect(() => edgeStack({ authPaths: ['login', '/has space'], uploadPaths: [`/${'a'.repeat(200)}`] })).toThrow(
      'Shop/Edge: authPaths must hold URI paths that start with "/" and have no spaces, got "login"; ' +
        'authPaths must hold URI paths that start with "/" and have no spaces, got "/has space"; ' +
        `uploadPaths must hold paths of at most 200 characters, got 201 ("/${'a'.repeat(200)}")`,
    );
  });

  test('fails on a repeated managed group and a threshold below 1', () => {
    expect(() =>
      edgeStack({
        managedRuleGroups: [ManagedRuleGroup.SQLI, ManagedRuleGroup.SQLI.withExcludedRules(['SQLi_BODY'])],
        blockedRequestsThreshold: 0,
      }),
    ).toThrow(
      'Shop/Edge: managedRuleGroups must not repeat a group, got AWS:AWSManagedRulesSQLiRuleSet twice; ' +
        'blockedRequestsThreshold must be a whole number of at least 1, got 0',
    );
  });
  test('fails on managed group and rule names WAF does not accept', () => {
    expect(() =>
      edgeStack({ managedRuleGroups: [ManagedRuleGroup.of('My Group').withExcludedRules(['rule:1'])] }),
    ).toThrow(
      'Shop/Edge: managedRuleGroups must name groups and rules with 1 to 64 letters, digits, "_" or "-", got "My Group"; ' +
        'managedRuleGroups must name groups and rules with 1 to 64 letters, digits, "_" or "-", got "rule:1"',
    );
  });
});

describe('checks', () => {
  test('cdk-nag AwsSolutions passes and cfn-lint reports nothing, defaults and everything on', () => {
    for (const props of [{}, { mode: EdgeMode.COUNT, uploadPaths: ['/upload/*'], authPaths: ['/v1/*/login'] }]) {
      const { json } = edgeStack(props);
      const result = cfnLint(json);
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    }
  });
});
