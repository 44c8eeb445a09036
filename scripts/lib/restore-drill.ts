// The logic of `prod-baseline restore-drill`: read a drill spec, run the drill's steps from this
// machine (`--local`) or start the deployed state machine and follow it, and describe the outcome as
// one report. Every AWS call goes through clients passed in; nothing here parses arguments or prints
// (progress goes to an injected listener), so tests hand in moto-backed or mocked clients.
import { readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { type DrillSpec, parseDrillSpec } from '../../constructs/restore-drill/drill-spec';
import {
  checkRestore,
  choosePoint,
  createDrillClients,
  type DeleteOutcome,
  DRILL_CLIENT_CONFIG,
  type DrillClients,
  DrillError,
  type DrillErrorCode,
  type DrillFigures,
  type DrillRequest,
  type DrillRun,
  deleteDrillInstance,
  drillInstanceIdentifier,
  findDrillInstances,
  isGone,
  newRunId,
  publishFigures,
  type RestorePoint,
  recordSuccess,
  startRestore,
  withRetries,
} from '../../constructs/restore-drill/steps';
import type { CheckResult, VerifyResult } from '../../constructs/restore-drill/verify';
import { drillFigures, type VerifyStepOptions, verifyDrillInstance } from '../../constructs/restore-drill/verify-step';
import { entriesOfRole, type ManifestClients, readManifest } from './manifest';

// ---------------------------------------------------------------------------------------------
// Clients and configuration

/** Every AWS client the command uses: the drill's own, plus Step Functions and CloudFormation. */
export interface RestoreDrillClients extends DrillClients {
  readonly sfn: SFNClient;
  readonly cloudFormation: CloudFormationClient;
}

/** Creates the command's clients for one region with the drill's bounded retries and timeouts. */
export function createRestoreDrillClients(region?: string): RestoreDrillClients {
  const config = { ...DRILL_CLIENT_CONFIG, region };
  return {
    ...createDrillClients(region),
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
  };
}

/** The drill cannot be run as configured: no such drill in the manifest, an unreadable or invalid spec. */
export class RestoreDrillConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreDrillConfigError';
  }
}

/** The manifest role of a deployed restore drill. */
export const RESTORE_DRILL_ROLE = 'restore-drill';

/** A deployed drill, as the stack manifest describes it. */
export interface DeployedDrill {
  readonly stackName: string;
  /** The construct path of the drill in the stack. */
  readonly path: string;
  readonly stateMachineArn: string;
  /** The SSM parameter holding the drill spec. */
  readonly specParameterName: string;
  readonly sourceInstanceIdentifier: string;
}

/**
 * Finds a stack's restore drill through its manifest; `source` picks one when the stack has several.
 * @throws ManifestError when the stack or its manifest cannot be read
 * @throws RestoreDrillConfigError when the stack has no such drill, or several and no `source`
 */
export async function findDeployedDrill(
  clients: ManifestClients,
  stackName: string,
  source?: string,
): Promise<DeployedDrill> {
  const manifest = await readManifest(clients, stackName);
  const drills = entriesOfRole(manifest, RESTORE_DRILL_ROLE).map((entry) => ({
    stackName,
    path: entry.path,
    stateMachineArn: entry.attributes.stateMachineArn,
    specParameterName: entry.attributes.specParameterName,
    sourceInstanceIdentifier: entry.attributes.sourceInstanceIdentifier,
  }));
  const sources = drills.map((d) => d.sourceInstanceIdentifier).join(', ');
  if (drills.length === 0) {
    throw new RestoreDrillConfigError(
      `stack "${stackName}" has no restore drill (no manifest entry with role restore-drill)`,
    );
  }
  const chosen = source === undefined ? drills : drills.filter((d) => d.sourceInstanceIdentifier === source);
  if (chosen.length === 0) {
    throw new RestoreDrillConfigError(
      `stack "${stackName}" has no restore drill of source "${source}"; it has: ${sources}`,
    );
  }
  if (chosen.length > 1) {
    throw new RestoreDrillConfigError(
      `stack "${stackName}" has ${chosen.length} restore drills; pick one with --source (one of: ${sources})`,
    );
  }
  const drill = chosen[0];
  const missing = (['stateMachineArn', 'specParameterName', 'sourceInstanceIdentifier'] as const).filter(
    (k) => !drill[k],
  );
  if (missing.length > 0) {
    throw new RestoreDrillConfigError(
      `the restore drill ${drill.path} in the manifest of stack "${stackName}" lacks ${missing.join(', ')}: redeploy the stack with this kit version`,
    );
  }
  return drill;
}

/**
 * Reads and checks the drill spec the construct stored in SSM.
 * @throws RestoreDrillConfigError when the parameter is missing or the spec invalid (every problem listed)
 */
export async function readDrillSpecParameter(
  clients: Pick<DrillClients, 'ssm' | 'sleep'>,
  name: string,
): Promise<DrillSpec> {
  let text: string | undefined;
  try {
    const out = await withRetries(clients, () => clients.ssm.send(new GetParameterCommand({ Name: name })));
    text = out.Parameter?.Value;
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') {
      throw new RestoreDrillConfigError(`the drill spec parameter ${name} does not exist`);
    }
    throw error;
  }
  return parseSpec(text ?? '', name);
}

