// The drill's step function: every step but verification, one action per invocation, called by the
// state machine, by the failure-cleanup rule and by the hourly housekeeping schedule.

import { drillFigures } from './figures';
import { loadSpec, log } from './handler-support';
import {
  checkRestore,
  choosePoint,
  createDrillClients,
  type DrillRequest,
  type DrillRun,
  deleteDrillInstance,
  drillInstanceIdentifier,
  isGone,
  publishFigures,
  publishSecondsSinceLastSuccess,
  type RestoreProgress,
  recordSuccess,
  runIdFromExecutionName,
  startRestore,
  sweep,
} from './steps';
import type { VerifyResult } from './verify';

/** Restore progress as the state machine keeps it: with the time it was read. */
export interface ProgressState extends RestoreProgress {
  readonly checkedAt: string;
}

export type StepEvent =
  | { action: 'choose'; executionName: string; input?: { request?: DrillRequest } }
  | { action: 'restore'; run: DrillRun }
  | { action: 'status'; run: DrillRun; previousWaitSeconds?: number }
  | { action: 'publish'; run: DrillRun; progress: ProgressState; verify: VerifyResult }
  | { action: 'cleanup'; run: DrillRun; passed: boolean }
  | { action: 'cleanup-after-error'; state: { run?: DrillRun; error?: { Error?: string; Cause?: string } } }
  | { action: 'gone'; run: DrillRun }
  | { action: 'housekeeping' }
  | {
      'detail-type': 'Step Functions Execution Status Change';
      detail: { name: string; status: string; executionArn: string };
    };

const clients = createDrillClients();

export async function handler(event: StepEvent): Promise<unknown> {
  const spec = await loadSpec(clients);
  const now = new Date();

  if ('detail-type' in event) {
    // An execution ended ABORTED, TIMED_OUT or FAILED: a Catch does not run then.
    const runId = runIdFromExecutionName(event.detail.name);
    const identifier = drillInstanceIdentifier(spec, runId);
    const outcome = await deleteDrillInstance(clients, spec, identifier, { respectKeep: true, now });
    if (event.detail.status !== 'FAILED') await publishFigures(clients, spec, { succeeded: false }, now);
    log('warn', 'drill execution ended without success; cleaned up', {
      executionArn: event.detail.executionArn,
      status: event.detail.status,
      instance: identifier,
      outcome,
    });
    return { instance: identifier, outcome };
  }

  switch (event.action) {
    case 'choose': {
      const request = event.input?.request ?? {};
      const point = await choosePoint(clients, spec, request, now);
      const run = {
        runId: runIdFromExecutionName(event.executionName),
        startedAt: now.toISOString(),
        point,
        keepUntil: request.keepUntil,
      };
      log('info', 'restore point chosen', { source: spec.sourceInstanceIdentifier, ...run });
      return run;
    }
    case 'restore': {
      const run = await startRestore(clients, spec, event.run, now);
      log('info', 'restore started', { instance: run.instanceIdentifier, point: run.point });
      return run;
    }
    case 'status': {
      const progress = await checkRestore(clients, spec, event.run, now, event.previousWaitSeconds ?? 0);
      log('info', 'restore status', { instance: event.run.instanceIdentifier, ...progress });
      return { ...progress, checkedAt: now.toISOString() } satisfies ProgressState;
    }
    case 'publish': {
      const figures = drillFigures(event.run, new Date(event.progress.checkedAt), event.verify);
      await publishFigures(clients, spec, figures, now);
      if (figures.succeeded) await recordSuccess(clients, spec, now);
      log(figures.succeeded ? 'info' : 'error', 'drill figures published', { ...figures });
      return figures;
    }
    case 'cleanup': {
      const outcome = await deleteDrillInstance(clients, spec, event.run.instanceIdentifier, {
        respectKeep: true,
        now,
      });
      log('info', 'drill instance cleanup', { instance: event.run.instanceIdentifier, outcome });
      return { outcome, passed: event.passed };
    }
    case 'cleanup-after-error': {
      const { run, error } = event.state;
      await publishFigures(clients, spec, { succeeded: false }, now);
      // A run that never restored (lock held, no backups) has nothing to delete; never touch the lock holder.
      const outcome = run?.instanceIdentifier
        ? await deleteDrillInstance(clients, spec, run.instanceIdentifier, { respectKeep: true, now })
        : 'gone';
      log('error', 'drill failed; cleaned up', {
        instance: run?.instanceIdentifier,
        outcome,
        error: error?.Error,
        cause: error?.Cause,
      });
      return { outcome, passed: false };
    }
    case 'gone':
      return { gone: await isGone(clients, event.run.instanceIdentifier) };
    case 'housekeeping': {
      const swept = await sweep(clients, spec, now);
      const secondsSinceLastSuccess = await publishSecondsSinceLastSuccess(clients, spec, now);
      log('info', 'housekeeping', { swept, secondsSinceLastSuccess });
      return { swept, secondsSinceLastSuccess };
    }
  }
}
