// `prod-baseline alarm-test`: parses the flags, prints the alarm table and findings on stdout and the
// progress of --fire on stderr. The checks and the firing are in ../lib/alarm-test.ts.
import type { Command } from 'commander';
import { ExitCode, type Output } from '../cli';
import {
  type AlarmTestClients,
  AlarmTestUsageError,
  type CheckResult,
  createAlarmTestClients,
  DeploymentInProgressError,
  deploymentsInProgress,
  destroyAlarmTestClients,
  type Finding,
  type FireProgressEvent,
  type FireReport,
  findings,
  fire,
  firstLine,
  inventory,
  planFire,
  type Routing,
  type StackAlarm,
  type StackInventory,
  selectAlarms,
  type TopicCheck,
} from '../lib/alarm-test';

/** Where the command writes and leaves its exit code; `main`'s CommandContext fits. */
export interface AlarmTestIo {
  readonly out: Output;
  readonly err: Output;
  /** The code `main` returns; the action sets it. */
  exitCode: number;
}

/** Test-only replacements for what the command reaches outside the process. No flag sets them. */
export interface AlarmTestSeams {
  /** Builds the AWS clients (moto-backed or mocked). @default - real clients with bounded retries */
  readonly createClients?: (region: string | undefined) => AlarmTestClients;
  /** @default - () => new Date() */
  readonly now?: () => Date;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Seconds the fired alarms stay in ALARM. @default 10 */
  readonly holdSeconds?: number;
  /** Seconds to wait for the alarm history. @default 60 */
  readonly historyWaitSeconds?: number;
}

/** The flags of `alarm-test`, as commander parses them. */
export interface AlarmTestFlags {
  readonly stack: string;
  /** Repeated `--alarm NAME`; absent when not given. */
  readonly alarm?: readonly string[];
  readonly fire?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly region?: string;
  readonly dryRun?: boolean;
}

/** The command's report: what `--json` prints. */
export interface AlarmTestReport {
  readonly stackName: string;
  readonly stackStatus: string;
  readonly alarms: readonly (StackAlarm & { readonly routing: Routing })[];
  readonly missing: StackInventory['missing'];
  readonly topics: readonly TopicCheck[];
  /** Every finding: of the checks, then of `--fire`. */
  readonly findings: readonly Finding[];
  readonly fire?: FireReport;
  /** `--fire --dry-run`: the calls `--fire` would make, and the deployments that would stop it. */
  readonly plan?: { readonly calls: readonly string[]; readonly deploymentsInProgress: readonly string[] };
  /** Why `--fire` refused to run. */
  readonly refused?: string;
}

const EXAMPLES = `
Examples:
  $ prod-baseline alarm-test --stack Shop
      list every alarm of the stack with its actions and check that each reaches a person
  $ prod-baseline alarm-test --stack Shop --fire
      set every alarm to ALARM (the reason says it is a test), then back to OK, and report which
      actions ran and which failed
  $ prod-baseline alarm-test --stack Shop --fire --alarm Shop-Http5xx --alarm Shop-Latency
      fire only these alarms
  $ prod-baseline alarm-test --stack Shop --fire --dry-run
      print the SetAlarmState calls --fire would make, changing nothing
  $ prod-baseline alarm-test --stack Shop --json
      print the report as JSON

The checks: an alarm needs an ALARM action, or must feed a composite alarm that has one; every SNS
topic an action targets must exist and have a confirmed subscription (pending confirmation receives
nothing); a topic's KMS key must let cloudwatch.amazonaws.com use kms:Decrypt and
kms:GenerateDataKey* (the AWS managed key alias/aws/sns never does). Lambda and other actions are
listed, not checked. --fire skips alarms already in ALARM and refuses while a deployment of the stack
is in progress (a fired deployment alarm would roll it back) unless --force.

Progress of --fire goes to stderr, the report to stdout.

Exit codes: 0 every alarm reaches a person (and every fired action succeeded); 1 findings; 2 usage
error (bad flags, unknown stack or alarm name); 3 AWS error, or --fire refused because a deployment
is in progress (run again when it ends, or pass --force).`;

/**
 * Registers `alarm-test` on the program; its action leaves the exit code in `io.exitCode`. `seams` is
 * for tests only.
 */
