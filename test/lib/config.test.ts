import { ConfigError, configSourcesFromContext, resolveConfig, SETTING_NAMES, SETTINGS } from '../../lib/config';

function problemsOf(sources: Parameters<typeof resolveConfig>[0]): readonly string[] {
  try {
    resolveConfig(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  test('no config at all gives the dev profile with every default', () => {
    const config = resolveConfig();
    expect(config).toEqual({
      profile: 'dev',
      stackName: 'ProdBaseline',
      region: 'us-east-1',
      alertEmails: [],
      alertWebhooks: [],
      notifyEmails: [],
      slackWorkspaceId: '',
      slackChannelId: '',
      monthlyBudgetUsd: 100,
      containerImage: 'public.ecr.aws/nginx/nginx:1.27-alpine',
      containerPort: 80,
      healthCheckPath: '/',
      taskCpu: 256,
      taskMemoryMiB: 512,
      desiredCount: 1,
      natGateways: 1,
      vpcCidr: '10.0.0.0/16',
      multiAz: false,
      deletionProtection: false,
      terminationProtection: false,
      logRetentionDays: 14,
      accessLogRetentionDays: 30,
      backupRetentionDays: 7,
      dbInstanceClass: 't4g.micro',
      dbAllocatedStorageGiB: 20,
      dbMaxAllocatedStorageGiB: 50,
      databaseName: 'app',
      restoreDrillSchedule: 'weekly',
      rpoTargetMinutes: 15,
      rtoTargetMinutes: 60,
      canaryRateMinutes: 15,
      bakeTimeMinutes: 15,
      maxTasks: 4,
      preDeploySnapshots: false,
      domainName: '',
      certificateArn: '',
      hostedZoneId: '',
      edgeProtection: 'block',
      awsBackupPlan: false,
    });
  });

  test('the production profile changes only the defaults it owns', () => {
    const dev = resolveConfig({ base: { profile: 'dev' } });
    const production = resolveConfig({ base: { profile: 'production' } });
    const changed = SETTING_NAMES.filter((n) => JSON.stringify(dev[n]) !== JSON.stringify(production[n]));
    expect(changed).toEqual([
      'profile',
      'monthlyBudgetUsd',
      'taskCpu',
      'taskMemoryMiB',
      'desiredCount',
      'natGateways',
      'multiAz',
      'deletionProtection',
      'terminationProtection',
      'logRetentionDays',
      'accessLogRetentionDays',
      'backupRetentionDays',
      'dbInstanceClass',
      'dbMaxAllocatedStorageGiB',
      'restoreDrillSchedule',
      'canaryRateMinutes',
      'maxTasks',
      'preDeploySnapshots',
      'awsBackupPlan',
    ]);
    expect(production).toMatchObject({
      desiredCount: 2,
      natGateways: 2,
      multiAz: true,
      deletionProtection: true,
      terminationProtection: true,
      logRetentionDays: 90,
      backupRetentionDays: 14,
    });
  });

  test('every profile default of every setting passes its own validation', () => {
    for (const profile of ['dev', 'production'] as const) {
      const base = Object.fromEntries(SETTING_NAMES.map((n) => [n, SETTINGS[n].defaults[profile]]));
      expect(() => resolveConfig({ base })).not.toThrow();
    }
  });

  test('a profile default can still be overridden', () => {
    const config = resolveConfig({ base: { profile: 'production', multiAz: false, natGateways: 1 } });
    expect(config.multiAz).toBe(false);
    expect(config.natGateways).toBe(1);
    expect(config.deletionProtection).toBe(true);
  });
});

describe('overrides from -c', () => {
  test('strings are read by the setting type and win over cdk.json', () => {
    const config = resolveConfig({
      base: { profile: 'dev', desiredCount: 3 },
      overrides: {
        profile: 'production',
        desiredCount: '4',
        multiAz: 'false',
        alertEmails: 'a@example.com, b@example.org',
      },
    });
    expect(config).toMatchObject({
      profile: 'production',
      desiredCount: 4,
      multiAz: false,
      alertEmails: ['a@example.com', 'b@example.org'],
    });
  });

  test('a list can also be given as JSON', () => {
    expect(resolveConfig({ overrides: { alertEmails: '["a@example.com"]' } }).alertEmails).toEqual(['a@example.com']);
  });

  test('the whole config can be one JSON string', () => {
    expect(resolveConfig({ base: '{"profile":"production"}' }).profile).toBe('production');
  });

  test('configSourcesFromContext picks the prodBaseline.* keys and nothing else', () => {
    const context: Record<string, unknown> = {
      prodBaseline: { profile: 'dev' },
      'prodBaseline.region': 'eu-west-1',
      '@aws-cdk/core:checkSecretUsage': true,
    };
    expect(configSourcesFromContext(Object.keys(context), (k) => context[k])).toEqual({
      base: { profile: 'dev' },
      overrides: { region: 'eu-west-1' },
    });
  });
});

describe('bad config', () => {
  test.each<[string, Record<string, unknown>, string]>([
    [
      'an unknown key, with a suggestion',
      { desiredCuont: 2 },
      'prodBaseline.desiredCuont is not a known setting (did you mean "desiredCount"?); known settings: ' +
        SETTING_NAMES.join(', '),
    ],
    ['an unknown profile', { profile: 'prod' }, 'prodBaseline.profile must be one of "dev", "production", got "prod"'],
    [
      'a number given as text in cdk.json',
      { desiredCount: 'two' },
      'prodBaseline.desiredCount must be a whole number from 1 to 100, got "two"',
    ],
    [
      'an out-of-range backup retention',
      { backupRetentionDays: 40 },
      'prodBaseline.backupRetentionDays must be a whole number from 1 to 35, got 40',
    ],
    [
      'a fractional task count',
      { desiredCount: 1.5 },
      'prodBaseline.desiredCount must be a whole number from 1 to 100, got 1.5',
    ],
    [
      'a malformed e-mail address',
      { alertEmails: ['ops@example.com', 'not-an-email', 'x@localhost'] },
      'prodBaseline.alertEmails must be a list of at most 10 e-mail addresses such as "oncall@example.com", got "not-an-email", "x@localhost"',
    ],
    [
      'e-mail addresses given as one string in cdk.json',
      { alertEmails: 'ops@example.com' },
      'prodBaseline.alertEmails must be a list of at most 10 e-mail addresses such as "oncall@example.com", got "ops@example.com"',
    ],
    [
      'an unknown region',
      { region: 'us-east-9' },
      'prodBaseline.region must be a commercial AWS region such as "us-east-1" or "eu-west-1", got "us-east-9"',
    ],
    [
      'a stack name CloudFormation rejects',
      { stackName: '1st_stack' },
      'prodBaseline.stackName must be a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128 characters, got "1st_stack"',
    ],
    ['a boolean given as a word', { multiAz: 'yes' }, 'prodBaseline.multiAz must be true or false, got "yes"'],
    [
      'a log retention CloudWatch does not offer',
      { logRetentionDays: 10 },
      'prodBaseline.logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 10',
    ],
    [
      'a health-check path without a leading slash',
      { healthCheckPath: 'health' },
      'prodBaseline.healthCheckPath must be a path that starts with "/" and has no spaces, at most 1024 characters, got "health"',
    ],
    [
      'a CIDR block that is not aligned',
      { vpcCidr: '10.0.1.0/16' },
      'prodBaseline.vpcCidr must be an IPv4 CIDR block with a prefix from /16 to /22, such as "10.0.0.0/16", got "10.0.1.0/16"',
    ],
    [
      'an image without a tag',
      { containerImage: 'nginx' },
      'prodBaseline.containerImage must be an image reference with a tag or digest, such as "public.ecr.aws/nginx/nginx:1.27-alpine", got "nginx"',
    ],
    [
      'a reserved database name',
      { databaseName: 'postgres' },
      'prodBaseline.databaseName must be a letter, then letters, digits or underscores, at most 63 characters, not one of postgres, template0, template1, rdsadmin, got "postgres"',
    ],
    [
      'memory that does not fit the CPU size',
      { taskCpu: 256, taskMemoryMiB: 4096 },
      'prodBaseline.taskMemoryMiB must fit taskCpu 256: one of 512, 1024, 2048, got 4096',
    ],
    [
      'a storage ceiling below the initial size',
      { dbAllocatedStorageGiB: 100, dbMaxAllocatedStorageGiB: 50 },
      'prodBaseline.dbMaxAllocatedStorageGiB must equal the allocated storage (100, no autoscaling) or be at least 10 % above it (111 or more), got 50',
    ],
    [
      'a storage ceiling less than 10 % above the initial size',
      { dbAllocatedStorageGiB: 100, dbMaxAllocatedStorageGiB: 105 },
      'prodBaseline.dbMaxAllocatedStorageGiB must equal the allocated storage (100, no autoscaling) or be at least 10 % above it (111 or more), got 105',
    ],
    [
      'a CPU size Fargate does not offer',
      { taskCpu: 3000 },
      'prodBaseline.taskCpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384, got 3000',
    ],
    [
      'an instance class with the db. prefix',
      { dbInstanceClass: 'db.t4g.micro' },
      'prodBaseline.dbInstanceClass must be an instance class without the "db." prefix, such as "t4g.micro" or "r7g.large", got "db.t4g.micro"',
    ],
  ])('fails on %s', (_name, base, message) => {
    expect(problemsOf({ base })).toEqual([message]);
  });

  test('fails when the config is not an object', () => {
    expect(problemsOf({ base: ['dev'] })).toEqual(['prodBaseline must be an object of settings, got ["dev"]']);
    expect(problemsOf({ base: '{oops' })).toEqual(['prodBaseline must be an object (or its JSON text), got "{oops"']);
  });

  test('fails with every problem at once, in one error', () => {
    let error: unknown;
    try {
      resolveConfig({
        base: { profile: 'staging', natGateways: 0, colour: 'blue' },
        overrides: { desiredCount: 'many', region: 'mars-1' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      [
        'Invalid prod-baseline config (5 problems):',
        `  - prodBaseline.colour is not a known setting; known settings: ${SETTING_NAMES.join(', ')}`,
        '  - prodBaseline.profile must be one of "dev", "production", got "staging"',
        '  - prodBaseline.region must be a commercial AWS region such as "us-east-1" or "eu-west-1", got "mars-1"',
        '  - prodBaseline.desiredCount must be a whole number from 1 to 100, got "many"',
        '  - prodBaseline.natGateways must be a whole number from 1 to 2 (the VPC spans two AZs), got 0',
      ].join('\n'),
    );
  });
});
