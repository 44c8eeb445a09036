import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  type DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  type DescribeDBInstancesCommandInput,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DRILL_TAGS, type DrillSpec, MAX_KEEP_SECONDS } from '../../../constructs/restore-drill/drill-spec';
import {
  checkRestore,
  choosePoint,
  createDrillClients,
  DRILL_CLIENT_CONFIG,
  type DrillClients,
  DrillError,
  type DrillErrorCode,
  type DrillRun,
  deleteDrillInstance,
  drillInstanceIdentifier,
  findDrillInstances,
  isDrillInstanceOf,
  NEVER,
  newRunId,
  publishFigures,
  publishSecondsSinceLastSuccess,
  type RestorePoint,
  recordSuccess,
  resetDrillPassword,
  runIdFromExecutionName,
  startRestore,
  sweep,
  withRetries,
} from '../../../constructs/restore-drill/steps';

// Every AWS call is answered by aws-sdk-client-mock; the clients point at a closed loopback port as
// well, so a call the mocks missed fails instead of leaving the machine.
const rdsMock = mockClient(RDSClient);
const cloudwatchMock = mockClient(CloudWatchClient);
const ssmMock = mockClient(SSMClient);

const CLIENT_CONFIG = {
  region: 'eu-west-1',
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

const SOURCE = 'orders-db';
const NOW = new Date('2026-03-02T12:00:00.000Z');
const RUN_ID = 'a1b2c3d4e5f6';
const DRILL_ID = `drill-${SOURCE}-${RUN_ID}`;
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const SPEC: DrillSpec = {
  version: 1,
  sourceInstanceIdentifier: SOURCE,
  instancePrefix: 'drill',
  subnetGroupName: 'drill-isolated-subnets',
  securityGroupIds: ['sg-0aaa1111', 'sg-0bbb2222'],
  parameterGroupName: 'orders-postgres15',
  instanceClass: 'db.t4g.micro',
  databaseName: 'orders',
  checks: [],
  maxWaitSeconds: 3600,
  maxInstanceAgeSeconds: 6 * 3600,
  lastSuccessParameter: '/prod-baseline/restore-drill/orders-db/last-success',
  rpoTargetSeconds: 900,
  rtoTargetSeconds: 3600,
};

/** Delays asked of the injected sleep, in milliseconds. */
let sleeps: number[];
let clients: DrillClients;

beforeEach(() => {
  rdsMock.reset();
  cloudwatchMock.reset();
  ssmMock.reset();
  sleeps = [];
  clients = {
    rds: new RDSClient(CLIENT_CONFIG),
    cloudwatch: new CloudWatchClient(CLIENT_CONFIG),
    ssm: new SSMClient(CLIENT_CONFIG),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
});

afterEach(() => {
  jest.restoreAllMocks();
});

function sourceTag(source = SOURCE): Tag {
  return { Key: DRILL_TAGS.source, Value: source };
}

/** A drill instance of SOURCE (tagged, prefixed), available, created an hour before NOW. */
function drillInstance(identifier = DRILL_ID, extra: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: identifier,
    DBInstanceStatus: 'available',
    InstanceCreateTime: new Date(NOW.getTime() - HOUR),
    TagList: [sourceTag(), { Key: DRILL_TAGS.run, Value: RUN_ID }],
    ...extra,
  };
}

function notFound(identifier: string): DBInstanceNotFoundFault {
  return new DBInstanceNotFoundFault({ $metadata: {}, message: `DBInstance ${identifier} not found.` });
}

function awsError(name: string, message: string): RDSServiceException {
  return new RDSServiceException({ name, $fault: 'client', $metadata: {}, message });
}

/**
 * Answers DescribeDBInstances like RDS: one instance by identifier (or DBInstanceNotFoundFault), or
 * every instance in pages of `pageSize` with a Marker.
 */
function serveInstances(instances: () => DBInstance[], pageSize = 100): void {
  rdsMock.on(DescribeDBInstancesCommand).callsFake(async (input: DescribeDBInstancesCommandInput) => {
    const all = instances();
    if (input.DBInstanceIdentifier !== undefined) {
      const found = all.find((i) => i.DBInstanceIdentifier === input.DBInstanceIdentifier);
      if (!found) throw notFound(input.DBInstanceIdentifier);
      return { DBInstances: [found] };
    }
    const start = input.Marker === undefined ? 0 : Number(input.Marker.replace('page-', ''));
    const end = start + pageSize;
    return { DBInstances: all.slice(start, end), Marker: end < all.length ? `page-${end}` : undefined };
  });
}

async function expectDrillError(promise: Promise<unknown>, code: DrillErrorCode, message: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DrillError);
  expect(error).toMatchObject({ name: `DrillError.${code}`, code, message });
}

function run(extra: Partial<DrillRun> = {}): DrillRun {
  return {
    runId: RUN_ID,
    startedAt: NOW.toISOString(),
    point: { kind: 'latest-restorable', time: '2026-03-02T11:55:00.000Z' },
    instanceIdentifier: DRILL_ID,
    restoreStartedAt: NOW.toISOString(),
    ...extra,
  };
}