/**
 * Reads and checks a drill spec from a JSON file.
 * @throws RestoreDrillConfigError when the file cannot be read or the spec is invalid (every problem listed)
 */
export function readDrillSpecFile(path: string): DrillSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RestoreDrillConfigError(`cannot read the drill spec file ${path}${code ? ` (${code})` : ''}`);
  }
  return parseSpec(text, path);
}

function parseSpec(text: string, source: string): DrillSpec {
  try {
    return parseDrillSpec(text, source);
  } catch (error) {
    throw new RestoreDrillConfigError((error as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------
// Progress and report

/** The phases of a drill, in order. */
export const DRILL_PHASES = ['choose', 'restore', 'verify', 'publish', 'cleanup'] as const;

/** A phase of a drill, or `follow` for what the command itself does around a deployed drill. */
export type DrillPhase = (typeof DRILL_PHASES)[number] | 'follow';

/** One progress line: the phase, the seconds since the drill started, what is happening. */
export interface DrillProgressEvent {
  readonly phase: DrillPhase;
  readonly elapsedSeconds: number;
  readonly detail: string;
}

/** Receives progress; the command prints it on stderr. */
export type ProgressListener = (event: DrillProgressEvent) => void;

/** How a drill ended. */
export type DrillOutcome = 'passed' | 'checks-failed' | 'failed' | 'interrupted';

/**
 * Why a drill failed: a {@link DrillErrorCode} from the steps, or `aws-error` (AWS answered with an
 * error), `interrupted` (Ctrl-C), `cleanup-failed`, `execution-failed`/`execution-aborted` (the
 * deployed state machine failed or was stopped, without a more precise reason).
 */
export type DrillFailureCode =
  | DrillErrorCode
  | 'aws-error'
  | 'interrupted'
  | 'cleanup-failed'
  | 'execution-failed'
  | 'execution-aborted';

/** A failure in one line. */
export interface DrillFailure {
  readonly code: DrillFailureCode;
  readonly message: string;
}

/** One phase and how long it took. */
export interface PhaseReport {
  readonly name: DrillPhase;
  /** ISO time the phase started. */
  readonly startedAt: string;
  readonly durationSeconds: number;
}

/** What happened to the drill instance at the end. */
export type CleanupOutcome = DeleteOutcome | 'deleting' | 'not-deleted';

/** The drill instance of a run. */
export interface DrillInstanceReport {
  readonly identifier: string;
  readonly kept: boolean;
  /** ISO time until which a kept instance survives the sweeper. */
  readonly keepUntil?: string;
  /** `deleted` (and confirmed gone), `deleting`, `kept`, `gone` (never created or already gone), `not-deleted`. */
  readonly cleanup?: CleanupOutcome;
}

/** The outcome of one drill, local or deployed. JSON-serializable; never holds a password. */
export interface DrillReport {
  readonly mode: 'local' | 'deployed';
  readonly sourceInstanceIdentifier: string;
  readonly runId?: string;
  /** The Step Functions execution (deployed mode). */
  readonly executionArn?: string;
  readonly outcome: DrillOutcome;
  /** True when the data checks ran and all passed. */
  readonly passed: boolean;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationSeconds: number;
  readonly phases: readonly PhaseReport[];
  readonly restorePoint?: RestorePoint;
  /** Recovery point: what the backups offer (lag) and what the data shows (age), against the target. */
  readonly rpo: {
    readonly restorePointLagSeconds?: number;
    readonly dataAgeSeconds?: number;
    readonly newestRowTime?: string;
    readonly targetSeconds?: number;
  };
  /** Recovery time: from the restore request to an available instance, against the target. */
  readonly rto: { readonly restoreSeconds?: number; readonly targetSeconds?: number };
  readonly verifySeconds?: number;
  readonly checks: readonly CheckResult[];
  readonly checksFailed?: number;
  /** Rows per table, when the spec declares no checks. */
  readonly tables?: readonly { readonly table: string; readonly rows: number }[];
  readonly instance?: DrillInstanceReport;
  readonly error?: DrillFailure;
  /** Things worth knowing that did not change the outcome (a failed metric after a failure...). */
  readonly notes: readonly string[];
}

/** Thrown (internally) when the AbortSignal fires; the drill then cleans up and reports `interrupted`. */
class DrillInterrupted extends Error {
  constructor() {
    super('interrupted (Ctrl-C)');
    this.name = 'DrillInterrupted';
  }
}

/** One line of text from any error: AWS errors as `Name: message`. */
export function describeFailure(error: unknown): DrillFailure {
  if (error instanceof DrillInterrupted) return { code: 'interrupted', message: error.message };
  if (error instanceof DrillError) return { code: error.code, message: oneLine(error.message) };
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return { code: 'aws-error', message: oneLine(`${name}${error.message}`) };
  }
  return { code: 'aws-error', message: oneLine(String(error)) };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}

/** Tracks phases and elapsed time, and emits progress. */
class Timeline {
  public readonly start: Date;
  private readonly phases: { name: DrillPhase; startedAt: Date }[] = [];

  constructor(
    private readonly now: () => Date,
    private readonly listener: ProgressListener | undefined,
    start?: Date,
  ) {
    this.start = start ?? now();
  }

  /** Starts a phase (if it is not the current one) and emits `detail`. */
  public enter(phase: DrillPhase, detail: string, at: Date = this.now()): void {
    if (this.phases.at(-1)?.name !== phase) this.phases.push({ name: phase, startedAt: at });
    this.emit(phase, detail, at);
  }

  /** Emits `detail` in the current phase. */
  public note(detail: string): void {
    this.emit(this.currentPhase(), detail, this.now());
  }

  public currentPhase(): DrillPhase {
    return this.phases.at(-1)?.name ?? 'follow';
  }

  public emit(phase: DrillPhase, detail: string, at: Date): void {
    this.listener?.({ phase, elapsedSeconds: seconds(this.start, at), detail });
  }

  public report(end: Date): PhaseReport[] {
    return this.phases.map((p, i) => ({
      name: p.name,
      startedAt: p.startedAt.toISOString(),
      durationSeconds: seconds(p.startedAt, this.phases[i + 1]?.startedAt ?? end),
    }));
  }
}

function seconds(from: Date | string, to: Date | string): number {
  return Math.max(0, Math.round((new Date(to).getTime() - new Date(from).getTime()) / 1000));
}

const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DrillInterrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DrillInterrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A sleep that ends early, rejecting with {@link DrillInterrupted}, when the signal fires. */
function interruptibleSleep(sleep: DrillClients['sleep'], signal: AbortSignal | undefined) {
  if (!sleep) return (ms: number) => realSleep(ms, signal);
  return (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new DrillInterrupted());
      const onAbort = () => reject(new DrillInterrupted());
      signal?.addEventListener('abort', onAbort, { once: true });
      sleep(ms).then(
        () => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) reject(new DrillInterrupted());
          else resolve();
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DrillInterrupted();
}

// ---------------------------------------------------------------------------------------------
// Local drill

/** Options of {@link runLocalDrill}. */
export interface LocalDrillOptions {
  /** Restore time and keep-until of the run. @default - the latest restorable time, not kept */
  readonly request?: DrillRequest;
  /** Ctrl-C: stops waiting, publishes `DrillSucceeded` 0 and deletes the drill instance. */
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /**
   * How the verify step reaches the instance: the CA bundle, and (tests only) an endpoint resolver.
   * @default - the RDS CA bundle and the instance's own endpoint
   */
  readonly verify?: Pick<
    VerifyStepOptions,
    'ca' | 'resolveEndpoint' | 'passwordWaitSeconds' | 'statementTimeoutMs' | 'totalTimeoutMs'
  >;
  /** Longest wait for a deleted instance to disappear, seconds. @default 3600 */
  readonly deletionWaitSeconds?: number;
  /** The clock. @default - () => new Date() */
  readonly now?: () => Date;
}

/** Seconds between two checks of a deleting instance. */
const DELETION_POLL_SECONDS = 30;
/** Failures after which publishing `DrillSucceeded` 0 would be wrong: the drill never started. */
const DID_NOT_RUN: ReadonlySet<DrillFailureCode> = new Set(['bad-restore-time', 'locked', 'source-missing']);

/** What a local run has got to; filled in as the steps go. */
interface LocalRunState {
  point?: RestorePoint;
  run?: DrillRun;
  /** The restore was requested (the instance may exist, even if the call failed). */
  restoreRequested: boolean;
  availableAt?: Date;
  verify?: VerifyResult;
  published: boolean;
  failure?: DrillFailure;
  instance?: DrillInstanceReport;
  notes: string[];
}

/**
 * Runs a restore drill from this machine with the same step code as the deployed drill: choose the
 * restore point → restore into a tagged drill instance → wait for it with backoff → reset its
 * password and run the checks over TLS → publish the figures (and the last success) → delete the
 * instance (unless kept) and wait until it is gone.
 *
 * Cleanup always runs once a restore was requested: after a failure the drill publishes
 * `DrillSucceeded` 0 and deletes the instance (an instance asked to be kept is kept, as the deployed
 * drill does); after an abort (Ctrl-C) it publishes 0 and deletes the instance whatever `keepUntil`
 * says, without waiting for the deletion to finish.
 *
 * Never throws for what happens in AWS or in the database: failures come back in `report.error`.
 */
export async function runLocalDrill(
  clients: DrillClients,
  spec: DrillSpec,
  options: LocalDrillOptions = {},
): Promise<DrillReport> {
  const now = options.now ?? (() => new Date());
  const timeline = new Timeline(now, options.onProgress);
  const { signal } = options;
  const pausing: DrillClients = { ...clients, sleep: interruptibleSleep(clients.sleep, signal) };
  const runId = newRunId(timeline.start);
  const state: LocalRunState = { restoreRequested: false, published: false, notes: [] };

  try {
    await runSteps(pausing, spec, options, timeline, runId, state);
  } catch (error) {
    state.failure = describeFailure(signal?.aborted ? new DrillInterrupted() : error);
  }
  await afterFailure(clients, spec, timeline, now, state);
  if (state.restoreRequested && state.failure?.code !== 'locked') {
    await cleanUp(clients, spec, options, timeline, runId, state);
  }
  return localReport(spec, runId, timeline, now(), state);
}

async function runSteps(
  clients: DrillClients,
  spec: DrillSpec,
  options: LocalDrillOptions,
  timeline: Timeline,
  runId: string,
  state: LocalRunState,
): Promise<void> {
  const { signal } = options;
  const request = options.request ?? {};
  const now = options.now ?? (() => new Date());
  throwIfAborted(signal);

  timeline.enter('choose', `reading the backups of ${spec.sourceInstanceIdentifier}`);
  const point = await choosePoint(clients, spec, request, timeline.start);
  state.point = point;
  timeline.note(`restore point ${point.time} (${pointKind(point)})`);
  throwIfAborted(signal);

  const identifier = drillInstanceIdentifier(spec, runId);
  timeline.enter('restore', `restoring into ${identifier}`);
  state.restoreRequested = true;
  const run = await startRestore(
    clients,
    spec,
    { runId, startedAt: timeline.start.toISOString(), point, keepUntil: request.keepUntil },
    now(),
  );
  state.run = run;
  state.availableAt = await waitUntilAvailable(clients, spec, run, timeline, now);
  throwIfAborted(signal);

  const checks = spec.checks.length === 0 ? 'the default inventory' : `${spec.checks.length} check(s)`;
  timeline.enter('verify', `setting a new master password on ${identifier}, then running ${checks} over TLS`);
  const verify = await verifyDrillInstance(clients, spec, run, { ...options.verify, now });
  state.verify = verify;
  timeline.note(`${verify.checks.length - verify.checksFailed} of ${verify.checks.length} check(s) passed`);
  throwIfAborted(signal);

  timeline.enter('publish', 'publishing the figures');
  const figures = drillFigures(run, state.availableAt, verify);
  await publishFigures(clients, spec, figures, now());
  state.published = true;
  if (figures.succeeded) await recordSuccess(clients, spec, now());
}

async function waitUntilAvailable(
  clients: DrillClients,
  spec: DrillSpec,
  run: DrillRun,
  timeline: Timeline,
  now: () => Date,
): Promise<Date> {
  const sleep = clients.sleep ?? ((ms: number) => realSleep(ms));
  let previousWaitSeconds = 0;
  for (;;) {
    const checkedAt = now();
    const progress = await checkRestore(clients, spec, run, checkedAt, previousWaitSeconds);
    if (progress.available) {
      timeline.note(`${run.instanceIdentifier} is available after ${progress.elapsedSeconds}s`);
      return checkedAt;
    }
    timeline.note(
      `waiting for ${run.instanceIdentifier} (${progress.status}), next check in ${progress.nextWaitSeconds}s`,
    );
    await sleep(progress.nextWaitSeconds * 1000);
    previousWaitSeconds = progress.nextWaitSeconds;
  }
}

/** After a failure: publish `DrillSucceeded` 0 unless the drill never started. Never throws. */
async function afterFailure(
  clients: DrillClients,
  spec: DrillSpec,
  timeline: Timeline,
  now: () => Date,
  state: LocalRunState,
): Promise<void> {
  const failure = state.failure;
  if (!failure || state.published || DID_NOT_RUN.has(failure.code)) return;
  // Ctrl-C before anything was restored: the drill did not run, so it did not fail either.
  if (failure.code === 'interrupted' && !state.restoreRequested) return;
  timeline.enter('publish', `the drill failed (${failure.message}); publishing DrillSucceeded 0`);
  try {
    await publishFigures(clients, spec, { succeeded: false }, now());
    state.published = true;
  } catch (error) {
    state.notes.push(`could not publish DrillSucceeded 0: ${describeFailure(error).message}`);
  }
}

/** Deletes the drill instance (unless kept), then waits until it is gone. Never throws. */
async function cleanUp(
  clients: DrillClients,
  spec: DrillSpec,
  options: LocalDrillOptions,
  timeline: Timeline,
  runId: string,
  state: LocalRunState,
): Promise<void> {
  const identifier = state.run?.instanceIdentifier ?? drillInstanceIdentifier(spec, runId);
  const interrupted = state.failure?.code === 'interrupted';
  const keepUntil = state.run?.keepUntil;
  const now = options.now ?? (() => new Date());
  timeline.enter('cleanup', interrupted ? `interrupted: deleting ${identifier}` : `deleting ${identifier}`);
  try {
    const outcome = await deleteWhenPossible(clients, spec, identifier, timeline, !interrupted, now);
    if (outcome === 'kept') {
      timeline.note(`kept ${identifier} until ${keepUntil}; the sweeper deletes it then`);
      state.instance = { identifier, kept: true, keepUntil, cleanup: 'kept' };
      return;
    }
    // After Ctrl-C the deletion is requested, not awaited: nothing can stop it once RDS accepted it.
    const end: 'gone' | 'deleting' =
      outcome === 'gone'
        ? 'gone'
        : interrupted
          ? 'deleting'
          : await waitUntilGone(clients, identifier, timeline, options.deletionWaitSeconds ?? 3600);
    const cleanup: CleanupOutcome = outcome === 'gone' ? 'gone' : end === 'gone' ? 'deleted' : 'deleting';
    state.instance = { identifier, kept: false, cleanup };
    timeline.note(end === 'gone' ? `${identifier} is gone` : `${identifier} is being deleted`);
  } catch (error) {
    const failure = describeFailure(error);
    state.instance = { identifier, kept: false, cleanup: 'not-deleted' };
    const message = `could not delete ${identifier}: ${failure.message}; the sweeper deletes it within ${Math.round(spec.maxInstanceAgeSeconds / 3600)} h`;
    if (state.failure) state.notes.push(message);
    else state.failure = { code: failure.code === 'timeout' ? 'timeout' : 'cleanup-failed', message };
    timeline.note(message);
  }
}

/** Deletes, retrying while RDS refuses because the instance is busy (creating, modifying). */
async function deleteWhenPossible(
  clients: DrillClients,
  spec: DrillSpec,
  identifier: string,
  timeline: Timeline,
  respectKeep: boolean,
  now: () => Date,
): Promise<DeleteOutcome> {
  const sleep = clients.sleep ?? ((ms: number) => realSleep(ms));
  const deadline = now().getTime() + spec.maxWaitSeconds * 1000;
  for (;;) {
    try {
      return await deleteDrillInstance(clients, spec, identifier, { respectKeep, now: now() });
    } catch (error) {
      const busy = error instanceof Error && error.name === 'InvalidDBInstanceStateFault';
      if (!busy || now().getTime() > deadline) throw error;
      timeline.note(
        `${identifier} cannot be deleted yet (${oneLine(error.message)}), next try in ${DELETION_POLL_SECONDS}s`,
      );
      await sleep(DELETION_POLL_SECONDS * 1000);
    }
  }
}

async function waitUntilGone(
  clients: DrillClients,
  identifier: string,
  timeline: Timeline,
  limitSeconds: number,
): Promise<'gone'> {
  const sleep = clients.sleep ?? ((ms: number) => realSleep(ms));
  for (let waited = 0; ; waited += DELETION_POLL_SECONDS) {
    if (await isGone(clients, identifier)) return 'gone';
    if (waited >= limitSeconds) {
      throw new DrillError('timeout', `${identifier} was still being deleted after ${limitSeconds} s`);
    }
    timeline.note(`waiting for ${identifier} to be deleted, next check in ${DELETION_POLL_SECONDS}s`);
    await sleep(DELETION_POLL_SECONDS * 1000);
  }
}

function localReport(spec: DrillSpec, runId: string, timeline: Timeline, end: Date, state: LocalRunState): DrillReport {
  const figures = state.run ? drillFigures(state.run, state.availableAt, state.verify) : undefined;
  const verify = state.verify;
  const passed = verify?.passed === true;
  return {
    mode: 'local',
    sourceInstanceIdentifier: spec.sourceInstanceIdentifier,
    runId,
    outcome: outcomeOf(state.failure, verify),
    passed,
    startedAt: timeline.start.toISOString(),
    endedAt: end.toISOString(),
    durationSeconds: seconds(timeline.start, end),
    phases: timeline.report(end),
    restorePoint: state.point,
    rpo: {
      restorePointLagSeconds: state.point ? seconds(state.point.time, timeline.start) : undefined,
      dataAgeSeconds: verify?.dataAgeSeconds,
      newestRowTime: verify?.newestRowTime,
      targetSeconds: spec.rpoTargetSeconds,
    },
    rto: { restoreSeconds: figures?.restoreSeconds, targetSeconds: spec.rtoTargetSeconds },
    verifySeconds: figures?.verifySeconds,
    checks: verify?.checks ?? [],
    checksFailed: verify?.checksFailed,
    tables: verify?.tables,
    instance: state.instance ?? (state.run ? { identifier: state.run.instanceIdentifier, kept: false } : undefined),
    error: state.failure,
    notes: state.notes,
  };
}

function outcomeOf(failure: DrillFailure | undefined, verify: VerifyResult | undefined): DrillOutcome {
  if (failure?.code === 'interrupted') return 'interrupted';
  if (verify && !verify.passed) return 'checks-failed';
  return failure ? 'failed' : 'passed';
}

function pointKind(point: Pick<RestorePoint, 'kind' | 'snapshotIdentifier'>): string {
  if (point.kind === 'snapshot') return `latest automated snapshot ${point.snapshotIdentifier ?? ''}`.trim();
  return point.kind === 'time' ? 'the requested time' : 'latest restorable time';
}

// ---------------------------------------------------------------------------------------------
// Dry run

/** What a drill would do, for `--dry-run`: read-only calls only. */
export interface DrillPlan {
  readonly mode: 'local' | 'deployed';
  readonly sourceInstanceIdentifier: string;
  readonly spec?: DrillSpec;
  /** The restore point: its kind always, its time when it could be read without changing anything. */
  readonly restorePoint: {
    readonly kind: RestorePoint['kind'];
    readonly time?: string;
    readonly snapshotIdentifier?: string;
  };
  /** The drill instance identifier, with `<run>` for the run ID. */
  readonly instanceIdentifierPattern: string;
  readonly keepUntil?: string;
  /** Drill instances of the source that exist now: while one does, a drill refuses to start (the lock). */
  readonly existingDrillInstances?: readonly string[];
  readonly stateMachineArn?: string;
  readonly executionName?: string;
  readonly executionInput?: unknown;
  /** The AWS calls the drill would make, in order. */
  readonly calls: readonly string[];
}

function instancePattern(spec: Pick<DrillSpec, 'instancePrefix' | 'sourceInstanceIdentifier'>, runId: string): string {
  const identifier = drillInstanceIdentifier(spec, runId);
  return `${identifier.slice(0, identifier.length - runId.length)}<run>`;
}

/**
 * Plans a local drill without changing anything: reads the source (restore point, backups) and the
 * lock with Describe calls, and lists the calls a real run would make.
 * @throws DrillError as a real run would (no such source, no backups, bad restore time)
 */
export async function planLocalDrill(
  clients: DrillClients,
  spec: DrillSpec,
  request: DrillRequest,
  now: Date,
): Promise<DrillPlan> {
  const point = await choosePoint(clients, spec, request, now);
  const existing = await findDrillInstances(clients, spec);
  const restoreCall =
    point.kind === 'snapshot'
      ? `rds:RestoreDBInstanceFromDBSnapshot from ${point.snapshotIdentifier}`
      : `rds:RestoreDBInstanceToPointInTime of ${spec.sourceInstanceIdentifier} at ${point.time}`;
  const pattern = instancePattern(spec, newRunId(now));
  return {
    mode: 'local',
    sourceInstanceIdentifier: spec.sourceInstanceIdentifier,
    spec,
    restorePoint: point,
    instanceIdentifierPattern: pattern,
    keepUntil: request.keepUntil,
    existingDrillInstances: existing.map((i) => i.DBInstanceIdentifier ?? '?'),
    calls: [
      `rds:DescribeDBInstances ${spec.sourceInstanceIdentifier} (restore point, backups) and all instances (the lock)`,
      `${restoreCall} into ${pattern} (${spec.instanceClass}, subnet group ${spec.subnetGroupName}, tagged as a drill instance${request.keepUntil ? `, kept until ${request.keepUntil}` : ''})`,
      `rds:DescribeDBInstances ${pattern} until available (backoff 30 s to 5 min, at most ${spec.maxWaitSeconds} s)`,
      `rds:ModifyDBInstance ${pattern} (a fresh master password), then ${spec.checks.length ? `${spec.checks.length} check(s)` : 'the default inventory (every table counted)'} in database ${spec.databaseName} over TLS`,
      `cloudwatch:PutMetricData ProdBaseline/RestoreDrill (DrillSucceeded, RestoreSeconds, VerifySeconds, RestorePointLagSeconds, DataAgeSeconds, ChecksFailed)`,
      `ssm:PutParameter ${spec.lastSuccessParameter} (when the checks pass)`,
      request.keepUntil
        ? `keep ${pattern} until ${request.keepUntil} (the sweeper deletes it then)`
        : `rds:DeleteDBInstance ${pattern} (no final snapshot), then rds:DescribeDBInstances until it is gone`,
    ],
  };
}

/** Plans a deployed drill without changing anything: the execution the command would start. */
export function planDeployedDrill(
  drill: DeployedDrill,
  spec: DrillSpec | undefined,
  request: DrillRequest,
  now: Date,
): DrillPlan {
  const runId = newRunId(now);
  const kind: RestorePoint['kind'] = request.restoreTime
    ? 'time'
    : spec?.useLatestSnapshot
      ? 'snapshot'
      : 'latest-restorable';
  return {
    mode: 'deployed',
    sourceInstanceIdentifier: drill.sourceInstanceIdentifier,
    spec,
    restorePoint: { kind, time: request.restoreTime },
    instanceIdentifierPattern: spec ? instancePattern(spec, runId) : `<prefix>-${drill.sourceInstanceIdentifier}-<run>`,
    keepUntil: request.keepUntil,
    stateMachineArn: drill.stateMachineArn,
    executionName: executionName(runId),
    executionInput: executionInput(request),
    calls: [
      `states:ListExecutions ${drill.stateMachineArn} (a running drill is followed, not started again)`,
      `states:StartExecution ${drill.stateMachineArn} named ${executionName(runId)}`,
      `states:DescribeExecution and states:GetExecutionHistory every ${DEFAULT_POLL_SECONDS} s until the execution ends`,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Deployed drill

/** Seconds between two polls of a deployed drill's execution. */
export const DEFAULT_POLL_SECONDS = 5;

/** Options of {@link followDeployedDrill}. */
export interface FollowOptions {
  readonly onProgress?: ProgressListener;
  /** Stops following (the execution goes on in Step Functions). */
  readonly signal?: AbortSignal;
  /** @default 5 */
  readonly pollSeconds?: number;
  /** For the report (the manifest names it). */
  readonly sourceInstanceIdentifier?: string;
  /** @default - () => new Date() */
  readonly now?: () => Date;
}

/** The execution name the command gives: it starts with the run ID. */
export function executionName(runId: string): string {
  return `${runId}-cli`;
}

function executionInput(request: DrillRequest): { request: DrillRequest } {
  return {
    request: {
      ...(request.restoreTime ? { restoreTime: request.restoreTime } : {}),
      ...(request.keepUntil ? { keepUntil: request.keepUntil } : {}),
    },
  };
}

/** What the state machine keeps in its state (see the RestoreDrill construct). */
interface MachineState {
  readonly run?: DrillRun;
  readonly progress?: { readonly status?: string; readonly nextWaitSeconds?: number; readonly checkedAt?: string };
  readonly verify?: VerifyResult;
  readonly figures?: DrillFigures;
  readonly cleanup?: { readonly outcome?: string; readonly passed?: boolean };
  readonly gone?: { readonly gone?: boolean };
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

/** State names of the deployed drill, and the phase each belongs to. */
const STATE_PHASES: Readonly<Record<string, DrillPhase>> = {
  Choose: 'choose',
  Restore: 'restore',
  FirstWait: 'restore',
  WaitForRestore: 'restore',
  CheckRestore: 'restore',
  Verify: 'verify',
  Publish: 'publish',
  Cleanup: 'cleanup',
  WaitForDeletion: 'cleanup',
  CheckDeleted: 'cleanup',
  CleanupAfterError: 'cleanup',
};

/** Event types that start a state worth a progress line (choices and passes are bookkeeping). */
const ENTERED_TYPES = new Set(['TaskStateEntered', 'WaitStateEntered']);

/**
 * Starts the deployed drill (a Step Functions execution named after the run ID) and follows it,
 * emitting a progress event for each state it enters, until it ends; then reports from its output
 * (or, when it failed, from its last state and the failure cause). Safe to re-run: when a drill of
 * this state machine is already running, it follows that execution instead of starting another.
 * Aborting stops following (the report says `interrupted`); the execution goes on.
 * @throws Error when Step Functions refuses a call (the command reports it in one line, exit code 3)
 */
export async function followDeployedDrill(
  clients: Pick<RestoreDrillClients, 'sfn' | 'sleep'>,
  stateMachineArn: string,
  request: DrillRequest,
  options: FollowOptions = {},
): Promise<DrillReport> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const sleep = interruptibleSleep(clients.sleep, options.signal);
  const notes: string[] = [];
  const { executionArn, attached } = await startOrAttach(clients, stateMachineArn, request, started);
  const describe = () => withRetries(clients, () => clients.sfn.send(new DescribeExecutionCommand({ executionArn })));
  const first = await describe();
  const timeline = new Timeline(now, options.onProgress, first.startDate ?? started);
  if (attached) {
    const message = `a drill is already running (${first.name}, started ${first.startDate?.toISOString()}); following it instead of starting another`;
    notes.push(message);
    timeline.emit('follow', message, now());
  } else {
    timeline.emit('follow', `started execution ${first.name}`, timeline.start);
  }

  const follower = new HistoryFollower(clients, executionArn, timeline);
  let description: DescribeExecutionCommandOutput = first;
  try {
    for (;;) {
      await follower.poll();
      if (description.status !== 'RUNNING') break;
      await sleep((options.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000);
      description = await describe();
    }
  } catch (error) {
    if (!(error instanceof DrillInterrupted) && !options.signal?.aborted) throw error;
    notes.push(`stopped following; the drill goes on in Step Functions: ${executionArn}`);
    return deployedReport(options, timeline, now(), description, follower.state, notes, {
      code: 'interrupted',
      message: `interrupted (Ctrl-C); the drill goes on in Step Functions: ${executionArn}`,
    });
  }
  const output = description.status === 'SUCCEEDED' ? parseJson<MachineState>(description.output) : undefined;
  const finalState = output ?? follower.state;
  return deployedReport(
    options,
    timeline,
    description.stopDate ?? now(),
    description,
    finalState,
    notes,
    executionFailure(description, finalState),
  );
}

async function startOrAttach(
  clients: Pick<RestoreDrillClients, 'sfn' | 'sleep'>,
  stateMachineArn: string,
  request: DrillRequest,
  now: Date,
): Promise<{ executionArn: string; attached: boolean }> {
  const running = await withRetries(clients, () =>
    clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1 })),
  );
  const current = running.executions?.[0]?.executionArn;
  if (current) return { executionArn: current, attached: true };
  // Same name and input: a retried start returns the same execution instead of a second drill.
  const started = await withRetries(clients, () =>
    clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: executionName(newRunId(now)),
        input: JSON.stringify(executionInput(request)),
      }),
    ),
  );
  if (!started.executionArn) throw new Error(`StartExecution of ${stateMachineArn} returned no execution ARN`);
  return { executionArn: started.executionArn, attached: false };
}

/** Reads the history events it has not seen yet, newest first until the last one seen, and reports them. */
class HistoryFollower {
  /** The latest state the execution carried (inputs of entered states, outputs of exited ones). */
  public state: MachineState | undefined;
  private lastEventId = 0;

  constructor(
    private readonly clients: Pick<RestoreDrillClients, 'sfn' | 'sleep'>,
    private readonly executionArn: string,
    private readonly timeline: Timeline,
  ) {}

  public async poll(): Promise<void> {
    for (const event of await this.newEvents()) {
      this.lastEventId = Math.max(this.lastEventId, event.id ?? 0);
      this.observe(event);
    }
  }

  private async newEvents(): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withRetries(this.clients, () =>
        this.clients.sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: this.executionArn,
            reverseOrder: true,
            maxResults: 100,
            nextToken,
            includeExecutionData: true,
          }),
        ),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= this.lastEventId) return fresh.reverse();
        fresh.push(event);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return fresh.reverse();
  }

  private observe(event: HistoryEvent): void {
    const entered = event.stateEnteredEventDetails;
    const exited = event.stateExitedEventDetails;
    const carried = parseJson<MachineState>(entered?.input ?? exited?.output);
    if (carried && typeof carried === 'object') this.state = carried;
    if (!entered?.name || !ENTERED_TYPES.has(String(event.type))) return;
    const phase = STATE_PHASES[entered.name] ?? this.timeline.currentPhase();
    this.timeline.enter(phase, stateDetail(entered.name, carried), event.timestamp ?? new Date());
  }
}

