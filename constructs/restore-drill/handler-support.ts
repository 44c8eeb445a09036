// Shared by the drill's Lambda handlers: structured logs and the spec, read once per container.
// Bundled into the Lambda functions: it must not import aws-cdk-lib.
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { type DrillSpec, parseDrillSpec } from './drill-spec';
import { type DrillClients, withRetries } from './steps';

/** Writes one JSON log line (CloudWatch Logs parses it into fields). Never pass secrets. */
export function log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, message, ...fields, time: new Date().toISOString() })}\n`);
}

let cached: { name: string; spec: DrillSpec } | undefined;

/** The drill spec from the SSM parameter named by `DRILL_SPEC_PARAMETER`, cached per container. */
export async function loadSpec(clients: DrillClients): Promise<DrillSpec> {
  const name = process.env.DRILL_SPEC_PARAMETER;
  if (!name) throw new Error('DRILL_SPEC_PARAMETER is not set');
  if (cached?.name === name) return cached.spec;
  const out = await withRetries(clients, () => clients.ssm.send(new GetParameterCommand({ Name: name })));
  const spec = parseDrillSpec(out.Parameter?.Value ?? '', name);
  cached = { name, spec };
  return spec;
}
