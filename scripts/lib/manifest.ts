import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  MANIFEST_OUTPUT_KEY,
  MANIFEST_SCHEMA,
  type ManifestDocument,
  type ManifestEntry,
} from '../../constructs/core/manifest';

/** The AWS clients the manifest reader needs; commands pass real ones, tests moto-backed or mocked ones. */
export interface ManifestClients {
  readonly cloudFormation: CloudFormationClient;
  readonly ssm: SSMClient;
}

/** The stack cannot be used with the kit's commands: it is missing, or has no (readable) manifest. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** A manifest entry with the construct path it is keyed by. */
export interface LocatedEntry extends ManifestEntry {
  readonly path: string;
}

/**
 * Reads the manifest of a deployed stack: the `ProdBaselineManifest` output names an SSM parameter,
 * which holds the manifest JSON. Throws {@link ManifestError} with a one-line explanation when the
 * stack does not exist, was not deployed with the kit, or carries a manifest this version cannot read.
 */
export async function readManifest(clients: ManifestClients, stackName: string): Promise<ManifestDocument> {
  let outputs: { OutputKey?: string; OutputValue?: string }[] | undefined;
  try {
    const described = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = described.Stacks?.[0]?.Outputs;
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      const region = await clients.cloudFormation.config.region();
      throw new ManifestError(`stack "${stackName}" does not exist in ${region}`);
    }
    throw error;
  }
  const parameterName = outputs?.find((o) => o.OutputKey === MANIFEST_OUTPUT_KEY)?.OutputValue;
  if (!parameterName) {
    throw new ManifestError(
      `stack "${stackName}" has no ${MANIFEST_OUTPUT_KEY} output: it was not deployed with prod-baseline constructs`,
    );
  }

  let text: string | undefined;
  try {
    const parameter = await clients.ssm.send(new GetParameterCommand({ Name: parameterName }));
    text = parameter.Parameter?.Value;
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') {
      throw new ManifestError(`the manifest parameter ${parameterName} of stack "${stackName}" does not exist`);
    }
    throw error;
  }
  return parseManifest(text ?? '', parameterName);
}

/** Parses and checks manifest JSON; `source` names where it came from in error messages. */
export function parseManifest(text: string, source: string): ManifestDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ManifestError(`the manifest in ${source} is not JSON`);
  }
  const candidate = document as Partial<ManifestDocument> | null;
  if (
    !candidate ||
    typeof candidate.schema !== 'number' ||
    typeof candidate.entries !== 'object' ||
    !candidate.entries
  ) {
    throw new ManifestError(`the manifest in ${source} is not a prod-baseline manifest (no schema or entries)`);
  }
  if (candidate.schema > MANIFEST_SCHEMA) {
    throw new ManifestError(
      `the manifest in ${source} has schema ${candidate.schema}, written by prod-baseline ${candidate.kitVersion}; this version reads schema ${MANIFEST_SCHEMA} or older: upgrade prod-baseline`,
    );
  }
  return candidate as ManifestDocument;
}

/** The entries of one role (such as `database`), in construct-path order. */
export function entriesOfRole(manifest: ManifestDocument, role: string): LocatedEntry[] {
  return Object.entries(manifest.entries)
    .filter(([, entry]) => entry.role === role)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, entry]) => ({ path, ...entry }));
}
