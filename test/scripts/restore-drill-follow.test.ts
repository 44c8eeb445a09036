// `restore-drill --stack NAME`: starts the deployed drill and follows it. moto has no Step Functions
// executions or history, so the state machine is played by aws-sdk-client-mock, with the states and
// the state shapes of the RestoreDrill construct.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type HistoryEventType,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { type CommandSeams, ExitCode, main } from '../../scripts/cli';
import type { RestoreDrillClients } from '../../scripts/lib/restore-drill';

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:ShopRestoreDrill';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:ShopRestoreDrill';
const INSTANCE = 'drill-shop-db-m1abc2cli';
const SPEC_PARAMETER = '/prod-baseline/Shop/restore-drill/shop-db/spec';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);

/** Clients that could only ever reach the discard port of this machine; every call is mocked. */
function clients(): RestoreDrillClients {
  const config = {
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  return {
    rds: new RDSClient(config),
    cloudwatch: new CloudWatchClient(config),
    ssm: new SSMClient(config),
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
    sleep: async () => onSleep(),
  };
}

let onSleep: () => void;

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  ssm.reset();
  onSleep = () => {};
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Shop',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'ProdBaselineManifest', OutputValue: '/prod-baseline/Shop/manifest' }],
      },
    ],
  });
  ssm.on(GetParameterCommand, { Name: '/prod-baseline/Shop/manifest' }).resolves({
    Parameter: {
      Value: JSON.stringify({
        schema: 1,
        kitVersion: '0.1.0',
        stackName: 'Shop',
        entries: {
          'Database/Drill': {
            role: 'restore-drill',
            construct: 'RestoreDrill',
            attributes: {
              stateMachineArn: STATE_MACHINE,
              specParameterName: SPEC_PARAMETER,
              sourceInstanceIdentifier: 'shop-db',
            },
          },
        },
      }),
    },
  });
  ssm.on(GetParameterCommand, { Name: SPEC_PARAMETER }).resolves({
    Parameter: {
      Value: JSON.stringify({
        version: 1,
        sourceInstanceIdentifier: 'shop-db',
        instancePrefix: 'drill',
        subnetGroupName: 'drill-isolated',
        securityGroupIds: ['sg-1'],
        instanceClass: 'db.t4g.micro',
        databaseName: 'shop',
        checks: [],
        maxWaitSeconds: 7200,
        maxInstanceAgeSeconds: 21600,
        lastSuccessParameter: '/prod-baseline/Shop/restore-drill/shop-db/last-success',
        rpoTargetSeconds: 900,
        rtoTargetSeconds: 7200,
      }),
    },
  });
});

afterAll(() => {
  sfn.restore();
  cloudFormation.restore();
  ssm.restore();
});

// ---------------------------------------------------------------------------------------------
// A simulated execution

type StateKind = 'Task' | 'Wait' | 'Pass' | 'Choice' | 'Succeed' | 'Fail';

/** One state the execution goes through: entered at `at` seconds, adding `result` to the state. */
interface Visit {
  readonly name: string;
  readonly kind: StateKind;
  readonly at: number;
  readonly result?: Record<string, unknown>;
}

interface Execution {
  readonly events: HistoryEvent[];
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly stopDate: Date;
}

const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const RUN = {
  runId: 'm1abc2cli',
  startedAt: at(0).toISOString(),
  point: { kind: 'latest-restorable', time: at(-240).toISOString() },
  instanceIdentifier: INSTANCE,
  restoreStartedAt: at(1).toISOString(),
};

function verifyResult(passed: boolean) {
  const check = (name: string, ok: boolean, message: string) => ({
    name,
    kind: 'rowCount',
    passed: ok,
    message,
    durationMs: 3,
  });
  return {
    passed,
    checks: [
      check('tableExists(orders)', true, 'public.orders exists (table)'),
      check(
        'rowCount(orders) >= 1000',
        passed,
        passed ? 'public.orders has 1200 rows' : 'public.orders has 3 rows, expected at least 1000',
      ),
    ],
    checksFailed: passed ? 0 : 1,
    dataAgeSeconds: 95,
    newestRowTime: at(-335).toISOString(),
    durationMs: 5400,
  };
}