test('the clients a drill creates have bounded retries and timeouts', async () => {
  expect(DRILL_CLIENT_CONFIG).toStrictEqual({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  const created = createDrillClients('eu-west-1');
  for (const client of [created.rds, created.cloudwatch, created.ssm]) {
    await expect(client.config.maxAttempts()).resolves.toBe(3);
    await expect(client.config.region()).resolves.toBe('eu-west-1');
  }
});

describe('choosePoint', () => {
  const LATEST = new Date('2026-03-02T11:55:17.123Z');

  function source(extra: Partial<DBInstance> = {}): DBInstance {
    return {
      DBInstanceIdentifier: SOURCE,
      DBInstanceStatus: 'available',
      BackupRetentionPeriod: 7,
      LatestRestorableTime: LATEST,
      ...extra,
    };
  }

  test('restores to exactly the latest restorable time by default', async () => {
    serveInstances(() => [source()]);
    await expect(choosePoint(clients, SPEC, {}, NOW)).resolves.toStrictEqual({
      kind: 'latest-restorable',
      time: '2026-03-02T11:55:17.123Z',
    });
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 1);
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE });
    expect(rdsMock).not.toHaveReceivedCommand(DescribeDBSnapshotsCommand);
  });

  test.each([
    ['in the middle of the window', '2026-02-28T08:30:00Z', '2026-02-28T08:30:00.000Z'],
    ['at the latest restorable time', '2026-03-02T11:55:17.123Z', '2026-03-02T11:55:17.123Z'],
    ['at the start of the window (now minus the retention)', '2026-02-23T12:00:00Z', '2026-02-23T12:00:00.000Z'],
    ['with an offset', '2026-03-01T14:00:00+02:00', '2026-03-01T12:00:00.000Z'],
  ])('restores to a given time %s', async (_, asked, time) => {
    serveInstances(() => [source()]);
    await expect(choosePoint(clients, SPEC, { restoreTime: asked }, NOW)).resolves.toStrictEqual({
      kind: 'time',
      time,
    });
  });

  test.each([
    ['after the latest restorable time', '2026-03-02T11:55:17.124Z', '2026-03-02T11:55:17.124Z'],
    ['in the future', '2026-03-03T00:00:00Z', '2026-03-03T00:00:00.000Z'],
    ['before the retention window', '2026-02-23T11:59:59.999Z', '2026-02-23T11:59:59.999Z'],
  ])('fails on a restore time %s', async (_, asked, shown) => {
    serveInstances(() => [source()]);
    await expectDrillError(
      choosePoint(clients, SPEC, { restoreTime: asked }, NOW),
      'bad-restore-time',
      `restore time must be between 2026-02-23T12:00:00.000Z and the latest restorable time 2026-03-02T11:55:17.123Z, got ${shown}`,
    );
  });

  test.each(['yesterday', '', '2026-13-45T00:00:00Z'])(
    'fails on a restore time that is not a date: %j',
    async (asked) => {
      serveInstances(() => [source()]);
      await expectDrillError(
        choosePoint(clients, SPEC, { restoreTime: asked }, NOW),
        'bad-restore-time',
        `restore time must be an ISO time such as 2026-01-31T12:00:00Z, got "${asked}"`,
      );
    },
  );

  describe('from the latest automated snapshot', () => {
    const snapshots: DBSnapshot[] = [
      {
        DBSnapshotIdentifier: 'rds:orders-db-2026-02-28-03-10',
        Status: 'available',
        SnapshotCreateTime: new Date('2026-02-28T03:10:00Z'),
      },
      {
        DBSnapshotIdentifier: 'rds:orders-db-2026-03-02-03-10',
        Status: 'creating',
        SnapshotCreateTime: new Date('2026-03-02T03:10:00Z'),
      },
      {
        DBSnapshotIdentifier: 'rds:orders-db-2026-03-01-03-10',
        Status: 'available',
        SnapshotCreateTime: new Date('2026-03-01T03:10:42.5Z'),
      },
      {
        DBSnapshotIdentifier: 'rds:orders-db-2026-02-27-03-10',
        Status: 'available',
        SnapshotCreateTime: new Date('2026-02-27T03:10:00Z'),
      },
    ];

    test('picks the newest available snapshot and ignores one still being created', async () => {
      serveInstances(() => [source()]);
      rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: snapshots });
      await expect(choosePoint(clients, SPEC, { useLatestSnapshot: true }, NOW)).resolves.toStrictEqual({
        kind: 'snapshot',
        time: '2026-03-01T03:10:42.500Z',
        snapshotIdentifier: 'rds:orders-db-2026-03-01-03-10',
      });
      expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBSnapshotsCommand, 1);
      expect(rdsMock.commandCalls(DescribeDBSnapshotsCommand)[0].args[0].input).toStrictEqual({
        DBInstanceIdentifier: SOURCE,
        SnapshotType: 'automated',
      });
    });

    test('is the default when the spec asks for it, unless the request says otherwise', async () => {
      serveInstances(() => [source()]);
      rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: snapshots });
      const spec = { ...SPEC, useLatestSnapshot: true };
      await expect(choosePoint(clients, spec, {}, NOW)).resolves.toMatchObject({ kind: 'snapshot' });
      await expect(choosePoint(clients, spec, { useLatestSnapshot: false }, NOW)).resolves.toMatchObject({
        kind: 'latest-restorable',
      });
    });

    test('a restore time the caller asks for wins over the spec default', async () => {
      // `prod-baseline restore-drill --restore-time` sends only { restoreTime } and plans a restore to that time.
      serveInstances(() => [source()]);
      rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: snapshots });
      const spec = { ...SPEC, useLatestSnapshot: true };
      await expect(choosePoint(clients, spec, { restoreTime: '2026-02-28T08:30:00Z' }, NOW)).resolves.toStrictEqual({
        kind: 'time',
        time: '2026-02-28T08:30:00.000Z',
      });
      expect(rdsMock).not.toHaveReceivedCommand(DescribeDBSnapshotsCommand);
    });

    test.each([
      ['none at all', []],
      ['only one being created', [snapshots[1]]],
    ])('fails with %s', async (_, found) => {
      serveInstances(() => [source()]);
      rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: found });
      await expectDrillError(
        choosePoint(clients, SPEC, { useLatestSnapshot: true }, NOW),
        'no-snapshot',
        'source instance orders-db has no available automated snapshot',
      );
    });
  });

  test('fails when the source instance does not exist', async () => {
    serveInstances(() => []);
    await expectDrillError(
      choosePoint(clients, SPEC, {}, NOW),
      'source-missing',
      'source instance orders-db does not exist',
    );
    expect(sleeps).toStrictEqual([]);
  });

  test('fails when the source has automated backups switched off', async () => {
    serveInstances(() => [source({ BackupRetentionPeriod: 0, LatestRestorableTime: undefined })]);
    await expectDrillError(
      choosePoint(clients, SPEC, { useLatestSnapshot: true }, NOW),
      'no-backups',
      'source instance orders-db has automated backups switched off (backup retention 0)',
    );
    expect(rdsMock).not.toHaveReceivedCommand(DescribeDBSnapshotsCommand);
  });

  test('fails when the source has no restorable time yet', async () => {
    serveInstances(() => [source({ LatestRestorableTime: undefined })]);
    await expectDrillError(
      choosePoint(clients, SPEC, {}, NOW),
      'no-backups',
      'source instance orders-db has no restorable time yet',
    );
  });
});

