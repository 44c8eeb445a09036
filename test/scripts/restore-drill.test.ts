// `restore-drill --local` end to end: RDS, CloudWatch, SSM and CloudFormation in moto_server, the
// restored database played by a local TLS PostgreSQL (moto's host names do not resolve), reached
// through the command's test-only seams.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DRILL_TAGS, type DrillSpec } from '../../constructs/restore-drill/drill-spec';
import { type CommandSeams, ExitCode, main } from '../../scripts/cli';
import { type DrillProgressEvent, type RestoreDrillClients, runLocalDrill } from '../../scripts/lib/restore-drill';
import { type Moto, startMoto } from '../moto';
import { startPostgres, type TestPostgres } from '../postgres';

const SOURCE = 'shop-db';
const SUBNET_GROUP = 'drill-isolated';
const LAST_SUCCESS = '/prod-baseline/Shop/restore-drill/shop-db/last-success';
/** The newest order is this old when the drill starts (plus the seconds the suite has run). */
const NEWEST_ROW_AGE_SECONDS = 600;

let moto: Moto;
let pg: TestPostgres;
let dir: string;
let securityGroupId: string;
let newestRow: Date;
/** Every AWS operation the command's clients made in the current test. */
let calls: string[];

beforeAll(async () => {
  [moto, pg] = await Promise.all([startMoto(), startPostgres()]);
  dir = mkdtempSync(join(tmpdir(), 'pb-drill-'));
  newestRow = new Date(Date.now() - NEWEST_ROW_AGE_SECONDS * 1000);
  await pg.query('create table public.orders (id int primary key, placed_at timestamptz not null)');
  await pg.query(
    `insert into public.orders values (1, $1::timestamptz - interval '2 hours'), (2, $1::timestamptz - interval '1 hour'), (3, $1)`,
    [newestRow.toISOString()],
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), pg?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  calls = [];
  await moto.reset();
  securityGroupId = await createDrillNetwork();
  await rds().send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: SOURCE,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20,
      MasterUsername: pg.user,
      MasterUserPassword: 'source-password-1',
      DBName: pg.database,
      BackupRetentionPeriod: 7,
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// Helpers

function rds(): RDSClient {
  return new RDSClient(moto.clientConfig);
}

/** One EC2 query call to moto (the suite has no EC2 client); returns the first `<tag>` of the answer. */
async function ec2(params: Record<string, string>, tag: string): Promise<string> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }),
  });
  const match = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(await response.text());
  if (!match) throw new Error(`moto EC2 ${params.Action} returned no ${tag}`);
  return match[1];
}

/** The drill's isolated subnets and security group: a restore into a missing subnet group fails in moto. */
async function createDrillNetwork(): Promise<string> {
  const vpc = await ec2({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' }, 'vpcId');
  const subnets = await Promise.all(
    ['a', 'b'].map((az, i) =>
      ec2(
        { Action: 'CreateSubnet', VpcId: vpc, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: `us-east-1${az}` },
        'subnetId',
      ),
    ),
  );
  await rds().send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: SUBNET_GROUP,
      DBSubnetGroupDescription: 'isolated subnets of the restore drill',
      SubnetIds: subnets,
    }),
  );
  return ec2(
    { Action: 'CreateSecurityGroup', GroupName: 'drill', GroupDescription: 'restore drill', VpcId: vpc },
    'groupId',
  );
}

function spec(overrides: Partial<DrillSpec> = {}): DrillSpec {
  return {
    version: 1,
    sourceInstanceIdentifier: SOURCE,
    instancePrefix: 'drill',
    subnetGroupName: SUBNET_GROUP,
    securityGroupIds: [securityGroupId],
    instanceClass: 'db.t4g.micro',
    databaseName: pg.database,
    checks: [
      { kind: 'tableExists', table: 'orders' },
      { kind: 'rowCount', table: 'public.orders', min: 3 },
      { kind: 'freshness', table: 'orders', column: 'placed_at', maxAgeSeconds: 3600 },
      { kind: 'sql', query: 'select count(*) from public.orders where id > 1', expected: 2, name: 'recent orders' },
    ],
    maxWaitSeconds: 7200,
    maxInstanceAgeSeconds: 21_600,
    lastSuccessParameter: LAST_SUCCESS,
    rpoTargetSeconds: 900,
    rtoTargetSeconds: 7200,
    ...overrides,
  };
}

