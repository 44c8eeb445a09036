import { Match } from 'aws-cdk-lib/assertions';
import { SETTING_NAMES, type SettingName } from '../../lib/config';
import { logicalId, PRODUCTION_SETTINGS, synthBaseline } from '../helpers';

const dev = () => synthBaseline();
const production = () => synthBaseline(PRODUCTION_SETTINGS);

describe('stack', () => {
  test('sets the region from config and leaves the account to the environment', () => {
    const { stack } = dev();
    expect(stack.region).toBe('us-east-1');
    expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
    expect(stack.stackName).toBe('ProdBaseline');
  });

  test.each([
    [dev, false],
    [production, true],
  ])('termination protection follows the profile (%#)', (synth, expected) => {
    expect(synth().stack.terminationProtection).toBe(expected);
  });

  test('the stack name and region come from config', () => {
    const { stack } = synthBaseline({ stackName: 'Shop-Prod', region: 'eu-west-1' });
    expect(stack.stackName).toBe('Shop-Prod');
    expect(stack.region).toBe('eu-west-1');
  });
});

describe('network', () => {
  test('a VPC over two AZs with public, private-with-egress and isolated subnets', () => {
    const { template } = dev();
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    template.resourceCountIs('AWS::EC2::Subnet', 6);
    for (const name of ['Public', 'Private', 'Isolated']) {
      template.resourcePropertiesCountIs(
        'AWS::EC2::Subnet',
        { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-name', Value: name }]) },
        2,
      );
    }
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 0);
  });

  test.each([
    [dev, 1],
    [production, 2],
  ])('NAT gateways follow the profile (%#)', (synth, count) => {
    synth().template.resourceCountIs('AWS::EC2::NatGateway', count);
  });

  test('flow logs of all traffic go to a log group with the configured retention', () => {
    const { template } = production();
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('the default security group is stripped of its rules', () => {
    dev().template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});

describe('alert topic', () => {
  test('is encrypted with its own key, which CloudWatch and EventBridge may use', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack, stack.alerts.key), 'Arn'] },
    });
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Description: 'prod-baseline alert topic encryption',
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowAlarmAndEventPublishers',
              Effect: 'Allow',
              Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
            },
          ]),
        },
      },
    });
  });

  test('refuses publishing over plain HTTP', () => {
    dev().template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('subscribes every configured e-mail address, and none by default', () => {
    dev().template.resourceCountIs('AWS::SNS::Subscription', 0);
    const { template } = synthBaseline({ alertEmails: 'a@example.com,b@example.com' });
    // Each address hears both severities unless notifyEmails says otherwise.
    template.resourceCountIs('AWS::SNS::Subscription', 4);
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'b@example.com' }, 2);
  });
});

