import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { HealthCanary, type HealthCanaryProps } from '../../../constructs/canary/health-canary';
import { acknowledgeNag } from '../../../constructs/core/nag';
import type { IAlertRouting, Severity } from '../../../constructs/monitoring/alarms';
import { cfnLint, logicalId, testApp } from '../../helpers';

const PAGER_ARN = 'arn:aws:sns:eu-west-1:123456789012:pager';

/** Routing that records the severities it was asked for and sends everything to one imported topic. */
function recordingRouting(stack: Stack): IAlertRouting & { severities: string[] } {
  const topic = sns.Topic.fromTopicArn(stack, 'Pager', PAGER_ARN);
  const severities: string[] = [];
  return {
    severities,
    actionsFor: (severity: Severity) => {
      severities.push(severity.name);
      return [new actions.SnsAction(topic)];
    },
  };
}

function canaryStack(props: Partial<HealthCanaryProps> = {}, withAlerts = true) {
  const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
  const alerts = withAlerts ? recordingRouting(stack) : undefined;
  const canary = new HealthCanary(stack, 'Canary', {
    url: 'https://shop.example.com',
    healthPath: '/health',
    alerts,
    ...props,
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const canaryProps = json.Resources[logicalId(stack, canary.canary)].Properties;
  return { stack, canary, alerts, template, json, canaryProps };
}

/** A Failure to build a canary, with the message it throws. */
function buildError(props: Partial<HealthCanaryProps>): string {
  const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
  try {
    new HealthCanary(stack, 'Canary', { url: 'https://shop.example.com', ...props });
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

describe('canary', () => {
  test('runs the bundled check on the newest Puppeteer runtime every 5 minutes, with a 1-minute timeout', () => {
    const { canaryProps, canary, stack } = canaryStack();
    expect(canaryProps).toMatchObject({
      RuntimeVersion: 'syn-nodejs-puppeteer-13.0',
      Schedule: { Expression: 'rate(5 minutes)', DurationInSeconds: '0' },
      Code: { Handler: 'index.handler', S3Key: expect.stringMatching(/^[0-9a-f]{64}\.zip$/) },
      StartCanaryAfterCreation: true,
      ProvisionedResourceCleanup: 'AUTOMATIC',
      ArtifactConfig: { S3Encryption: { EncryptionMode: 'SSE_S3' } },
      ArtifactS3Location: { 'Fn::Join': ['', ['s3://', { Ref: logicalId(stack, canary.artifactsBucket) }]] },
      ExecutionRoleArn: { 'Fn::GetAtt': [logicalId(stack, canary.role), 'Arn'] },
      SuccessRetentionPeriod: 30,
      FailureRetentionPeriod: 30,
    });
    expect(canaryProps.RunConfig.TimeoutInSeconds).toBe(60);
    expect(canaryProps.RunConfig.ActiveTracing).toBeUndefined();
  });

  test('hands the check its configuration in two environment variables', () => {
    const { canaryProps } = canaryStack({
      healthExpectation: { bodyContains: 'ok', latencyLimit: Duration.seconds(2) },
      steps: [
        { name: 'products', path: '/api/products', latencyLimit: Duration.millis(1500) },
        {
          name: 'create order',
          method: 'post',
          path: '/api/orders?dry-run=1',
          headers: { 'x-check': 'yes' },
          body: '{}',
          expectedStatus: 201,
          bodyContains: 'created',
        },
      ],
      requestTimeout: Duration.seconds(5),
      retries: 1,
    });
    const env = canaryProps.RunConfig.EnvironmentVariables;
    expect(Object.keys(env).sort()).toEqual(['HEALTH_CANARY_BASE_URL', 'HEALTH_CANARY_CHECK']);
    expect(env.HEALTH_CANARY_BASE_URL).toBe('https://shop.example.com');
    expect(JSON.parse(env.HEALTH_CANARY_CHECK)).toEqual({
      health: { path: '/health', expectedStatus: 200, bodyContains: 'ok', latencyLimitMs: 2000 },
      steps: [
        { name: 'products', method: 'GET', path: '/api/products', expectedStatus: 200, latencyLimitMs: 1500 },
        {
          name: 'create order',
          method: 'POST',
          path: '/api/orders?dry-run=1',
          headers: { 'x-check': 'yes' },
          body: '{}',
          expectedStatus: 201,
          bodyContains: 'created',
        },
      ],
      requestTimeoutMs: 5000,
      retries: 1,
      retryDelayMs: 1000,
      budgetMs: 50000,
    });
  });

  test('accepts a URL built from tokens, such as a load balancer DNS name', () => {
    const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
    const host = new CfnParameter(stack, 'Host', { default: 'shop-123.eu-west-1.elb.amazonaws.com' }).valueAsString;
    const canary = new HealthCanary(stack, 'Canary', { url: `http://${host}` });
    new HealthCanary(stack, 'WholeTokenUrl', { url: new CfnParameter(stack, 'Url').valueAsString });
    const json = Template.fromStack(stack).toJSON();
    expect(json.Resources[logicalId(stack, canary.canary)].Properties.RunConfig.EnvironmentVariables).toMatchObject({
      HEALTH_CANARY_BASE_URL: { 'Fn::Join': ['', ['http://', { Ref: 'Host' }]] },
    });
  });

  test.each([
    [Duration.minutes(1), 'rate(1 minute)', 60],
    [Duration.minutes(15), 'rate(15 minutes)', 60],
    [Duration.hours(1), 'rate(60 minutes)', 60],
  ])('schedule %s renders as %s', (schedule, expression, timeout) => {
    const { canaryProps } = canaryStack({ schedule });
    expect(canaryProps.Schedule.Expression).toBe(expression);
    expect(canaryProps.RunConfig.TimeoutInSeconds).toBe(timeout);
  });

  test('a custom runtime, timeout and name are used as given; the budget leaves 10 seconds to Synthetics', () => {
    const { canaryProps, canary } = canaryStack({
      runtime: synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_12_0,
      schedule: Duration.minutes(10),
      timeout: Duration.minutes(3),
      canaryName: 'shop-health',
    });
    expect(canaryProps).toMatchObject({
      RuntimeVersion: 'syn-nodejs-puppeteer-12.0',
      Name: 'shop-health',
      RunConfig: { TimeoutInSeconds: 180 },
    });
    expect(JSON.parse(canaryProps.RunConfig.EnvironmentVariables.HEALTH_CANARY_CHECK).budgetMs).toBe(170_000);
    expect(canary.canaryName).toBe('shop-health');
  });

  test('the generated name is stable, lower-case and fits the function name Synthetics derives from it', () => {
    const first = canaryStack().canaryProps.Name;
    expect(first).toMatch(/^shopcanary[0-9a-f]{8}$/);
    expect(first.length).toBeLessThanOrEqual(21);
    expect(canaryStack({ schedule: Duration.minutes(1) }).canaryProps.Name).toBe(first);
  });

  test('logical IDs and the generated name never change (a new name is a new canary, a new bucket ID an orphan)', () => {
    const { stack, canary } = canaryStack();
    expect({
      canary: logicalId(stack, canary.canary),
      bucket: logicalId(stack, canary.artifactsBucket),
      name: canary.canaryName,
    }).toEqual({ canary: 'CanaryA549F651', bucket: 'CanaryArtifactsBucket4A60D32B', name: 'shopcanary1d7a345d' });
  });

  test('is marked as a kit resource and recorded in the manifest', () => {
    const { json, stack, canary } = canaryStack();
    expect(json.Resources[logicalId(stack, canary.canary)].Metadata['prod-baseline']).toMatchObject({
      role: 'canary',
      construct: 'HealthCanary',
    });
    const manifest = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SSM::Parameter');
    expect(JSON.parse(manifest.Properties.Value).entries.Canary).toEqual({
      role: 'canary',
      construct: 'HealthCanary',
      attributes: { canaryName: canary.canaryName, url: 'https://shop.example.com' },
    });
  });
});

describe('artifacts bucket', () => {
  test('is encrypted, private, SSL-only, retained, and expires artifacts after 30 days', () => {
    const { template, json, stack, canary } = canaryStack();
    const bucket = json.Resources[logicalId(stack, canary.artifactsBucket)];
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toEqual({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'expire-canary-artifacts',
            Status: 'Enabled',
            ExpirationInDays: 30,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(stack, canary.artifactsBucket) },
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ],
      },
    });
  });

  test('artifactRetention sets the expiry and both run retention periods', () => {
    const { json, stack, canary, canaryProps } = canaryStack({ artifactRetention: Duration.days(7) });
    const rules = json.Resources[logicalId(stack, canary.artifactsBucket)].Properties.LifecycleConfiguration.Rules;
    expect(rules[0].ExpirationInDays).toBe(7);
    expect(canaryProps).toMatchObject({ SuccessRetentionPeriod: 7, FailureRetentionPeriod: 7 });
  });

  test('sends server access logs to a bucket given for them', () => {
    const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
    const logs = new s3.Bucket(stack, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    acknowledgeNag(logs, { id: 'AwsSolutions-S1', reason: 'The access-log destination itself.' });
    const canary = new HealthCanary(stack, 'Canary', { url: 'https://shop.example.com', serverAccessLogsBucket: logs });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalId(stack, logs) },
        LogFilePrefix: `health-canary/${canary.canaryName}/`,
      },
    });
  });
});

