// The verify step of a restore drill: set a fresh master password on the drill instance and use it
// in the same invocation to run the checks over TLS. The password is never returned, logged or
// passed through Step Functions state. Shared by the verify Lambda function and `--local`.
// This module is bundled into the Lambda functions: it must not import aws-cdk-lib.
import { randomBytes } from 'node:crypto';
import type { DrillSpec } from './drill-spec';
import { type DrillClients, type DrillEndpoint, type DrillRun, drillEndpoint, resetDrillPassword } from './steps';
import { runChecks, type VerifyResult } from './verify';

/**
 * Maps the instance endpoint to the address to connect to. The default connects to the endpoint
 * itself; tests point it at a local PostgreSQL (moto's host names do not resolve). Not a user setting.
 */
export type EndpointResolver = (endpoint: DrillEndpoint) => { host: string; port: number; servername?: string };

export interface VerifyStepOptions {
  /** PEM bundle that signs the server certificate. @default - the RDS CA bundle */
  readonly ca?: string;
  readonly resolveEndpoint?: EndpointResolver;
  /** Longest wait for RDS to apply the new password, seconds. @default 600 */
  readonly passwordWaitSeconds?: number;
  readonly statementTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly now?: () => Date;
}

/** A password RDS accepts (printable ASCII without / " @ or space): 32 URL-safe base64 characters. */
export function newMasterPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Resets the drill instance's master password and runs the spec's checks against it. */
export async function verifyDrillInstance(
  clients: DrillClients,
  spec: DrillSpec,
  run: DrillRun,
  options: VerifyStepOptions = {},
): Promise<VerifyResult> {
  const password = newMasterPassword();
  await resetDrillPassword(clients, spec, run.instanceIdentifier, password, options.passwordWaitSeconds);
  const endpoint = await drillEndpoint(clients, spec, run.instanceIdentifier);
  const target = options.resolveEndpoint?.(endpoint) ?? { host: endpoint.host, port: endpoint.port };
  return runChecks(
    { host: target.host, port: target.port, database: endpoint.database, user: endpoint.user, password },
    {
      checks: spec.checks,
      restorePointTime: new Date(run.point.time),
      ca: options.ca,
      servername: target.servername ?? endpoint.host,
      statementTimeoutMs: options.statementTimeoutMs,
      totalTimeoutMs: options.totalTimeoutMs,
      now: options.now,
    },
  );
}

// Kept in its own module so the step function's bundle does not carry the SQL client.
export { drillFigures } from './figures';