describe('traffic layout', () => {
  test('an internet-facing ALB that drops invalid headers and logs access', () => {
    const { template, stack } = production();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'deletion_protection.enabled', Value: 'true' },
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: logicalId(stack, stack.traffic.accessLogsBucket) } },
      ]),
    });
  });

  test('the access-log bucket is private, SSL-only, retained and expires logs after the configured days', () => {
    const { template } = production();
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })],
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('the listener answers 404 for anything no rule matches', () => {
    dev().template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'fixed-response',
          FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'Not found' },
        },
      ],
    });
  });

  test('two IP target groups with health checks tuned for fast deploys and rollbacks', () => {
    const { template } = synthBaseline({ healthCheckPath: '/healthz', containerPort: 8080 });
    template.resourcePropertiesCountIs(
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      {
        TargetType: 'ip',
        Port: 8080,
        Protocol: 'HTTP',
        HealthCheckPath: '/healthz',
        HealthCheckIntervalSeconds: 10,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      },
      2,
    );
  });

  test('the production rule forwards with weights 100/0 over blue and green', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 100,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: logicalId(stack, stack.traffic.blueTargetGroup) }, Weight: 100 },
              { TargetGroupArn: { Ref: logicalId(stack, stack.traffic.greenTargetGroup) }, Weight: 0 },
            ],
          },
        },
      ],
    });
  });

  test('the test rule only matches requests carrying the secret test header', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [
        {
          Field: 'http-header',
          HttpHeaderConfig: {
            HttpHeaderName: 'X-Prod-Baseline-Test',
            Values: [
              {
                'Fn::Join': [
                  '',
                  [
                    '{{resolve:secretsmanager:',
                    { Ref: logicalId(stack, stack.traffic.testTrafficSecret) },
                    ':SecretString:::}}',
                  ],
                ],
              },
            ],
          },
        },
      ],
    });
  });

  // One valid non-default value per setting: no setting may change either rule (ECS rewrites their
  // actions during blue/green deployments and CloudFormation would reset them; aws/aws-cdk#36649).
  const VARIANTS: Record<SettingName, unknown> = {
    profile: 'production',
    stackName: 'Other-Stack',
    region: 'eu-west-1',
    alertEmails: 'a@example.com',
    containerImage: 'public.ecr.aws/docker/library/httpd:2.4',
    containerPort: 3000,
    healthCheckPath: '/healthz',
    taskCpu: 1024,
    taskMemoryMiB: 1024,
    desiredCount: 5,
    natGateways: 2,
    vpcCidr: '10.20.0.0/16',
    multiAz: true,
    deletionProtection: true,
    terminationProtection: true,
    logRetentionDays: 365,
    accessLogRetentionDays: 7,
    backupRetentionDays: 30,
    dbInstanceClass: 'm7g.large',
    dbAllocatedStorageGiB: 40,
    dbMaxAllocatedStorageGiB: 200,
    databaseName: 'shop',
    restoreDrillSchedule: 'daily',
    alertWebhooks: 'https://hooks.example.com/prod',
    notifyEmails: 'dev@example.com',
    slackWorkspaceId: 'T0123ABCD',
    slackChannelId: 'C0123ABCD',
    monthlyBudgetUsd: 0,
    rpoTargetMinutes: 30,
    rtoTargetMinutes: 120,
    canaryRateMinutes: 1,
    bakeTimeMinutes: 30,
    maxTasks: 20,
    preDeploySnapshots: true,
    domainName: 'app.example.com',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    edgeProtection: 'count',
    awsBackupPlan: true,
  };
  const rulesOf = (settings: Record<string, unknown>) => {
    const { json, stack } = synthBaseline(settings);
    return [stack.traffic.productionRule, stack.traffic.testRule].map((r) => json.Resources[logicalId(stack, r)]);
  };

  test.each(SETTING_NAMES)('the production and test rules do not change with %s', (name) => {
    const settings: Record<string, unknown> = { [name]: VARIANTS[name] };
    if (name === 'taskCpu') settings.taskMemoryMiB = 2048;
    if (name === 'taskMemoryMiB') settings.taskCpu = 256;
    if (name === 'desiredCount') settings.maxTasks = 10;
    if (name === 'domainName') settings.certificateArn = VARIANTS.certificateArn;
    if (name === 'certificateArn' || name === 'hostedZoneId') settings.domainName = VARIANTS.domainName;
    if (name === 'slackWorkspaceId') settings.slackChannelId = VARIANTS.slackChannelId;
    if (name === 'slackChannelId') settings.slackWorkspaceId = VARIANTS.slackWorkspaceId;
    expect(rulesOf(settings)).toEqual(rulesOf({}));
  });
});

describe('app service', () => {
  test('Fargate tasks in private subnets without public IPs, registered in the blue group', () => {
    const { template, stack } = production();
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
      HealthCheckGracePeriodSeconds: 60,
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          Subnets: [
            { Ref: logicalId(stack, stack.network.vpc.privateSubnets[0]) },
            { Ref: logicalId(stack, stack.network.vpc.privateSubnets[1]) },
          ],
        },
      },
      LoadBalancers: [
        {
          ContainerName: 'App',
          ContainerPort: 80,
          TargetGroupArn: { Ref: logicalId(stack, stack.traffic.blueTargetGroup) },
        },
      ],
    });
  });

  test('the task gets its size from the profile and database credentials only as secrets', () => {
    const { template, stack } = production();
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '512',
      Memory: '1024',
      ContainerDefinitions: [
        Match.objectLike({
          Image: 'public.ecr.aws/nginx/nginx:1.27-alpine',
          Environment: [{ Name: 'DB_SECRET_ARN', Value: { Ref: logicalId(stack, stack.database.secret) } }],
          Secrets: ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD'].map((name) =>
            Match.objectLike({ Name: name }),
          ),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  test('container logs keep the configured retention', () => {
    const { template, stack } = synthBaseline({ logRetentionDays: 30 });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(template.toJSON().Resources[logicalId(stack, stack.app.logGroup)].Properties.RetentionInDays).toBe(30);
  });

  test('only the load balancer reaches the tasks, and only the tasks reach the database', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 80,
      ToPort: 80,
      SourceSecurityGroupId: {
        'Fn::GetAtt': [logicalId(stack, stack.traffic.loadBalancer.connections.securityGroups[0]), 'GroupId'],
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: { 'Fn::GetAtt': [logicalId(stack, stack.database.instance), 'Endpoint.Port'] },
      SourceSecurityGroupId: {
        'Fn::GetAtt': [logicalId(stack, stack.app.service.connections.securityGroups[0]), 'GroupId'],
      },
    });
  });
});

