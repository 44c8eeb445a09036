// The figures of one drill. Bundled into the Lambda functions: it must not import aws-cdk-lib.
import type { DrillFigures, DrillRun } from './steps';
import type { VerifyResult } from './verify';

/** The figures of a drill from its run, when it became available, and its verification. */
export function drillFigures(
  run: DrillRun,
  availableAt: Date | undefined,
  verify: VerifyResult | undefined,
): DrillFigures {
  const seconds = (from: string | undefined, to: Date | string | undefined) =>
    from && to ? Math.max(0, Math.round((new Date(to).getTime() - new Date(from).getTime()) / 1000)) : undefined;
  return {
    succeeded: verify?.passed ?? false,
    restoreSeconds: seconds(run.restoreStartedAt, availableAt),
    verifySeconds: verify ? Math.round(verify.durationMs / 1000) : undefined,
    restorePointLagSeconds: seconds(run.point.time, run.startedAt),
    dataAgeSeconds: verify?.dataAgeSeconds,
    checksFailed: verify?.checksFailed,
  };
}
