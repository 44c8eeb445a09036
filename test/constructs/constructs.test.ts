import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  AlertTopic,
  BaselineManifest,
  BaselineNetwork,
  BlueGreenService,
  BlueGreenTraffic,
  markKitResource,
  ProdBaselineError,
  ResilientDatabase,
} from '../../constructs';
import { testApp } from '../helpers';

function userStack(): { stack: Stack; vpc: ec2.Vpc } {
  const stack = new Stack(testApp(), 'UserStack', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'UserVpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
  return { stack, vpc };
}

describe('ResilientDatabase', () => {
  test('in a user VPC without isolated subnets, with the production defaults', () => {
    const { stack, vpc } = userStack();
    new ResilientDatabase(stack, 'Db', { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      Properties: Match.objectLike({
        MultiAZ: true,
        DeletionProtection: true,
        BackupRetentionPeriod: 14,
        StorageEncrypted: true,
        DBInstanceClass: 'db.t4g.micro',
        MaxAllocatedStorage: 100,
      }),
    });
    template.resourceCountIs('AWS::KMS::Key', 1);
  });

  test('uses a key the user brings instead of creating one', () => {
    const { stack, vpc } = userStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const db = new ResilientDatabase(stack, 'Db', {
      vpc,
      key,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    expect(db.key).toBe(key);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('fails with every bad prop in one message', () => {
    const { stack, vpc } = userStack();
    expect(
      () =>
        new ResilientDatabase(stack, 'Db', {
          vpc,
          backupRetention: Duration.days(40),
          allocatedStorageGiB: 200,
          maxAllocatedStorageGiB: 100,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
    ).toThrow(
      new ProdBaselineError(
        { node: { path: 'UserStack/Db' } } as never,
        'backupRetention must be between 1 and 35 days, got 40 days; ' +
          'maxAllocatedStorageGiB must equal the allocated storage (200, no autoscaling) or be at least 10 % above it (221 or more), got 100; ' +
          'removalPolicy must be SNAPSHOT or RETAIN, got DESTROY (it deletes the data and every automated backup)',
      ).message,
    );
  });

  test('fails on a backup retention under a day', () => {
    const { stack, vpc } = userStack();
    expect(() => new ResilientDatabase(stack, 'Db', { vpc, backupRetention: Duration.hours(12) })).toThrow(
      'UserStack/Db: backupRetention must be between 1 and 35 days, got 12 hours',
    );
  });
});

describe('AlertTopic', () => {
  test('uses a key the user brings and creates none', () => {
    const { stack } = userStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const alerts = new AlertTopic(stack, 'Alerts', { key, emails: ['ops@example.com'] });
    expect(alerts.key).toBe(key);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('adds the publisher statement to a key of the app, and warns about an imported key it cannot change', () => {
    const { stack } = userStack();
    const own = new kms.Key(stack, 'OwnKey', { enableKeyRotation: true });
    new AlertTopic(stack, 'Alerts', { key: own });
    const imported = kms.Key.fromKeyArn(
      stack,
      'Imported',
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    new AlertTopic(stack, 'ImportedAlerts', { key: imported });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowAlarmAndEventPublishers' })]) },
    });
    Annotations.fromStack(stack).hasWarning(
      '/UserStack/ImportedAlerts',
      'the alert key is imported, so its key policy cannot be changed here: it must let cloudwatch.amazonaws.com and events.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*, or alarm notifications are dropped silently [ack: prod-baseline:alert-key-policy]',
    );
    Annotations.fromStack(stack).hasNoWarning('/UserStack/Alerts', Match.anyValue());
  });

  test('fails on malformed e-mail addresses', () => {
    const { stack } = userStack();
    expect(() => new AlertTopic(stack, 'Alerts', { emails: ['ops@example.com', 'ops', 'a b@example.com'] })).toThrow(
      'UserStack/Alerts: page emails must be e-mail addresses such as "oncall@example.com", got "ops", "a b@example.com"; notify emails must be e-mail addresses such as "oncall@example.com", got "ops", "a b@example.com"',
    );
  });
});

describe('BaselineNetwork', () => {
  test('fails on a NAT gateway count it cannot honour', () => {
    const stack = new Stack(testApp(), 'S', { env: { region: 'eu-west-1' } });
    expect(() => new BaselineNetwork(stack, 'Net', { natGateways: 0 })).toThrow(
      'S/Net: natGateways must be 1 or 2 (private-with-egress subnets need one, the VPC spans two AZs), got 0',
    );
  });
});

describe('BlueGreenTraffic and BlueGreenService', () => {
  test('fail on bad props with the construct path, value and what is allowed', () => {
    const { stack, vpc } = userStack();
    expect(
      () =>
        new BlueGreenTraffic(stack, 'Traffic', {
          vpc,
          targetPort: 70000,
          healthCheckPath: 'health',
          deregistrationDelay: Duration.minutes(5),
        }),
    ).toThrow(
      'UserStack/Traffic: targetPort must be a whole number from 1 to 65535, got 70000; ' +
        'healthCheckPath must start with "/" and have no spaces, got "health"; ' +
        'deregistrationDelay must be at most 30 seconds (it delays every deployment and rollback), got 5 minutes',
    );
    const traffic = new BlueGreenTraffic(stack, 'Traffic2', { vpc });
    expect(
      () =>
        new BlueGreenService(stack, 'App', {
          traffic,
          image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
          cpu: 256,
          memoryLimitMiB: 4096,
        }),
    ).toThrow('UserStack/App: memoryLimitMiB must fit cpu 256: one of 512, 1024, 2048, got 4096');
  });

  test('the service can join a cluster the user brings, with Container Insights left to them', () => {
    const { stack, vpc } = userStack();
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
    const app = new BlueGreenService(stack, 'App', {
      traffic,
      cluster,
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
    });
    expect(app.cluster).toBe(cluster);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
  });
});

describe('BaselineManifest and metadata', () => {
  test('lists two databases of one stack under their own paths', () => {
    const { stack, vpc } = userStack();
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    new ResilientDatabase(stack, 'Orders', { vpc, vpcSubnets: subnets });
    new ResilientDatabase(new Construct(stack, 'Billing'), 'Db', { vpc, vpcSubnets: subnets });
    const manifest = BaselineManifest.of(stack);
    const value = JSON.stringify(stack.resolve((manifest.parameter.node.defaultChild as ssm.CfnParameter).value));
    expect(value).toContain('\\"Orders\\":{\\"role\\":\\"database\\"');
    expect(value).toContain('\\"Billing/Db\\":{\\"role\\":\\"database\\"');
    expect(BaselineManifest.of(stack)).toBe(manifest);
  });

  test('fails on a role that is not lower-case words', () => {
    const { stack } = userStack();
    expect(() =>
      BaselineManifest.of(stack).addEntry(stack, { role: 'My Role', construct: 'X', attributes: {} }),
    ).toThrow('UserStack: manifest role must be lower-case words joined by hyphens, got "My Role"');
  });

  test('fails when a construct is added twice', () => {
    const { stack } = userStack();
    const owner = new Construct(stack, 'Thing');
    BaselineManifest.of(stack).addEntry(owner, { role: 'thing', construct: 'X', attributes: {} });
    expect(() => BaselineManifest.of(stack).addEntry(owner, { role: 'thing', construct: 'X', attributes: {} })).toThrow(
      'UserStack/Thing: is already in the manifest as "thing"',
    );
  });

  test('fails to mark a construct without a CloudFormation resource', () => {
    const { stack } = userStack();
    expect(() => markKitResource(new Construct(stack, 'Empty'), 'X', 'thing')).toThrow(
      'UserStack/Empty: cannot mark as "thing": it has no CloudFormation resource',
    );
  });
});
