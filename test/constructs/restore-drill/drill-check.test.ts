import { CfnParameter, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import {
  checkName,
  checkSpecProblems,
  type DrillCheckSpec,
  parseTableName,
} from '../../../constructs/restore-drill/check-spec';
import { DrillCheck } from '../../../constructs/restore-drill/drill-check';

describe('DrillCheck factories', () => {
  test('tableExists', () => {
    const check = DrillCheck.tableExists('public.orders');
    expect(check.spec).toStrictEqual({ kind: 'tableExists', table: 'public.orders' });
    expect(check.name).toBe('tableExists(public.orders)');
  });

  test('rowCount without and with max', () => {
    const atLeast = DrillCheck.rowCount('orders', { min: 100 });
    expect(atLeast.spec).toStrictEqual({ kind: 'rowCount', table: 'orders', min: 100 });
    expect(atLeast.name).toBe('rowCount(orders) >= 100');
    const between = DrillCheck.rowCount('Sales.Orders', { min: 0, max: 10 });
    expect(between.spec).toStrictEqual({ kind: 'rowCount', table: 'Sales.Orders', min: 0, max: 10 });
    expect(between.name).toBe('rowCount(Sales.Orders) between 0 and 10');
  });

  test('freshness takes maxAge as a Duration and keeps whole seconds', () => {
    const check = DrillCheck.freshness('public.orders', 'created_at', { maxAge: Duration.hours(1) });
    expect(check.spec).toStrictEqual({
      kind: 'freshness',
      table: 'public.orders',
      column: 'created_at',
      maxAgeSeconds: 3600,
    });
    expect(check.name).toBe('freshness(public.orders.created_at) <= 3600s');
    expect(DrillCheck.freshness('t', 'c', { maxAge: Duration.millis(2000) }).spec).toMatchObject({ maxAgeSeconds: 2 });
  });

  test('sql with a derived name and with a given name', () => {
    const derived = DrillCheck.sql('select count(*)\n  from orders where total < 0', 0);
    expect(derived.spec).toStrictEqual({
      kind: 'sql',
      query: 'select count(*)\n  from orders where total < 0',
      expected: 0,
    });
    expect(derived.name).toBe('sql(select count(*) from orders where total < 0) = 0');
    const named = DrillCheck.sql('select status from jobs where id = 1', 'done', { name: 'job 1 is done' });
    expect(named.spec).toStrictEqual({
      kind: 'sql',
      query: 'select status from jobs where id = 1',
      expected: 'done',
      name: 'job 1 is done',
    });
    expect(named.name).toBe('job 1 is done');
    expect(DrillCheck.sql('select null', null).name).toBe('sql(select null) = null');
    expect(DrillCheck.sql('select true', true).name).toBe('sql(select true) = true');
  });

  test('sql abbreviates long queries in the derived name', () => {
    const query = `select ${'x, '.repeat(40)}y from t`;
    expect(DrillCheck.sql(query, 1).name).toBe(`sql(${query.slice(0, 59)}…) = 1`);
  });

  test('specs survive JSON and come back through fromSpec', () => {
    const checks = [
      DrillCheck.tableExists('orders'),
      DrillCheck.rowCount('orders', { min: 1, max: 5 }),
      DrillCheck.freshness('orders', 'created_at', { maxAge: Duration.minutes(15) }),
      DrillCheck.sql('select 1', 1, { name: 'one' }),
    ];
    const json = JSON.parse(JSON.stringify(checks.map((c) => c.spec))) as DrillCheckSpec[];
    expect(json.map((spec) => DrillCheck.fromSpec(spec).spec)).toStrictEqual(checks.map((c) => c.spec));
  });

  test('skips validation of unresolved Tokens', () => {
    const stack = new Stack();
    const minRows = new CfnParameter(stack, 'MinRows', { type: 'Number' }).valueAsNumber;
    const table = Lazy.string({ produce: () => 'a.b.c' });
    expect(DrillCheck.rowCount(table, { min: minRows, max: 10 }).spec).toMatchObject({ table, min: minRows });
    expect(DrillCheck.tableExists(table).spec).toStrictEqual({ kind: 'tableExists', table });
    const maxAge = Duration.seconds(Token.asNumber(Lazy.number({ produce: () => 0 })));
    const { spec } = DrillCheck.freshness('t', 'c', { maxAge });
    expect(spec).toStrictEqual({ kind: 'freshness', table: 't', column: 'c', maxAgeSeconds: maxAge.toSeconds() });
    expect(Token.isUnresolved(maxAge.toSeconds())).toBe(true);
    expect(DrillCheck.sql(Lazy.string({ produce: () => '' }), 1).spec).toMatchObject({ kind: 'sql', expected: 1 });
  });

  test.each<[string, () => DrillCheck, string]>([
    [
      'a table with three parts',
      () => DrillCheck.tableExists('a.b.c'),
      'DrillCheck.tableExists: table must be "name" or "schema.name", got "a.b.c"',
    ],
    [
      'an empty table',
      () => DrillCheck.tableExists(''),
      'DrillCheck.tableExists: table must be "name" or "schema.name", got ""',
    ],
    [
      'an empty schema',
      () => DrillCheck.tableExists('.orders'),
      'DrillCheck.tableExists: table must be "name" or "schema.name", got ".orders"',
    ],
    [
      'spaces around a part',
      () => DrillCheck.tableExists('public. orders'),
      'DrillCheck.tableExists: table must be "name" or "schema.name", got "public. orders"',
    ],
    [
      'a name longer than PostgreSQL keeps',
      () => DrillCheck.tableExists(`public.${'t'.repeat(64)}`),
      `DrillCheck.tableExists: table parts must be at most 63 bytes (PostgreSQL's identifier limit), got "${'t'.repeat(64)}" (64 bytes)`,
    ],
    [
      'a negative min',
      () => DrillCheck.rowCount('orders', { min: -1 }),
      'DrillCheck.rowCount: min must be a whole number of at least 0, got -1',
    ],
    [
      'a fractional min',
      () => DrillCheck.rowCount('orders', { min: 1.5 }),
      'DrillCheck.rowCount: min must be a whole number of at least 0, got 1.5',
    ],
    [
      'max below min',
      () => DrillCheck.rowCount('orders', { min: 10, max: 5 }),
      'DrillCheck.rowCount: max must be a whole number of at least min (10), got 5',
    ],
    [
      'every problem at once',
      () => DrillCheck.rowCount('a.b.c', { min: -1, max: -2 }),
      'DrillCheck.rowCount: table must be "name" or "schema.name", got "a.b.c"; min must be a whole number of at least 0, got -1; max must be a whole number of at least 0, got -2',
    ],
    [
      'a column with a table prefix',
      () => DrillCheck.freshness('orders', 'orders.created_at', { maxAge: Duration.hours(1) }),
      'DrillCheck.freshness: timestampColumn must be one column name without a table prefix, got "orders.created_at"',
    ],
    [
      'a maxAge under a second',
      () => DrillCheck.freshness('orders', 'created_at', { maxAge: Duration.millis(500) }),
      'DrillCheck.freshness: maxAge must be a whole number of seconds, at least 1 second, got 500 millis',
    ],
    [
      'a maxAge of zero',
      () => DrillCheck.freshness('orders', 'created_at', { maxAge: Duration.seconds(0) }),
      'DrillCheck.freshness: maxAge must be a whole number of seconds, at least 1 second, got 0 seconds',
    ],
    [
      'a maxAge with a fraction of a second',
      () => DrillCheck.freshness('orders', 'created_at', { maxAge: Duration.millis(1500) }),
      'DrillCheck.freshness: maxAge must be a whole number of seconds, at least 1 second, got 1 second 500 millis',
    ],
    [
      'a maxAge Token in minutes',
      () =>
        DrillCheck.freshness('orders', 'created_at', {
          maxAge: Duration.minutes(Token.asNumber(Lazy.number({ produce: () => 5 }))),
        }),
      'DrillCheck.freshness: maxAge comes from a Token, so it must be given as Duration.seconds(), got <token> minutes',
    ],
    [
      'an empty query',
      () => DrillCheck.sql('  ', 1),
      'DrillCheck.sql: query must be a non-empty SQL statement, got "  "',
    ],
    [
      'a NaN expected',
      () => DrillCheck.sql('select 1', Number.NaN),
      'DrillCheck.sql: expected must be a string, a finite number, a boolean or null, got NaN',
    ],
    [
      'an undefined expected',
      () => DrillCheck.sql('select 1', undefined as unknown as null),
      'DrillCheck.sql: expected must be a string, a finite number, a boolean or null, got undefined',
    ],
    [
      'an empty name',
      () => DrillCheck.sql('select 1', 1, { name: '' }),
      'DrillCheck.sql: name must be a non-empty single line of text, got ""',
    ],
    [
      'a name on two lines',
      () => DrillCheck.sql('select 1', 1, { name: 'one\ntwo' }),
      'DrillCheck.sql: name must be a non-empty single line of text, got "one\\ntwo"',
    ],
    [
      'fromSpec with an invalid spec',
      () => DrillCheck.fromSpec({ kind: 'freshness', table: 'orders', column: '', maxAgeSeconds: 0 }),
      'DrillCheck.fromSpec: freshness column must be one column name without a table prefix, got ""; freshness maxAgeSeconds must be a whole number of at least 1, got 0',
    ],
  ])('fails for %s', (_, make, message) => {
    expect(make).toThrow(new Error(message));
  });
});

describe('check specs', () => {
  test.each<[unknown, string[]]>([
    [{ kind: 'tableExists', table: 'orders' }, []],
    [{ kind: 'rowCount', table: 'public.orders', min: 0 }, []],
    [{ kind: 'freshness', table: 'orders', column: 'CreatedAt', maxAgeSeconds: 1 }, []],
    [{ kind: 'sql', query: 'select 1', expected: null, name: 'n' }, []],
  ])('accepts %j', (spec, problems) => {
    expect(checkSpecProblems(spec)).toEqual(problems);
  });

  test.each<[unknown, string[]]>([
    [null, ['check must be an object with a "kind", got null']],
    [['tableExists'], ['check must be an object with a "kind", got ["tableExists"]']],
    [{ kind: 'count' }, ['kind must be one of tableExists, rowCount, freshness, sql, got "count"']],
    [{ kind: 'tableExists', table: 'a.b.c' }, ['table must be "name" or "schema.name", got "a.b.c"']],
    [{ kind: 'tableExists', table: 42 }, ['table must be "name" or "schema.name", got 42']],
    [{ kind: 'rowCount', table: 'orders', min: -1 }, ['rowCount min must be a whole number of at least 0, got -1']],
    [{ kind: 'rowCount', table: 'orders', min: '5' }, ['rowCount min must be a whole number of at least 0, got "5"']],
    [
      { kind: 'rowCount', table: 'orders', min: 5, max: 4 },
      ['rowCount max must be a whole number of at least min (5), got 4'],
    ],
    [
      { kind: 'freshness', table: 'orders', column: 'o.at' },
      [
        'freshness column must be one column name without a table prefix, got "o.at"',
        'freshness maxAgeSeconds must be a whole number of at least 1, got undefined',
      ],
    ],
    [
      { kind: 'sql', query: '', expected: {} },
      [
        'sql query must be a non-empty SQL statement, got ""',
        'sql expected must be a string, a finite number, a boolean or null, got {}',
      ],
    ],
    [
      { kind: 'sql', query: 'select 1', expected: 1, name: 7 },
      ['sql name must be a non-empty single line of text, got 7'],
    ],
  ])('fails for %j', (spec, problems) => {
    expect(checkSpecProblems(spec)).toEqual(problems);
  });

  test('names every kind', () => {
    expect(
      [
        { kind: 'tableExists', table: 'orders' },
        { kind: 'rowCount', table: 'public.orders', min: 100 },
        { kind: 'rowCount', table: 'public.orders', min: 1, max: 2 },
        { kind: 'freshness', table: 'orders', column: 'at', maxAgeSeconds: 900 },
        { kind: 'sql', query: "select 'a'", expected: 'a' },
        { kind: 'sql', query: 'select 1', expected: 1, name: 'custom' },
      ].map((spec) => checkName(spec as DrillCheckSpec)),
    ).toEqual([
      'tableExists(orders)',
      'rowCount(public.orders) >= 100',
      'rowCount(public.orders) between 1 and 2',
      'freshness(orders.at) <= 900s',
      `sql(select 'a') = "a"`,
      'custom',
    ]);
  });

  test('a table without a schema is in public', () => {
    expect(parseTableName('orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseTableName('Sales.Orders')).toEqual({ schema: 'Sales', name: 'Orders' });
  });
});
