import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A cdk-nag finding a kit construct accepts by design, with the reason a reviewer reads. */
export interface NagAcknowledgement {
  /** The finding, such as `AwsSolutions-EC23` or `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on a construct (and its children). Each finding ID is recorded under
 * the rule pack's prefix, as cdk-nag 3 reports it (`AwsSolutions::AwsSolutions-EC23`).
 */
export function acknowledgeNag(scope: IConstruct, ...findings: NagAcknowledgement[]): void {
  Validations.of(scope).acknowledge(
    ...findings.map(({ id, reason }) => {
      const pack = id.slice(0, id.indexOf('-'));
      return { id: id.startsWith(`${pack}::`) ? id : `${pack}::${id}`, reason };
    }),
  );
}
