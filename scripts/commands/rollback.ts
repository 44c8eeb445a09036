// `prod-baseline rollback`: parses the flags, asks for a confirmation on a terminal, prints progress on
// stderr and the report on stdout. The planning and the rollback itself are in ../lib/rollback.ts.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ExitCode, type Output } from '../cli';
import { firstLine } from '../lib/alarm-test';
import { ManifestError } from '../lib/manifest';
import {
  executeRollback,
  formatSeconds,
  MUTATING_ACTIONS,
  planRollback,
  type RollbackOutcome,
  type RollbackPlan,
  type RollbackProgressEvent,
  type RollbackReport,
} from '../lib/rollback';
import {
  createDeployClients,
  type DeployClients,
  DeployUsageError,
  destroyDeployClients,
  type TrafficState,
  targetLabel,
} from '../lib/status';

/** Where the command writes and leaves its exit code; `main`'s CommandContext fits. */
export interface RollbackIo {
  readonly out: Output;
  readonly err: Output;
  /** The code `main` returns; the action sets it. */
  exitCode: number;
}

/** Test-only replacements for what the command reaches outside the process. No flag sets them. */
export interface RollbackSeams {
  /** Builds the AWS clients (moto-backed or mocked). @default - real clients with bounded retries */
  readonly createClients?: (region: string | undefined) => DeployClients;
  /** @default - () => new Date() */
  readonly now?: () => Date;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Whether stdin is a terminal a person can answer on. @default - process.stdin.isTTY */
  readonly isInteractive?: () => boolean;
  /** Reads one line of the answer; undefined at end of input. @default - one line of process.stdin */
  readonly readLine?: () => Promise<string | undefined>;
  /** @default 900 */
  readonly timeoutSeconds?: number;
  /** @default 5 */
  readonly pollSeconds?: number;
  /** @default 180 */
  readonly healthGraceSeconds?: number;
}

/** The flags of `rollback`, as commander parses them. */
export interface RollbackFlags {
  readonly stack: string;
  readonly service?: string;
  readonly to?: string;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly region?: string;
}

const EXAMPLES = `
Examples:
  $ prod-baseline rollback --stack Shop
      show what it would do, ask, then put production traffic back on the previous version
  $ prod-baseline rollback --stack Shop --dry-run
      print the exact calls a rollback would make, changing nothing
  $ prod-baseline rollback --stack Shop --service Api --to shop-api:41 --yes
      redeploy task definition shop-api:41 without asking (for scripts; required when stdin is not a terminal)
  $ prod-baseline rollback --stack Shop --service Worker --to 7 --yes --json
      point a blue/green function's alias at version 7; print the report as JSON

What it does, read live (the listener weights and target health, never the template):
  ECS service, deployment PENDING or IN_PROGRESS (baking included): StopServiceDeployment with stop
    type ROLLBACK; production traffic moves back to the old target group (seconds).
  ECS service, no deployment in progress: UpdateService with the task definition of the previous
    completed revision (or --to), a new blue/green deployment; done once production traffic has
    shifted and the targets are healthy (minutes), without waiting for its bake.
  Lambda alias, CodeDeploy deployment in progress: StopDeployment with auto-rollback.
  Lambda alias, none in progress: UpdateAlias back to the previous version (or --to), no routing.
It is safe to run twice: a rollback in progress is followed, a finished one is reported. It prints
the migration snapshot taken before the deployment it rolls back, when there is one. A rollback
cannot undo data changes: restore from that snapshot if a migration must be undone.
Afterwards the next \`cdk deploy\` deploys whatever the code says: revert the code too.

Progress goes to stderr, the report to stdout.

Exit codes: 0 rolled back (or already rolled back), traffic on the old version and healthy;
1 refused (nothing to roll back to), not confirmed, or unhealthy after the rollback; 2 usage error
(bad flags, no --yes without a terminal, unknown --service or --to); 3 AWS error or timeout.`;

/**
 * Registers `rollback` on the program; its action leaves the exit code in `io.exitCode`. `seams` is for
 * tests only.
 */