/** The states up to an available instance: Choose, Restore, two waits with backoff. */
const UNTIL_AVAILABLE: Visit[] = [
  { name: 'Choose', kind: 'Task', at: 0, result: { run: { ...RUN, restoreStartedAt: undefined } } },
  { name: 'Restore', kind: 'Task', at: 1, result: { run: RUN } },
  { name: 'FirstWait', kind: 'Pass', at: 2, result: { progress: { nextWaitSeconds: 60 } } },
  { name: 'WaitForRestore', kind: 'Wait', at: 2 },
  {
    name: 'CheckRestore',
    kind: 'Task',
    at: 62,
    result: {
      progress: { status: 'creating', available: false, nextWaitSeconds: 120, checkedAt: at(62).toISOString() },
    },
  },
  { name: 'Available?', kind: 'Choice', at: 63 },
  { name: 'WaitForRestore', kind: 'Wait', at: 63 },
  {
    name: 'CheckRestore',
    kind: 'Task',
    at: 183,
    result: {
      progress: { status: 'available', available: true, nextWaitSeconds: 240, checkedAt: at(183).toISOString() },
    },
  },
  { name: 'Available?', kind: 'Choice', at: 184 },
];

function afterVerify(passed: boolean): Visit[] {
  return [
    { name: 'Verify', kind: 'Task', at: 184, result: { verify: verifyResult(passed) } },
    {
      name: 'Publish',
      kind: 'Task',
      at: 190,
      result: {
        figures: {
          succeeded: passed,
          restoreSeconds: 182,
          verifySeconds: 5,
          restorePointLagSeconds: 240,
          dataAgeSeconds: 95,
          checksFailed: passed ? 0 : 1,
        },
      },
    },
    { name: 'Cleanup', kind: 'Task', at: 191, result: { cleanup: { outcome: 'deleted', passed } } },
    { name: 'KeptOrDeleting?', kind: 'Choice', at: 192 },
    { name: 'WaitForDeletion', kind: 'Wait', at: 192 },
    { name: 'CheckDeleted', kind: 'Task', at: 222, result: { gone: { gone: true } } },
    { name: 'Deleted?', kind: 'Choice', at: 223 },
    { name: 'Outcome', kind: 'Choice', at: 223 },
    passed ? { name: 'DrillPassed', kind: 'Succeed', at: 223 } : { name: 'DrillFailed', kind: 'Fail', at: 223 },
  ];
}

/** The history events of an execution through `visits`, as Step Functions writes them. */
function execution(visits: Visit[], end: Pick<Execution, 'status' | 'error' | 'cause'>, input: unknown): Execution {
  const events: HistoryEvent[] = [];
  const add = (type: string, seconds: number, details: Partial<HistoryEvent>) =>
    events.push({ id: events.length + 1, type: type as HistoryEventType, timestamp: at(seconds), ...details });
  let state: Record<string, unknown> = input as Record<string, unknown>;
  add('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify(input) } });
  for (const visit of visits) {
    add(`${visit.kind}StateEntered`, visit.at, {
      stateEnteredEventDetails: { name: visit.name, input: JSON.stringify(state) },
    });
    state = { ...state, ...visit.result };
    if (visit.kind === 'Fail') break;
    add(`${visit.kind}StateExited`, visit.at, {
      stateExitedEventDetails: { name: visit.name, output: JSON.stringify(state) },
    });
  }
  const last = visits.at(-1)?.at ?? 0;
  add(
    `Execution${end.status === 'SUCCEEDED' ? 'Succeeded' : end.status === 'FAILED' ? 'Failed' : 'TimedOut'}`,
    last,
    {},
  );
  return {
    ...end,
    events,
    output: end.status === 'SUCCEEDED' ? JSON.stringify(state) : undefined,
    stopDate: at(last),
  };
}

/**
 * Plays the execution: each DescribeExecution reveals a few more events; GetExecutionHistory pages
 * them (4 per page, either order), so the follower has to paginate and remember what it has seen.
 */
function play(run: Execution, options: { alreadyRunning?: boolean; eventsPerPoll?: number } = {}): void {
  let revealed = 0;
  let name = 'running-drill';
  sfn.on(ListExecutionsCommand).resolves({
    executions: options.alreadyRunning
      ? [
          {
            executionArn: `${EXECUTION}:${name}`,
            stateMachineArn: STATE_MACHINE,
            name,
            status: 'RUNNING',
            startDate: T0,
          },
        ]
      : [],
  });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
    name = input.name;
    return { executionArn: `${EXECUTION}:${name}`, startDate: T0 };
  });
  sfn.on(DescribeExecutionCommand).callsFake(() => {
    revealed = Math.min(run.events.length, revealed + (options.eventsPerPoll ?? 5));
    const done = revealed === run.events.length;
    return {
      executionArn: `${EXECUTION}:${name}`,
      stateMachineArn: STATE_MACHINE,
      name,
      startDate: T0,
      status: done ? run.status : 'RUNNING',
      ...(done ? { stopDate: run.stopDate, output: run.output, error: run.error, cause: run.cause } : {}),
    };
  });
  sfn
    .on(GetExecutionHistoryCommand)
    .callsFake((input: { reverseOrder?: boolean; nextToken?: string; maxResults?: number }) => {
      const visible = run.events.slice(0, revealed);
      const ordered = input.reverseOrder ? [...visible].reverse() : visible;
      const start = Number(input.nextToken ?? 0);
      const size = Math.min(input.maxResults ?? 100, 4);
      const end = start + size;
      return { events: ordered.slice(start, end), nextToken: end < ordered.length ? String(end) : undefined };
    });
}

