#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { KIT_VERSION } from '../constructs/core/version';
import { type AlarmTestSeams, registerAlarmTest } from './commands/alarm-test';
import { type RestoreDrillSeams, registerRestoreDrill } from './commands/restore-drill';
import { type RollbackSeams, registerRollback } from './commands/rollback';
import { registerStatus, type StatusSeams } from './commands/status';

/** Exit codes every prod-baseline command shares. */
export const ExitCode = {
  /** Everything passed. */
  OK: 0,
  /** The command ran and found problems (failed checks, findings). */
  FINDINGS: 1,
  /** Bad usage or config: nothing was done. */
  USAGE: 2,
  /** AWS answered with an error, or a wait timed out. */
  AWS_ERROR: 3,
  /** Interrupted with Ctrl-C (128 + SIGINT), after cleaning up. */
  INTERRUPTED: 130,
} as const;

/**
 * Test-only replacements for what commands reach outside the process (AWS clients, the database
 * endpoint, signals). Not user-facing: no flag sets them; only tests pass them to {@link main}.
 */
export interface CommandSeams {
  readonly restoreDrill?: RestoreDrillSeams;
  readonly alarmTest?: AlarmTestSeams;
  readonly rollback?: RollbackSeams;
  readonly status?: StatusSeams;
}

/** What a subcommand gets from {@link main}: where to write, and where to leave its exit code. */
export interface CommandContext {
  readonly out: Output;
  readonly err: Output;
  /** The code `main` returns; a subcommand's action sets it. */
  exitCode: number;
  readonly seams: CommandSeams;
}

/** The `prod-baseline` command and its subcommands, writing where `context` says. */
export function buildProgram(
  context: CommandContext = { out: process.stdout, err: process.stderr, exitCode: 0, seams: {} },
): Command {
  const program = new Command('prod-baseline')
    .description(
      'Operational commands of the prod-baseline kit. Each one finds the resources it acts on through ' +
        'the manifest that the baseline stack writes (stack output ProdBaselineManifest).',
    )
    .version(KIT_VERSION, '-v, --version', 'print the kit version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run "prod-baseline --help" for the commands)')
    .addHelpText(
      'after',
      [
        '',
        'Exit codes: 0 ok, 1 findings (failed checks), 2 usage or config error, 3 AWS error or timeout.',
        'Docs: the README of the prod-baseline package.',
      ].join('\n'),
    )
    // Before the subcommands: they inherit these settings when they are added.
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.out.write(s), writeErr: (s) => context.err.write(s) });
  registerRestoreDrill(program, context);
  registerAlarmTest(program, context, context.seams.alarmTest);
  registerRollback(program, context, context.seams.rollback);
  registerStatus(program, context, context.seams.status);
  return program;
}

/** Where a command writes: process.stdout/stderr, or a buffer in tests. */
export interface Output {
  write(text: string): unknown;
}

/**
 * Runs the command line; returns the exit code instead of exiting, so tests can call it. `seams` is
 * for tests only.
 */
export async function main(
  argv: readonly string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
  seams: CommandSeams = {},
): Promise<number> {
  const context: CommandContext = { out, err, exitCode: ExitCode.OK, seams };
  const program = buildProgram(context);
  if (argv.length === 0) {
    out.write(program.helpInformation());
    return ExitCode.OK;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    err.write(`prod-baseline: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.AWS_ERROR;
  }
}

if (require.main === module) {
  // A closed pipe (`prod-baseline --help | head`) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