describe('startRestore and the lock', () => {
  const POINT: RestorePoint = { kind: 'latest-restorable', time: '2026-03-02T11:55:17.123Z' };
  const REQUEST = { runId: RUN_ID, startedAt: '2026-03-02T11:59:58.000Z', point: POINT };

  /** Instances that are not drill instances of SOURCE. */
  const OTHERS: DBInstance[] = [
    { DBInstanceIdentifier: SOURCE, DBInstanceStatus: 'available', TagList: [] },
    drillInstance('drill-billing-db-0000aaaa', { TagList: [sourceTag('billing-db')] }),
    drillInstance('drill-orders-db-untagged', { TagList: [{ Key: 'team', Value: 'orders' }] }),
    drillInstance('orders-db-copy', { TagList: [sourceTag()] }),
    drillInstance('drillorders-db-nohyphen', { TagList: [sourceTag()] }),
  ];

  test('refuses when a drill instance of the same source exists, found on the second page', async () => {
    const holder = drillInstance('drill-orders-db-lmn0pq12', { DBInstanceStatus: 'backing-up' });
    serveInstances(() => [...OTHERS, holder], 3);
    await expectDrillError(
      startRestore(clients, SPEC, REQUEST, NOW),
      'locked',
      'a drill of orders-db is already running: instance drill-orders-db-lmn0pq12 (backing-up)',
    );
    const pages = rdsMock.commandCalls(DescribeDBInstancesCommand).map((call) => call.args[0].input);
    expect(pages).toStrictEqual([
      { Marker: undefined, MaxRecords: 100 },
      { Marker: 'page-3', MaxRecords: 100 },
    ]);
    expect(rdsMock).not.toHaveReceivedCommand(RestoreDBInstanceToPointInTimeCommand);
    expect(rdsMock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  test('refuses while the previous drill instance is still being deleted', async () => {
    serveInstances(() => [drillInstance('drill-orders-db-old', { DBInstanceStatus: 'deleting' })]);
    await expectDrillError(
      startRestore(clients, SPEC, REQUEST, NOW),
      'locked',
      'a drill of orders-db is already running: instance drill-orders-db-old (deleting)',
    );
  });

  test('findDrillInstances lists only drill instances of the source, by identifier', async () => {
    const b = drillInstance('drill-orders-db-bbbb');
    const a = drillInstance('drill-orders-db-aaaa');
    serveInstances(() => [b, ...OTHERS, a], 2);
    await expect(findDrillInstances(clients, SPEC)).resolves.toStrictEqual([a, b]);
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 4);
  });

  test('ignores instances of other sources, without the tag or without the prefix, and restores to the point', async () => {
    serveInstances(() => OTHERS, 2);
    rdsMock.on(RestoreDBInstanceToPointInTimeCommand).resolves({});
    const result = await startRestore(clients, SPEC, REQUEST, NOW);

    expect(result).toStrictEqual({
      ...REQUEST,
      keepUntil: undefined,
      instanceIdentifier: DRILL_ID,
      restoreStartedAt: '2026-03-02T12:00:00.000Z',
    });
    const expected = {
      TargetDBInstanceIdentifier: DRILL_ID,
      SourceDBInstanceIdentifier: SOURCE,
      RestoreTime: new Date('2026-03-02T11:55:17.123Z'),
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: 'drill-isolated-subnets',
      VpcSecurityGroupIds: ['sg-0aaa1111', 'sg-0bbb2222'],
      DBParameterGroupName: 'orders-postgres15',
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
      AutoMinorVersionUpgrade: false,
      CopyTagsToSnapshot: false,
      BackupRetentionPeriod: 0,
      Tags: [
        { Key: 'prod-baseline:drill-source', Value: SOURCE },
        { Key: 'prod-baseline:drill-run', Value: RUN_ID },
      ],
    };
    expect(rdsMock).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 1);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, expected);
    // toHaveReceivedCommandWith matches a subset: nothing else may be in the request.
    expect(rdsMock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0].args[0].input).toStrictEqual(expected);
    expect(rdsMock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  test('a restore to a given time requests exactly that time', async () => {
    serveInstances(() => []);
    rdsMock.on(RestoreDBInstanceToPointInTimeCommand).resolves({});
    const point: RestorePoint = { kind: 'time', time: '2026-02-28T08:30:00.000Z' };
    await startRestore(clients, SPEC, { ...REQUEST, point }, NOW);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, {
      RestoreTime: new Date('2026-02-28T08:30:00.000Z'),
      SourceDBInstanceIdentifier: SOURCE,
    });
  });

  test('a snapshot restore uses RestoreDBInstanceFromDBSnapshot with the snapshot ID', async () => {
    serveInstances(() => []);
    rdsMock.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    const point: RestorePoint = {
      kind: 'snapshot',
      time: '2026-03-01T03:10:42.500Z',
      snapshotIdentifier: 'rds:orders-db-2026-03-01-03-10',
    };
    const result = await startRestore(clients, SPEC, { ...REQUEST, point }, NOW);
    expect(result.instanceIdentifier).toBe(DRILL_ID);
    const expected = {
      DBInstanceIdentifier: DRILL_ID,
      DBSnapshotIdentifier: 'rds:orders-db-2026-03-01-03-10',
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: 'drill-isolated-subnets',
      VpcSecurityGroupIds: ['sg-0aaa1111', 'sg-0bbb2222'],
      DBParameterGroupName: 'orders-postgres15',
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
      AutoMinorVersionUpgrade: false,
      CopyTagsToSnapshot: false,
      BackupRetentionPeriod: 0,
      Tags: [
        { Key: 'prod-baseline:drill-source', Value: SOURCE },
        { Key: 'prod-baseline:drill-run', Value: RUN_ID },
      ],
    };
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, expected);
    expect(rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input).toStrictEqual(expected);
    expect(rdsMock).not.toHaveReceivedCommand(RestoreDBInstanceToPointInTimeCommand);
  });

  test.each([
    ['two days ahead, as asked', '2026-03-04T12:00:00Z', '2026-03-04T12:00:00.000Z'],
    ['thirty days ahead, capped at 7 days', '2026-04-01T12:00:00Z', '2026-03-09T12:00:00.000Z'],
    ['7 days and a second ahead, capped at 7 days', '2026-03-09T12:00:01Z', '2026-03-09T12:00:00.000Z'],
  ])('keepUntil %s is tagged on the instance', async (_, asked, kept) => {
    serveInstances(() => []);
    rdsMock.on(RestoreDBInstanceToPointInTimeCommand).resolves({});
    const result = await startRestore(clients, SPEC, { ...REQUEST, keepUntil: asked }, NOW);
    expect(result.keepUntil).toBe(kept);
    expect(new Date(kept).getTime() - NOW.getTime()).toBeLessThanOrEqual(MAX_KEEP_SECONDS * 1000);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, {
      Tags: [
        { Key: 'prod-baseline:drill-source', Value: SOURCE },
        { Key: 'prod-baseline:drill-run', Value: RUN_ID },
        { Key: 'prod-baseline:drill-keep-until', Value: kept },
      ],
    });
  });

  test.each(['drill', 'Drill-', 'restore--drill'])(
    'with prefix %j, the lock, the cleanup and the sweeper all find the instance the restore created',
    async (instancePrefix) => {
      const spec = { ...SPEC, instancePrefix };
      const instances: DBInstance[] = [];
      serveInstances(() => instances);
      rdsMock.on(RestoreDBInstanceToPointInTimeCommand).callsFake(async (input) => {
        instances.push({
          DBInstanceIdentifier: input.TargetDBInstanceIdentifier,
          DBInstanceStatus: 'creating',
          TagList: input.Tags,
        });
        return {};
      });
      rdsMock.on(DeleteDBInstanceCommand).resolves({});

      const first = await startRestore(clients, spec, REQUEST, NOW);
      await expectDrillError(
        startRestore(clients, spec, { ...REQUEST, runId: 'second' }, NOW),
        'locked',
        `a drill of orders-db is already running: instance ${first.instanceIdentifier} (creating)`,
      );
      await expect(findDrillInstances(clients, spec)).resolves.toHaveLength(1);
      await expect(deleteDrillInstance(clients, spec, first.instanceIdentifier)).resolves.toBe('deleted');
      expect(rdsMock).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 1);
    },
  );

  test('a restore refused by RDS surfaces its error without being retried', async () => {
    serveInstances(() => []);
    rdsMock
      .on(RestoreDBInstanceToPointInTimeCommand)
      .rejects(awsError('InvalidRestoreFault', 'The restore time is outside the retention period'));
    await expect(startRestore(clients, SPEC, REQUEST, NOW)).rejects.toThrow(
      'The restore time is outside the retention period',
    );
    expect(rdsMock).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 1);
  });
});

