// `prod-baseline status`: parses the flags and prints what a person looks at before deciding to roll
// back. The readings are in ../lib/status.ts.
import type { Command } from 'commander';
import { ExitCode, type Output } from '../cli';
import { formatSeconds } from '../lib/rollback';
import {
  createDeployClients,
  type DeployClients,
  destroyDeployClients,
  type FunctionStatus,
  type RevisionInfo,
  type ServiceStatus,
  type StatusReport,
  status,
  taskDefinitionName,
} from '../lib/status';
import { classifyError, formatTraffic } from './rollback';

/** Where the command writes and leaves its exit code; `main`'s CommandContext fits. */
export interface StatusIo {
  readonly out: Output;
  readonly err: Output;
  /** The code `main` returns; the action sets it. */
  exitCode: number;
}

/** Test-only replacements for what the command reaches outside the process. No flag sets them. */
export interface StatusSeams {
  /** Builds the AWS clients (moto-backed or mocked). @default - real clients with bounded retries */
  readonly createClients?: (region: string | undefined) => DeployClients;
  /** @default - () => new Date() */
  readonly now?: () => Date;
}

/** The flags of `status`, as commander parses them. */
export interface StatusFlags {
  readonly stack: string;
  readonly json?: boolean;
  readonly region?: string;
}

const EXAMPLES = `
Examples:
  $ prod-baseline status --stack Shop
      the live target group and weights, healthy targets, current and previous revisions, a
      deployment in progress with its phase and the time left in its bake, alarms in ALARM
  $ prod-baseline status --stack Shop --json
      the same as JSON

Everything is read live: the production listener rule's weights, DescribeTargetHealth, the ECS
service deployments and revisions, the Lambda alias and CodeDeploy, and the alarms the stack's
CloudFormation resources declare (nested stacks included). The time left in the bake is counted
from when the deployment entered BAKE_TIME (its last update): ECS does not report the bake start.

Exit codes: 0 healthy; 1 an alarm is in ALARM, or a live target group has no healthy target or an
unhealthy one; 2 usage error (bad flags, no manifest); 3 AWS error.`;

/**
 * Registers `status` on the program; its action leaves the exit code in `io.exitCode`. `seams` is for
 * tests only.
 */
export function registerStatus(program: Command, io: StatusIo, seams: StatusSeams = {}): void {
  program
    .command('status')
    .description(
      'Show the deployment state of a stack: where production traffic goes and how healthy it is, the current ' +
        'and previous revisions, a deployment in progress and its bake window, and the alarms in ALARM.',
    )
    .requiredOption('--stack <name>', 'the stack whose manifest names the services')
    .option('--json', 'print the report as JSON')
    .option('--region <region>', 'the AWS region (default: from the environment or profile)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: StatusFlags, command: Command) => {
      if (flags.stack.trim() === '') {
        command.error('error: --stack needs a stack name', { exitCode: ExitCode.USAGE, code: 'status.usage' });
      }
      io.exitCode = await runStatus(flags, io, seams);
    });
}