describe('database', () => {
  test.each([
    [
      'dev',
      dev,
      { MultiAZ: false, DeletionProtection: false, BackupRetentionPeriod: 7, DBInstanceClass: 'db.t4g.micro' },
    ],
    [
      'production',
      production,
      { MultiAZ: true, DeletionProtection: true, BackupRetentionPeriod: 14, DBInstanceClass: 'db.t4g.small' },
    ],
  ])('PostgreSQL with the %s profile defaults', (_name, synth, expected) => {
    const { template, stack } = synth();
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      Properties: {
        ...expected,
        Engine: 'postgres',
        EngineVersion: '17',
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack, stack.database.key), 'Arn'] },
        PubliclyAccessible: false,
        EnableIAMDatabaseAuthentication: true,
        DeleteAutomatedBackups: false,
        CopyTagsToSnapshot: true,
        StorageType: 'gp3',
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        DBName: 'app',
      },
    });
  });

  test('runs in the isolated subnets', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: stack.network.vpc.isolatedSubnets.map((s) => ({ Ref: logicalId(stack, s) })),
    });
  });

  test('requires TLS', () => {
    dev().template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres17',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  test('credentials live in a retained secret encrypted with the database key', () => {
    const { template, stack } = dev();
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack, stack.database.key), 'Arn'] },
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"postgres"}' }),
      },
    });
  });

  test('the password rotates every 30 days from the private-with-egress subnets, never on deploy', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotateImmediatelyOnUpdate: false,
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    const privateSubnets = stack.network.vpc.privateSubnets.map((s) => ({ Ref: logicalId(stack, s) }));
    template.hasResourceProperties('AWS::Serverless::Application', {
      Parameters: Match.objectLike({
        vpcSubnetIds: { 'Fn::Join': ['', [privateSubnets[0], ',', privateSubnets[1]]] },
      }),
    });
  });

  test('the database key rotates and is retained', () => {
    const { json, stack } = dev();
    expect(json.Resources[logicalId(stack, stack.database.key)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });

  test('exported PostgreSQL logs keep the configured retention', () => {
    synthBaseline({ logRetentionDays: 30 }).template.hasResourceProperties('Custom::LogRetention', {
      RetentionInDays: 30,
    });
  });
});

describe('logical IDs of stateful and traffic-carrying resources', () => {
  test('never change', () => {
    const { stack } = dev();
    expect({
      database: logicalId(stack, stack.database.instance),
      databaseKey: logicalId(stack, stack.database.key),
      databaseSecret: logicalId(stack, stack.database.instance.node.findChild('Secret')),
      alertKey: logicalId(stack, stack.alerts.key),
      alertTopic: logicalId(stack, stack.alerts.topic),
      loadBalancer: logicalId(stack, stack.traffic.loadBalancer),
      listener: logicalId(stack, stack.traffic.listener),
      blueTargetGroup: logicalId(stack, stack.traffic.blueTargetGroup),
      greenTargetGroup: logicalId(stack, stack.traffic.greenTargetGroup),
      productionRule: logicalId(stack, stack.traffic.productionRule),
      testRule: logicalId(stack, stack.traffic.testRule),
      vpc: logicalId(stack, stack.network.vpc),
    }).toEqual({
      database: 'DatabaseF44359DD',
      databaseKey: 'DatabaseKey5E5D9547',
      databaseSecret: 'ProdBaselineDatabaseSecretEBB07E913fdaad7efa858a3daf9490cf0a702aeb',
      alertKey: 'AlertsKey9E1197AF',
      alertTopic: 'AlertsE664E991',
      loadBalancer: 'Traffic69CEDD30',
      listener: 'TrafficListenerD59A9B78',
      blueTargetGroup: 'TrafficBlue6CF8876E',
      greenTargetGroup: 'TrafficGreen75B0DE11',
      productionRule: 'TrafficProductionRule9300D194',
      testRule: 'TrafficTestRule926F2424',
      vpc: 'Network6E62CE96',
    });
  });
});