function specFile(content: unknown, name = `spec-${Math.random().toString(36).slice(2)}.json`): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

interface ClientOptions {
  /** Reports every drill instance as `creating` (moto answers `available` at once). */
  readonly creating?: boolean;
  /** Called instead of sleeping. */
  readonly onSleep?: (ms: number) => void;
  /** Client settings other than moto's (a closed port). */
  readonly config?: Record<string, unknown>;
}

/**
 * The command's clients, against moto, with an instant sleep. They record every operation, and they
 * play RDS applying a new master password: the drill's ModifyDBInstance sets the same password on
 * the local PostgreSQL role, so the drill logs in with the password it chose and never revealed.
 */
function drillClients(options: ClientOptions = {}): RestoreDrillClients {
  const config = { ...moto.clientConfig, ...options.config };
  const clients = {
    rds: new RDSClient(config),
    cloudwatch: new CloudWatchClient(config),
    ssm: new SSMClient(config),
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
    sleep: async (ms: number) => options.onSleep?.(ms),
  };
  const record = (next: any, context: any) => async (args: any) => {
    calls.push(String(context.commandName).replace(/Command$/, ''));
    return next(args);
  };
  const recordOptions = { step: 'initialize', name: 'recordCalls' } as const;
  clients.rds.middlewareStack.add(record, recordOptions);
  clients.cloudwatch.middlewareStack.add(record, recordOptions);
  clients.ssm.middlewareStack.add(record, recordOptions);
  clients.sfn.middlewareStack.add(record, recordOptions);
  clients.cloudFormation.middlewareStack.add(record, recordOptions);
  clients.rds.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { MasterUserPassword?: string; DBInstanceIdentifier?: string };
      if (context.commandName === 'ModifyDBInstanceCommand' && input.MasterUserPassword) {
        const { rows } = await pg.query(`select format('alter role %I password %L', $1::text, $2::text) as sql`, [
          pg.user,
          input.MasterUserPassword,
        ]);
        await pg.query(rows[0].sql);
      }
      const result = await next(args);
      if (options.creating && context.commandName === 'DescribeDBInstancesCommand') {
        const output = result.output as {
          DBInstances?: { DBInstanceIdentifier?: string; DBInstanceStatus?: string }[];
        };
        for (const instance of output.DBInstances ?? []) {
          if (instance.DBInstanceIdentifier?.startsWith('drill-')) instance.DBInstanceStatus = 'creating';
        }
      }
      return result;
    },
    { step: 'initialize', name: 'playRds' },
  );
  return clients;
}

/** Connects the drill instance's endpoint (and only a drill instance's) to the local PostgreSQL. */
const verifySeams = () => ({
  ca: pg.ca,
  resolveEndpoint: (endpoint: { host: string }) => {
    if (!endpoint.host.startsWith(`drill-${SOURCE}-`)) throw new Error(`not a drill instance: ${endpoint.host}`);
    return { host: '127.0.0.1', port: pg.port, servername: 'localhost' };
  },
});

async function run(argv: string[], options: ClientOptions & { seams?: CommandSeams['restoreDrill'] } = {}) {
  let out = '';
  let err = '';
  const seams: CommandSeams = {
    restoreDrill: { createClients: () => drillClients(options), verify: verifySeams(), ...options.seams },
  };
  const started = Date.now();
  const code = await main(
    ['restore-drill', ...argv],
    { write: (s: string) => (out += s) },
    { write: (s: string) => (err += s) },
    seams,
  );
  return { code, out, err, seconds: (Date.now() - started) / 1000 };
}