describe('drill instance identifiers', () => {
  /** RDS: 1 to 63 letters, digits or hyphens, a letter first, no trailing hyphen, no two hyphens in a row. */
  const VALID_RDS_IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

  test.each([
    ['a short name', 'orders-db', 'drill-orders-db-a1b2c3d4e5f6'],
    ['upper case', 'Orders-DB', 'drill-orders-db-a1b2c3d4e5f6'],
    ['underscores and dots', 'orders_db.main', 'drill-orders-db-main-a1b2c3d4e5f6'],
    ['two hyphens in a row and a trailing hyphen', 'orders--db-', 'drill-orders-db-a1b2c3d4e5f6'],
    ['63 letters', 'o'.repeat(63), `drill-${'o'.repeat(44)}-a1b2c3d4e5f6`],
    ['a cut that lands on a hyphen', `${'o'.repeat(43)}-tail-of-a-long-name`, `drill-${'o'.repeat(43)}-a1b2c3d4e5f6`],
    ['a long name of short words', 'a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2', undefined],
  ])('a source with %s gives a valid identifier of at most 63 characters', (_, source, expected) => {
    const id = drillInstanceIdentifier({ instancePrefix: 'drill', sourceInstanceIdentifier: source }, RUN_ID);
    if (expected !== undefined) expect(id).toBe(expected);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(id).toMatch(VALID_RDS_IDENTIFIER);
    expect(id.startsWith('drill-')).toBe(true);
    expect(id.endsWith(`-${RUN_ID}`)).toBe(true);
  });

  test.each([
    ['a run ID from newRunId', newRunId(NOW)],
    ['a run ID from a UUID execution name', runIdFromExecutionName('0f4e2a9c-7b1d-4c3e-9a8f-1d2c3b4a5e6f')],
  ])('a 63-character source with %s stays within 63 characters', (_, runId) => {
    const id = drillInstanceIdentifier({ instancePrefix: 'drill', sourceInstanceIdentifier: 'x'.repeat(63) }, runId);
    expect(id).toHaveLength(63);
    expect(id).toMatch(VALID_RDS_IDENTIFIER);
  });

  test.each([
    ['drill', 'drill-orders-db-a1b2c3d4e5f6'],
    ['Restore-Drill', 'restore-drill-orders-db-a1b2c3d4e5f6'],
    ['drill-', 'drill-orders-db-a1b2c3d4e5f6'],
    ['drill--ops', 'drill-ops-orders-db-a1b2c3d4e5f6'],
  ])('an instance named with prefix %j is recognised as a drill instance of its source', (prefix, expected) => {
    const spec = { instancePrefix: prefix, sourceInstanceIdentifier: SOURCE };
    const id = drillInstanceIdentifier(spec, RUN_ID);
    expect(id).toBe(expected);
    expect(isDrillInstanceOf({ DBInstanceIdentifier: id, TagList: [sourceTag()] }, spec)).toBe(true);
  });

  test('newRunId is the start time in base 36', () => {
    expect(newRunId(NOW)).toBe(NOW.getTime().toString(36));
    expect(newRunId(NOW)).toMatch(/^[a-z0-9]{8}$/);
  });

  test.each([
    ['a UUID', '0F4E2A9C-7B1D-4C3E-9A8F-1D2C3B4A5E6F', '0f4e2a9c7b1d'],
    ['a short name', 'Manual', 'manual'],
    ['punctuation', 'weekly_drill.2026-03-02', 'weeklydrill2'],
    ['a single digit', '7', '7'],
  ])('runIdFromExecutionName on %s', (_, name, id) => {
    expect(runIdFromExecutionName(name)).toBe(id);
  });

  test.each(['', '---', '_.~'])(
    'runIdFromExecutionName refuses an execution name without letters or digits: %j',
    (name) => {
      let error: unknown;
      try {
        runIdFromExecutionName(name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DrillError);
      expect(error).toMatchObject({
        code: 'refused',
        message: `cannot derive a run ID from execution name "${name}"`,
      });
    },
  );
});

describe('checkRestore', () => {
  test('follows creating, backing-up, available with the backoff 30, 60, 120, 240, 300, 300', async () => {
    const statuses = ['creating', 'creating', 'backing-up', 'backing-up', 'modifying', 'backing-up', 'available'];
    let status = '';
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: status })]);
    const started = new Date(NOW.getTime() + 5_000);
    const r = run({ restoreStartedAt: started.toISOString() });

    const waits: number[] = [];
    const seen: string[] = [];
    let at = started;
    let previous = 0;
    for (const next of statuses) {
      status = next;
      const progress = await checkRestore(clients, SPEC, r, at, previous);
      seen.push(progress.status);
      expect(progress.elapsedSeconds).toBe(Math.round((at.getTime() - started.getTime()) / 1000));
      if (progress.available) break;
      waits.push(progress.nextWaitSeconds);
      previous = progress.nextWaitSeconds;
      at = new Date(at.getTime() + previous * 1000);
    }
    expect(seen).toStrictEqual(statuses);
    expect(waits).toStrictEqual([30, 60, 120, 240, 300, 300]);
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, statuses.length);
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: DRILL_ID });
  });

  test('the last check is available, with the elapsed time since the restore started', async () => {
    serveInstances(() => [drillInstance()]);
    await expect(checkRestore(clients, SPEC, run(), new Date(NOW.getTime() + 1_050_400), 300)).resolves.toStrictEqual({
      status: 'available',
      available: true,
      elapsedSeconds: 1050,
      nextWaitSeconds: 300,
    });
  });

  test('counts from the drill start when the restore start is unknown', async () => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'creating' })]);
    const progress = await checkRestore(
      clients,
      SPEC,
      run({ restoreStartedAt: undefined }),
      new Date(NOW.getTime() + 90_000),
    );
    expect(progress.elapsedSeconds).toBe(90);
  });

  test.each([
    [350, 120, 50],
    [399, 300, 1],
    [100, 0, 30],
  ])('the wait after %i s (previous wait %i s) is capped by the time left: %i s', async (elapsed, previous, wait) => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'creating' })]);
    const spec = { ...SPEC, maxWaitSeconds: 400 };
    const progress = await checkRestore(clients, spec, run(), new Date(NOW.getTime() + elapsed * 1000), previous);
    expect(progress).toStrictEqual({
      status: 'creating',
      available: false,
      elapsedSeconds: elapsed,
      nextWaitSeconds: wait,
    });
  });

  test.each([
    'incompatible-restore',
    'incompatible-parameters',
    'incompatible-network',
    'restore-error',
    'storage-full',
    'failed',
    'deleting',
  ])('fails with restore-failed on status %s', async (status) => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: status })]);
    await expectDrillError(
      checkRestore(clients, SPEC, run(), new Date(NOW.getTime() + 600_000), 240),
      'restore-failed',
      `the restore into ${DRILL_ID} failed: status ${status}`,
    );
  });

  test('fails with restore-failed when the instance has vanished', async () => {
    serveInstances(() => []);
    await expectDrillError(
      checkRestore(clients, SPEC, run(), NOW),
      'restore-failed',
      `the restore into ${DRILL_ID} failed: status missing`,
    );
  });

  test.each([400, 401, 7200])('fails with timeout when still creating after %i s of 400', async (elapsed) => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'creating' })]);
    await expectDrillError(
      checkRestore(clients, { ...SPEC, maxWaitSeconds: 400 }, run(), new Date(NOW.getTime() + elapsed * 1000), 300),
      'timeout',
      `${DRILL_ID} was not available after 400 s (status creating)`,
    );
  });

  test('an instance that became available just past the limit still counts', async () => {
    serveInstances(() => [drillInstance()]);
    const progress = await checkRestore(
      clients,
      { ...SPEC, maxWaitSeconds: 400 },
      run(),
      new Date(NOW.getTime() + 500_000),
    );
    expect(progress).toMatchObject({ status: 'available', available: true, elapsedSeconds: 500 });
  });
});