/** The progress line of a state, with what the state carries (instance, status, next wait). */
function stateDetail(name: string, state: MachineState | undefined): string {
  const instance = state?.run?.instanceIdentifier ?? 'the drill instance';
  switch (name) {
    case 'Choose':
      return 'choosing the restore point';
    case 'Restore':
      return `restoring ${state?.run?.point?.time ?? ''} into a new drill instance`.replace('  ', ' ');
    case 'WaitForRestore': {
      const status = state?.progress?.status ?? 'creating';
      const next = state?.progress?.nextWaitSeconds;
      return `waiting for ${instance} (${status})${next ? `, next check in ${next}s` : ''}`;
    }
    case 'CheckRestore':
      return `checking ${instance}`;
    case 'Verify':
      return `setting a new master password on ${instance}, then running the checks over TLS`;
    case 'Publish':
      return 'publishing the figures';
    case 'Cleanup':
      return `deleting ${instance}`;
    case 'WaitForDeletion':
      return `waiting for ${instance} to be deleted`;
    case 'CheckDeleted':
      return `checking that ${instance} is gone`;
    case 'CleanupAfterError':
      return `the drill failed (${errorMessage(state?.error) ?? 'see the execution'}); cleaning up`;
    default:
      return `state ${name}`;
  }
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** The message of a Step Functions error: the Lambda `errorMessage` in the cause, or the cause itself. */
function errorMessage(error: { Error?: string; Cause?: string } | undefined): string | undefined {
  if (!error) return undefined;
  const cause = parseJson<{ errorMessage?: string }>(error.Cause);
  const text = cause?.errorMessage ?? error.Cause ?? error.Error;
  return text ? oneLine(text) : undefined;
}

const DRILL_ERROR_CODES: ReadonlySet<string> = new Set<DrillErrorCode>([
  'source-missing',
  'no-backups',
  'bad-restore-time',
  'no-snapshot',
  'locked',
  'restore-failed',
  'timeout',
  'refused',
]);

/**
 * The code of a step's error, when the error carries one: an error name `DrillError.<code>` (or
 * `DrillError:<code>`), or a `code` field in the cause JSON. Otherwise `execution-failed`.
 */
function failureCode(error: { Error?: string; Cause?: string } | undefined): DrillFailureCode {
  const cause = parseJson<{ code?: string; errorType?: string }>(error?.Cause);
  const candidates = [cause?.code, error?.Error, cause?.errorType].map((s) => s?.replace(/^DrillError[.:]/, ''));
  return (candidates.find((c) => c !== undefined && DRILL_ERROR_CODES.has(c)) as DrillErrorCode) ?? 'execution-failed';
}

function executionFailure(
  description: DescribeExecutionCommandOutput,
  state: MachineState | undefined,
): DrillFailure | undefined {
  switch (description.status) {
    case 'SUCCEEDED':
      return undefined;
    case 'TIMED_OUT':
      return { code: 'timeout', message: `the drill execution ${description.name} timed out` };
    case 'ABORTED':
      return { code: 'execution-aborted', message: `the drill execution ${description.name} was stopped` };
    default: {
      if (state?.verify && !state.verify.passed && !state.error) {
        const failed = state.verify.checks.filter((c) => !c.passed).map((c) => c.name);
        return { code: 'execution-failed', message: `checks failed: ${failed.join(', ')}` };
      }
      const message =
        errorMessage(state?.error) ??
        errorMessage({ Error: description.error, Cause: description.cause }) ??
        `the drill execution ${description.name} ended ${description.status}`;
      return { code: failureCode(state?.error ?? { Error: description.error, Cause: description.cause }), message };
    }
  }
}

function deployedReport(
  options: FollowOptions,
  timeline: Timeline,
  end: Date,
  description: DescribeExecutionCommandOutput,
  state: MachineState | undefined,
  notes: string[],
  failure: DrillFailure | undefined,
): DrillReport {
  const run = state?.run;
  const verify = state?.verify;
  const figures =
    state?.figures ?? (run ? drillFigures(run, parseDate(state?.progress?.checkedAt), verify) : undefined);
  const cleanup = state?.cleanup?.outcome as CleanupOutcome | undefined;
  const cleanupDone = cleanup === 'deleted' && state?.gone?.gone ? 'deleted' : cleanup;
  const interrupted = failure?.code === 'interrupted';
  return {
    mode: 'deployed',
    sourceInstanceIdentifier: options.sourceInstanceIdentifier ?? '',
    runId: run?.runId,
    executionArn: description.executionArn,
    outcome: interrupted ? 'interrupted' : outcomeOf(failure, verify),
    passed: verify?.passed === true,
    startedAt: timeline.start.toISOString(),
    endedAt: end.toISOString(),
    durationSeconds: seconds(timeline.start, end),
    phases: timeline.report(end),
    restorePoint: run?.point,
    rpo: { restorePointLagSeconds: figures?.restorePointLagSeconds, dataAgeSeconds: figures?.dataAgeSeconds },
    rto: { restoreSeconds: figures?.restoreSeconds },
    verifySeconds: figures?.verifySeconds,
    checks: verify?.checks ?? [],
    checksFailed: verify?.checksFailed,
    tables: verify?.tables,
    instance: run
      ? { identifier: run.instanceIdentifier, kept: cleanup === 'kept', keepUntil: run.keepUntil, cleanup: cleanupDone }
      : undefined,
    error: failure,
    notes,
  };
}

function parseDate(text: string | undefined): Date | undefined {
  return text ? new Date(text) : undefined;
}
