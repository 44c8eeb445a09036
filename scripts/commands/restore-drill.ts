// `prod-baseline restore-drill`: parses the flags, wires Ctrl-C, prints progress on stderr and the
// report on stdout. The drill itself is in ../lib/restore-drill.ts.
import { type Command, InvalidArgumentError } from 'commander';
import type { DrillRequest } from '../../constructs/restore-drill/steps';
import { type CommandContext, ExitCode } from '../cli';
import { ManifestError } from '../lib/manifest';
import {
  createRestoreDrillClients,
  type DrillFailureCode,
  type DrillPlan,
  type DrillProgressEvent,
  type DrillReport,
  describeFailure,
  findDeployedDrill,
  followDeployedDrill,
  type LocalDrillOptions,
  planDeployedDrill,
  planLocalDrill,
  type RestoreDrillClients,
  RestoreDrillConfigError,
  readDrillSpecFile,
  readDrillSpecParameter,
  runLocalDrill,
} from '../lib/restore-drill';

/**
 * Test-only replacements for what the command reaches outside the process. No flag sets them: `main`
 * passes them through from its `seams` parameter, which only tests use.
 */
export interface RestoreDrillSeams {
  /** Builds the AWS clients (moto-backed or mocked), with an instant `sleep`. @default - real clients */
  readonly createClients?: (region: string | undefined) => RestoreDrillClients;
  /** How the verify step reaches the drill instance (a resolver to a local PostgreSQL and its CA). */
  readonly verify?: LocalDrillOptions['verify'];
  /** Subscribes to interrupts; returns the unsubscribe function. @default - process SIGINT */
  readonly onInterrupt?: (listener: () => void) => () => void;
  /** @default - () => new Date() */
  readonly now?: () => Date;
}

/** The flags of `restore-drill`, as commander parses them. */
export interface RestoreDrillFlags {
  readonly stack?: string;
  readonly source?: string;
  readonly local?: boolean;
  readonly spec?: string;
  readonly restoreTime?: string;
  readonly keep?: boolean;
  readonly keepHours?: number;
  readonly json?: boolean;
  readonly region?: string;
  readonly dryRun?: boolean;
}

/** How long `--keep` keeps the drill instance by default, and the most it may (the sweeper's hard cap). */
export const KEEP_HOURS = { default: 24, max: 7 * 24 } as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const EXAMPLES = `
Examples:
  $ prod-baseline restore-drill --stack Shop
      start the deployed drill and follow it until it ends
  $ prod-baseline restore-drill --stack Shop --source shop-db --local --keep-hours 4
      run the drill's steps from this machine; keep the restored instance 4 hours for investigation
  $ prod-baseline restore-drill --spec drill.json --restore-time 2026-01-31T12:00:00Z --json
      restore a given time with the spec in drill.json; print a JSON report
  $ prod-baseline restore-drill --stack Shop --local --dry-run
      print the spec, the restore point and the calls a run would make, without changing anything

Progress goes to stderr, the report to stdout. Ctrl-C stops a --local drill and still deletes its
instance (press it twice to quit at once; the sweeper deletes what is left); with --stack it stops
following and the drill goes on.

Exit codes: 0 passed; 1 the drill found a problem (a check failed, the restore failed, no backups to
restore); 2 usage or config error (bad flags, bad spec, no drill in the manifest, unknown source,
restore time outside the backup window); 3 AWS error or timeout, or another drill of the same source
is running (the lock: try again when it ends); 130 interrupted.`;

