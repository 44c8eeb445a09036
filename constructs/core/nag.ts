import { type Stack, Validations } from 'aws-cdk-lib';
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

/**
 * A value as cdk-nag writes it into a finding ID: literal text kept, `<LogicalId>` for a Ref
 * (`<AWS::AccountId>` for a pseudo parameter) and `<LogicalId.Attr>` for a GetAtt, joined.
 */
export function nagName(stack: Stack, value: string): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object') {
      const o = part as Record<string, unknown>;
      if (typeof o.Ref === 'string') return `<${o.Ref}>`;
      if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      if (Array.isArray(o['Fn::Join'])) {
        const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(separator);
      }
    }
    return JSON.stringify(part);
  };
  return render(stack.resolve(value));
}
