import { Duration, Token } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { createExpiringBucket } from '../core/bucket';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag } from '../core/nag';
import { throwIfProblems, URL_PATH_PATTERN, wholeNumberProblem } from '../core/validation';

/** Priority of the production listener rule. Fixed: changing it would change the rule. */
export const PRODUCTION_RULE_PRIORITY = 100;
/** Priority of the test listener rule (evaluated before the production rule). */
export const TEST_RULE_PRIORITY = 10;
/** Header that test traffic carries; its value is the test-traffic secret. */
export const TEST_TRAFFIC_HEADER = 'X-Prod-Baseline-Test';

/**
 * What an app service needs of a blue/green traffic layout. `BlueGreenTraffic` is one; a layout of
 * your own (your load balancer, your target groups) can be another.
 */
export interface IBlueGreenTraffic {
  readonly vpc: ec2.IVpc;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The group tasks register in first. */
  readonly blueTargetGroup: elbv2.IApplicationTargetGroup;
  /** The group a blue/green deployment starts the new revision in. */
  readonly greenTargetGroup: elbv2.IApplicationTargetGroup;
  /** The rule whose forward weights ECS moves between the groups. */
  readonly productionRule: elbv2.ApplicationListenerRule;
  /** The rule that routes test traffic to the new revision before production traffic moves. */
  readonly testRule: elbv2.ApplicationListenerRule;
}

export interface BlueGreenTrafficProps {
  readonly vpc: ec2.IVpc;
  /**
   * Port the app's containers listen on (the target groups' port).
   * @default 80
   */
  readonly targetPort?: number;
  /**
   * Path of the target-group health check. It must answer 200-399 when the app is healthy.
   * @default '/'
   */
  readonly healthCheckPath?: string;
  /**
   * How long a deregistering target keeps serving in-flight requests. Long delays slow every
   * deployment and rollback.
   * @default Duration.seconds(30)
   */
  readonly deregistrationDelay?: Duration;
  /**
   * Days the load balancer access logs are kept.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
  /**
   * Refuse deletion of the load balancer until this is switched off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * A certificate for the app's domain: the one listener then serves HTTPS on port 443 (switched in
   * place, so the rules and target groups are untouched) and a second listener redirects HTTP to HTTPS.
   * @default - plain HTTP on port 80
   */
  readonly certificate?: acm.ICertificate;
  /**
   * TLS policy of the HTTPS listener.
   * @default elbv2.SslPolicy.TLS13_12_PQ (TLS 1.3 and 1.2, post-quantum key exchange, no legacy ciphers)
   */
  readonly sslPolicy?: elbv2.SslPolicy;
  /**
   * The app's domain name (the certificate's), used in `url`.
   * @default - the load balancer's DNS name
   */
  readonly domainName?: string;
}

/**
 * The traffic layout of a blue/green app, fixed once so later changes never replace it: an
 * internet-facing ALB with access logs, an HTTP listener, two target groups (blue, live at first,
 * and green), a production rule forwarding with weights 100/0 over them, and a test rule that only
 * matches requests carrying the secret test header.
 *
 * ECS blue/green deployments move the live weights between the groups. CloudFormation resets a
 * changed rule to its template (aws/aws-cdk#36649), so the production rule's template must never vary.
 */
export class BlueGreenTraffic extends Construct implements IBlueGreenTraffic {
  public readonly vpc: ec2.IVpc;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  /** The group that is live after the first deployment. */
  public readonly blueTargetGroup: elbv2.ApplicationTargetGroup;
  /** The group a blue/green deployment starts the new revision in. */
  public readonly greenTargetGroup: elbv2.ApplicationTargetGroup;
  public readonly productionRule: elbv2.ApplicationListenerRule;
  public readonly testRule: elbv2.ApplicationListenerRule;
  /** The value test traffic sends in the `X-Prod-Baseline-Test` header. */
  public readonly testTrafficSecret: secretsmanager.Secret;
  public readonly accessLogsBucket: s3.Bucket;
  /** `https` when a certificate is configured, otherwise `http`. */
  public readonly protocol: 'http' | 'https';
  private readonly host: string;