export function registerAlarmTest(program: Command, io: AlarmTestIo, seams: AlarmTestSeams = {}): void {
  program
    .command('alarm-test')
    .description(
      'List every alarm of a stack with its actions and prove that each one reaches a person: fails on an ' +
        'alarm without an action, a topic without a confirmed subscription, or a topic key CloudWatch may not ' +
        'use. --fire sets the alarms to ALARM and back to OK and reads which actions ran.',
    )
    .requiredOption('--stack <name>', 'the stack whose alarms to test (nested stacks included)')
    .option('--alarm <name>', 'with --fire: fire only this alarm (repeat for several)', collect)
    .option('--fire', 'set the alarms to ALARM, then OK, and report the actions that ran and failed')
    .option('--force', 'with --fire: fire even while a deployment is in progress')
    .option('--json', 'print the report as JSON')
    .option('--region <region>', 'the AWS region (default: from the environment or profile)')
    .option('--dry-run', 'with --fire: print the calls it would make, changing nothing')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: AlarmTestFlags, command: Command) => {
      const problem = usageProblem(flags);
      if (problem) command.error(`error: ${problem}`, { exitCode: ExitCode.USAGE, code: 'alarm-test.usage' });
      io.exitCode = await runAlarmTest(flags, io, seams);
    });
}

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** What is wrong with a combination of flags, in one line. */
export function usageProblem(flags: AlarmTestFlags): string | undefined {
  const needFire = [
    flags.alarm ? '--alarm' : undefined,
    flags.force ? '--force' : undefined,
    flags.dryRun ? '--dry-run' : undefined,
  ].filter((f) => f !== undefined);
  if (!flags.fire && needFire.length > 0)
    return `${needFire.join(', ')} only appl${needFire.length > 1 ? 'y' : 'ies'} with --fire`;
  if (flags.stack.trim() === '') return '--stack needs a stack name';
  return undefined;
}

/** Runs the command with parsed, valid flags and returns its exit code. */
async function runAlarmTest(flags: AlarmTestFlags, io: AlarmTestIo, seams: AlarmTestSeams): Promise<number> {
  const clients = (seams.createClients ?? createAlarmTestClients)(flags.region);
  try {
    const inventoried = await inventory(clients, flags.stack);
    const chosen = flags.fire ? selectAlarms(inventoried, flags.alarm ?? []) : [];
    const checks = await findings(clients, inventoried);
    const base = baseReport(inventoried, checks);
    const report = flags.fire ? await withFire(clients, base, inventoried, chosen, flags, io, seams) : base;
    io.out.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (report.refused) {
      io.err.write(`prod-baseline alarm-test: ${report.refused}\n`);
      return ExitCode.AWS_ERROR;
    }
    return report.findings.length > 0 ? ExitCode.FINDINGS : ExitCode.OK;
  } catch (error) {
    const { code, message } = classifyError(error);
    io.err.write(`prod-baseline alarm-test: ${message}\n`);
    return code;
  } finally {
    if (!seams.createClients) destroyAlarmTestClients(clients);
  }
}

function baseReport(inventoried: StackInventory, checks: CheckResult): AlarmTestReport {
  const routing = new Map(checks.verdicts.map((v) => [v.alarm, v.routing]));
  return {
    stackName: inventoried.stackName,
    stackStatus: inventoried.stackStatus,
    alarms: inventoried.alarms.map((a) => ({ ...a, routing: routing.get(a.name) ?? { kind: 'direct' } })),
    missing: inventoried.missing,
    topics: checks.topics,
    findings: checks.findings,
  };
}

async function withFire(
  clients: AlarmTestClients,
  base: AlarmTestReport,
  inventoried: StackInventory,
  chosen: readonly StackAlarm[],
  flags: AlarmTestFlags,
  io: AlarmTestIo,
  seams: AlarmTestSeams,
): Promise<AlarmTestReport> {
  const now = seams.now ?? (() => new Date());
  if (flags.dryRun) {
    const deployments = await deploymentsInProgress(clients, inventoried);
    return { ...base, plan: { calls: planFire(chosen, now(), seams.holdSeconds), deploymentsInProgress: deployments } };
  }
  try {
    const fired = await fire(clients, chosen, {
      stack: inventoried,
      force: flags.force,
      now,
      sleep: seams.sleep,
      holdSeconds: seams.holdSeconds,
      historyWaitSeconds: seams.historyWaitSeconds,
      onProgress: (event) => io.err.write(formatProgress(event)),
    });
    return { ...base, fire: fired, findings: [...base.findings, ...fired.findings] };
  } catch (error) {
    if (error instanceof DeploymentInProgressError) return { ...base, refused: error.message };
    throw error;
  }
}

function classifyError(error: unknown): { code: number; message: string } {
  if (error instanceof AlarmTestUsageError) return { code: ExitCode.USAGE, message: error.message };
  if (error instanceof Error) {
    const prefix = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return { code: ExitCode.AWS_ERROR, message: `${prefix}${firstLine(error.message)}` };
  }
  return { code: ExitCode.AWS_ERROR, message: String(error) };
}

// ---------------------------------------------------------------------------------------------
// Output

