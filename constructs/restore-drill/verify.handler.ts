// The drill's verify function, the only one inside the VPC: it sets a fresh master password on the
// drill instance and uses it in the same invocation to run the checks over TLS. The result it
// returns to Step Functions holds no password.
import { loadSpec, log } from './handler-support';
import { createDrillClients, type DrillRun } from './steps';
import type { VerifyResult } from './verify';
import { verifyDrillInstance } from './verify-step';

const clients = createDrillClients();

export async function handler(event: { run: DrillRun }): Promise<VerifyResult> {
  const spec = await loadSpec(clients);
  // Leave a minute of the 15-minute Lambda limit for the password reset before the checks' budget.
  const result = await verifyDrillInstance(clients, spec, event.run, {
    passwordWaitSeconds: 420,
    totalTimeoutMs: 360_000,
  });
  log(result.passed ? 'info' : 'error', 'drill verification', {
    instance: event.run.instanceIdentifier,
    passed: result.passed,
    checksFailed: result.checksFailed,
    checks: result.checks.map((c) => ({ name: c.name, passed: c.passed, message: c.message })),
  });
  return result;
}
