import { DescribeServiceRevisionsCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { MigrationSnapshotHook, ResilientDatabase } from '../../constructs';
import { handler, snapshotIdentifier } from '../../constructs/deploy/migration-snapshot.handler';
import { logicalId, synthBaseline, testApp } from '../helpers';

const rds = mockClient(RDSClient);
const ecs = mockClient(ECSClient);
const SERVICE = 'arn:aws:ecs:us-east-1:111122223333:service/shop/web';
const LIVE = 'arn:aws:ecs:us-east-1:111122223333:service-revision/shop/web/1111';
const TARGET = 'arn:aws:ecs:us-east-1:111122223333:service-revision/shop/web/2222';

beforeEach(() => {
  rds.reset();
  ecs.reset();
  process.env.DB_INSTANCE_IDENTIFIER = 'shop-db';
  process.env.SNAPSHOT_PREFIX = 'predeploy';
  process.env.RETENTION_DAYS = '14';
});

function revisions(live: number, target: number) {
  ecs.on(DescribeServiceRevisionsCommand).resolves({
    serviceRevisions: [
      { serviceRevisionArn: LIVE, taskDefinition: `arn:aws:ecs:us-east-1:111122223333:task-definition/web:${live}` },
      {
        serviceRevisionArn: TARGET,
        taskDefinition: `arn:aws:ecs:us-east-1:111122223333:task-definition/web:${target}`,
      },
    ],
  });
}

describe('migration snapshot hook', () => {
  test('names the snapshot after the target service revision', () => {
    expect(snapshotIdentifier('predeploy', TARGET)).toBe('predeploy-2222');
  });

  test('a forward deployment starts a tagged snapshot and asks to be called again', async () => {
    revisions(7, 8);
    rds.on(CreateDBSnapshotCommand).resolves({});
    const result = await handler({
      serviceArn: SERVICE,
      targetServiceRevisionArn: TARGET,
      productionTrafficWeights: { [LIVE]: 100 },
    });
    expect(result).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 30,
      hookDetails: { snapshotIdentifier: 'predeploy-2222' },
    });
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input).toEqual({
      DBInstanceIdentifier: 'shop-db',
      DBSnapshotIdentifier: 'predeploy-2222',
      Tags: [
        { Key: 'prod-baseline:pre-deployment', Value: TARGET },
        { Key: 'prod-baseline:service', Value: SERVICE },
      ],
    });
  });

  test('a redeploy of an older task definition (a rollback) takes no snapshot', async () => {
    revisions(8, 7);
    const result = await handler({
      serviceArn: SERVICE,
      targetServiceRevisionArn: TARGET,
      productionTrafficWeights: { [LIVE]: 100 },
    });
    expect(result).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  test('succeeds once the snapshot is available, deleting expired snapshots of the prefix only', async () => {
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: 'predeploy-2222' }).resolves({
      DBSnapshots: [{ DBSnapshotIdentifier: 'predeploy-2222', Status: 'available' }],
    });
    rds.on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: 'shop-db', SnapshotType: 'manual' }).resolves({
      DBSnapshots: [
        { DBSnapshotIdentifier: 'predeploy-1111', Status: 'available', SnapshotCreateTime: old },
        { DBSnapshotIdentifier: 'predeploy-2222', Status: 'available', SnapshotCreateTime: old },
        { DBSnapshotIdentifier: 'manual-by-a-human', Status: 'available', SnapshotCreateTime: old },
        { DBSnapshotIdentifier: 'predeploy-1500', Status: 'available', SnapshotCreateTime: new Date() },
      ],
    });
    rds.on(DeleteDBSnapshotCommand).resolves({});
    const result = await handler({
      serviceArn: SERVICE,
      targetServiceRevisionArn: TARGET,
      hookDetails: { snapshotIdentifier: 'predeploy-2222' },
    });
    expect(result).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(rds.commandCalls(DeleteDBSnapshotCommand).map((c) => c.args[0].input.DBSnapshotIdentifier)).toEqual([
      'predeploy-1111',
    ]);
  });

  test('keeps waiting while the snapshot is being created, and fails the deployment when it failed', async () => {
    rds
      .on(DescribeDBSnapshotsCommand)
      .resolvesOnce({ DBSnapshots: [{ Status: 'creating' }] })
      .resolves({ DBSnapshots: [{ Status: 'failed' }] });
    const event = {
      serviceArn: SERVICE,
      targetServiceRevisionArn: TARGET,
      hookDetails: { snapshotIdentifier: 'predeploy-2222' },
    };
    expect(await handler(event)).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 30,
      hookDetails: { snapshotIdentifier: 'predeploy-2222' },
    });
    expect(await handler(event)).toEqual({ hookStatus: 'FAILED' });
  });

  test('an existing snapshot of the same deployment (a repeated call) is not an error', async () => {
    revisions(7, 8);
    rds
      .on(CreateDBSnapshotCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'DBSnapshotAlreadyExistsFault' }));
    const result = await handler({
      serviceArn: SERVICE,
      targetServiceRevisionArn: TARGET,
      productionTrafficWeights: { [LIVE]: 100 },
    });
    expect(result.hookStatus).toBe('IN_PROGRESS');
  });
});

describe('MigrationSnapshotHook construct', () => {
  test('may snapshot only its database under its prefix and runs before scale-up', () => {
    const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
    const db = new ResilientDatabase(stack, 'Db', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    const hook = new MigrationSnapshotHook(stack, 'Snapshots', { database: db.instance, retentionDays: 7 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          SNAPSHOT_PREFIX: 'predeploy',
          RETENTION_DAYS: '7',
          DB_INSTANCE_IDENTIFIER: { Ref: logicalId(stack, db.instance) },
        },
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'DeleteOwnSnapshots',
            Action: 'rds:DeleteDBSnapshot',
            Resource: {
              'Fn::Join': ['', ['arn:aws:rds:eu-west-1:', { Ref: 'AWS::AccountId' }, ':snapshot:predeploy-*']],
            },
          }),
        ]),
      },
    });
    expect(hook.snapshotPrefix).toBe('predeploy');
  });

  test('in the production baseline the service runs the hook at PRE_SCALE_UP; dev has none', () => {
    const { json, stack } = synthBaseline({ profile: 'production' });
    const hooks = json.Resources[logicalId(stack, stack.app.service)].Properties.DeploymentConfiguration.LifecycleHooks;
    expect(hooks).toEqual([expect.objectContaining({ LifecycleStages: ['PRE_SCALE_UP'] })]);
    const dev = synthBaseline();
    expect(
      dev.json.Resources[logicalId(dev.stack, dev.stack.app.service)].Properties.DeploymentConfiguration.LifecycleHooks,
    ).toBeUndefined();
  });

  test('fails on a prefix RDS would refuse', () => {
    const stack = new Stack(testApp(), 'Shop2', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const db = new ResilientDatabase(stack, 'Db', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    expect(
      () => new MigrationSnapshotHook(stack, 'Snapshots', { database: db.instance, snapshotPrefix: 'Pre_Deploy' }),
    ).toThrow(
      'Shop2/Snapshots: snapshotPrefix must be a lower-case letter, then letters, digits or hyphens, at most 41 characters, got "Pre_Deploy"',
    );
  });
});
