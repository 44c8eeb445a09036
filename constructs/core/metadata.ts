import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { ProdBaselineError } from './errors';
import { KIT_VERSION } from './version';

/** The CloudFormation `Metadata` key under which kit constructs describe their primary resources. */
export const METADATA_KEY = 'prod-baseline';

/** What a primary resource of a kit construct is, as written to its CloudFormation `Metadata`. */
export interface KitResourceMetadata {
  /** The part the resource plays, such as `database` or `production-listener-rule`. */
  readonly role: string;
  /** The kit construct that made it. */
  readonly construct: string;
  /** The kit version that synthesized it. */
  readonly version: string;
}

/**
 * Marks a resource as a primary resource of a kit construct (CloudFormation `Metadata` under the
 * `prod-baseline` key). `prod-baseline check` and the operational commands rely on this contract.
 *
 * @param resource an L1 resource, or an L2 construct whose default child is one
 */
export function markKitResource(resource: IConstruct, construct: string, role: string): void {
  const cfn = resource instanceof CfnResource ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) {
    throw new ProdBaselineError(resource, `cannot mark as "${role}": it has no CloudFormation resource`);
  }
  const metadata: KitResourceMetadata = { role, construct, version: KIT_VERSION };
  cfn.addMetadata(METADATA_KEY, metadata);
}
