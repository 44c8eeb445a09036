import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  type DescribeDBInstancesCommandInput,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DRILL_TAGS, type DrillSpec } from '../../../constructs/restore-drill/drill-spec';
import { type DrillClients, DrillError, type DrillRun } from '../../../constructs/restore-drill/steps';
import { runChecks, type VerifyResult } from '../../../constructs/restore-drill/verify';
import { drillFigures, newMasterPassword, verifyDrillInstance } from '../../../constructs/restore-drill/verify-step';

// The SQL side is tested against a real PostgreSQL in verify.test.ts; here only what the verify step
// hands to it matters.
jest.mock('../../../constructs/restore-drill/verify', () => ({ runChecks: jest.fn() }));
const runChecksMock = jest.mocked(runChecks);

const rdsMock = mockClient(RDSClient);

const CLIENT_CONFIG = {
  region: 'eu-west-1',
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

const SOURCE = 'orders-db';
const DRILL_ID = 'drill-orders-db-a1b2c3d4e5f6';
const ENDPOINT = 'drill-orders-db-a1b2c3d4e5f6.c9akciq32.eu-west-1.rds.amazonaws.com';
/** 32 characters of URL-safe base64, as RDS accepts in a master password. */
const PASSWORD_SHAPE = /^[A-Za-z0-9_-]{32}$/;

const SPEC: DrillSpec = {
  version: 1,
  sourceInstanceIdentifier: SOURCE,
  instancePrefix: 'drill',
  subnetGroupName: 'drill-isolated-subnets',
  securityGroupIds: ['sg-0aaa1111'],
  instanceClass: 'db.t4g.micro',
  databaseName: 'orders',
  checks: [
    { kind: 'rowCount', table: 'public.orders', min: 100 },
    { kind: 'freshness', table: 'public.orders', column: 'created_at', maxAgeSeconds: 900 },
  ],
  maxWaitSeconds: 3600,
  maxInstanceAgeSeconds: 6 * 3600,
  lastSuccessParameter: '/prod-baseline/restore-drill/orders-db/last-success',
  rpoTargetSeconds: 900,
  rtoTargetSeconds: 3600,
};

const RUN: DrillRun = {
  runId: 'a1b2c3d4e5f6',
  startedAt: '2026-03-02T12:00:00.000Z',
  point: { kind: 'latest-restorable', time: '2026-03-02T11:55:00.000Z' },
  instanceIdentifier: DRILL_ID,
  restoreStartedAt: '2026-03-02T12:00:05.000Z',
};

const PASSED: VerifyResult = {
  passed: true,
  checks: [
    {
      name: 'rowCount(public.orders) >= 100',
      kind: 'rowCount',
      passed: true,
      message: '150 rows',
      actual: 150,
      expected: { min: 100 },
      durationMs: 12,
    },
  ],
  checksFailed: 0,
  dataAgeSeconds: 42,
  newestRowTime: '2026-03-02T11:54:18.000Z',
  durationMs: 4600,
};

let sleeps: number[];
let clients: DrillClients;

function drillInstance(extra: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: DRILL_ID,
    DBInstanceStatus: 'available',
    MasterUsername: 'orders_admin',
    Endpoint: { Address: ENDPOINT, Port: 5432 },
    TagList: [{ Key: DRILL_TAGS.source, Value: SOURCE }],
    ...extra,
  };
}

function serveInstance(instance: () => DBInstance): void {
  rdsMock.on(DescribeDBInstancesCommand).callsFake(async (input: DescribeDBInstancesCommandInput) => {
    const found = instance();
    if (input.DBInstanceIdentifier !== found.DBInstanceIdentifier) {
      throw new DBInstanceNotFoundFault({
        $metadata: {},
        message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
      });
    }
    return { DBInstances: [found] };
  });
}

function sentPasswords(): (string | undefined)[] {
  return rdsMock.commandCalls(ModifyDBInstanceCommand).map((call) => call.args[0].input.MasterUserPassword);
}