async function runStatus(flags: StatusFlags, io: StatusIo, seams: StatusSeams): Promise<number> {
  const clients = (seams.createClients ?? createDeployClients)(flags.region);
  try {
    const report = await status(clients, flags.stack, { now: seams.now });
    io.out.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return report.healthy ? ExitCode.OK : ExitCode.FINDINGS;
  } catch (error) {
    const { code, message } = classifyError(error);
    io.err.write(`prod-baseline status: ${message}\n`);
    return code;
  } finally {
    if (!seams.createClients) destroyDeployClients(clients);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function formatRevision(revision: RevisionInfo | undefined): string {
  if (!revision) return '-';
  const images = revision.images.map((i) => `${i.container}=${i.image}`).join(', ');
  return `${taskDefinitionName(revision.taskDefinition)}${images ? ` [${images}]` : ''}`;
}

function serviceLines(s: ServiceStatus): string[] {
  const row = (label: string, value: string) => `  ${label.padEnd(12)} ${value}`;
  const progress = s.inProgress;
  const bake =
    progress?.bakeSecondsLeft === undefined
      ? ''
      : progress.deployment.lifecycleStage === 'BAKE_TIME'
        ? `, ${formatSeconds(progress.bakeSecondsLeft)} left in the bake${progress.bakeEndsAt ? ` (ends about ${progress.bakeEndsAt})` : ''}`
        : progress.bakeSecondsLeft > 0
          ? `, then a ${formatSeconds(progress.bakeSecondsLeft)} bake`
          : '';
  return [
    `service ${s.serviceName} (${s.path}), cluster ${s.clusterName}: ${s.healthy === false ? 'UNHEALTHY' : s.healthy ? 'healthy' : 'no traffic layout'}`,
    row(
      'strategy',
      `${s.strategy ?? '-'}${s.bakeTimeMinutes !== undefined ? `, bake ${s.bakeTimeMinutes} min` : ''}; ${s.runningCount ?? '?'} of ${s.desiredCount ?? '?'} task(s) running`,
    ),
    row('traffic', s.traffic ? formatTraffic(s.traffic) : '-'),
    ...(s.traffic?.groups ?? [])
      .filter((g) => g.targets.length > 0)
      .map((g) =>
        row('', `${g.name}: ${g.targets.map((t) => `${t.id}${t.port ? `:${t.port}` : ''} ${t.state}`).join(', ')}`),
      ),
    row('current', formatRevision(s.current)),
    row('previous', formatRevision(s.previous)),
    row(
      'deployment',
      progress
        ? `${progress.deployment.id} ${progress.deployment.status}${progress.deployment.lifecycleStage ? ` in ${progress.deployment.lifecycleStage}` : ''} -> ${formatRevision(progress.target)}${bake}`
        : `none in progress${s.lastDeployment ? `; last ${s.lastDeployment.id} ${s.lastDeployment.status}${s.lastDeployment.finishedAt ? ` ${s.lastDeployment.finishedAt}` : ''}` : ''}`,
    ),
  ];
}

function functionLines(f: FunctionStatus): string[] {
  const row = (label: string, value: string) => `  ${label.padEnd(12)} ${value}`;
  const d = f.inProgress;
  return [
    `function ${f.alias.functionName}:${f.alias.aliasName} (${f.path})`,
    row('alias', f.alias.weights.map((w) => `version ${w.version} ${Math.round(w.weight * 1000) / 10}%`).join(', ')),
    row(
      'deployment',
      d
        ? `${d.deploymentId} ${d.status}${d.currentVersion || d.targetVersion ? ` (version ${d.currentVersion ?? '?'} -> ${d.targetVersion ?? '?'}${d.targetVersionWeight !== undefined ? `, ${d.targetVersionWeight}% shifted` : ''})` : ''}`
        : 'none in progress',
    ),
  ];
}

/** The report in words, for a terminal. */
export function formatStatus(report: StatusReport): string {
  const alarms = report.alarms;
  const lines = [
    `status of stack "${report.stackName}" at ${report.checkedAt}: ${report.healthy ? 'healthy' : 'UNHEALTHY'}`,
    ...report.services.flatMap((s) => ['', ...serviceLines(s)]),
    ...report.functions.flatMap((f) => ['', ...functionLines(f)]),
    ...(report.services.length + report.functions.length === 0
      ? ['', 'no blue/green service or function in the manifest']
      : []),
    '',
    alarms.inAlarm.length > 0
      ? `alarms in ALARM (${alarms.inAlarm.length} of ${alarms.total}): ${alarms.inAlarm.map((a) => a.name).join(', ')}`
      : `alarms in ALARM: none of ${alarms.total}`,
  ];
  return `${lines.join('\n')}\n`;
}