export function registerRollback(program: Command, io: RollbackIo, seams: RollbackSeams = {}): void {
  program
    .command('rollback')
    .description(
      'Put production traffic back on the last known-good version of a blue/green service or function: stop ' +
        'the deployment in progress with a rollback, or redeploy the previous revision; wait until traffic is ' +
        'on it and healthy, and print how long it took.',
    )
    .requiredOption('--stack <name>', 'the stack whose manifest names the service')
    .option(
      '--service <id>',
      'the service or function (construct path, service or function name), when the stack has several',
    )
    .option(
      '--to <revision>',
      'go back to this task definition (family:revision, or a revision number) or Lambda version',
    )
    .option('--dry-run', 'print the calls a rollback would make, changing nothing')
    .option('--yes', 'do not ask for a confirmation (required when stdin is not a terminal)')
    .option('--json', 'print the report as JSON')
    .option('--region <region>', 'the AWS region (default: from the environment or profile)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: RollbackFlags, command: Command) => {
      const problem = usageProblem(flags, (seams.isInteractive ?? (() => process.stdin.isTTY === true))());
      if (problem) command.error(`error: ${problem}`, { exitCode: ExitCode.USAGE, code: 'rollback.usage' });
      io.exitCode = await runRollback(flags, io, seams);
    });
}

/** What is wrong with a combination of flags, in one line. */
export function usageProblem(flags: RollbackFlags, interactive: boolean): string | undefined {
  if (flags.stack.trim() === '') return '--stack needs a stack name';
  if (flags.to !== undefined && flags.to.trim() === '') return '--to needs a task definition revision or a version';
  if (!flags.dryRun && !flags.yes && !interactive) {
    return 'stdin is not a terminal, so rollback cannot ask for a confirmation: pass --yes (or --dry-run to see what it would do)';
  }
  return undefined;
}

/** The exit code of a rollback's outcome. */
export function exitCodeOf(outcome: RollbackOutcome): number {
  if (outcome === 'rolled-back' || outcome === 'already-rolled-back') return ExitCode.OK;
  if (outcome === 'timeout') return ExitCode.AWS_ERROR;
  return ExitCode.FINDINGS;
}

async function runRollback(flags: RollbackFlags, io: RollbackIo, seams: RollbackSeams): Promise<number> {
  const clients = (seams.createClients ?? createDeployClients)(flags.region);
  const options = {
    service: flags.service,
    to: flags.to?.trim(),
    now: seams.now,
    sleep: seams.sleep,
    timeoutSeconds: seams.timeoutSeconds,
    pollSeconds: seams.pollSeconds,
    healthGraceSeconds: seams.healthGraceSeconds,
    onProgress: (event: RollbackProgressEvent) => io.err.write(formatProgress(event)),
  };
  try {
    const plan = await planRollback(clients, flags.stack, options);
    if (flags.dryRun) {
      io.out.write(flags.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
      return plan.action === 'refuse' ? ExitCode.FINDINGS : ExitCode.OK;
    }
    if (MUTATING_ACTIONS.includes(plan.action) && !flags.yes) {
      io.err.write(formatPlan(plan));
      io.err.write(`Roll back ${targetLabel(plan.target)} from ${plan.from ?? '?'} to ${plan.to ?? '?'}? [y/N] `);
      const answer = await (seams.readLine ?? readLineFromStdin)();
      if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) {
        io.err.write('prod-baseline rollback: not confirmed; nothing was changed\n');
        return ExitCode.FINDINGS;
      }
    }
    const report = await executeRollback(clients, plan, options);
    io.out.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    const code = exitCodeOf(report.outcome);
    if (code !== ExitCode.OK) io.err.write(`prod-baseline rollback: ${report.summary}\n`);
    return code;
  } catch (error) {
    const { code, message } = classifyError(error);
    io.err.write(`prod-baseline rollback: ${message}\n`);
    return code;
  } finally {
    if (!seams.createClients) destroyDeployClients(clients);
  }
}

