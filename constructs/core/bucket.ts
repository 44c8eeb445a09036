import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface ExpiringBucketProps {
  /** How long objects are kept. */
  readonly expiration: Duration;
  /** ID of the lifecycle rule. */
  readonly ruleId: string;
  /** Extra bucket props (server access logs, for example). */
  readonly bucketProps?: Partial<s3.BucketProps>;
}

/**
 * A bucket as every kit construct makes one for operational data (access logs, canary artifacts):
 * S3-managed encryption (ALB access logs accept nothing else), public access blocked, ACLs off,
 * SSL-only, objects expiring, retained on stack deletion (a bucket that still holds objects cannot
 * be deleted with the stack; they expire anyway).
 */
export function createExpiringBucket(scope: Construct, id: string, props: ExpiringBucketProps): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [
      { id: props.ruleId, expiration: props.expiration, abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
    ...props.bucketProps,
  });
}
