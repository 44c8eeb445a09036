import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import type { DrillCheckSpec } from '../../../constructs/restore-drill/check-spec';
import {
  type ConnectionTarget,
  DRILL_APPLICATION_NAME,
  NO_ANSWER_GRACE_MS,
  normalizeSqlValue,
  runChecks,
  type VerifyOptions,
  type VerifyResult,
} from '../../../constructs/restore-drill/verify';
import { startPostgres, type TestPostgres } from '../../postgres';

// One throwaway server for the file. It also accepts plaintext logins (acceptPlaintext), so a client
// that fell back to plaintext after a TLS failure would get in: the TLS tests prove it never does.
let pg: TestPostgres;
let target: ConnectionTarget;

const RESTORE_POINT = new Date('2024-05-01T12:00:00Z');
/** A fixed clock: every duration is 0, so whole results can be compared exactly. */
const FROZEN = { now: () => new Date('2024-05-02T00:00:00Z') };

beforeAll(async () => {
  pg = await startPostgres({ acceptPlaintext: true });
  target = { host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: pg.password };
  await pg.query(`
    create table orders (id int primary key, total numeric(10, 2), created_at timestamptz not null);
    insert into orders select i, i * 1.5, timestamptz '2024-05-01T11:58:30Z' - (i - 1) * interval '1 minute'
      from generate_series(1, 150) i;
    create table events (id int, at timestamp without time zone, day date);
    insert into events values (1, '2024-05-01 11:00:00', '2024-04-30'), (2, '2024-05-01 10:00:00', '2024-04-29');
    create table future (created_at timestamptz);
    insert into future values ('2024-05-01T12:05:00Z');
    create table empty_table (created_at timestamptz);
    create view big_orders as select * from orders where total > 100;
    create schema "Sales";
    create table "Sales"."Orders" ("CreatedAt" timestamptz);
    insert into "Sales"."Orders" values ('2024-05-01T11:59:00Z'), ('2024-05-01T11:00:00Z');
    create table "we""ird" (id int);
    insert into "we""ird" values (1), (2), (3);
  `);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

function verify(checks: DrillCheckSpec[], options: Partial<VerifyOptions> = {}): Promise<VerifyResult> {
  return runChecks(target, { checks, restorePointTime: RESTORE_POINT, ca: pg.ca, ...FROZEN, ...options });
}

/** name, passed and message of each check: the part of a result a person reads. */
function outcomes(result: VerifyResult): [string, boolean, string][] {
  return result.checks.map((c) => [c.name, c.passed, c.message]);
}

describe('tableExists', () => {
  test('passes for a table and a view, in the public schema by default', async () => {
    const result = await verify([
      { kind: 'tableExists', table: 'orders' },
      { kind: 'tableExists', table: 'public.big_orders' },
    ]);
    expect(result).toEqual({
      passed: true,
      checks: [
        {
          name: 'tableExists(orders)',
          kind: 'tableExists',
          passed: true,
          message: 'public.orders exists (table)',
          actual: true,
          durationMs: 0,
        },
        {
          name: 'tableExists(public.big_orders)',
          kind: 'tableExists',
          passed: true,
          message: 'public.big_orders exists (view)',
          actual: true,
          durationMs: 0,
        },
      ],
      checksFailed: 0,
      durationMs: 0,
    });
  });

  test('fails for a missing table, a missing schema and a name in the wrong case', async () => {
    const result = await verify([
      { kind: 'tableExists', table: 'public.invoices' },
      { kind: 'tableExists', table: 'billing.orders' },
      { kind: 'tableExists', table: 'Sales.orders' },
    ]);
    expect(result.passed).toBe(false);
    expect(result.checksFailed).toBe(3);
    expect(outcomes(result)).toEqual([
      ['tableExists(public.invoices)', false, 'public.invoices does not exist'],
      ['tableExists(billing.orders)', false, 'billing.orders does not exist'],
      ['tableExists(Sales.orders)', false, 'Sales.orders does not exist'],
    ]);
    expect(result.checks[0]).toMatchObject({ actual: false, expected: true });
  });
});

describe('rowCount', () => {
  test('passes when the count is within min and max', async () => {
    const result = await verify([
      { kind: 'rowCount', table: 'orders', min: 100 },
      { kind: 'rowCount', table: 'public.orders', min: 150, max: 150 },
    ]);
    expect(result.passed).toBe(true);
    expect(outcomes(result)).toEqual([
      ['rowCount(orders) >= 100', true, 'public.orders has 150 rows (allowed: at least 100)'],
      [
        'rowCount(public.orders) between 150 and 150',
        true,
        'public.orders has 150 rows (allowed: between 150 and 150)',
      ],
    ]);
    expect(result.checks[1]).toMatchObject({ actual: 150, expected: { min: 150, max: 150 } });
  });

  test('fails when the count is below min or above max', async () => {
    const result = await verify([
      { kind: 'rowCount', table: 'orders', min: 1000 },
      { kind: 'rowCount', table: 'orders', min: 0, max: 10 },
      { kind: 'rowCount', table: 'empty_table', min: 1 },
    ]);
    expect(result.checksFailed).toBe(3);
    expect(outcomes(result)).toEqual([
      ['rowCount(orders) >= 1000', false, 'public.orders has 150 rows, expected at least 1000'],
      ['rowCount(orders) between 0 and 10', false, 'public.orders has 150 rows, expected between 0 and 10'],
      ['rowCount(empty_table) >= 1', false, 'public.empty_table has 0 rows, expected at least 1'],
    ]);
  });

  test('fails with the server message for a missing table', async () => {
    const result = await verify([{ kind: 'rowCount', table: 'nope', min: 0 }]);
    expect(result.checks[0].message).toBe('query failed: relation "public.nope" does not exist (SQLSTATE 42P01)');
  });
});

describe('freshness and the recovery point', () => {
  test('passes and reports the exact data age at the restore point', async () => {
    const result = await verify([{ kind: 'freshness', table: 'orders', column: 'created_at', maxAgeSeconds: 90 }]);
    expect(result).toEqual({
      passed: true,
      checks: [
        {
          name: 'freshness(orders.created_at) <= 90s',
          kind: 'freshness',
          passed: true,
          message:
            'the newest public.orders.created_at is 2024-05-01T11:58:30.000Z, 90 s before the restore point 2024-05-01T12:00:00.000Z; allowed 90 s',
          actual: 90,
          expected: 90,
          durationMs: 0,
        },
      ],
      checksFailed: 0,
      dataAgeSeconds: 90,
      newestRowTime: '2024-05-01T11:58:30.000Z',
      durationMs: 0,
    });
  });

  test('fails when the newest row is older than maxAgeSeconds', async () => {
    const result = await verify([{ kind: 'freshness', table: 'orders', column: 'created_at', maxAgeSeconds: 89 }]);
    expect(result.passed).toBe(false);
    expect(result.checks[0].message).toBe(
      'the newest public.orders.created_at is 2024-05-01T11:58:30.000Z, 90 s before the restore point 2024-05-01T12:00:00.000Z; expected at most 89 s',
    );
    expect(result.dataAgeSeconds).toBe(90);
  });

  test('reports the largest age across freshness checks, whatever their order', async () => {
    const result = await verify([
      { kind: 'freshness', table: 'Sales.Orders', column: 'CreatedAt', maxAgeSeconds: 3600 },
      { kind: 'freshness', table: 'events', column: 'at', maxAgeSeconds: 3600 },
      { kind: 'freshness', table: 'orders', column: 'created_at', maxAgeSeconds: 3600 },
    ]);
    expect(result.passed).toBe(true);
    expect(result.checks.map((c) => c.actual)).toEqual([60, 3600, 90]);
    expect(result.dataAgeSeconds).toBe(3600);
    expect(result.newestRowTime).toBe('2024-05-01T11:00:00.000Z');
  });

  test('reads timestamp columns as UTC and dates as midnight UTC', async () => {
    const result = await verify([
      { kind: 'freshness', table: 'events', column: 'at', maxAgeSeconds: 3600 },
      { kind: 'freshness', table: 'events', column: 'day', maxAgeSeconds: 86_400 },
    ]);
    expect(outcomes(result)).toEqual([
      [
        'freshness(events.at) <= 3600s',
        true,
        'the newest public.events.at is 2024-05-01T11:00:00.000Z, 3600 s before the restore point 2024-05-01T12:00:00.000Z; allowed 3600 s',
      ],
      [
        'freshness(events.day) <= 86400s',
        false,
        'the newest public.events.day is 2024-04-30T00:00:00.000Z, 129600 s before the restore point 2024-05-01T12:00:00.000Z; expected at most 86400 s',
      ],
    ]);
    expect(result.dataAgeSeconds).toBe(129_600);
  });

  test('counts rows newer than the restore point as age 0', async () => {
    const result = await verify([{ kind: 'freshness', table: 'future', column: 'created_at', maxAgeSeconds: 1 }]);
    expect(result.passed).toBe(true);
    expect(result.checks[0].message).toBe(
      'the newest public.future.created_at is 2024-05-01T12:05:00.000Z, newer than the restore point 2024-05-01T12:00:00.000Z (age 0 s); allowed 1 s',
    );
    expect(result.dataAgeSeconds).toBe(0);
    expect(result.newestRowTime).toBe('2024-05-01T12:05:00.000Z');
  });

  test('fails for an empty table, a missing column and a column that is not a time', async () => {
    const result = await verify([
      { kind: 'freshness', table: 'empty_table', column: 'created_at', maxAgeSeconds: 60 },
      { kind: 'freshness', table: 'orders', column: 'updated_at', maxAgeSeconds: 60 },
      { kind: 'freshness', table: 'orders', column: 'id', maxAgeSeconds: 60 },
    ]);
    expect(result.checksFailed).toBe(3);
    expect(result.checks.map((c) => c.message)).toEqual([
      'public.empty_table.created_at has no values (the table is empty or the column is all NULL)',
      'query failed: column "updated_at" does not exist (SQLSTATE 42703)',
      'id must be a date or timestamp column: function pg_catalog.extract(unknown, integer) does not exist (SQLSTATE 42883)',
    ]);
    expect(result.dataAgeSeconds).toBeUndefined();
  });
});

describe('sql', () => {
  test('passes when the first column of the first row equals expected', async () => {
    const result = await verify([
      { kind: 'sql', query: 'select count(*) from orders where total < 0', expected: 0 },
      { kind: 'sql', query: 'select total from orders where id = 1;', expected: 1.5 },
      { kind: 'sql', query: "select 'ok'::text, 'ignored'", expected: 'ok' },
      { kind: 'sql', query: 'select exists (select 1 from orders)', expected: true },
      { kind: 'sql', query: 'select null::int', expected: null, name: 'nothing is null' },
    ]);
    expect(result.passed).toBe(true);
    expect(outcomes(result)).toEqual([
      ['sql(select count(*) from orders where total < 0) = 0', true, 'returned 0'],
      ['sql(select total from orders where id = 1;) = 1.5', true, 'returned 1.5'],
      [`sql(select 'ok'::text, 'ignored') = "ok"`, true, 'returned "ok"'],
      ['sql(select exists (select 1 from orders)) = true', true, 'returned true'],
      ['nothing is null', true, 'returned null'],
    ]);
    expect(result.checks.map((c) => c.actual)).toEqual(['0', '1.50', 'ok', true, null]);
  });

  test('fails and says the actual and the expected value', async () => {
    const result = await verify([
      { kind: 'sql', query: 'select count(*) from orders', expected: 149 },
      { kind: 'sql', query: "select 'ok'", expected: 'OK' },
      { kind: 'sql', query: 'select null', expected: 'null' },
      { kind: 'sql', query: 'select 1 where false', expected: 1 },
      { kind: 'sql', query: "select timestamptz '2024-05-01T12:00:00Z'", expected: '2024-05-01' },
    ]);
    expect(result.checksFailed).toBe(5);
    expect(result.checks.map((c) => c.message)).toEqual([
      'returned 150, expected 149',
      'returned "ok", expected "OK"',
      'returned null, expected "null"',
      'the query returned no rows, expected 1',
      'returned "2024-05-01T12:00:00.000Z", expected "2024-05-01"',
    ]);
  });

  test('runs in a read-only session, one statement at a time', async () => {
    const result = await verify([
      { kind: 'sql', query: 'insert into orders values (999, 1, now()) returning id', expected: 999 },
      { kind: 'sql', query: 'select 1; delete from orders', expected: 1 },
      { kind: 'sql', query: 'select count(*) from orders', expected: 150 },
    ]);
    expect(result.checks.map((c) => c.message)).toEqual([
      'query failed: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)',
      'query failed: cannot insert multiple commands into a prepared statement (SQLSTATE 42601)',
      'returned 150',
    ]);
  });

  test('normalizes values before comparing', () => {
    expect([1.5, '1.50', '+1.5', 1n, '01', true, 't', null, '', '1e3'].map(normalizeSqlValue)).toEqual([
      '1.5',
      '1.5',
      '1.5',
      '1',
      '1',
      'true',
      't',
      null,
      '',
      '1000',
    ]);
  });
});

describe('identifiers', () => {
  test('quotes schema, table and column names exactly, case and quotes included', async () => {
    const result = await verify([
      { kind: 'tableExists', table: 'Sales.Orders' },
      { kind: 'rowCount', table: 'Sales.Orders', min: 2, max: 2 },
      { kind: 'freshness', table: 'Sales.Orders', column: 'CreatedAt', maxAgeSeconds: 60 },
      { kind: 'rowCount', table: 'we"ird', min: 3 },
      { kind: 'tableExists', table: 'orders"; drop table orders; --' },
    ]);
    expect(outcomes(result)).toEqual([
      ['tableExists(Sales.Orders)', true, 'Sales.Orders exists (table)'],
      ['rowCount(Sales.Orders) between 2 and 2', true, 'Sales.Orders has 2 rows (allowed: between 2 and 2)'],
      [
        'freshness(Sales.Orders.CreatedAt) <= 60s',
        true,
        'the newest Sales.Orders.CreatedAt is 2024-05-01T11:59:00.000Z, 60 s before the restore point 2024-05-01T12:00:00.000Z; allowed 60 s',
      ],
      ['rowCount(we"ird) >= 3', true, 'public.we"ird has 3 rows (allowed: at least 3)'],
      ['tableExists(orders"; drop table orders; --)', false, 'public.orders"; drop table orders; -- does not exist'],
    ]);
    const { rows } = await pg.query('select count(*)::int as n from orders');
    expect(rows[0].n).toBe(150);
  });
});

describe('invalid checks', () => {
  test('fails invalid checks without running them; the valid ones still run', async () => {
    const checks = [
      { kind: 'rowCount', table: 'a.b.c', min: -1 },
      { kind: 'bogus' },
      { kind: 'tableExists', table: 'orders' },
    ] as unknown as DrillCheckSpec[];
    const result = await verify(checks);
    expect(result.checks.map(({ name, kind, passed, message }) => ({ name, kind, passed, message }))).toEqual([
      {
        name: 'rowCount(a.b.c) >= -1',
        kind: 'rowCount',
        passed: false,
        message:
          'invalid check: table must be "name" or "schema.name", got "a.b.c"; rowCount min must be a whole number of at least 0, got -1',
      },
      {
        name: 'check 2',
        kind: 'bogus',
        passed: false,
        message: 'invalid check: kind must be one of tableExists, rowCount, freshness, sql, got "bogus"',
      },
      { name: 'tableExists(orders)', kind: 'tableExists', passed: true, message: 'public.orders exists (table)' },
    ]);
  });

  test('fails when the options are invalid (a programming error, thrown)', async () => {
    await expect(
      runChecks(target, {
        checks: [],
        restorePointTime: new Date('not a date'),
        statementTimeoutMs: 0,
        totalTimeoutMs: 1.5,
      }),
    ).rejects.toThrow(
      'runChecks: restorePointTime must be a valid Date, got Invalid Date; statementTimeoutMs must be a whole number of at least 1, got 0; totalTimeoutMs must be a whole number of at least 1, got 1.5',
    );
  });
});

describe('time limits', () => {
  test('fails a check that exceeds the statement timeout; the later checks still run', async () => {
    const started = Date.now();
    const result = await verify(
      [
        { kind: 'sql', query: 'select pg_sleep(5)', expected: '' },
        { kind: 'rowCount', table: 'orders', min: 1 },
      ],
      { statementTimeoutMs: 500, now: undefined },
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcomes(result)).toEqual([
      ['sql(select pg_sleep(5)) = ""', false, 'timed out after 500 ms'],
      ['rowCount(orders) >= 1', true, 'public.orders has 150 rows (allowed: at least 1)'],
    ]);
    expect(result.checks[0].durationMs).toBeGreaterThanOrEqual(450);
  });

  test('fails the running check and the rest when the total budget runs out', async () => {
    const result = await verify(
      [
        { kind: 'sql', query: 'select pg_sleep(0.6)', expected: '' },
        { kind: 'sql', query: 'select pg_sleep(5)', expected: '' },
        { kind: 'tableExists', table: 'orders' },
        { kind: 'rowCount', table: 'orders', min: 1 },
      ],
      { totalTimeoutMs: 1_000, statementTimeoutMs: 5_000, now: undefined },
    );
    expect(result.passed).toBe(false);
    expect(result.checks[0]).toMatchObject({ passed: true, message: 'returned ""' });
    expect(result.checks[1].message).toMatch(
      /^timed out after \d{1,3} ms \(all that was left of the verification time budget of 1000 ms\)$/,
    );
    expect(result.checks.slice(2).map((c) => [c.name, c.passed, c.message])).toEqual([
      ['tableExists(orders)', false, 'not run: verification time budget of 1000 ms used up'],
      ['rowCount(orders) >= 1', false, 'not run: verification time budget of 1000 ms used up'],
    ]);
    expect(result.checksFailed).toBe(3);
    expect(result.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(result.durationMs).toBeLessThan(2_000);
  });

  test('fails when the server stops answering: the connection is given up', async () => {
    let paused: number | undefined;
    const pause = (async () => {
      for (let i = 0; i < 100 && paused === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const { rows } = await pg.query(
          `select pid from pg_stat_activity where application_name = $1 and query = 'select pg_sleep(1)'`,
          [DRILL_APPLICATION_NAME],
        );
        if (rows[0]) {
          paused = rows[0].pid as number;
          process.kill(paused, 'SIGSTOP');
        }
      }
    })();
    try {
      const started = Date.now();
      const result = await verify(
        [
          { kind: 'sql', query: 'select pg_sleep(1)', expected: '' },
          { kind: 'tableExists', table: 'orders' },
        ],
        { statementTimeoutMs: 1_500, now: undefined },
      );
      await pause;
      expect(paused).toBeDefined();
      const waited = 1_500 + NO_ANSWER_GRACE_MS;
      expect(outcomes(result)).toEqual([
        [
          'sql(select pg_sleep(1)) = ""',
          false,
          `no answer from the server within ${waited} ms; the connection was given up`,
        ],
        [
          'tableExists(orders)',
          false,
          `not run: no answer from the server within ${waited} ms; the connection was given up`,
        ],
      ]);
      expect(Date.now() - started).toBeLessThan(waited + 2_000);
    } finally {
      await pause;
      if (paused !== undefined) process.kill(paused, 'SIGCONT');
    }
  });

  test('fails the remaining checks as not run when the server ends the session', async () => {
    const result = await verify([
      { kind: 'sql', query: 'select pg_terminate_backend(pg_backend_pid())', expected: true },
      { kind: 'tableExists', table: 'orders' },
    ]);
    expect(result.passed).toBe(false);
    expect(result.checks.map((c) => c.message)).toEqual([
      'query failed: terminating connection due to administrator command (SQLSTATE 57P01)',
      'not run: the server ended the session: terminating connection due to administrator command',
    ]);
  });
});

describe('connection failures come back as a failed connect check', () => {
  function connectFailure(result: VerifyResult): string {
    expect(result).toMatchObject({ passed: false, checksFailed: 1 });
    expect(result.checks).toHaveLength(1);
    expect(result.checks[0]).toMatchObject({ name: 'connect', kind: 'connect', passed: false });
    return result.checks[0].message;
  }

  test('fails with "refused" on a closed port', async () => {
    const port = await closedPort();
    const result = await runChecks({ ...target, port }, { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca });
    expect(connectFailure(result)).toBe(`connection to 127.0.0.1:${port} refused`);
  });

  test('fails with a timeout when the server never answers', async () => {
    const silent = await silentServer();
    try {
      const result = await runChecks(
        { ...target, port: silent.port },
        { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca, connectTimeoutMs: 300 },
      );
      expect(connectFailure(result)).toBe(`connection to 127.0.0.1:${silent.port} timed out after 300 ms`);
    } finally {
      await silent.close();
    }
  });

  test('fails TLS verification against the wrong CA and never falls back to plaintext', async () => {
    // The server accepts plaintext logins with this password, so a fallback would pass the check.
    const plaintext = new Client({ ...target, ssl: false });
    await plaintext.connect();
    expect((await plaintext.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows).toEqual([
      { ssl: false },
    ]);
    await plaintext.end();
    const result = await verify([{ kind: 'tableExists', table: 'orders' }], { ca: otherCa() });
    expect(connectFailure(result)).toBe(
      `TLS verification of 127.0.0.1:${pg.port} failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); ` +
        'the server certificate must chain to the CA bundle and be issued to 127.0.0.1, ' +
        'and the drill never connects unverified or in plaintext',
    );
  });

  test('fails TLS verification by default: only the Amazon RDS CA bundle is trusted', async () => {
    const result = await verify([{ kind: 'tableExists', table: 'orders' }], { ca: undefined });
    expect(connectFailure(result)).toMatch(
      /^TLS verification of 127\.0\.0\.1:\d+ failed: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    );
  });

  test('fails when the certificate is not issued to the server name', async () => {
    const result = await verify([{ kind: 'tableExists', table: 'orders' }], { servername: 'db.example.com' });
    expect(connectFailure(result)).toBe(
      `TLS verification of 127.0.0.1:${pg.port} failed: Hostname/IP does not match certificate's altnames: ` +
        "Host: db.example.com. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1 " +
        '(ERR_TLS_CERT_ALTNAME_INVALID); the server certificate must chain to the CA bundle and be issued to ' +
        'db.example.com, and the drill never connects unverified or in plaintext',
    );
  });

  test('connects over TLS when the certificate verifies, by IP address or by server name', async () => {
    const tls: DrillCheckSpec = {
      kind: 'sql',
      query: 'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
      expected: true,
    };
    expect((await verify([tls])).passed).toBe(true);
    const result = await verify([tls], { servername: 'localhost' });
    expect(outcomes(result)).toEqual([
      ['sql(select ssl from pg_stat_ssl where pid = pg_backend_pid()) = true', true, 'returned true'],
    ]);
  });

  test('fails on a wrong password', async () => {
    const wrong = await runChecks(
      { ...target, password: 'not-the-password' },
      { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca },
    );
    expect(connectFailure(wrong)).toBe(
      `authentication as user "drill_verifier" on 127.0.0.1:${pg.port} failed: password authentication failed for user "drill_verifier"`,
    );
  });

  test('fails on a missing database', async () => {
    const result = await runChecks(
      { ...target, database: 'nope' },
      { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca },
    );
    expect(connectFailure(result)).toBe(`database "nope" does not exist on 127.0.0.1:${pg.port}`);
  });
});

describe('no checks declared: the default inventory', () => {
  test('lists the user tables with their row counts', async () => {
    const db = await pg.createDatabase('inventory');
    await db.query(`
      create schema "Sales";
      create table "Sales"."Orders" (id int);
      insert into "Sales"."Orders" select generate_series(1, 7);
      create table public.customers (id int);
      insert into public.customers values (1), (2);
      create table public.measurements (at date) partition by range (at);
      create table public.measurements_2024 partition of public.measurements for values from ('2024-01-01') to ('2025-01-01');
      insert into public.measurements values ('2024-03-01'), ('2024-04-01'), ('2024-05-01');
      create view public.customer_view as select * from public.customers;
    `);
    const result = await runChecks(
      { ...target, database: 'inventory' },
      { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca, ...FROZEN },
    );
    expect(result).toEqual({
      passed: true,
      checks: [
        {
          name: 'inventory',
          kind: 'inventory',
          passed: true,
          message:
            '3 user tables hold 12 rows in total; declare checks (DrillCheck.tableExists, rowCount, freshness or sql) to say what the restore must hold',
          actual: { tables: 3, rows: 12 },
          durationMs: 0,
        },
      ],
      checksFailed: 0,
      tables: [
        { table: 'Sales.Orders', rows: 7 },
        { table: 'public.customers', rows: 2 },
        { table: 'public.measurements', rows: 3 },
      ],
      durationMs: 0,
    });
  });

  test('fails when the database has no user tables', async () => {
    await pg.createDatabase('no_tables');
    const result = await runChecks(
      { ...target, database: 'no_tables' },
      { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca },
    );
    expect(result).toMatchObject({ passed: false, checksFailed: 1, tables: [] });
    expect(result.checks[0].message).toBe(
      'the restored database has no user tables (outside pg_catalog, information_schema and pg_toast): the restore holds no data; ' +
        'declare checks (DrillCheck.tableExists, rowCount, freshness or sql) to say what the restore must hold',
    );
  });

  test('fails when every user table is empty', async () => {
    const db = await pg.createDatabase('empty_tables');
    await db.query('create table a (id int); create table b (id int);');
    const result = await runChecks(
      { ...target, database: 'empty_tables' },
      { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca },
    );
    expect(result.passed).toBe(false);
    expect(result.tables).toEqual([
      { table: 'public.a', rows: 0 },
      { table: 'public.b', rows: 0 },
    ]);
    expect(result.checks[0].message).toBe(
      'the restored database has 2 user tables but no rows in any of them: the restore holds no data; ' +
        'declare checks (DrillCheck.tableExists, rowCount, freshness or sql) to say what the restore must hold',
    );
  });

  describe('with a table that cannot be counted (locked by another session)', () => {
    let db: Awaited<ReturnType<TestPostgres['createDatabase']>>;
    const inventory = (options: Partial<VerifyOptions>) =>
      runChecks(
        { ...target, database: 'locked' },
        { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca, ...options },
      );

    beforeAll(async () => {
      db = await pg.createDatabase('locked');
      await db.query(`
        create table a (id int); insert into a values (1);
        create table b (id int); insert into b values (1);
        create table c (id int); insert into c values (1);
      `);
      await db.query('begin; lock table b in access exclusive mode');
    });

    afterAll(async () => {
      await db.query('rollback');
    });

    test('fails and names the table that timed out; the others are still counted', async () => {
      const result = await inventory({ statementTimeoutMs: 300 });
      expect(result.passed).toBe(false);
      expect(result.tables).toEqual([
        { table: 'public.a', rows: 1 },
        { table: 'public.c', rows: 1 },
      ]);
      expect(result.checks[0].message).toBe('could not count 1 of 3 user tables: public.b (timed out after 300 ms)');
    });

    test('fails when the time budget runs out, naming what was not counted', async () => {
      const result = await inventory({ statementTimeoutMs: 5_000, totalTimeoutMs: 800 });
      expect(result.passed).toBe(false);
      expect(result.tables).toEqual([{ table: 'public.a', rows: 1 }]);
      expect(result.checks[0].message).toMatch(
        /^could not count 2 of 3 user tables: public\.b \(timed out after \d{3} ms \(all that was left of the verification time budget of 800 ms\)\); public\.c \(not run: verification time budget of 800 ms used up\)$/,
      );
    });
  });
});

describe('the password', () => {
  test('never appears in a result, whatever fails', async () => {
    const results = [
      await verify([
        { kind: 'sql', query: `select '${pg.password}'`, expected: 'something else' },
        { kind: 'sql', query: `select current_user`, expected: pg.password },
        { kind: 'tableExists', table: pg.password },
        { kind: 'sql', query: `select * from "${pg.password}"`, expected: 1 },
      ]),
      await runChecks(
        { ...target, password: `${pg.password}-wrong` },
        { checks: [], restorePointTime: RESTORE_POINT, ca: pg.ca },
      ),
      await verify([], { ca: otherCa() }),
      await runChecks({ ...target, port: await closedPort() }, { checks: [], restorePointTime: RESTORE_POINT }),
    ];
    for (const result of results) {
      expect(result.passed).toBe(false);
      expect(JSON.stringify(result)).not.toContain(pg.password);
    }
    expect(results[0].checks.map((c) => c.message)).toEqual([
      'returned "[redacted]", expected "something else"',
      'returned "drill_verifier", expected "[redacted]"',
      'public.[redacted] does not exist',
      'query failed: relation "[redacted]" does not exist (SQLSTATE 42P01)',
    ]);
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** A loopback server that accepts connections and never says anything. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A self-signed certificate for 127.0.0.1 that did not sign the server's certificate. */
function otherCa(): string {
  return execFileSync(
    'sh',
    [
      '-c',
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -days 1 ' +
        '-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null',
    ],
    { encoding: 'utf8' },
  );
}