/** Reads one line from process.stdin (the confirmation); undefined when stdin ends first. */
function readLineFromStdin(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/** Errors that a change of flags fixes exit 2; AWS errors and everything else exit 3. */
export function classifyError(error: unknown): { code: number; message: string } {
  if (error instanceof DeployUsageError || error instanceof ManifestError) {
    return { code: ExitCode.USAGE, message: error.message };
  }
  if (error instanceof Error) {
    const prefix = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return { code: ExitCode.AWS_ERROR, message: `${prefix}${firstLine(error.message)}` };
  }
  return { code: ExitCode.AWS_ERROR, message: String(error) };
}

// ---------------------------------------------------------------------------------------------
// Output

/** One progress line for stderr: `[  12s] traffic: shop-blue has 100% …`. */
export function formatProgress(event: RollbackProgressEvent): string {
  return `[${String(event.elapsedSeconds).padStart(4)}s] ${event.phase}: ${event.detail}\n`;
}

/** The production rule in one line: `shop-blue 100% (2 healthy), shop-green 0% (0 healthy)`. */
export function formatTraffic(traffic: TrafficState): string {
  return traffic.groups
    .map(
      (g) =>
        `${g.name} ${g.percent}% (${g.healthy} healthy${g.unhealthy > 0 ? `, ${g.unhealthy} UNHEALTHY` : ''}${g.arn === traffic.liveTargetGroupArn ? ', live' : ''})`,
    )
    .join(', ');
}

const ACTION_WORDS: Record<RollbackPlan['action'], string> = {
  'stop-deployment': 'stop the deployment in progress with a rollback',
  redeploy: 'redeploy the previous revision as a new blue/green deployment',
  'stop-codedeploy': 'stop the CodeDeploy deployment with auto-rollback',
  'point-alias': 'point the alias back at the previous version',
  follow: 'follow the rollback already in progress (no call)',
  none: 'nothing (already rolled back)',
  refuse: 'nothing: refused',
};

/** The plan in words: what `--dry-run` prints, and what the confirmation shows. */
export function formatPlan(plan: RollbackPlan): string {
  const row = (label: string, value: string) => `  ${label.padEnd(10)} ${value}`;
  const lines = [
    `rollback plan for ${targetLabel(plan.target)} of stack "${plan.stackName}": ${ACTION_WORDS[plan.action]}`,
    row('why', plan.reason),
    ...(plan.from || plan.to ? [row('versions', `${plan.from ?? '?'} -> ${plan.to ?? '?'}`)] : []),
    ...(plan.traffic ? [row('traffic', formatTraffic(plan.traffic))] : []),
    ...(plan.alias
      ? [
          row(
            'alias',
            plan.alias.weights.map((w) => `version ${w.version} ${Math.round(w.weight * 1000) / 10}%`).join(', '),
          ),
        ]
      : []),
    ...(plan.migrationSnapshot ? [row('snapshot', formatSnapshot(plan.migrationSnapshot))] : []),
    row('calls', plan.calls.length > 0 ? '' : 'none'),
    ...plan.calls.map((c, i) => `    ${i + 1}. ${c}`),
    ...(plan.waits.length > 0 ? [row('then', ''), ...plan.waits.map((w) => `    ${w}`)] : []),
    ...plan.notes.map((n) => row('note', n)),
  ];
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

function formatSnapshot(snapshot: NonNullable<RollbackPlan['migrationSnapshot']>): string {
  return `${snapshot.identifier} of ${snapshot.dbInstanceIdentifier} (${snapshot.status ?? 'unknown'}${snapshot.createdAt ? `, ${snapshot.createdAt}` : ''}): the restore point from before the deployment`;
}

const OUTCOME_WORDS: Record<RollbackOutcome, string> = {
  'rolled-back': 'ROLLED BACK',
  'already-rolled-back': 'ALREADY ROLLED BACK',
  refused: 'REFUSED',
  unhealthy: 'UNHEALTHY',
  timeout: 'TIMED OUT',
};

/** The report in words, for a terminal. */
export function formatReport(report: RollbackReport): string {
  const row = (label: string, value: string) => `  ${label.padEnd(10)} ${value}`;
  const lines = [
    `rollback of ${report.target.name} (${report.target.path}) in stack "${report.stackName}": ${OUTCOME_WORDS[report.outcome]}`,
    row('result', report.summary),
    ...(report.from || report.to ? [row('versions', `${report.from ?? '?'} -> ${report.to ?? '?'}`)] : []),
    row(
      'took',
      `${formatSeconds(report.totalSeconds)}${report.phases.length > 0 ? ` (${report.phases.map((p) => `${p.name} ${formatSeconds(p.seconds)}`).join(', ')})` : ''}`,
    ),
    ...(report.calls.length > 0 ? [row('calls', report.calls.join('; '))] : []),
    ...(report.deployment
      ? [
          row(
            'deployment',
            `${report.deployment.arn}${report.deployment.status ? ` (${report.deployment.status})` : ''}`,
          ),
        ]
      : []),
    ...(report.traffic ? [row('traffic', formatTraffic(report.traffic))] : []),
    ...(report.alias
      ? [
          row(
            'alias',
            report.alias.weights.map((w) => `version ${w.version} ${Math.round(w.weight * 1000) / 10}%`).join(', '),
          ),
        ]
      : []),
    ...(report.migrationSnapshot ? [row('snapshot', formatSnapshot(report.migrationSnapshot))] : []),
    ...report.warnings.map((w) => row('WARNING', w)),
    ...report.notes.map((n) => row('note', n)),
  ];
  return `${lines.join('\n')}\n`;
}