describe('execution role', () => {
  test('can only write its artifacts, Synthetics metrics and its own logs, with the policy inline', () => {
    const { json, stack, canary, template } = canaryStack();
    const role = json.Resources[logicalId(stack, canary.role)].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack, canary.artifactsBucket), 'Arn'] };
    expect(role.Policies).toEqual([
      {
        PolicyName: 'canary',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'FindArtifactsBucket', Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' },
            { Sid: 'ArtifactsBucketLocation', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: bucketArn },
            {
              Sid: 'WriteArtifacts',
              Effect: 'Allow',
              Action: 's3:PutObject',
              Resource: { 'Fn::Join': ['', [bucketArn, '/*']] },
            },
            {
              Sid: 'PublishSyntheticsMetrics',
              Effect: 'Allow',
              Action: 'cloudwatch:PutMetricData',
              Resource: '*',
              Condition: { StringEquals: { 'cloudwatch:namespace': 'CloudWatchSynthetics' } },
            },
            {
              Sid: 'WriteOwnLogs',
              Effect: 'Allow',
              Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    'arn:aws:logs:eu-west-1:',
                    { Ref: 'AWS::AccountId' },
                    `:log-group:/aws/lambda/cwsyn-${canary.canaryName}-*`,
                  ],
                ],
              },
            },
          ],
        },
      },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });
});