/** stderr without the progress lines: what the user reads as the command's message. */
function messages(err: string): string[] {
  return err.split('\n').filter((l) => l !== '' && !/^\[\s*\d+s\] /.test(l));
}

async function instances(): Promise<string[]> {
  const out = await rds().send(new DescribeDBInstancesCommand({}));
  return (out.DBInstances ?? []).map((i) => i.DBInstanceIdentifier ?? '').sort();
}

/** The values of one drill metric of the source, read back from CloudWatch. */
async function metric(name: string): Promise<number[]> {
  const cloudwatch = new CloudWatchClient(moto.clientConfig);
  const now = Date.now();
  const out = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 3600_000),
      EndTime: new Date(now + 3600_000),
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: 'ProdBaseline/RestoreDrill',
              MetricName: name,
              Dimensions: [{ Name: 'SourceInstance', Value: SOURCE }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  return out.MetricDataResults?.[0]?.Values ?? [];
}

const MUTATING = /^(Create|Restore|Modify|Delete|Put|Start|Stop|Add|Remove|Reboot)/;

// ---------------------------------------------------------------------------------------------

describe('restore-drill --local', () => {
  test('restores, proves the data, publishes the figures and deletes the drill instance', async () => {
    const file = specFile(spec());
    const { code, out, err, seconds } = await run(['--local', '--spec', file, '--json']);
    expect({ code, err: messages(err) }).toEqual({ code: ExitCode.OK, err: [] });

    const report = JSON.parse(out);
    expect(report).toMatchObject({
      mode: 'local',
      sourceInstanceIdentifier: SOURCE,
      outcome: 'passed',
      passed: true,
      restorePoint: { kind: 'latest-restorable' },
      rpo: { targetSeconds: 900, newestRowTime: newestRow.toISOString() },
      rto: { targetSeconds: 7200 },
      checksFailed: 0,
      instance: { kept: false, cleanup: 'deleted' },
      notes: [],
    });
    expect(report.error).toBeUndefined();
    expect(report.instance.identifier).toBe(`drill-${SOURCE}-${report.runId}`);
    expect(report.phases.map((p: { name: string }) => p.name)).toEqual([
      'choose',
      'restore',
      'verify',
      'publish',
      'cleanup',
    ]);
    expect(report.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed])).toEqual([
      ['tableExists(orders)', true],
      ['rowCount(public.orders) >= 3', true],
      ['freshness(orders.placed_at) <= 3600s', true],
      ['recent orders', true],
    ]);
    // moto's latest restorable time is "now": the lag is the drill's own start-up time.
    expect(report.rpo.restorePointLagSeconds).toBeLessThanOrEqual(2);
    expect(report.rpo.dataAgeSeconds).toBeGreaterThanOrEqual(NEWEST_ROW_AGE_SECONDS);
    expect(report.rpo.dataAgeSeconds).toBeLessThan(NEWEST_ROW_AGE_SECONDS + 120);
    expect(report.rto.restoreSeconds).toBeLessThanOrEqual(2);

    // Progress on stderr, one line per step, each with its elapsed time.
    expect(err).toMatch(/^\[\s+\d+s\] choose: reading the backups of shop-db$/m);
    expect(err).toMatch(/^\[\s+\d+s\] restore: restoring into drill-shop-db-\w+$/m);
    expect(err).toMatch(/^\[\s+\d+s\] verify: 4 of 4 check\(s\) passed$/m);
    expect(err).toMatch(/^\[\s+\d+s\] cleanup: drill-shop-db-\w+ is gone$/m);

    // The figures, read back from CloudWatch; the last success recorded; nothing left running.
    expect(await metric('DrillSucceeded')).toEqual([1]);
    expect(await metric('ChecksFailed')).toEqual([0]);
    expect(await metric('DataAgeSeconds')).toEqual([report.rpo.dataAgeSeconds]);
    expect(await metric('RestorePointLagSeconds')).toEqual([report.rpo.restorePointLagSeconds]);
    expect(await metric('RestoreSeconds')).toEqual([report.rto.restoreSeconds]);
    const lastSuccess = await new SSMClient(moto.clientConfig).send(new GetParameterCommand({ Name: LAST_SUCCESS }));
    expect(new Date(lastSuccess.Parameter?.Value ?? '').getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(await instances()).toEqual([SOURCE]);
    expect(seconds).toBeLessThan(30);
  });

  test('prints a human report by default', async () => {
    const { code, out } = await run(['--spec', specFile(spec())]);
    expect(code).toBe(ExitCode.OK);
    expect(out).toMatch(/^restore drill of shop-db: PASSED$/m);
    expect(out).toMatch(/^ {2}RPO {13}restore point lag \d+s \(target 15m 00s\); data age 1\dm \d\ds$/m);
    expect(out).toMatch(/^ {2}instance {8}drill-shop-db-\w+: deleted$/m);
    expect(out).toMatch(/^ {4}ok {4}rowCount\(public\.orders\) >= 3: /m);
  });

  test('fails with exit code 1 when a check fails, and still deletes the instance', async () => {
    const failing = spec({ checks: [{ kind: 'rowCount', table: 'orders', min: 1000 }] });
    const { code, out, err } = await run(['--spec', specFile(failing), '--json']);
    expect(code).toBe(ExitCode.FINDINGS);
    expect(messages(err)).toEqual([
      'prod-baseline restore-drill: 1 of 1 check(s) failed on a restore of shop-db: rowCount(orders) >= 1000 (public.orders has 3 rows, expected at least 1000)',
    ]);
    expect(JSON.parse(out)).toMatchObject({
      outcome: 'checks-failed',
      passed: false,
      instance: { cleanup: 'deleted' },
    });
    expect(await metric('DrillSucceeded')).toEqual([0]);
    expect(await metric('ChecksFailed')).toEqual([1]);
    expect(await instances()).toEqual([SOURCE]);
    await expect(
      new SSMClient(moto.clientConfig).send(new GetParameterCommand({ Name: LAST_SUCCESS })),
    ).rejects.toThrow();
  });

  test('fails with exit code 3 and one line when AWS refuses the restore, and publishes DrillSucceeded 0', async () => {
    const broken = spec({ subnetGroupName: 'no-such-group' });
    const { code, out, err } = await run(['--spec', specFile(broken), '--json']);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(messages(err)).toEqual([
      expect.stringMatching(/^prod-baseline restore-drill: DBSubnetGroupNotFoundFault: .*no-such-group/),
    ]);
    expect(err).not.toMatch(/\n\s+at /);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'failed', error: { code: 'aws-error' } });
    expect(await metric('DrillSucceeded')).toEqual([0]);
    expect(await instances()).toEqual([SOURCE]);
  });

  test('fails with exit code 3 and one line when AWS cannot be reached', async () => {
    const port = await closedPort();
    const { code, out, err } = await run(['--spec', specFile(spec())], {
      config: { endpoint: `http://127.0.0.1:${port}` },
    });
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(messages(err)).toEqual([expect.stringMatching(/^prod-baseline restore-drill: .*ECONNREFUSED/)]);
    expect(out).toMatch(/^restore drill of shop-db: FAILED$/m);
  });

  test('fails with exit code 2 on a bad spec, listing every problem, before calling AWS', async () => {
    const bad = { ...spec(), version: 2, instancePrefix: '', checks: [{ kind: 'rowCount', table: 'a.b.c', min: -1 }] };
    const { code, out, err } = await run(['--spec', specFile(bad)]);
    expect(code).toBe(ExitCode.USAGE);
    expect(out).toBe('');
    const lines = messages(err);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^prod-baseline restore-drill: the drill spec in .*spec-\w+\.json is invalid: /);
    for (const problem of [
      'version must be 1, got 2',
      'instancePrefix must be an RDS identifier, got ""',
      'checks[0]: table must be "name" or "schema.name", got "a.b.c"',
      'checks[0]: rowCount min must be a whole number of at least 0, got -1',
    ]) {
      expect(lines[0]).toContain(problem);
    }
    expect(calls).toEqual([]);
  });

  test('fails with exit code 2 on a spec file that is not JSON, or missing', async () => {
    expect(messages((await run(['--spec', specFile('{ nope', 'broken.json')])).err)).toEqual([
      `prod-baseline restore-drill: the drill spec in ${join(dir, 'broken.json')} is not JSON`,
    ]);
    const missing = await run(['--spec', join(dir, 'missing.json')]);
    expect(missing.code).toBe(ExitCode.USAGE);
    expect(messages(missing.err)).toEqual([
      `prod-baseline restore-drill: cannot read the drill spec file ${join(dir, 'missing.json')} (ENOENT)`,
    ]);
  });

  test.each([
    [['--local'], 'name the drill: --stack NAME (the deployed drill) or --spec FILE (a local run)'],
    [['--spec', 'x.json', '--stack', 'Shop'], '--spec and --stack exclude each other'],
    [['--spec', 'x.json', '--source', 'db'], '--source picks a drill of a --stack'],
    [['--spec', 'x.json', '--restore-time', 'yesterday'], '--restore-time must be an ISO 8601 time with a zone'],
    [['--spec', 'x.json', '--keep-hours', '200'], 'must be a number of hours from 1 to 168 (7 days), got 200'],
  ])('fails with exit code 2 on bad flags: %j', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(ExitCode.USAGE);
    expect(err).toContain(message);
    expect(calls).toEqual([]);
  });

  test('fails with exit code 2 when the restore time lies outside the backup window', async () => {
    const { code, err } = await run(['--spec', specFile(spec()), '--restore-time', '2001-01-01T00:00:00Z']);
    expect(code).toBe(ExitCode.USAGE);
    expect(messages(err)).toEqual([
      expect.stringMatching(/^prod-baseline restore-drill: restore time must be between /),
    ]);
    expect(await metric('DrillSucceeded')).toEqual([]);
  });

  test('--dry-run prints the plan and makes no call that changes anything', async () => {
    const { code, out, err } = await run(['--spec', specFile(spec()), '--dry-run', '--keep-hours', '2']);
    expect({ code, err }).toEqual({ code: ExitCode.OK, err: '' });
    expect(out).toMatch(/^dry run: restore drill of shop-db \(local\); nothing was changed$/m);
    expect(out).toMatch(/^ {2}restore point {3}latest-restorable \d{4}-\d\d-\d\dT/m);
    expect(out).toMatch(/^ {2}instance {8}drill-shop-db-<run>, kept until /m);
    expect(out).toContain('rds:RestoreDBInstanceToPointInTime of shop-db');
    expect(out).toContain('"subnetGroupName": "drill-isolated"');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => MUTATING.test(c))).toEqual([]);
    expect(await instances()).toEqual([SOURCE]);
    expect(await metric('DrillSucceeded')).toEqual([]);

    const json = JSON.parse((await run(['--spec', specFile(spec()), '--dry-run', '--json'])).out);
    expect(json).toMatchObject({
      mode: 'local',
      instanceIdentifierPattern: 'drill-shop-db-<run>',
      existingDrillInstances: [],
    });
  });

  test('refuses to start while a drill instance of the source exists (the lock): exit code 3, the holder untouched', async () => {
    await rds().send(
      new RestoreDBInstanceToPointInTimeCommand({
        SourceDBInstanceIdentifier: SOURCE,
        TargetDBInstanceIdentifier: 'drill-shop-db-earlier',
        UseLatestRestorableTime: true,
        DBSubnetGroupName: SUBNET_GROUP,
        Tags: [{ Key: DRILL_TAGS.source, Value: SOURCE }],
      }),
    );
    const { code, out, err } = await run(['--spec', specFile(spec()), '--json']);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(messages(err)).toEqual([
      'prod-baseline restore-drill: a drill of shop-db is already running: instance drill-shop-db-earlier (available)',
    ]);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'failed', error: { code: 'locked' } });
    expect(calls.filter((c) => c === 'DeleteDBInstance')).toEqual([]);
    expect(await instances()).toEqual(['drill-shop-db-earlier', SOURCE]);
    // A drill that never started is not a failed drill: no DrillSucceeded 0 to page anyone.
    expect(await metric('DrillSucceeded')).toEqual([]);
  });

  test('--keep-hours keeps the drill instance with an expiry tag', async () => {
    const { code, out } = await run(['--spec', specFile(spec()), '--keep-hours', '2', '--json']);
    expect(code).toBe(ExitCode.OK);
    const report = JSON.parse(out);
    expect(report.instance).toMatchObject({ kept: true, cleanup: 'kept' });
    const expiry = new Date(report.instance.keepUntil).getTime();
    expect(Math.abs(expiry - (Date.now() + 2 * 3600_000))).toBeLessThan(60_000);
    const described = await rds().send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: report.instance.identifier }),
    );
    expect(described.DBInstances?.[0]?.TagList).toContainEqual({
      Key: DRILL_TAGS.keepUntil,
      Value: report.instance.keepUntil,
    });
    expect(calls).not.toContain('DeleteDBInstance');
  });

  test('reads the spec through the stack manifest with --stack --local', async () => {
    await deployManifest('Shop', [SOURCE]);
    const { code, out } = await run(['--stack', 'Shop', '--local', '--json']);
    expect(code).toBe(ExitCode.OK);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'passed', sourceInstanceIdentifier: SOURCE });
  });

  test('fails with exit code 2 when the stack has several drills and no --source, or none of that source', async () => {
    await deployManifest('Shop', [SOURCE, 'billing-db']);
    const several = await run(['--stack', 'Shop', '--local']);
    expect(several.code).toBe(ExitCode.USAGE);
    expect(messages(several.err)).toEqual([
      'prod-baseline restore-drill: stack "Shop" has 2 restore drills; pick one with --source (one of: shop-db, billing-db)',
    ]);
    const unknown = await run(['--stack', 'Shop', '--source', 'nope', '--local']);
    expect(messages(unknown.err)).toEqual([
      'prod-baseline restore-drill: stack "Shop" has no restore drill of source "nope"; it has: shop-db, billing-db',
    ]);
    const chosen = await run(['--stack', 'Shop', '--source', SOURCE, '--local', '--dry-run']);
    expect(chosen.code).toBe(ExitCode.OK);
  });

  test('fails with exit code 2 when the stack does not exist', async () => {
    const { code, err } = await run(['--stack', 'Nope', '--local']);
    expect(code).toBe(ExitCode.USAGE);
    expect(messages(err)).toEqual(['prod-baseline restore-drill: stack "Nope" does not exist in us-east-1']);
  });

  test('Ctrl-C through the command: exit code 130 after deleting the drill instance', async () => {
    let interrupt = () => {};
    const { code, out, err } = await run(['--spec', specFile(spec()), '--json'], {
      creating: true,
      onSleep: () => interrupt(),
      seams: {
        onInterrupt: (listener) => {
          interrupt = listener;
          return () => {
            interrupt = () => {};
          };
        },
      },
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(err).toContain('interrupted: cleaning up the drill instance');
    expect(messages(err).at(-1)).toBe('prod-baseline restore-drill: interrupted (Ctrl-C)');
    expect(JSON.parse(out)).toMatchObject({ outcome: 'interrupted', instance: { cleanup: 'deleting' } });
    expect(await instances()).toEqual([SOURCE]);
  });
});

