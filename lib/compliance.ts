import { type Stack, Validations } from 'aws-cdk-lib';

/**
 * The cdk-nag HIPAA Security and NIST 800-53 rev 5 findings the baseline accepts, grouped by rule,
 * each with its reason. Rule-level acknowledgements on the stack cover every resource the rule flags.
 * Passing a pack is not compliance: it shows the envelope does not stand in its way.
 */
export const COMPLIANCE_ACKNOWLEDGEMENTS: Readonly<Record<string, string>> = {
  IAMNoInlinePolicy:
    'aws-cdk-lib writes grants as inline default policies scoped to one role each; managed policies would only add shared, broader documents.',
  CloudWatchLogGroupEncrypted:
    'Log groups are encrypted at rest by CloudWatch Logs with AWS-owned keys; they hold no credentials (WAF logs redact authorization and cookie headers). A customer-managed logs key is a planned option.',
  CloudWatchAlarmAction:
    'The critical alarms (5xx rates, healthy hosts, canary) page through the ServiceHealth composite alarm, which has the actions; giving them actions too would page twice.',
  LambdaConcurrency:
    'The drill and snapshot-hook functions run a few times a day; reserved concurrency would take capacity from the account without protecting anything.',
  LambdaDLQ:
    'The functions are invoked synchronously by Step Functions and ECS (errors go back to the caller, which retries or fails the drill); the EventBridge cleanup target retries 8 times over 6 hours.',
  LambdaInsideVPC:
    'The drill step and snapshot-hook functions only call AWS APIs; the verify function, which reaches the database, runs in the VPC.',
  EC2RestrictedSSH:
    'The flagged rules open the database port (5432, a token the rule cannot read) from one security group each, never SSH and never 0.0.0.0/0.',
  EC2RestrictedCommonPorts:
    'The flagged rules open the database port (5432, a token the rule cannot read) from one security group each, never from the internet.',
  ELBv2ACMCertificateRequired:
    'The flagged listener on port 80 only redirects to HTTPS; the listener that serves traffic uses the ACM certificate.',
  S3BucketLoggingEnabled:
    'The buckets are themselves log destinations (load-balancer access logs, canary artifacts); logging them would need another bucket with the same finding.',
  S3BucketReplicationEnabled:
    'Access logs and canary artifacts are short-lived operational data with lifecycle expiry; cross-region copies would outlive their retention.',
  S3BucketVersioningEnabled:
    'Log and artifact objects are written once and expire by lifecycle; versions would keep deleted personal data (client IPs) longer.',
  S3DefaultEncryptionKMS:
    'ALB access logs can only be delivered to SSE-S3 buckets; canary artifacts hold health responses only. Both are encrypted with S3-managed keys.',
  SecretsManagerRotationEnabled:
    'The flagged secret is the test-traffic routing token that the listener rule resolves at deploy time; rotating it would break test routing. The database secret rotates every 30 days.',
  SecretsManagerUsingKMSKey:
    'The flagged secret is the test-traffic routing token, not a credential; the database credentials are encrypted with the kit key.',
  VPCNoUnrestrictedRouteToIGW:
    'Public subnets hold only the internet-facing load balancer and the NAT gateways; the app and the database run in private and isolated subnets.',
};

/** Acknowledges the rule groups above for both packs on the stack. */
export function acknowledgeCompliancePacks(stack: Stack): void {
  for (const [rule, reason] of Object.entries(COMPLIANCE_ACKNOWLEDGEMENTS)) {
    Validations.of(stack).acknowledge(
      { id: `HIPAA.Security::HIPAA.Security-${rule}`, reason },
      { id: `NIST.800.53.R5::NIST.800.53.R5-${rule}`, reason },
    );
  }
}
