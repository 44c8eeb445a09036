import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  AlertTopic,
  estimatedMaxConnections,
  instanceClassMemoryGiB,
  type KitAlarm,
  ResilientDatabase,
} from '../../constructs';
import { logicalId, testApp } from '../helpers';

function databaseStack(props: Partial<ConstructorParameters<typeof ResilientDatabase>[2]> = {}) {
  const stack = new Stack(testApp(), 'Db', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
  const alerts = new AlertTopic(stack, 'Alerts');
  const db = new ResilientDatabase(stack, 'Db', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    alerts,
    ...props,
  });
  return { stack, db, alerts, template: Template.fromStack(stack) };
}

describe('instance class arithmetic', () => {
  test.each([
    ['t4g.micro', 1, 90],
    ['t3.small', 2, 180],
    ['t4g.large', 8, 720],
    ['m7g.large', 8, 720],
    ['m6i.2xlarge', 32, 2883],
    ['r6g.xlarge', 32, 2883],
    ['r7g.16xlarge', 512, 5000],
  ])('%s has %d GiB and about %d connections', (cls, gib, connections) => {
    expect(instanceClassMemoryGiB(cls)).toBe(gib);
    expect(estimatedMaxConnections(cls)).toBe(connections);
  });

  test.each(['c6g.large', 'q9.huge', 'graviton'])('an unknown class (%s) has no estimate', (cls) => {
    expect(estimatedMaxConnections(cls)).toBeUndefined();
  });
});

describe('database alarms', () => {
  test('six alarms, each routed by severity on ALARM and OK: storage and connections page, the rest notify', () => {
    const { template, stack, alerts } = databaseStack();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    const page = { Ref: logicalId(stack, alerts.topic) };
    const notify = { Ref: logicalId(stack, alerts.notifyTopic) };
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [page], OKActions: [page] }, 2);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [notify], OKActions: [notify] }, 4);
  });

  test.each([
    ['CPUUtilization', 'Average', 80, 'GreaterThanThreshold', 10, 10, 'notBreaching'],
    ['FreeStorageSpace', 'Minimum', 2 * 2 ** 30, 'LessThanThreshold', 2, 3, 'breaching'],
    ['FreeableMemory', 'Minimum', 102 * 2 ** 20, 'LessThanThreshold', 5, 5, 'notBreaching'],
    ['DatabaseConnections', 'Maximum', 72, 'GreaterThanOrEqualToThreshold', 3, 3, 'notBreaching'],
    ['ReadLatency', 'Average', 0.02, 'GreaterThanThreshold', 5, 5, 'notBreaching'],
    ['WriteLatency', 'Average', 0.02, 'GreaterThanThreshold', 5, 5, 'notBreaching'],
  ])(
    '%s: %s over 1 minute, threshold %d, %s, %d of %d, missing data %s',
    (name, stat, threshold, op, m, n, missing) => {
      const { template, stack, db } = databaseStack();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/RDS',
        MetricName: name,
        Statistic: stat,
        Period: 60,
        Threshold: threshold,
        ComparisonOperator: op,
        DatapointsToAlarm: m,
        EvaluationPeriods: n,
        TreatMissingData: missing,
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: { Ref: logicalId(stack, db.instance) } }],
      });
    },
  );

  test('descriptions carry the severity and a runbook', () => {
    const { template } = databaseStack();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FreeStorageSpace',
      AlarmDescription:
        '[page] Database free storage below 2 GiB: writes fail when it reaches zero.\n' +
        'First check: Whether storage autoscaling hit its ceiling (maxAllocatedStorage); table and WAL growth; raise the ceiling.',
    });
  });

  test('thresholds follow the instance class and can be overridden', () => {
    const { template } = databaseStack({
      instanceType: new ec2.InstanceType('r6g.large'),
      allocatedStorageGiB: 100,
      maxAllocatedStorageGiB: 200,
      alarmThresholds: { cpuPercent: 90, readLatency: Duration.millis(50), connectionsPercent: 50 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', Threshold: 90 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ReadLatency', Threshold: 0.05 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DatabaseConnections', Threshold: 720 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FreeStorageSpace',
      Threshold: 10 * 2 ** 30,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FreeableMemory',
      Threshold: Math.round(16 * 1024 * 0.1) * 2 ** 20,
    });
  });

  test('each alarm knows its worst-case time to detect', () => {
    const { db } = databaseStack();
    expect(Object.fromEntries(db.alarms.all.map((a: KitAlarm) => [a.node.id, a.timeToDetect.toMinutes()]))).toEqual({
      Cpu: 12,
      FreeStorage: 4,
      FreeableMemory: 7,
      Connections: 5,
      ReadLatency: 7,
      WriteLatency: 7,
    });
  });

  test('fails on an instance class the kit cannot size, naming the thresholds to set', () => {
    expect(() => databaseStack({ instanceType: new ec2.InstanceType('c6g.large') })).toThrow(
      'Db/Db/Alarms: instance class "c6g.large" is unknown to the kit: set alarm thresholds maxConnections and freeableMemory',
    );
    expect(() =>
      databaseStack({ instanceType: new ec2.InstanceType('c6g.large'), alarmThresholds: { maxConnections: 500 } }),
    ).toThrow('Db/Db/Alarms: instance class "c6g.large" is unknown to the kit: set the alarm threshold freeableMemory');
    expect(() =>
      databaseStack({
        instanceType: new ec2.InstanceType('c6g.large'),
        alarmThresholds: { maxConnections: 500, freeableMemory: Size.gibibytes(4) },
      }),
    ).not.toThrow();
  });

  test('fails on percentages outside 1 to 100', () => {
    expect(() => databaseStack({ alarmThresholds: { cpuPercent: 120, connectionsPercent: 0 } })).toThrow(
      'Db/Db/Alarms: cpuPercent must be from 1 to 100, got 120; connectionsPercent must be from 1 to 100, got 0',
    );
  });
});