/** Registers `restore-drill` on the program; its action leaves the exit code in `context.exitCode`. */
export function registerRestoreDrill(program: Command, context: CommandContext): void {
  program
    .command('restore-drill')
    .description(
      'Restore a database backup into a temporary instance, prove the data with the drill checks, publish ' +
        'the RPO/RTO figures and delete the instance. By default starts the deployed drill (--stack) and ' +
        'follows it; --local runs the same steps from this machine with your credentials.',
    )
    .option('--stack <name>', 'the stack whose manifest names the drill')
    .option('--source <id>', 'the source instance, when the stack has several drills')
    .option('--local', 'run the steps from this machine instead of starting the deployed state machine')
    .option('--spec <file>', 'read the drill spec from a JSON file (implies --local)')
    .option('--restore-time <iso>', 'restore this time (ISO 8601 with a zone) instead of the latest restorable time')
    .option('--keep', `keep the restored instance ${KEEP_HOURS.default} h (an expiry tag the sweeper honours)`)
    .option('--keep-hours <hours>', `keep it this many hours, 1 to ${KEEP_HOURS.max} (implies --keep)`, parseKeepHours)
    .option('--json', 'print the report as JSON')
    .option('--region <region>', 'the AWS region (default: from the environment or profile)')
    .option('--dry-run', 'print what the drill would do, calling no API that changes anything')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: RestoreDrillFlags, command: Command) => {
      const problem = usageProblem(flags);
      if (problem) command.error(`error: ${problem}`, { exitCode: ExitCode.USAGE, code: 'restore-drill.usage' });
      context.exitCode = await runRestoreDrill(flags, context);
    });
}

function parseKeepHours(value: string): number {
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours < 1 || hours > KEEP_HOURS.max) {
    throw new InvalidArgumentError(`must be a number of hours from 1 to ${KEEP_HOURS.max} (7 days), got ${value}`);
  }
  return hours;
}

/** What is wrong with a combination of flags, in one line. */
export function usageProblem(flags: RestoreDrillFlags): string | undefined {
  if (flags.spec !== undefined && flags.stack !== undefined) {
    return '--spec and --stack exclude each other: --spec FILE is the whole drill spec';
  }
  if (flags.spec === undefined && flags.stack === undefined) {
    return 'name the drill: --stack NAME (the deployed drill) or --spec FILE (a local run)';
  }
  if (flags.source !== undefined && flags.stack === undefined) return '--source picks a drill of a --stack';
  if (flags.restoreTime !== undefined && !ISO_TIME.test(flags.restoreTime)) {
    return `--restore-time must be an ISO 8601 time with a zone, such as 2026-01-31T12:00:00Z, got "${flags.restoreTime}"`;
  }
  return undefined;
}

/** Runs the command with parsed, valid flags and returns its exit code. */
async function runRestoreDrill(flags: RestoreDrillFlags, context: CommandContext): Promise<number> {
  const seams = context.seams.restoreDrill ?? {};
  const now = seams.now ?? (() => new Date());
  const ownClients = seams.createClients === undefined;
  const clients = (seams.createClients ?? createRestoreDrillClients)(flags.region);
  const controller = new AbortController();
  const stopListening = listenForInterrupts(seams, controller, context, flags);
  try {
    const request = drillRequest(flags, now());
    const result = await (flags.local || flags.spec !== undefined
      ? runLocal(clients, flags, request, controller.signal, context, seams)
      : runDeployed(clients, flags, request, controller.signal, context, now));
    if ('calls' in result) {
      context.out.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatPlan(result));
      return ExitCode.OK;
    }
    context.out.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
    const code = exitCodeOf(result);
    if (code !== ExitCode.OK) context.err.write(`prod-baseline restore-drill: ${summaryLine(result)}\n`);
    return code;
  } catch (error) {
    const { code, message } = classifyError(error);
    context.err.write(`prod-baseline restore-drill: ${message}\n`);
    return code;
  } finally {
    stopListening();
    if (ownClients) {
      for (const client of [clients.rds, clients.cloudwatch, clients.ssm, clients.sfn, clients.cloudFormation]) {
        client.destroy();
      }
    }
  }
}

function drillRequest(flags: RestoreDrillFlags, now: Date): DrillRequest {
  const keepHours = flags.keepHours ?? (flags.keep ? KEEP_HOURS.default : undefined);
  return {
    restoreTime: flags.restoreTime,
    keepUntil: keepHours === undefined ? undefined : new Date(now.getTime() + keepHours * 3600_000).toISOString(),
  };
}