describe('metadata contract', () => {
  test('every kit construct marks its primary resources', () => {
    const { json } = dev();
    const roles = Object.values<any>(json.Resources)
      .map((r) => r.Metadata?.['prod-baseline'])
      .filter(Boolean)
      .map((m) => `${m.construct}:${m.role}`)
      .sort();
    expect(roles).toEqual([
      'AlertTopic:alert-key',
      'AlertTopic:alert-topic',
      'AlertTopic:notify-topic',
      'BaselineManifest:manifest',
      'BaselineNetwork:vpc',
      'BlueGreenService:app-service',
      'BlueGreenTraffic:blue-target-group',
      'BlueGreenTraffic:green-target-group',
      'BlueGreenTraffic:load-balancer',
      'BlueGreenTraffic:production-listener-rule',
      'BlueGreenTraffic:test-listener-rule',
      'EdgeProtection:web-acl',
      'HealthCanary:canary',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-notify',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'KitAlarm:alarm-page',
      'OperationsDashboard:dashboard',
      'ResilientDatabase:database',
      'ResilientDatabase:database-key',
      'ResilientDatabase:database-secret',
      'RestoreDrill:restore-drill',
      'RestoreDrill:restore-drill-spec',
      'ServiceAlarms:service-health',
    ]);
    const versions = new Set(
      Object.values<any>(json.Resources)
        .map((r) => r.Metadata?.['prod-baseline']?.version)
        .filter(Boolean),
    );
    expect([...versions]).toEqual([require('../../package.json').version]);
  });

  test('the manifest parameter lists every kit construct and a stack output names it', () => {
    const { json, stack } = dev();
    const parameter = json.Resources[logicalId(stack, stack.manifest.parameter)];
    expect(parameter.Properties.Name).toBe('/prod-baseline/ProdBaseline/manifest');
    expect(json.Outputs.ProdBaselineManifest.Value).toEqual({ Ref: logicalId(stack, stack.manifest.parameter) });
    // Resolve the Fn::Join into text with the references left as placeholders.
    const text = (parameter.Properties.Value['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/"/g, "'")}>`))
      .join('');
    const manifest = JSON.parse(text);
    expect(manifest).toMatchObject({ schema: 1, stackName: 'ProdBaseline' });
    expect(Object.fromEntries(Object.entries<any>(manifest.entries).map(([path, e]) => [path, e.role]))).toEqual({
      Alerts: 'alert-topic',
      Canary: 'canary',
      App: 'app-service',
      Database: 'database',
      Edge: 'edge',
      RestoreDrill: 'restore-drill',
      Traffic: 'traffic',
    });
    expect(manifest.entries.Traffic.attributes.productionRuleArn).toBe(
      `<{'Ref':'${logicalId(stack, stack.traffic.productionRule)}'}>`,
    );
  });
});

describe('defaults that matter, one by one', () => {
  test('the flow-log group itself keeps the configured retention', () => {
    const { json, stack } = synthBaseline({ logRetentionDays: 60 });
    expect(json.Resources[logicalId(stack, stack.network.flowLogGroup)].Properties.RetentionInDays).toBe(60);
  });

  test('both keys wait 30 days before deletion and rotate', () => {
    const { json, stack } = dev();
    for (const key of [stack.alerts.key, stack.database.key]) {
      expect(json.Resources[logicalId(stack, key)].Properties).toMatchObject({
        PendingWindowInDays: 30,
        EnableKeyRotation: true,
      });
    }
  });

  test.each([
    [dev, { AllocatedStorage: '20', MaxAllocatedStorage: 50 }],
    [production, { AllocatedStorage: '20', MaxAllocatedStorage: 100 }],
  ])('storage and its autoscaling ceiling follow the profile (%#)', (synth, expected) => {
    synth().template.hasResourceProperties('AWS::RDS::DBInstance', { ...expected, AutoMinorVersionUpgrade: true });
  });

  test('a ceiling equal to the allocated storage turns storage autoscaling off', () => {
    synthBaseline({ dbAllocatedStorageGiB: 50, dbMaxAllocatedStorageGiB: 50 }).template.hasResourceProperties(
      'AWS::RDS::DBInstance',
      { AllocatedStorage: '50', MaxAllocatedStorage: Match.absent() },
    );
  });

  test('target groups accept 200-399 and do not stick sessions', () => {
    dev().template.resourcePropertiesCountIs(
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      {
        Matcher: { HttpCode: '200-399' },
        TargetGroupAttributes: Match.arrayWith([{ Key: 'stickiness.enabled', Value: 'false' }]),
      },
      2,
    );
  });

  test('containers get 30 s to stop and tasks carry the service tags; Container Insights stays off', () => {
    const { template } = dev();
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ StopTimeout: 30 })],
    });
    template.hasResourceProperties('AWS::ECS::Service', { PropagateTags: 'SERVICE' });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
    });
  });

  test('dev: no load-balancer deletion protection, access logs kept 30 days', () => {
    const { template } = dev();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'false' }]),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] },
    });
  });

  test('the test-traffic secret is 40 letters and digits', () => {
    const { json, stack } = dev();
    expect(json.Resources[logicalId(stack, stack.traffic.testTrafficSecret)].Properties.GenerateSecretString).toEqual({
      ExcludePunctuation: true,
      IncludeSpace: false,
      PasswordLength: 40,
    });
  });

  test('exactly two sources reach the database: the app and the rotation function', () => {
    const { json, stack } = dev();
    const dbGroup = logicalId(stack, stack.database.instance.connections.securityGroups[0]);
    const ingress = Object.values<any>(json.Resources).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId?.['Fn::GetAtt']?.[0] === dbGroup,
    );
    expect(ingress.map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort()).toEqual(
      [
        logicalId(stack, stack.app.service.connections.securityGroups[0]),
        stack.resolve(
          (
            stack.database.instance.node.findChild('RotationSingleUser').node.findChild('SecurityGroup').node
              .defaultChild as any
          ).logicalId,
        ),
      ].sort(),
    );
  });

  test('only the load balancer reaches the tasks, and nothing reaches them from the internet', () => {
    const { json, stack } = dev();
    const appGroup = logicalId(stack, stack.app.service.connections.securityGroups[0]);
    const ingress = Object.values<any>(json.Resources).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId?.['Fn::GetAtt']?.[0] === appGroup,
    );
    expect(ingress).toHaveLength(1);
    expect(json.Resources[appGroup].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('the app may read its credentials secret again after a rotation', () => {
    const { template, stack } = dev();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, stack.app.taskDefinition.taskRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { Ref: logicalId(stack, stack.database.secret) },
          }),
        ]),
      },
    });
  });

  test('two baselines in one account get different physical names', () => {
    const name = (settings: Record<string, unknown>) =>
      Object.values<any>(synthBaseline(settings).json.Resources).find((r) => r.Type === 'AWS::Serverless::Application')
        .Properties.Parameters.functionName;
    expect(name({ stackName: 'Shop-Staging' })).not.toEqual(name({}));
    expect(name({ stackName: 'Shop-Staging' })).toMatch(/^ShopStaging/);
  });
});