describe('deleteDrillInstance', () => {
  test.each([
    ['without the drill tag', drillInstance(DRILL_ID, { TagList: [{ Key: DRILL_TAGS.run, Value: RUN_ID }] })],
    ['with the drill tag of another source', drillInstance(DRILL_ID, { TagList: [sourceTag('billing-db')] })],
    ['without the prefix', drillInstance('orders-db-copy')],
    ['that is the source itself', drillInstance(SOURCE)],
  ])('refuses an instance %s and never deletes it', async (_, instance) => {
    const identifier = instance.DBInstanceIdentifier as string;
    serveInstances(() => [instance]);
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    await expectDrillError(
      deleteDrillInstance(clients, SPEC, identifier, { respectKeep: true, now: NOW }),
      'refused',
      `refusing to delete ${identifier}: it is not a drill instance of orders-db (no prod-baseline:drill-source tag or wrong prefix)`,
    );
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  test('deletes a drill instance without a final snapshot and with its automated backups', async () => {
    serveInstances(() => [drillInstance()]);
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('deleted');
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rdsMock.commandCalls(DeleteDBInstanceCommand)[0].args[0].input).toStrictEqual({
      DBInstanceIdentifier: DRILL_ID,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
  });

  test('an instance that is gone is gone', async () => {
    serveInstances(() => []);
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('gone');
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  test('an instance already deleting is left to finish', async () => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'deleting' })]);
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('already-deleting');
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  test('an instance that vanishes between describe and delete is gone', async () => {
    serveInstances(() => [drillInstance()]);
    rdsMock.on(DeleteDBInstanceCommand).rejects(notFound(DRILL_ID));
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('gone');
  });

  test('InvalidDBInstanceStateFault because the instance is being deleted counts as already deleting', async () => {
    serveInstances(() => [drillInstance()]);
    rdsMock.on(DeleteDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        $metadata: {},
        message: `Instance ${DRILL_ID} is already being deleted.`,
      }),
    );
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('already-deleting');
  });

  test('fails on InvalidDBInstanceStateFault for another reason, for the caller to retry', async () => {
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'modifying' })]);
    rdsMock.on(DeleteDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        $metadata: {},
        message: `Instance ${DRILL_ID} is not in available state.`,
      }),
    );
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).rejects.toThrow(
      `Instance ${DRILL_ID} is not in available state.`,
    );
  });

  test('calling it again after a delete is safe', async () => {
    let instances = [drillInstance()];
    serveInstances(() => instances);
    rdsMock.on(DeleteDBInstanceCommand).callsFake(async () => {
      instances = [drillInstance(DRILL_ID, { DBInstanceStatus: 'deleting' })];
      return {};
    });
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('deleted');
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('already-deleting');
    instances = [];
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('gone');
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
  });

  describe('with respectKeep', () => {
    const kept = (until: string) =>
      drillInstance(DRILL_ID, { TagList: [sourceTag(), { Key: DRILL_TAGS.keepUntil, Value: until }] });

    test('keeps an instance whose keep-until lies ahead', async () => {
      serveInstances(() => [kept('2026-03-03T12:00:00.000Z')]);
      await expect(deleteDrillInstance(clients, SPEC, DRILL_ID, { respectKeep: true, now: NOW })).resolves.toBe('kept');
      expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    });

    test('deletes an instance whose keep-until has passed', async () => {
      serveInstances(() => [kept('2026-03-02T11:59:59.000Z')]);
      rdsMock.on(DeleteDBInstanceCommand).resolves({});
      await expect(deleteDrillInstance(clients, SPEC, DRILL_ID, { respectKeep: true, now: NOW })).resolves.toBe(
        'deleted',
      );
    });

    test('without respectKeep the keep-until tag does not protect the instance', async () => {
      serveInstances(() => [kept('2026-03-03T12:00:00.000Z')]);
      rdsMock.on(DeleteDBInstanceCommand).resolves({});
      await expect(deleteDrillInstance(clients, SPEC, DRILL_ID, { now: NOW })).resolves.toBe('deleted');
    });
  });
});