async function runLocal(
  clients: RestoreDrillClients,
  flags: RestoreDrillFlags,
  request: DrillRequest,
  signal: AbortSignal,
  context: CommandContext,
  seams: RestoreDrillSeams,
): Promise<DrillReport | DrillPlan> {
  const spec =
    flags.spec !== undefined
      ? readDrillSpecFile(flags.spec)
      : await readDrillSpecParameter(
          clients,
          (await findDeployedDrill(clients, flags.stack as string, flags.source)).specParameterName,
        );
  if (flags.dryRun) return planLocalDrill(clients, spec, request, (seams.now ?? (() => new Date()))());
  return runLocalDrill(clients, spec, {
    request,
    signal,
    onProgress: progressPrinter(context),
    verify: seams.verify,
    now: seams.now,
  });
}

async function runDeployed(
  clients: RestoreDrillClients,
  flags: RestoreDrillFlags,
  request: DrillRequest,
  signal: AbortSignal,
  context: CommandContext,
  now: () => Date,
): Promise<DrillReport | DrillPlan> {
  const drill = await findDeployedDrill(clients, flags.stack as string, flags.source);
  if (flags.dryRun) {
    const spec = await readDrillSpecParameter(clients, drill.specParameterName);
    return planDeployedDrill(drill, spec, request, now());
  }
  return followDeployedDrill(clients, drill.stateMachineArn, request, {
    onProgress: progressPrinter(context),
    signal,
    sourceInstanceIdentifier: drill.sourceInstanceIdentifier,
    now,
  });
}

/** First Ctrl-C: abort (the drill cleans up). Second: quit at once. */
function listenForInterrupts(
  seams: RestoreDrillSeams,
  controller: AbortController,
  context: CommandContext,
  flags: RestoreDrillFlags,
): () => void {
  const subscribe =
    seams.onInterrupt ??
    ((listener: () => void) => {
      process.on('SIGINT', listener);
      return () => process.removeListener('SIGINT', listener);
    });
  const local = flags.local || flags.spec !== undefined;
  return subscribe(() => {
    if (!controller.signal.aborted) {
      context.err.write(
        local
          ? 'interrupted: cleaning up the drill instance (Ctrl-C again quits at once; the sweeper deletes what is left)\n'
          : 'interrupted: no longer following; the drill goes on in Step Functions\n',
      );
      controller.abort();
      return;
    }
    context.err.write('prod-baseline restore-drill: quit without cleanup; the sweeper deletes the drill instance\n');
    process.exit(ExitCode.INTERRUPTED);
  });
}

/** Prints one progress line on stderr: `[  12s] restore: waiting for …`. */
export function formatProgress(event: DrillProgressEvent): string {
  return `[${String(event.elapsedSeconds).padStart(4)}s] ${event.phase}: ${event.detail}\n`;
}

function progressPrinter(context: CommandContext): (event: DrillProgressEvent) => void {
  return (event) => context.err.write(formatProgress(event));
}

/** Failures that are the drill's findings about the backups, not errors of the command. */
const FINDINGS: ReadonlySet<DrillFailureCode> = new Set(['no-backups', 'no-snapshot', 'restore-failed']);
/** Failures that a change of flags or spec fixes. */
const CONFIG: ReadonlySet<DrillFailureCode> = new Set(['source-missing', 'bad-restore-time']);

/** The exit code of a finished drill. */
export function exitCodeOf(report: DrillReport): number {
  if (report.outcome === 'interrupted') return ExitCode.INTERRUPTED;
  if (report.outcome === 'checks-failed') return ExitCode.FINDINGS;
  if (!report.error) return ExitCode.OK;
  if (FINDINGS.has(report.error.code)) return ExitCode.FINDINGS;
  return CONFIG.has(report.error.code) ? ExitCode.USAGE : ExitCode.AWS_ERROR;
}

function classifyError(error: unknown): { code: number; message: string } {
  if (error instanceof ManifestError || error instanceof RestoreDrillConfigError) {
    return { code: ExitCode.USAGE, message: error.message };
  }
  const failure = describeFailure(error);
  if (FINDINGS.has(failure.code)) return { code: ExitCode.FINDINGS, message: failure.message };
  return { code: CONFIG.has(failure.code) ? ExitCode.USAGE : ExitCode.AWS_ERROR, message: failure.message };
}