beforeEach(() => {
  rdsMock.reset();
  runChecksMock.mockReset();
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

describe('verifyDrillInstance', () => {
  test('resets the password, then runs the checks at the resolved endpoint with it', async () => {
    serveInstance(() => drillInstance());
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    let modifiesBeforeChecks = -1;
    runChecksMock.mockImplementation(async () => {
      modifiesBeforeChecks = rdsMock.commandCalls(ModifyDBInstanceCommand).length;
      return PASSED;
    });
    const resolveEndpoint = jest.fn(() => ({ host: '127.0.0.1', port: 15432, servername: 'localhost' }));
    const now = () => new Date('2026-03-02T12:30:00Z');

    const result = await verifyDrillInstance(clients, SPEC, RUN, {
      ca: '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n',
      resolveEndpoint,
      statementTimeoutMs: 1_000,
      totalTimeoutMs: 5_000,
      now,
    });

    const [password] = sentPasswords();
    expect(password).toMatch(PASSWORD_SHAPE);
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((call) => call.args[0].input)).toStrictEqual([
      { DBInstanceIdentifier: DRILL_ID, MasterUserPassword: password, ApplyImmediately: true },
    ]);
    expect(modifiesBeforeChecks).toBe(1);
    expect(sleeps).toStrictEqual([5_000]);
    expect(resolveEndpoint).toHaveBeenCalledWith({
      host: ENDPOINT,
      port: 5432,
      user: 'orders_admin',
      database: 'orders',
    });
    expect(runChecksMock).toHaveBeenCalledTimes(1);
    expect(runChecksMock).toHaveBeenCalledWith(
      { host: '127.0.0.1', port: 15432, database: 'orders', user: 'orders_admin', password },
      {
        checks: SPEC.checks,
        restorePointTime: new Date('2026-03-02T11:55:00.000Z'),
        ca: '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n',
        servername: 'localhost',
        statementTimeoutMs: 1_000,
        totalTimeoutMs: 5_000,
        now,
      },
    );
    expect(result).toStrictEqual(PASSED);
    expect(JSON.stringify(result)).not.toContain(password);
  });

  test('without a resolver it connects to the instance endpoint and verifies its name', async () => {
    serveInstance(() => drillInstance());
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    runChecksMock.mockResolvedValue(PASSED);
    await verifyDrillInstance(clients, SPEC, RUN);
    const [target, options] = runChecksMock.mock.calls[0];
    expect(target).toStrictEqual({
      host: ENDPOINT,
      port: 5432,
      database: 'orders',
      user: 'orders_admin',
      password: sentPasswords()[0],
    });
    expect(options).toMatchObject({ servername: ENDPOINT, ca: undefined });
  });

  test('every run sets a fresh password', async () => {
    serveInstance(() => drillInstance());
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    runChecksMock.mockResolvedValue(PASSED);
    await verifyDrillInstance(clients, SPEC, RUN);
    await verifyDrillInstance(clients, SPEC, RUN);
    const [first, second] = sentPasswords();
    expect(first).toMatch(PASSWORD_SHAPE);
    expect(second).toMatch(PASSWORD_SHAPE);
    expect(first).not.toBe(second);
    expect(runChecksMock.mock.calls.map(([target]) => target.password)).toStrictEqual([first, second]);
  });

  test('refuses an instance that is not a drill instance, and neither resets its password nor connects', async () => {
    serveInstance(() => drillInstance({ TagList: [] }));
    const error = await verifyDrillInstance(clients, SPEC, RUN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrillError);
    expect(error).toMatchObject({
      code: 'refused',
      message: `refusing to touch ${DRILL_ID}: it is not a drill instance of orders-db (no prod-baseline:drill-source tag or wrong prefix)`,
    });
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    expect(runChecksMock).not.toHaveBeenCalled();
  });

  test('fails with timeout when the password is never applied, and never connects', async () => {
    let clock = Date.parse('2026-03-02T12:30:00Z');
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    clients = {
      ...clients,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    };
    serveInstance(() => drillInstance({ DBInstanceStatus: 'resetting-master-credentials' }));
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    const error = await verifyDrillInstance(clients, SPEC, RUN, { passwordWaitSeconds: 20 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'timeout',
      message: `the new password of ${DRILL_ID} was not applied within 20 s`,
    });
    expect(sleeps).toStrictEqual([5_000, 10_000, 10_000]);
    expect(runChecksMock).not.toHaveBeenCalled();
  });

  test('fails when the instance has no endpoint yet', async () => {
    serveInstance(() => drillInstance({ Endpoint: undefined }));
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    const error = await verifyDrillInstance(clients, SPEC, RUN).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'restore-failed',
      message: `${DRILL_ID} has no endpoint yet (status available)`,
    });
    expect(runChecksMock).not.toHaveBeenCalled();
  });
});

test('newMasterPassword gives 32 URL-safe characters', () => {
  const passwords = Array.from({ length: 20 }, () => newMasterPassword());
  for (const password of passwords) expect(password).toMatch(PASSWORD_SHAPE);
  expect(new Set(passwords).size).toBe(20);
});

describe('drillFigures', () => {
  test('a passed drill: restore time, restore point lag, data age and verify time', () => {
    expect(drillFigures(RUN, new Date('2026-03-02T12:20:05.400Z'), PASSED)).toStrictEqual({
      succeeded: true,
      restoreSeconds: 1200,
      verifySeconds: 5,
      restorePointLagSeconds: 300,
      dataAgeSeconds: 42,
      checksFailed: 0,
    });
  });

  test('a failed verification fails the drill and counts its failed checks', () => {
    const failed: VerifyResult = { passed: false, checks: [], checksFailed: 2, durationMs: 1_499 };
    expect(drillFigures(RUN, new Date('2026-03-02T12:10:05.000Z'), failed)).toStrictEqual({
      succeeded: false,
      restoreSeconds: 600,
      verifySeconds: 1,
      restorePointLagSeconds: 300,
      dataAgeSeconds: undefined,
      checksFailed: 2,
    });
  });

  test('a drill that never verified has only its restore point lag', () => {
    expect(drillFigures(RUN, undefined, undefined)).toStrictEqual({
      succeeded: false,
      restoreSeconds: undefined,
      verifySeconds: undefined,
      restorePointLagSeconds: 300,
      dataAgeSeconds: undefined,
      checksFailed: undefined,
    });
  });

  test('a snapshot restore lags by the snapshot age, rounded to whole seconds', () => {
    const run: DrillRun = {
      ...RUN,
      point: { kind: 'snapshot', time: '2026-03-01T03:10:42.500Z', snapshotIdentifier: 'rds:orders-db-2026-03-01' },
    };
    expect(drillFigures(run, undefined, undefined).restorePointLagSeconds).toBe(118_158);
  });

  test('without a restore start there is no restore time; times are never negative', () => {
    const run: DrillRun = {
      ...RUN,
      restoreStartedAt: undefined,
      point: { kind: 'time', time: '2026-03-02T12:00:03.000Z' },
    };
    const figures = drillFigures(run, new Date('2026-03-02T12:20:00Z'), PASSED);
    expect(figures.restoreSeconds).toBeUndefined();
    expect(figures.restorePointLagSeconds).toBe(0);
    expect(drillFigures(RUN, new Date('2026-03-02T12:00:00Z'), PASSED).restoreSeconds).toBe(0);
  });
});