describe('withRetries', () => {
  const throttled = () => awsError('ThrottlingException', 'Rate exceeded');

  test('retries a throttled call twice, then succeeds, backing off exponentially from 200 ms with jitter', async () => {
    jest.spyOn(Math, 'random').mockReturnValueOnce(0).mockReturnValueOnce(0.5);
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ DBInstances: [drillInstance()] });
    const out = await withRetries(clients, () => clients.rds.send(new DescribeDBInstancesCommand({})));
    expect(out.DBInstances).toHaveLength(1);
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 3);
    // 200 ms x (0.5 + 0 / 2), then 400 ms x (0.5 + 0.5 / 2).
    expect(sleeps).toStrictEqual([100, 300]);
  });

  test('retries a throttled step and the step succeeds', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.25);
    serveInstances(() => [drillInstance()]);
    rdsMock
      .on(DeleteDBInstanceCommand)
      .rejectsOnce(awsError('Throttling', 'Rate exceeded'))
      .rejectsOnce(awsError('Throttling', 'Rate exceeded'))
      .resolves({});
    await expect(deleteDrillInstance(clients, SPEC, DRILL_ID)).resolves.toBe('deleted');
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 3);
    expect(sleeps).toStrictEqual([125, 250]);
  });

  test('the jitter keeps each wait between 50 % and 100 % of the exponential step', async () => {
    const steps = [200, 400, 800, 1600];
    for (const random of [0, 0.999999]) {
      sleeps = [];
      jest.spyOn(Math, 'random').mockReturnValue(random);
      rdsMock.reset();
      rdsMock.on(DescribeDBInstancesCommand).rejects(throttled());
      await expect(withRetries(clients, () => clients.rds.send(new DescribeDBInstancesCommand({})))).rejects.toThrow(
        'Rate exceeded',
      );
      expect(sleeps).toHaveLength(4);
      sleeps.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(steps[i] / 2);
        expect(ms).toBeLessThanOrEqual(steps[i]);
      });
    }
  });

  test('fails at once on an error that is not retryable', async () => {
    rdsMock.on(DeleteDBInstanceCommand).rejects(awsError('InvalidParameterValue', 'bad identifier'));
    await expect(
      withRetries(clients, () => clients.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: DRILL_ID }))),
    ).rejects.toThrow('bad identifier');
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(sleeps).toStrictEqual([]);
  });

  test('fails with the throttling error after 5 throttled attempts', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const error = throttled();
    rdsMock.on(DescribeDBInstancesCommand).rejects(error);
    await expect(withRetries(clients, () => clients.rds.send(new DescribeDBInstancesCommand({})))).rejects.toBe(error);
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 5);
    expect(sleeps).toStrictEqual([150, 300, 600, 1200]);
  });

  test.each(['RequestLimitExceeded', 'TooManyRequestsException', 'ServiceUnavailable', 'InternalFailure'])(
    'retries %s',
    async (name) => {
      jest.spyOn(Math, 'random').mockReturnValue(0);
      let calls = 0;
      const out = await withRetries(clients, async () => {
        calls++;
        if (calls === 1) throw awsError(name, 'try again');
        return 'ok';
      });
      expect(out).toBe('ok');
      expect(calls).toBe(2);
      expect(sleeps).toStrictEqual([100]);
    },
  );

  test('retries an error the SDK marked retryable', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const transient = Object.assign(awsError('SomethingTransient', 'blip'), { $retryable: {} });
    let calls = 0;
    await expect(
      withRetries(clients, async () => {
        calls++;
        if (calls < 3) throw transient;
        return calls;
      }),
    ).resolves.toBe(3);
  });
});