function summaryLine(report: DrillReport): string {
  if (report.outcome === 'checks-failed') {
    const failed = report.checks.filter((c) => !c.passed);
    const names = failed.map((c) => `${c.name} (${c.message})`).join('; ');
    const cleanup = report.error?.code === 'cleanup-failed' ? `; ${report.error.message}` : '';
    return `${failed.length} of ${report.checks.length} check(s) failed on a restore of ${report.sourceInstanceIdentifier}: ${names}${cleanup}`;
  }
  return report.error?.message ?? `the drill ended ${report.outcome}`;
}

/** A duration in words: `45s`, `2m 05s`, `1h 02m`. */
export function formatDuration(totalSeconds: number | undefined): string {
  if (totalSeconds === undefined) return '-';
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function againstTarget(value: number | undefined, target: number | undefined): string {
  if (value === undefined) return '-';
  if (target === undefined) return formatDuration(value);
  return `${formatDuration(value)} (target ${formatDuration(target)}${value > target ? ', ABOVE TARGET' : ''})`;
}

const OUTCOME_WORDS = {
  passed: 'PASSED',
  'checks-failed': 'CHECKS FAILED',
  failed: 'FAILED',
  interrupted: 'INTERRUPTED',
} as const;

/** The report in words, for a terminal. */
export function formatReport(report: DrillReport): string {
  const row = (label: string, value: string) => `  ${label.padEnd(15)} ${value}`;
  const point = report.restorePoint;
  const instance = report.instance;
  const lines = [
    `restore drill of ${report.sourceInstanceIdentifier || 'the source'}: ${OUTCOME_WORDS[report.outcome]}`,
    row('run', `${report.runId ?? '-'} (${report.mode}), ${formatDuration(report.durationSeconds)}`),
    ...(report.executionArn ? [row('execution', report.executionArn)] : []),
    row('restore point', point ? `${point.time} (${point.kind})` : '-'),
    row(
      'RPO',
      `restore point lag ${againstTarget(report.rpo.restorePointLagSeconds, report.rpo.targetSeconds)}; data age ${formatDuration(report.rpo.dataAgeSeconds)}`,
    ),
    row('RTO', `restore ${againstTarget(report.rto.restoreSeconds, report.rto.targetSeconds)}`),
    row('verification', formatDuration(report.verifySeconds)),
    row(
      'instance',
      instance
        ? `${instance.identifier}: ${instance.kept ? `kept until ${instance.keepUntil}` : (instance.cleanup ?? 'unknown')}`
        : '-',
    ),
    row('phases', report.phases.map((p) => `${p.name} ${formatDuration(p.durationSeconds)}`).join(', ') || '-'),
    row('checks', `${report.checks.filter((c) => c.passed).length} of ${report.checks.length} passed`),
    ...report.checks.map((c) => `    ${c.passed ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.message}`),
    ...(report.tables ?? []).map((t) => `    ${t.table}: ${t.rows} row(s)`),
    ...(report.error ? [row('error', `${report.error.code}: ${report.error.message}`)] : []),
    ...report.notes.map((n) => row('note', n)),
  ];
  return `${lines.join('\n')}\n`;
}

/** The dry-run plan in words. */
export function formatPlan(plan: DrillPlan): string {
  const point = plan.restorePoint;
  const lines = [
    `dry run: restore drill of ${plan.sourceInstanceIdentifier} (${plan.mode}); nothing was changed`,
    `  restore point   ${point.kind}${point.time ? ` ${point.time}` : ''}${point.snapshotIdentifier ? ` (${point.snapshotIdentifier})` : ''}`,
    `  instance        ${plan.instanceIdentifierPattern}${plan.keepUntil ? `, kept until ${plan.keepUntil}` : ''}`,
    ...(plan.existingDrillInstances?.length
      ? [
          `  LOCKED          a drill instance exists: ${plan.existingDrillInstances.join(', ')}; a run would refuse to start`,
        ]
      : []),
    ...(plan.stateMachineArn ? [`  state machine   ${plan.stateMachineArn}`] : []),
    ...(plan.executionInput ? [`  input           ${JSON.stringify(plan.executionInput)}`] : []),
    '  calls',
    ...plan.calls.map((c, i) => `    ${i + 1}. ${c}`),
    ...(plan.spec
      ? [
          '  spec',
          ...JSON.stringify(plan.spec, null, 2)
            .split('\n')
            .map((l) => `    ${l}`),
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}