describe('alarms', () => {
  const alarmOf = (json: Record<string, any>, stack: Stack, alarm: { alarm: { node: any } }) =>
    json.Resources[logicalId(stack, alarm.alarm as any)].Properties;

  test('a failed run pages: SuccessPercent average below 100 in a 1-minute period, missing minutes keep the state', () => {
    const { json, stack, canary, alerts } = canaryStack();
    expect(alarmOf(json, stack, canary.alarm)).toEqual({
      Namespace: 'CloudWatchSynthetics',
      MetricName: 'SuccessPercent',
      Dimensions: [{ Name: 'CanaryName', Value: { Ref: logicalId(stack, canary.canary) } }],
      Statistic: 'Average',
      Period: 60,
      Threshold: 100,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [PAGER_ARN],
      OKActions: [PAGER_ARN],
      AlarmDescription: expect.any(String),
    });
    expect(alarmOf(json, stack, canary.alarm).AlarmDescription).toMatch(
      /^\[page\] The health canary failed a run: .*\nFirst check: The failed run in the CloudWatch Synthetics console/,
    );
    expect(alerts?.severities).toEqual(['page', 'page']);
  });

  test('a canary that stopped reporting pages: no run in two schedule periods, missing data breaching', () => {
    const { json, stack, canary } = canaryStack();
    expect(alarmOf(json, stack, canary.notRunningAlarm)).toMatchObject({
      Namespace: 'CloudWatchSynthetics',
      MetricName: 'SuccessPercent',
      Dimensions: [{ Name: 'CanaryName', Value: { Ref: logicalId(stack, canary.canary) } }],
      Statistic: 'SampleCount',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [PAGER_ARN],
      AlarmDescription: expect.stringMatching(
        /^\[page\] The health canary reported no run for two schedule intervals \(5 minutes each\)/,
      ),
    });
  });

  test('without alerts the alarms have no actions', () => {
    const { json, stack, canary } = canaryStack({}, false);
    expect(alarmOf(json, stack, canary.alarm).AlarmActions).toBeUndefined();
    expect(alarmOf(json, stack, canary.notRunningAlarm).AlarmActions).toBeUndefined();
  });

  test.each([
    [Duration.minutes(5), 8, 12],
    [Duration.minutes(15), 18, 32],
    [Duration.minutes(1), 4, 4],
  ])(
    'with a %s schedule a failure is detected within %i minutes, a stopped canary within %i',
    (schedule, failed, stopped) => {
      const { canary } = canaryStack({ schedule });
      // Failed: the next run (one interval) + its 1-minute period + 2 minutes of ingestion.
      expect(canary.alarm.timeToDetect.toMinutes()).toBe(failed);
      // Stopped: two empty schedule periods + 2 minutes of ingestion.
      expect(canary.notRunningAlarm.timeToDetect.toMinutes()).toBe(stopped);
      expect(canary.alarms).toEqual([canary.alarm, canary.notRunningAlarm]);
    },
  );

  test('metricSuccessPercent and metricDuration default to the schedule interval', () => {
    const { stack, canary } = canaryStack({ schedule: Duration.minutes(15) });
    const dimensions = { CanaryName: canary.canary.canaryName };
    expect(stack.resolve(canary.metricSuccessPercent().toMetricConfig().metricStat)).toMatchObject({
      namespace: 'CloudWatchSynthetics',
      metricName: 'SuccessPercent',
      statistic: 'Average',
      period: stack.resolve(Duration.minutes(15)),
      dimensions: [{ name: 'CanaryName', value: stack.resolve(dimensions.CanaryName) }],
    });
    expect(canary.metricDuration({ statistic: 'p99' }).toMetricConfig().metricStat).toMatchObject({
      metricName: 'Duration',
      statistic: 'p99',
    });
    expect(canary.metricDuration().period.toMinutes()).toBe(15);
  });
});

