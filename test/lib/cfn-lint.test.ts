import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AlertTopic, BlueGreenService, BlueGreenTraffic, ResilientDatabase } from '../../constructs';
import { cfnLint, PRODUCTION_SETTINGS, requireTool, synthBaseline, testApp } from '../helpers';

beforeAll(() => requireTool('cfn-lint', 'pip install cfn-lint'));

describe('cfn-lint', () => {
  test.each([
    ['dev defaults', {}],
    ['production', PRODUCTION_SETTINGS],
    [
      'another region, port and health path',
      { region: 'eu-central-1', containerPort: 8080, healthCheckPath: '/healthz' },
    ],
  ])('reports nothing on the baseline template (%s)', (_name, settings) => {
    const { json } = synthBaseline(settings);
    const result = cfnLint(json);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('reports nothing on a user stack with every construct in its own VPC', () => {
    const stack = new Stack(testApp(), 'UserStack', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
    const alerts = new AlertTopic(stack, 'Alerts', { emails: ['ops@example.com'] });
    const db = new ResilientDatabase(stack, 'Db', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      alerts,
      allocatedStorageGiB: 30,
      maxAllocatedStorageGiB: 30,
      awsBackup: {},
      proxy: true,
    });
    const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
    const app = new BlueGreenService(stack, 'App', {
      traffic,
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
    });
    db.allowConnectionsFrom(app.service);
    const result = cfnLint(Template.fromStack(stack).toJSON());
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('would report a broken template (the check can fail)', () => {
    const result = cfnLint({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketNam: 'x' } } } });
    expect(result.code & 2).toBe(2);
    expect(result.output).toContain('E3002');
  });
});