describe('runLocalDrill', () => {
  test('Ctrl-C while waiting for the restore publishes DrillSucceeded 0 and deletes the instance', async () => {
    const controller = new AbortController();
    const events: DrillProgressEvent[] = [];
    const waits: number[] = [];
    const clients = drillClients({
      creating: true,
      onSleep: (ms) => {
        waits.push(ms);
        controller.abort();
      },
    });
    const report = await runLocalDrill(clients, spec(), {
      signal: controller.signal,
      onProgress: (event) => events.push(event),
      verify: verifySeams(),
    });

    expect(waits).toEqual([30_000]);
    expect(events.map((e) => `${e.phase}: ${e.detail}`)).toEqual([
      'choose: reading the backups of shop-db',
      expect.stringMatching(/^choose: restore point \S+ \(latest restorable time\)$/),
      expect.stringMatching(/^restore: restoring into drill-shop-db-\w+$/),
      expect.stringMatching(/^restore: waiting for drill-shop-db-\w+ \(creating\), next check in 30s$/),
      expect.stringMatching(/^publish: the drill failed \(interrupted \(Ctrl-C\)\); publishing DrillSucceeded 0$/),
      expect.stringMatching(/^cleanup: interrupted: deleting drill-shop-db-\w+$/),
      expect.stringMatching(/^cleanup: drill-shop-db-\w+ is being deleted$/),
    ]);
    expect(report).toMatchObject({
      outcome: 'interrupted',
      passed: false,
      error: { code: 'interrupted' },
      instance: { kept: false, cleanup: 'deleting' },
      checks: [],
    });
    expect(calls).toContain('DeleteDBInstance');
    expect(calls).not.toContain('ModifyDBInstance');
    expect(await instances()).toEqual([SOURCE]);
    expect(await metric('DrillSucceeded')).toEqual([0]);
  });

  test('Ctrl-C deletes even an instance asked to be kept', async () => {
    const controller = new AbortController();
    const clients = drillClients({ creating: true, onSleep: () => controller.abort() });
    const report = await runLocalDrill(clients, spec(), {
      request: { keepUntil: new Date(Date.now() + 3600_000).toISOString() },
      signal: controller.signal,
      verify: verifySeams(),
    });
    expect(report.instance).toMatchObject({ kept: false, cleanup: 'deleting' });
    expect(await instances()).toEqual([SOURCE]);
  });

  test('an abort before the restore creates nothing and deletes nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const report = await runLocalDrill(drillClients(), spec(), { signal: controller.signal });
    expect(report).toMatchObject({ outcome: 'interrupted', phases: [] });
    expect(report.instance).toBeUndefined();
    expect(calls).toEqual([]);
  });
});