describe('resetDrillPassword', () => {
  const PASSWORD = 'Zx9_abcdefghijklmnopqrstuvwxyz-0';

  test('refuses an instance that is not a drill instance and never modifies it', async () => {
    serveInstances(() => [{ DBInstanceIdentifier: SOURCE, DBInstanceStatus: 'available', TagList: [] }]);
    await expectDrillError(
      resetDrillPassword(clients, SPEC, SOURCE, PASSWORD),
      'refused',
      'refusing to touch orders-db: it is not a drill instance of orders-db (no prod-baseline:drill-source tag or wrong prefix)',
    );
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  test('fails when the drill instance does not exist', async () => {
    serveInstances(() => []);
    await expectDrillError(
      resetDrillPassword(clients, SPEC, DRILL_ID, PASSWORD),
      'restore-failed',
      `drill instance ${DRILL_ID} does not exist`,
    );
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  test('sets the password and waits until the instance is available with no pending password', async () => {
    const states: DBInstance[] = [
      drillInstance(),
      drillInstance(DRILL_ID, { DBInstanceStatus: 'resetting-master-credentials' }),
      drillInstance(DRILL_ID, {
        DBInstanceStatus: 'resetting-master-credentials',
        PendingModifiedValues: { MasterUserPassword: '****' },
      }),
      drillInstance(DRILL_ID, { PendingModifiedValues: { MasterUserPassword: '****' } }),
      drillInstance(DRILL_ID, { PendingModifiedValues: {} }),
    ];
    let describes = 0;
    rdsMock.on(DescribeDBInstancesCommand).callsFake(async () => ({ DBInstances: [states[describes++]] }));
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    await expect(resetDrillPassword(clients, SPEC, DRILL_ID, PASSWORD)).resolves.toBeUndefined();
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toStrictEqual([
      { DBInstanceIdentifier: DRILL_ID, MasterUserPassword: PASSWORD, ApplyImmediately: true },
    ]);
    expect(describes).toBe(states.length);
    expect(sleeps).toStrictEqual([5_000, 10_000, 10_000, 10_000]);
  });

  test('fails with timeout when the instance never settles', async () => {
    // The deadline is measured on the wall clock: a fake one that the injected sleep moves forward.
    let clock = NOW.getTime();
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    clients = {
      ...clients,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    };
    serveInstances(() => [drillInstance(DRILL_ID, { DBInstanceStatus: 'resetting-master-credentials' })]);
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    await expectDrillError(
      resetDrillPassword(clients, SPEC, DRILL_ID, PASSWORD, 30),
      'timeout',
      `the new password of ${DRILL_ID} was not applied within 30 s`,
    );
    expect(sleeps).toStrictEqual([5_000, 10_000, 10_000, 10_000]);
    expect(rdsMock).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 5);
  });
});

describe('figures and last success', () => {
  const DIMENSIONS = [{ Name: 'SourceInstance', Value: SOURCE }];

  test('publishFigures puts every figure with its unit in ProdBaseline/RestoreDrill', async () => {
    cloudwatchMock.on(PutMetricDataCommand).resolves({});
    await publishFigures(
      clients,
      SPEC,
      {
        succeeded: true,
        restoreSeconds: 1200,
        verifySeconds: 5,
        restorePointLagSeconds: 300,
        dataAgeSeconds: 42,
        checksFailed: 0,
      },
      NOW,
    );
    const metric = (MetricName: string, Value: number, Unit: string) => ({
      MetricName,
      Value,
      Unit,
      Timestamp: NOW,
      Dimensions: DIMENSIONS,
    });
    const expected = {
      Namespace: 'ProdBaseline/RestoreDrill',
      MetricData: [
        metric('DrillSucceeded', 1, 'Count'),
        metric('RestoreSeconds', 1200, 'Seconds'),
        metric('VerifySeconds', 5, 'Seconds'),
        metric('RestorePointLagSeconds', 300, 'Seconds'),
        metric('DataAgeSeconds', 42, 'Seconds'),
        metric('ChecksFailed', 0, 'Count'),
      ],
    };
    expect(cloudwatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(cloudwatchMock).toHaveReceivedCommandWith(PutMetricDataCommand, expected);
    expect(cloudwatchMock.commandCalls(PutMetricDataCommand)[0].args[0].input).toStrictEqual(expected);
  });

  test('publishFigures of a failed drill puts only the figures it has', async () => {
    cloudwatchMock.on(PutMetricDataCommand).resolves({});
    await publishFigures(clients, SPEC, { succeeded: false, restoreSeconds: 900 }, NOW);
    expect(cloudwatchMock.commandCalls(PutMetricDataCommand)[0].args[0].input).toStrictEqual({
      Namespace: 'ProdBaseline/RestoreDrill',
      MetricData: [
        { MetricName: 'DrillSucceeded', Value: 0, Unit: 'Count', Timestamp: NOW, Dimensions: DIMENSIONS },
        { MetricName: 'RestoreSeconds', Value: 900, Unit: 'Seconds', Timestamp: NOW, Dimensions: DIMENSIONS },
      ],
    });
  });

  test('recordSuccess writes the time into the last-success parameter', async () => {
    ssmMock.on(PutParameterCommand).resolves({});
    await recordSuccess(clients, SPEC, NOW);
    expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toStrictEqual([
      {
        Name: '/prod-baseline/restore-drill/orders-db/last-success',
        Value: '2026-03-02T12:00:00.000Z',
        Type: 'String',
        Overwrite: true,
      },
    ]);
  });

  test.each([
    ['a success a day and a half ago', '2026-03-01T00:00:00.000Z', new Date('2025-12-01T00:00:00Z'), 129_600],
    ['never, counting from the deploy', NEVER, new Date('2026-02-27T12:00:00.000Z'), 259_200],
    ['a success recorded in the future (clock skew), never negative', '2026-03-02T12:05:00.000Z', undefined, 0],
    [
      'a value that is not a time, counting from when it was written',
      'garbage',
      new Date('2026-02-27T12:00:00.000Z'),
      259_200,
    ],
  ])('publishSecondsSinceLastSuccess with %s', async (_, value, modified, seconds) => {
    ssmMock
      .on(GetParameterCommand, { Name: SPEC.lastSuccessParameter })
      .resolves({ Parameter: { Name: SPEC.lastSuccessParameter, Value: value, LastModifiedDate: modified } });
    cloudwatchMock.on(PutMetricDataCommand).resolves({});
    await expect(publishSecondsSinceLastSuccess(clients, SPEC, NOW)).resolves.toBe(seconds);
    expect(cloudwatchMock.commandCalls(PutMetricDataCommand)[0].args[0].input).toStrictEqual({
      Namespace: 'ProdBaseline/RestoreDrill',
      MetricData: [
        {
          MetricName: 'SecondsSinceLastSuccess',
          Value: seconds,
          Unit: 'Seconds',
          Timestamp: NOW,
          Dimensions: DIMENSIONS,
        },
      ],
    });
  });
});

test('fails, publishing nothing, when the last-success parameter holds no time and no date', async () => {
  ssmMock
    .on(GetParameterCommand, { Name: SPEC.lastSuccessParameter })
    .resolves({ Parameter: { Name: SPEC.lastSuccessParameter, Value: 'garbage' } });
  cloudwatchMock.on(PutMetricDataCommand).resolves({});
  await expect(publishSecondsSinceLastSuccess(clients, SPEC, NOW)).rejects.toThrow(
    `the last-success parameter ${SPEC.lastSuccessParameter} holds no time ("garbage") and no modification date`,
  );
  expect(cloudwatchMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
});

describe('sweep', () => {
  const created = (msBeforeNow: number) => new Date(NOW.getTime() - msBeforeNow);
  const keep = (until: string): Tag[] => [sourceTag(), { Key: DRILL_TAGS.keepUntil, Value: until }];

  test('deletes old drill instances, keeps young and kept ones, never beyond 7 days, ignores others', async () => {
    const instances: DBInstance[] = [
      drillInstance('drill-orders-db-old', { InstanceCreateTime: created(7 * HOUR) }),
      drillInstance('drill-orders-db-young', { InstanceCreateTime: created(5 * HOUR) }),
      drillInstance('drill-orders-db-creating', { DBInstanceStatus: 'creating', InstanceCreateTime: undefined }),
      drillInstance('drill-orders-db-kept', {
        InstanceCreateTime: created(2 * DAY),
        TagList: keep('2026-03-03T09:00:00.000Z'),
      }),
      drillInstance('drill-orders-db-keep-expired', {
        InstanceCreateTime: created(2 * DAY),
        TagList: keep('2026-03-02T11:00:00.000Z'),
      }),
      drillInstance('drill-orders-db-kept-too-long', {
        InstanceCreateTime: created(7 * DAY + 1000),
        TagList: keep('2026-04-01T00:00:00.000Z'),
      }),
      drillInstance('drill-orders-db-already-deleting', {
        DBInstanceStatus: 'deleting',
        InstanceCreateTime: created(30 * HOUR),
      }),
      { DBInstanceIdentifier: SOURCE, DBInstanceStatus: 'available', InstanceCreateTime: created(400 * DAY) },
      drillInstance('drill-billing-db-old', {
        InstanceCreateTime: created(30 * DAY),
        TagList: [sourceTag('billing-db')],
      }),
      drillInstance('legacy-orders-db-copy', { InstanceCreateTime: created(30 * DAY) }),
    ];
    serveInstances(() => instances, 4);
    rdsMock.on(DeleteDBInstanceCommand).resolves({});

    const results = await sweep(clients, SPEC, NOW);

    expect(results).toStrictEqual([
      {
        instanceIdentifier: 'drill-orders-db-already-deleting',
        outcome: 'already-deleting',
        expiresAt: '2026-03-01T12:00:00.000Z',
      },
      { instanceIdentifier: 'drill-orders-db-creating', outcome: 'young', expiresAt: '2026-03-02T18:00:00.000Z' },
      { instanceIdentifier: 'drill-orders-db-keep-expired', outcome: 'deleted', expiresAt: '2026-03-02T11:00:00.000Z' },
      { instanceIdentifier: 'drill-orders-db-kept', outcome: 'young', expiresAt: '2026-03-03T09:00:00.000Z' },
      {
        instanceIdentifier: 'drill-orders-db-kept-too-long',
        outcome: 'deleted',
        expiresAt: '2026-03-02T11:59:59.000Z',
      },
      { instanceIdentifier: 'drill-orders-db-old', outcome: 'deleted', expiresAt: '2026-03-02T11:00:00.000Z' },
      { instanceIdentifier: 'drill-orders-db-young', outcome: 'young', expiresAt: '2026-03-02T13:00:00.000Z' },
    ]);
    expect(
      rdsMock
        .commandCalls(DeleteDBInstanceCommand)
        .map((c) => c.args[0].input.DBInstanceIdentifier)
        .sort(),
    ).toStrictEqual(['drill-orders-db-keep-expired', 'drill-orders-db-kept-too-long', 'drill-orders-db-old']);
  });

  test('a drill instance exactly at its age limit is deleted', async () => {
    serveInstances(() => [drillInstance(DRILL_ID, { InstanceCreateTime: created(6 * HOUR) })]);
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    await expect(sweep(clients, SPEC, NOW)).resolves.toStrictEqual([
      { instanceIdentifier: DRILL_ID, outcome: 'deleted', expiresAt: NOW.toISOString() },
    ]);
  });

  test('with no drill instances there is nothing to do', async () => {
    serveInstances(() => [{ DBInstanceIdentifier: SOURCE, DBInstanceStatus: 'available' }]);
    await expect(sweep(clients, SPEC, NOW)).resolves.toStrictEqual([]);
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });
});