  constructor(scope: Construct, id: string, props: BlueGreenTrafficProps) {
    super(scope, id);
    this.vpc = props.vpc;
    const targetPort = props.targetPort ?? 80;
    const healthCheckPath = props.healthCheckPath ?? '/';
    const deregistrationDelay = props.deregistrationDelay ?? Duration.seconds(30);
    const accessLogRetentionDays = props.accessLogRetentionDays ?? 90;
    throwIfProblems(this, [
      wholeNumberProblem('targetPort', targetPort, 1, 65535),
      !URL_PATH_PATTERN.test(healthCheckPath) &&
        `healthCheckPath must start with "/" and have no spaces, got "${healthCheckPath}"`,
      !Token.isUnresolved(deregistrationDelay.toSeconds()) &&
        deregistrationDelay.toSeconds() > 30 &&
        `deregistrationDelay must be at most 30 seconds (it delays every deployment and rollback), got ${deregistrationDelay.toHumanString()}`,
      wholeNumberProblem('accessLogRetentionDays', accessLogRetentionDays, 1),
    ]);

    this.accessLogsBucket = createExpiringBucket(this, 'AccessLogs', {
      expiration: Duration.days(accessLogRetentionDays),
      ruleId: 'expire-access-logs',
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Resource', {
      vpc: props.vpc,
      internetFacing: true,
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection ?? true,
    });
    this.loadBalancer.logAccessLogs(this.accessLogsBucket, 'alb');
    acknowledgeNag(this.accessLogsBucket, {
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination itself; only the ELB log-delivery service writes to it.',
    });
    markKitResource(this.loadBalancer, 'BlueGreenTraffic', 'load-balancer');

    // One listener carries both rules for good. When HTTPS arrives it switches to 443 in place (port,
    // protocol and certificates update without replacement), so the rules' ListenerArn never changes.
    const https = props.certificate !== undefined;
    this.listener = this.loadBalancer.addListener('Listener', {
      port: https ? 443 : 80,
      protocol: https ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: https ? [props.certificate as acm.ICertificate] : undefined,
      sslPolicy: https ? (props.sslPolicy ?? elbv2.SslPolicy.TLS13_12_PQ) : undefined,
      open: true,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'Not found' }),
    });
    if (https) {
      this.loadBalancer.addRedirect({
        sourcePort: 80,
        sourceProtocol: elbv2.ApplicationProtocol.HTTP,
        targetPort: 443,
        targetProtocol: elbv2.ApplicationProtocol.HTTPS,
      });
    }
    this.protocol = https ? 'https' : 'http';
    this.host = props.domainName ?? this.loadBalancer.loadBalancerDnsName;
    acknowledgeNag(this.loadBalancer, {
      id: 'AwsSolutions-EC23',
      reason: 'An internet-facing load balancer of a public app: only its listener ports are open to the internet.',
    });

    const targetGroup = (name: 'Blue' | 'Green') =>
      new elbv2.ApplicationTargetGroup(this, name, {
        vpc: props.vpc,
        targetType: elbv2.TargetType.IP,
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: targetPort,
        deregistrationDelay,
        healthCheck: {
          path: healthCheckPath,
          interval: Duration.seconds(10),
          timeout: Duration.seconds(5),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
          healthyHttpCodes: '200-399',
        },
      });
    this.blueTargetGroup = targetGroup('Blue');
    this.greenTargetGroup = targetGroup('Green');
    markKitResource(this.blueTargetGroup, 'BlueGreenTraffic', 'blue-target-group');
    markKitResource(this.greenTargetGroup, 'BlueGreenTraffic', 'green-target-group');

    this.productionRule = new elbv2.ApplicationListenerRule(this, 'ProductionRule', {
      listener: this.listener,
      priority: PRODUCTION_RULE_PRIORITY,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
      action: elbv2.ListenerAction.weightedForward([
        { targetGroup: this.blueTargetGroup, weight: 100 },
        { targetGroup: this.greenTargetGroup, weight: 0 },
      ]),
    });
    markKitResource(this.productionRule, 'BlueGreenTraffic', 'production-listener-rule');

    this.testTrafficSecret = new secretsmanager.Secret(this, 'TestTrafficSecret', {
      description: `Value of the ${TEST_TRAFFIC_HEADER} header that routes a request to the test listener rule`,
      generateSecretString: { passwordLength: 40, excludePunctuation: true, includeSpace: false },
    });
    acknowledgeNag(this.testTrafficSecret, {
      id: 'AwsSolutions-SMG4',
      reason:
        'A routing token, not a credential: the listener rule resolves it at deploy time, so a scheduled rotation would break test routing until the next deploy.',
    });
    this.testRule = new elbv2.ApplicationListenerRule(this, 'TestRule', {
      listener: this.listener,
      priority: TEST_RULE_PRIORITY,
      conditions: [
        elbv2.ListenerCondition.httpHeader(TEST_TRAFFIC_HEADER, [this.testTrafficSecret.secretValue.unsafeUnwrap()]),
      ],
      action: elbv2.ListenerAction.weightedForward([
        { targetGroup: this.blueTargetGroup, weight: 0 },
        { targetGroup: this.greenTargetGroup, weight: 100 },
      ]),
    });
    markKitResource(this.testRule, 'BlueGreenTraffic', 'test-listener-rule');

    BaselineManifest.of(this).addEntry(this, {
      role: 'traffic',
      construct: 'BlueGreenTraffic',
      attributes: {
        loadBalancerArn: this.loadBalancer.loadBalancerArn,
        loadBalancerDnsName: this.loadBalancer.loadBalancerDnsName,
        listenerArn: this.listener.listenerArn,
        productionRuleArn: this.productionRule.listenerRuleArn,
        testRuleArn: this.testRule.listenerRuleArn,
        blueTargetGroupArn: this.blueTargetGroup.targetGroupArn,
        greenTargetGroupArn: this.greenTargetGroup.targetGroupArn,
        testTrafficSecretArn: this.testTrafficSecret.secretArn,
      },
    });
  }

  /** The URL of the app: its domain over HTTPS when a certificate is configured, else the load balancer over HTTP. */
  public get url(): string {
    return `${this.protocol}://${this.host}`;
  }
}