async function run(argv: string[], seams: CommandSeams['restoreDrill'] = {}) {
  let out = '';
  let err = '';
  const code = await main(
    ['restore-drill', '--stack', 'Shop', ...argv],
    { write: (s: string) => (out += s) },
    { write: (s: string) => (err += s) },
    { restoreDrill: { createClients: clients, ...seams } },
  );
  return { code, out, err };
}

const progress = (err: string) => err.split('\n').filter((l) => /^\[\s*\d+s\] /.test(l));
const messages = (err: string) => err.split('\n').filter((l) => l !== '' && !/^\[\s*\d+s\] /.test(l));

// ---------------------------------------------------------------------------------------------

describe('restore-drill --stack (the deployed drill)', () => {
  test('starts the execution and prints each state it enters with its elapsed time, until it passes', async () => {
    play(execution([...UNTIL_AVAILABLE, ...afterVerify(true)], { status: 'SUCCEEDED' }, { request: {} }));
    const { code, out, err } = await run(['--json']);

    expect({ code, messages: messages(err) }).toEqual({ code: ExitCode.OK, messages: [] });
    const [start] = sfn.commandCalls(StartExecutionCommand);
    expect(start.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE,
      name: expect.stringMatching(/^[0-9a-z]{8,}-cli$/),
      input: '{"request":{}}',
    });
    const name = start.args[0].input.name;
    expect(progress(err)).toEqual([
      `[   0s] follow: started execution ${name}`,
      '[   0s] choose: choosing the restore point',
      `[   1s] restore: restoring ${RUN.point.time} into a new drill instance`,
      `[   2s] restore: waiting for ${INSTANCE} (creating), next check in 60s`,
      `[  62s] restore: checking ${INSTANCE}`,
      `[  63s] restore: waiting for ${INSTANCE} (creating), next check in 120s`,
      `[ 183s] restore: checking ${INSTANCE}`,
      `[ 184s] verify: setting a new master password on ${INSTANCE}, then running the checks over TLS`,
      '[ 190s] publish: publishing the figures',
      `[ 191s] cleanup: deleting ${INSTANCE}`,
      `[ 192s] cleanup: waiting for ${INSTANCE} to be deleted`,
      `[ 222s] cleanup: checking that ${INSTANCE} is gone`,
    ]);

    const report = JSON.parse(out);
    expect(report).toMatchObject({
      mode: 'deployed',
      sourceInstanceIdentifier: 'shop-db',
      executionArn: `${EXECUTION}:${name}`,
      runId: RUN.runId,
      outcome: 'passed',
      passed: true,
      durationSeconds: 223,
      restorePoint: RUN.point,
      rpo: { restorePointLagSeconds: 240, dataAgeSeconds: 95 },
      rto: { restoreSeconds: 182 },
      verifySeconds: 5,
      checksFailed: 0,
      instance: { identifier: INSTANCE, kept: false, cleanup: 'deleted' },
    });
    expect(report.phases.map((p: { name: string; durationSeconds: number }) => [p.name, p.durationSeconds])).toEqual([
      ['choose', 1],
      ['restore', 183],
      ['verify', 6],
      ['publish', 1],
      ['cleanup', 32],
    ]);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
      'tableExists(orders)',
      'rowCount(orders) >= 1000',
    ]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThan(
      sfn.commandCalls(DescribeExecutionCommand).length,
    );
  });

  test('passes the restore time and the keep-until time in the execution input', async () => {
    play(execution([...UNTIL_AVAILABLE, ...afterVerify(true)], { status: 'SUCCEEDED' }, { request: {} }));
    const before = Date.now();
    await run(['--restore-time', '2026-01-31T12:00:00Z', '--keep']);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input ?? '');
    expect(input.request.restoreTime).toBe('2026-01-31T12:00:00Z');
    expect(new Date(input.request.keepUntil).getTime() - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
    expect(new Date(input.request.keepUntil).getTime() - before).toBeLessThan(24 * 3600_000 + 60_000);
  });

  test('prints a human report by default', async () => {
    play(execution([...UNTIL_AVAILABLE, ...afterVerify(true)], { status: 'SUCCEEDED' }, { request: {} }), {
      eventsPerPoll: 50,
    });
    const { code, out } = await run([]);
    expect(code).toBe(ExitCode.OK);
    expect(out).toMatch(/^restore drill of shop-db: PASSED$/m);
    expect(out).toMatch(/^ {2}RPO {13}restore point lag 4m 00s; data age 1m 35s$/m);
    expect(out).toMatch(/^ {2}RTO {13}restore 3m 02s$/m);
    expect(out).toMatch(/^ {2}phases {10}choose 1s, restore 3m 03s, verify 6s, publish 1s, cleanup 32s$/m);
  });

  test('fails with exit code 1 when the checks fail, naming the failed check', async () => {
    play(
      execution(
        [...UNTIL_AVAILABLE, ...afterVerify(false)],
        {
          status: 'FAILED',
          error: 'DrillFailed',
          cause: 'The restore or the checks failed; see the Verify output or the error of the failed state.',
        },
        { request: {} },
      ),
    );
    const { code, out, err } = await run(['--json']);
    expect(code).toBe(ExitCode.FINDINGS);
    expect(messages(err)).toEqual([
      'prod-baseline restore-drill: 1 of 2 check(s) failed on a restore of shop-db: rowCount(orders) >= 1000 (public.orders has 3 rows, expected at least 1000)',
    ]);
    expect(progress(err).at(-1)).toBe(`[ 222s] cleanup: checking that ${INSTANCE} is gone`);
    expect(JSON.parse(out)).toMatchObject({
      outcome: 'checks-failed',
      passed: false,
      checksFailed: 1,
      instance: { cleanup: 'deleted' },
    });
  });

  /** An execution whose Restore step fails with `error`, then cleans up after the error. */
  function failedRestore(error: string, message: string): Execution {
    const cause = JSON.stringify({ errorType: error, errorMessage: message, trace: ['DrillError: ...', '    at x'] });
    return execution(
      [
        UNTIL_AVAILABLE[0],
        { name: 'Restore', kind: 'Task', at: 1, result: { error: { Error: error, Cause: cause } } },
        { name: 'CleanupAfterError', kind: 'Task', at: 2, result: { cleanup: { outcome: 'gone', passed: false } } },
        { name: 'KeptOrDeleting?', kind: 'Choice', at: 3 },
        { name: 'Outcome', kind: 'Choice', at: 3 },
        { name: 'DrillFailed', kind: 'Fail', at: 3 },
      ],
      { status: 'FAILED', error: 'DrillFailed', cause: 'The restore or the checks failed.' },
      { request: {} },
    );
  }

  test.each([
    ['DrillError', ExitCode.AWS_ERROR],
    ['DrillError.locked', ExitCode.AWS_ERROR],
    ['DrillError.no-backups', ExitCode.FINDINGS],
    ['DrillError.bad-restore-time', ExitCode.USAGE],
  ])('fails with one line, the step error, when a step fails with %s', async (error, exitCode) => {
    const message = 'a drill of shop-db is already running: instance drill-shop-db-old (available)';
    play(failedRestore(error, message));
    const { code, err } = await run([]);
    expect(code).toBe(exitCode);
    expect(messages(err)).toEqual([`prod-baseline restore-drill: ${message}`]);
    expect(progress(err).at(-1)).toBe(`[   2s] cleanup: the drill failed (${message}); cleaning up`);
    expect(err).not.toMatch(/\n\s+at /);
  });

  test('fails with exit code 3 when the execution times out', async () => {
    play(execution(UNTIL_AVAILABLE.slice(0, 4), { status: 'TIMED_OUT' }, { request: {} }));
    const { code, err } = await run([]);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(messages(err)).toEqual([
      expect.stringMatching(/^prod-baseline restore-drill: the drill execution \S+ timed out$/),
    ]);
  });

  test('fails with exit code 3 and one line when Step Functions refuses the start', async () => {
    play(execution(UNTIL_AVAILABLE, { status: 'SUCCEEDED' }, { request: {} }));
    const denied = Object.assign(new Error('User is not authorized to perform: states:StartExecution'), {
      name: 'AccessDeniedException',
    });
    sfn.on(StartExecutionCommand).rejects(denied);
    const { code, out, err } = await run([]);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(out).toBe('');
    expect(messages(err)).toEqual([
      'prod-baseline restore-drill: AccessDeniedException: User is not authorized to perform: states:StartExecution',
    ]);
  });

  test('follows a drill that is already running instead of starting another (safe to re-run)', async () => {
    play(execution([...UNTIL_AVAILABLE, ...afterVerify(true)], { status: 'SUCCEEDED' }, { request: {} }), {
      alreadyRunning: true,
    });
    const { code, err } = await run([]);
    expect(code).toBe(ExitCode.OK);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(progress(err)[0]).toMatch(
      /^\[\s+\d+s\] follow: a drill is already running \(running-drill, started \S+\); following it instead of starting another$/,
    );
  });

  test('Ctrl-C stops following with exit code 130; the execution goes on', async () => {
    play(execution([...UNTIL_AVAILABLE, ...afterVerify(true)], { status: 'SUCCEEDED' }, { request: {} }));
    let interrupt = () => {};
    onSleep = () => interrupt();
    const { code, err } = await run([], {
      onInterrupt: (listener) => {
        interrupt = listener;
        return () => {};
      },
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(err).toContain('interrupted: no longer following; the drill goes on in Step Functions');
    expect(messages(err).at(-1)).toMatch(
      /^prod-baseline restore-drill: interrupted \(Ctrl-C\); the drill goes on in Step Functions: arn:aws:states:/,
    );
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  test('--dry-run prints the execution it would start, and starts nothing', async () => {
    play(execution(UNTIL_AVAILABLE, { status: 'SUCCEEDED' }, { request: {} }));
    const { code, out } = await run(['--dry-run', '--keep-hours', '3', '--json']);
    expect(code).toBe(ExitCode.OK);
    const plan = JSON.parse(out);
    expect(plan).toMatchObject({
      mode: 'deployed',
      stateMachineArn: STATE_MACHINE,
      executionName: expect.stringMatching(/-cli$/),
      executionInput: { request: { keepUntil: expect.any(String) } },
      instanceIdentifierPattern: 'drill-shop-db-<run>',
      restorePoint: { kind: 'latest-restorable' },
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  test('fails with exit code 2 when the stack has no restore drill', async () => {
    ssm.on(GetParameterCommand, { Name: '/prod-baseline/Shop/manifest' }).resolves({
      Parameter: { Value: JSON.stringify({ schema: 1, kitVersion: '0.1.0', stackName: 'Shop', entries: {} }) },
    });
    const { code, err } = await run([]);
    expect(code).toBe(ExitCode.USAGE);
    expect(messages(err)).toEqual([
      'prod-baseline restore-drill: stack "Shop" has no restore drill (no manifest entry with role restore-drill)',
    ]);
  });
});
