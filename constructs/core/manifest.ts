import { CfnOutput, Lazy, Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';
import { ProdBaselineError } from './errors';
import { markKitResource } from './metadata';
import { KIT_VERSION } from './version';

/** The stack output that names the manifest parameter. Commands find the manifest through it. */
export const MANIFEST_OUTPUT_KEY = 'ProdBaselineManifest';

/** The format of the manifest; bumped when a reader would misread an older one. */
export const MANIFEST_SCHEMA = 1;

/** One entry of the manifest: what a kit resource is and how to reach it. */
export interface ManifestEntry {
  /** The part it plays, such as `database` or `alert-topic`; several entries may share a role. */
  readonly role: string;
  /** The kit construct class that made the resource. */
  readonly construct: string;
  /** Physical names and ARNs the commands act on (tokens resolve at deploy time). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** The manifest document as stored in SSM. */
export interface ManifestDocument {
  readonly schema: number;
  readonly kitVersion: string;
  readonly stackName: string;
  /** Entries keyed by construct path within the stack (unique, stable while construct IDs are). */
  readonly entries: Readonly<Record<string, ManifestEntry>>;
}

export interface BaselineManifestProps {
  /**
   * Name of the SSM parameter.
   * @default - `/prod-baseline/<stack name>/manifest`
   */
  readonly parameterName?: string;
}

/**
 * The machine-readable manifest of a stack's kit resources: an SSM parameter holding JSON, plus a
 * stack output (`ProdBaselineManifest`) naming it. Operational commands run with `--stack NAME` read
 * the output, then the parameter, to find what they act on.
 */
export class BaselineManifest extends Construct {
  /** Returns the manifest of the stack that holds `scope`, creating it on first use. */
  public static of(scope: Construct): BaselineManifest {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(BaselineManifest.ID);
    return existing instanceof BaselineManifest ? existing : new BaselineManifest(stack, BaselineManifest.ID);
  }

  private static readonly ID = 'Manifest';

  /** The SSM parameter that stores the manifest. */
  public readonly parameter: ssm.StringParameter;
  private readonly entries: Record<string, ManifestEntry> = {};

  constructor(scope: Construct, id: string, props: BaselineManifestProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.parameter = new ssm.StringParameter(this, 'Resource', {
      parameterName: props.parameterName ?? `/prod-baseline/${stack.stackName}/manifest`,
      // Standard parameters hold 4 KB; intelligent tiering moves to the advanced tier (8 KB) only when needed.
      tier: ssm.ParameterTier.INTELLIGENT_TIERING,
      description: `prod-baseline manifest of stack ${stack.stackName}: the kit resources the operational commands act on`,
      stringValue: Lazy.string({
        produce: () => {
          const document: ManifestDocument = {
            schema: MANIFEST_SCHEMA,
            kitVersion: KIT_VERSION,
            stackName: stack.stackName,
            entries: this.entries,
          };
          return stack.toJsonString(document);
        },
      }),
    });
    markKitResource(this.parameter, 'BaselineManifest', 'manifest');
    const output = new CfnOutput(this, 'Output', {
      description: 'SSM parameter holding the prod-baseline manifest (read by the prod-baseline commands)',
      value: this.parameter.parameterName,
    });
    output.overrideLogicalId(MANIFEST_OUTPUT_KEY);
  }

  /** Records a kit construct, keyed by its path within the stack. */
  public addEntry(owner: IConstruct, entry: ManifestEntry): void {
    if (!/^[a-z][a-z0-9-]*$/.test(entry.role)) {
      throw new ProdBaselineError(
        owner,
        `manifest role must be lower-case words joined by hyphens, got "${entry.role}"`,
      );
    }
    const stackPath = Stack.of(this).node.path;
    const key = owner.node.path.startsWith(`${stackPath}/`)
      ? owner.node.path.slice(stackPath.length + 1)
      : owner.node.path;
    if (this.entries[key]) {
      throw new ProdBaselineError(owner, `is already in the manifest as "${this.entries[key].role}"`);
    }
    this.entries[key] = entry;
  }
}
