import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { markKitResource } from './metadata';

/**
 * A customer-managed key as every kit construct makes one: rotation on, retained when the stack is
 * deleted (data encrypted with it may outlive the stack in snapshots and backups), 30-day deletion window.
 */
export function createKitKey(
  scope: Construct,
  id: string,
  props: { description: string; construct: string; role: string },
): kms.Key {
  const key = new kms.Key(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
    pendingWindow: Duration.days(30),
  });
  markKitResource(key, props.construct, props.role);
  return key;
}