describe('validation', () => {
  test.each([
    [{ schedule: Duration.minutes(0) }, 'schedule must be whole minutes from 1 to 60, got 0 minutes'],
    [{ schedule: Duration.minutes(61) }, 'schedule must be whole minutes from 1 to 60, got 61 minutes'],
    [{ schedule: Duration.seconds(90) }, 'schedule must be whole minutes from 1 to 60, got 1 minute 30 seconds'],
  ])('fails on a schedule outside 1 to 60 minutes (%#)', (props, message) => {
    expect(buildError({ timeout: Duration.seconds(15), ...props })).toBe(`Shop/Canary: ${message}`);
  });

  test.each([
    ['shop.example.com', 'url must start with http:// or https:// and a host, got "shop.example.com"'],
    ['ftp://shop.example.com', 'url must start with http:// or https:// and a host, got "ftp://shop.example.com"'],
    ['https://', 'url must start with http:// or https:// and a host, got "https://"'],
    [
      'https://shop.example.com/?x=1',
      'url must not have a query string or fragment (paths are appended to it), got "https://shop.example.com/?x=1"',
    ],
  ])('fails on a URL without a scheme and host: %s', (url, message) => {
    expect(buildError({ url })).toBe(`Shop/Canary: ${message}`);
  });

  test('fails on a URL whose literal start has no scheme, even with tokens after it', () => {
    const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
    const host = new CfnParameter(stack, 'Host').valueAsString;
    expect(() => new HealthCanary(stack, 'Canary', { url: `shop.${host}` })).toThrow(
      /^Shop\/Canary: url must start with http:\/\/ or https:\/\/ and a host, got "shop\.\$\{Token\[/,
    );
  });

  test.each([
    [
      { timeout: Duration.minutes(6) },
      'timeout must be whole seconds from 15 seconds to the schedule (5 minutes), got 6 minutes',
    ],
    [
      { timeout: Duration.seconds(10) },
      'timeout must be whole seconds from 15 seconds to the schedule (5 minutes), got 10 seconds',
    ],
    [
      { schedule: Duration.minutes(30), timeout: Duration.minutes(15) },
      'timeout must be whole seconds from 15 seconds to 14 minutes, got 15 minutes',
    ],
    [
      { requestTimeout: Duration.minutes(2) },
      'requestTimeout must be between 1 second and the timeout (1 minute), got 2 minutes',
    ],
    [{ retries: 6 }, 'retries must be a whole number from 0 to 5, got 6'],
    [{ artifactRetention: Duration.days(0) }, 'artifactRetention must be whole days from 1 to 455, got 0 days'],
    [{ artifactRetention: Duration.days(500) }, 'artifactRetention must be whole days from 1 to 455, got 500 days'],
    [
      { canaryName: 'Shop_Health' },
      'canaryName must be 1 to 21 lower-case letters, digits, hyphens or underscores, got "Shop_Health"',
    ],
    [
      { runtime: synthetics.Runtime.SYNTHETICS_NODEJS_PLAYWRIGHT_6_0 },
      'runtime must be a Node.js Puppeteer runtime (the canary script uses its Synthetics modules and layout), got syn-nodejs-playwright-6.0',
    ],
    [{ healthPath: 'health' }, 'healthPath must start with "/" and have no spaces, got "health"'],
    [
      { healthExpectation: { expectedStatus: 99 } },
      'healthExpectation.expectedStatus must be a whole number from 100 to 599, got 99',
    ],
    [
      { healthExpectation: { latencyLimit: Duration.seconds(30) } },
      'healthExpectation.latencyLimit must be more than 0 and at most the requestTimeout (10 seconds), got 30 seconds',
    ],
  ])('fails on a setting out of range (%#)', (props, message) => {
    expect(buildError(props)).toBe(`Shop/Canary: ${message}`);
  });

  test('fails on bad steps, reporting every problem at once', () => {
    expect(
      buildError({
        steps: [
          { name: 'orders', path: '/api/orders' },
          { name: 'orders', path: 'api/orders', method: 'TRACE' },
          { name: ' ', path: '/x', body: 'not with GET' },
        ],
      }),
    ).toBe(
      'Shop/Canary: ' +
        [
          'steps[1].name "orders" is used by an earlier step',
          'steps[1].path must start with "/" and have no spaces, got "api/orders"',
          'steps[1].method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "TRACE"',
          'steps[2].name must be 1 to 64 characters without leading or trailing spaces, got " "',
          'steps[2].body cannot be sent with GET',
        ].join('; '),
    );
  });

  test("fails when the steps do not fit the canary's environment variables", () => {
    const steps = Array.from({ length: 40 }, (_, i) => ({ name: `step ${i}`, path: `/api/${'x'.repeat(80)}/${i}` }));
    expect(buildError({ steps })).toMatch(
      /^Shop\/Canary: the steps must fit the canary's 4096 bytes of environment variables, got about \d+ bytes$/,
    );
  });

  test('warns when a header or the URL looks like it carries credentials', () => {
    // The synthesis prints its validation report, warnings included, on console.error.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { stack } = canaryStack({
        steps: [{ name: 'me', path: '/api/me', headers: { Authorization: 'Bearer x' } }],
      });
      Annotations.fromStack(stack).hasWarning(
        '/Shop/Canary',
        Match.stringLikeRegexp('headers Authorization look like credentials'),
      );
      expect(printed).toHaveBeenCalledWith(expect.stringContaining('prod-baseline:canary-credentials'));
      const withPassword = canaryStack({ url: 'https://user:secret@shop.example.com' });
      Annotations.fromStack(withPassword.stack).hasWarning(
        '/Shop/Canary',
        Match.stringLikeRegexp('the url carries credentials'),
      );
      const quiet = canaryStack();
      expect(Annotations.fromStack(quiet.stack).findWarning('*', Match.anyValue())).toEqual([]);
    } finally {
      printed.mockRestore();
    }
  });
});

describe('checks', () => {
  test('cdk-nag passes (the test App runs AwsSolutions) and cfn-lint reports nothing', () => {
    const { json } = canaryStack({
      steps: [{ name: 'products', path: '/api/products' }],
    });
    const result = cfnLint(json);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});