/** One progress line for stderr: `[  12s] history: 1 of 2 expected action(s) …`. */
export function formatProgress(event: FireProgressEvent): string {
  return `[${String(event.elapsedSeconds).padStart(4)}s] ${event.phase}: ${event.detail}\n`;
}

/** `arn:aws:sns:r:a:alerts` → `sns:alerts`, `arn:aws:lambda:r:a:function:f` → `lambda:f`; others as they are. */
export function shortAction(arn: string): string {
  const sns = /^arn:[^:]+:sns:[^:]*:[^:]*:(.+)$/.exec(arn);
  if (sns) return `sns:${sns[1]}`;
  const lambda = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:(.+)$/.exec(arn);
  return lambda ? `lambda:${lambda[1]}` : arn;
}

function formatActions(alarm: StackAlarm): string {
  const parts = [
    ['alarm', alarm.actions.alarm],
    ['ok', alarm.actions.ok],
    ['insufficient', alarm.actions.insufficientData],
  ] as const;
  const text = parts
    .filter(([, arns]) => arns.length > 0)
    .map(([state, arns]) => `${state}: ${arns.map(shortAction).join(', ')}`)
    .join('; ');
  if (!text) return '-';
  return alarm.actionsEnabled ? text : `${text} (disabled)`;
}

function formatRouting(routing: Routing): string {
  if (routing.kind === 'direct') return 'notifies';
  if (routing.kind === 'via') return `routed via ${routing.via.join(' -> ')}`;
  return 'NO ACTION';
}

/** Rows as columns two spaces apart, each padded to its widest cell; trailing spaces trimmed. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

function topicRow(topic: TopicCheck): string[] {
  if (!topic.exists) return [shortAction(topic.topicArn), 'DOES NOT EXIST', '-'];
  const subscriptions = `${topic.confirmed} confirmed, ${topic.pending.length} pending`;
  const verdict = { yes: 'CloudWatch allowed', no: 'CloudWatch NOT allowed', unknown: 'policy unreadable' };
  const key = topic.keyId ? `${topic.keyId} (${verdict[topic.cloudWatchMayUseKey ?? 'unknown']})` : 'none';
  return [shortAction(topic.topicArn), subscriptions, key];
}

function formatFire(fired: FireReport): string[] {
  const rows = fired.alarms.map((a) => {
    const actions =
      a.note ??
      (a.actions.length === 0
        ? 'no actions'
        : a.actions
            .map(
              (o) =>
                `${shortAction(o.action)} ${o.outcome === 'succeeded' ? 'succeeded' : o.outcome === 'failed' ? 'FAILED' : 'NOT SEEN'}`,
            )
            .join(', '));
    return [a.alarm, a.role, actions];
  });
  return [
    `fired at ${fired.startedAt}, ${fired.durationSeconds}s:`,
    ...(fired.forcedPast.length > 0 ? [`  --force: fired despite ${fired.forcedPast.join('; ')}`] : []),
    ...(rows.length > 0
      ? table([['ALARM', 'ROLE', 'ACTIONS'], ...rows]).map((l) => `  ${l}`)
      : ['  no alarms to fire']),
  ];
}

function formatPlan(plan: NonNullable<AlarmTestReport['plan']>): string[] {
  return [
    'dry run: --fire would make these calls (nothing was changed):',
    ...plan.calls.map((c, i) => `  ${i + 1}. ${c}`),
    ...plan.deploymentsInProgress.map((d) => `  REFUSES without --force: ${d}`),
  ];
}

/** The report in words, for a terminal. */
export function formatReport(report: AlarmTestReport): string {
  const alarmRows = report.alarms.map((a) => [a.name, a.kind, a.state, formatActions(a), formatRouting(a.routing)]);
  const lines = [
    `alarm-test of stack "${report.stackName}" (${report.stackStatus}): ${report.alarms.length} alarm(s), ${report.topics.length} topic(s)`,
    '',
    ...(alarmRows.length > 0
      ? table([['ALARM', 'TYPE', 'STATE', 'ACTIONS', 'ROUTING'], ...alarmRows])
      : ['the stack has no alarms']),
    ...(report.topics.length > 0
      ? ['', ...table([['TOPIC', 'SUBSCRIPTIONS', 'KEY'], ...report.topics.map(topicRow)])]
      : []),
    ...(report.plan ? ['', ...formatPlan(report.plan)] : []),
    ...(report.fire ? ['', ...formatFire(report.fire)] : []),
    '',
    ...(report.findings.length > 0
      ? [`findings (${report.findings.length}):`, ...report.findings.map((f) => `  - ${f.message}`)]
      : ['findings: none']),
    ...(report.refused ? [`refused: ${report.refused}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