describe('Performance Insights', () => {
  test('is on, kept 7 days (free tier), encrypted with the database key', () => {
    const { template, stack, db } = databaseStack();
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      EnablePerformanceInsights: true,
      PerformanceInsightsRetentionPeriod: 7,
      PerformanceInsightsKMSKeyId: { 'Fn::GetAtt': [logicalId(stack, db.key), 'Arn'] },
      StorageEncrypted: true,
      MultiAZ: Match.anyValue(),
    });
  });
});

describe('optional AWS Backup plan and RDS Proxy', () => {
  test('a vault encrypted with the database key, daily and continuous backups kept 35 days, selecting the instance', () => {
    const { template, stack, db } = databaseStack({ awsBackup: {} });
    template.hasResource('AWS::Backup::BackupVault', {
      DeletionPolicy: 'Retain',
      Properties: { EncryptionKeyArn: { 'Fn::GetAtt': [logicalId(stack, db.key), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: Match.objectLike({
        BackupPlanRule: [
          Match.objectLike({
            RuleName: 'Daily',
            ScheduleExpression: 'cron(0 5 * * ? *)',
            Lifecycle: { DeleteAfterDays: 35 },
          }),
          Match.objectLike({
            RuleName: 'Continuous',
            EnableContinuousBackup: true,
            Lifecycle: { DeleteAfterDays: 35 },
          }),
        ],
      }),
    });
    template.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({ Resources: [Match.objectLike({ 'Fn::Join': Match.anyValue() })] }),
    });
  });

  test('fails on a retention continuous backup cannot keep', () => {
    expect(() => databaseStack({ awsBackup: { retention: Duration.days(90) } })).toThrow(
      'Db/Db: awsBackup.retention must be between 1 and 35 days (continuous backups keep at most 35), got 90 days',
    );
  });

  test('an RDS Proxy that requires TLS and reaches the instance', () => {
    const { template, stack, db } = databaseStack({ proxy: true });
    template.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, EngineFamily: 'POSTGRESQL' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: {
        'Fn::GetAtt': [logicalId(stack, (db.proxy as any).connections.securityGroups[0]), 'GroupId'],
      },
    });
  });
});