/** A CloudFormation stack in moto whose manifest names one restore drill per source, with its spec in SSM. */
async function deployManifest(stackName: string, sources: string[]): Promise<void> {
  const ssm = new SSMClient(moto.clientConfig);
  const entries: Record<string, unknown> = {};
  for (const source of sources) {
    const specParameterName = `/prod-baseline/${stackName}/restore-drill/${source}/spec`;
    await ssm.send(
      new PutParameterCommand({
        Name: specParameterName,
        Type: 'String',
        Value: JSON.stringify(spec({ sourceInstanceIdentifier: source })),
      }),
    );
    entries[`Drills/${source === SOURCE ? 'A' : 'B'}`] = {
      role: 'restore-drill',
      construct: 'RestoreDrill',
      attributes: {
        stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:drill-${source}`,
        specParameterName,
        sourceInstanceIdentifier: source,
      },
    };
  }
  const manifestName = `/prod-baseline/${stackName}/manifest`;
  await ssm.send(
    new PutParameterCommand({
      Name: manifestName,
      Type: 'String',
      Value: JSON.stringify({ schema: 1, kitVersion: '0.1.0', stackName, entries }),
    }),
  );
  await new CloudFormationClient(moto.clientConfig).send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
        Outputs: { ProdBaselineManifest: { Value: manifestName } },
      }),
    }),
  );
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