describe('HTTPS', () => {
  const https = {
    domainName: 'app.example.com',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
  };

  test('the one listener switches to 443 with a modern TLS policy, and port 80 redirects', () => {
    const { template, stack } = synthBaseline(https);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
      Certificates: [{ CertificateArn: https.certificateArn }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } },
      ],
    });
    expect(stack.traffic.url).toBe('https://app.example.com');
  });

  test('the rules, target groups and the listener keep their logical IDs and properties between HTTP and HTTPS', () => {
    const http = synthBaseline();
    const tls = synthBaseline(https);
    for (const pick of [
      (s: typeof http) => s.stack.traffic.productionRule,
      (s: typeof http) => s.stack.traffic.testRule,
      (s: typeof http) => s.stack.traffic.blueTargetGroup,
      (s: typeof http) => s.stack.traffic.greenTargetGroup,
    ]) {
      const id = logicalId(http.stack, pick(http));
      expect(logicalId(tls.stack, pick(tls))).toBe(id);
      expect(tls.json.Resources[id]).toEqual(http.json.Resources[id]);
    }
    expect(logicalId(tls.stack, tls.stack.traffic.listener)).toBe(logicalId(http.stack, http.stack.traffic.listener));
  });

  test('a hosted zone gets a DNS-validated certificate and an alias record', () => {
    const { template } = synthBaseline({ domainName: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'app.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'app.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }],
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'app.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
    });
  });

  test('fails on a domain without a certificate or zone, and on a certificate without a domain', () => {
    expect(() => synthBaseline({ domainName: 'app.example.com' })).toThrow(
      'prodBaseline.domainName "app.example.com" needs certificateArn or hostedZoneId (to serve it over HTTPS), got neither',
    );
    expect(() => synthBaseline({ hostedZoneId: 'Z0123456789ABCDEFGHIJ' })).toThrow(
      'prodBaseline.domainName must be set when certificateArn or hostedZoneId is, got ""',
    );
  });
});

describe('edge protection in the baseline', () => {
  test('a web ACL guards the load balancer, blocking by default, counting or off by config', () => {
    const { template, stack } = synthBaseline();
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: logicalId(stack, stack.traffic.loadBalancer) },
    });
    template.hasResourceProperties('AWS::WAFv2::WebACL', { DefaultAction: { Allow: {} }, Scope: 'REGIONAL' });
    const counting = JSON.stringify(synthBaseline({ edgeProtection: 'count' }).json);
    expect(counting).toContain('"OverrideAction":{"Count":{}}');
    synthBaseline({ edgeProtection: 'off' }).template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});
