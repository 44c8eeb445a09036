import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AlertTopic,
  BlueGreenFunction,
  type BlueGreenFunctionProps,
  BlueGreenService,
  type BlueGreenServiceProps,
  BlueGreenTraffic,
  type FunctionAlarms,
} from '../../constructs';
import { acknowledgeNag } from '../../constructs/core/nag';
import { logicalId, PRODUCTION_SETTINGS, synthBaseline, testApp } from '../helpers';

function serviceStack(
  props: Partial<BlueGreenServiceProps> = {},
  extra?: (stack: Stack) => Partial<BlueGreenServiceProps>,
) {
  const stack = new Stack(testApp(), 'Web', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
  const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
  const service = new BlueGreenService(stack, 'App', {
    traffic,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
    ...props,
    ...extra?.(stack),
  });
  const template = Template.fromStack(stack);
  return { stack, traffic, service, template, json: template.toJSON() };
}

describe('BlueGreenService', () => {
  test('ECS-native blue/green with a 15-minute bake, the circuit breaker, and the alternate target on the fixed rules', () => {
    const { template, stack, traffic } = serviceStack();
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({
        Strategy: 'BLUE_GREEN',
        BakeTimeInMinutes: 15,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
      LoadBalancers: [
        {
          ContainerName: 'App',
          ContainerPort: 80,
          TargetGroupArn: { Ref: logicalId(stack, traffic.blueTargetGroup) },
          AdvancedConfiguration: {
            AlternateTargetGroupArn: { Ref: logicalId(stack, traffic.greenTargetGroup) },
            ProductionListenerRule: { Ref: logicalId(stack, traffic.productionRule) },
            TestListenerRule: { Ref: logicalId(stack, traffic.testRule) },
            RoleArn: Match.anyValue(),
          },
        },
      ],
    });
  });

  test('rollback alarms given as props roll deployments back', () => {
    let first: cloudwatch.Alarm | undefined;
    const { json, stack, service } = serviceStack({}, (s) => {
      const metric = new cloudwatch.Metric({ namespace: 'X', metricName: 'Errors' });
      first = new cloudwatch.Alarm(s, 'First', { metric, threshold: 1, evaluationPeriods: 1 });
      return { rollbackAlarms: [first] };
    });
    const config = json.Resources[logicalId(stack, service.service)].Properties.DeploymentConfiguration;
    expect(config.Alarms).toEqual({
      AlarmNames: [{ Ref: logicalId(stack, first as cloudwatch.Alarm) }],
      Enable: true,
      Rollback: true,
    });
  });

  test('alarms added with addRollbackAlarm after construction are rendered too', () => {
    const stack = new Stack(testApp(), 'Web2', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
    const traffic = new BlueGreenTraffic(stack, 'Traffic', { vpc, deletionProtection: false });
    const service = new BlueGreenService(stack, 'App', {
      traffic,
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27-alpine'),
    });
    const metric = new cloudwatch.Metric({ namespace: 'X', metricName: 'Errors' });
    const a = new cloudwatch.Alarm(stack, 'A', { metric, threshold: 1, evaluationPeriods: 1 });
    const b = new cloudwatch.Alarm(stack, 'B', { metric, threshold: 2, evaluationPeriods: 1 });
    service.addRollbackAlarm(a);
    service.addRollbackAlarm(b);
    const config =
      Template.fromStack(stack).toJSON().Resources[logicalId(stack, service.service)].Properties
        .DeploymentConfiguration;
    expect(config.Alarms.AlarmNames).toEqual([{ Ref: logicalId(stack, a) }, { Ref: logicalId(stack, b) }]);
  });

  test('without rollback alarms the service has no alarm configuration', () => {
    const { json, stack, service } = serviceStack();
    expect(json.Resources[logicalId(stack, service.service)].Properties.DeploymentConfiguration.Alarms).toBeUndefined();
  });

  test('a smoke-test function runs after test traffic shifted, before production traffic moves', () => {
    const { template } = serviceStack({}, (s) => {
      const fn = new lambda.Function(s, 'Smoke', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({ hookStatus: "SUCCEEDED" })'),
      });
      acknowledgeNag(fn, {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The test function only writes its own logs.',
      });
      return { smokeTest: fn };
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({
        LifecycleHooks: [Match.objectLike({ LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'] })],
      }),
    });
  });

  test('scales on CPU and on requests per task in both target groups', () => {
    const { template, stack, traffic } = serviceStack({ desiredCount: 2, maxCapacity: 6 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 60,
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      }),
    });
    const json = template.toJSON();
    const labels = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy')
      .map((r) => r.Properties.TargetTrackingScalingPolicyConfiguration)
      .filter((c) => c.PredefinedMetricSpecification.PredefinedMetricType === 'ALBRequestCountPerTarget');
    expect(labels).toHaveLength(2);
    expect(labels.map((c) => c.TargetValue)).toEqual([1000, 1000]);
    const resourceLabels = JSON.stringify(labels.map((c) => c.PredefinedMetricSpecification.ResourceLabel));
    expect(resourceLabels).toContain(logicalId(stack, traffic.blueTargetGroup));
    expect(resourceLabels).toContain(logicalId(stack, traffic.greenTargetGroup));
  });

  test('an optional ECR repository scans on push and keeps tags immutable', () => {
    const { template, service } = serviceStack({ createRepository: true });
    template.hasResource('AWS::ECR::Repository', {
      DeletionPolicy: 'Retain',
      Properties: {
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'IMMUTABLE',
        // AES-256 is ECR's default encryption: aws-cdk-lib leaves the property out.
        EncryptionConfiguration: Match.absent(),
        LifecyclePolicy: Match.objectLike({ LifecyclePolicyText: Match.stringLikeRegexp('"countNumber":100') }),
      },
    });
    expect(service.repository).toBeDefined();
    expect(serviceStack().service.repository).toBeUndefined();
  });

  test('fails on a bake time, capacity or CPU target it cannot use', () => {
    expect(() =>
      serviceStack({ bakeTime: Duration.hours(25), minCapacity: 3, maxCapacity: 2, targetCpuPercent: 95 }),
    ).toThrow(
      'Web/App: bakeTime must be a whole number of minutes from 0 to 1440, got 1 day 1 hour; ' +
        'maxCapacity must be at least minCapacity (3), got 2; targetCpuPercent must be from 10 to 90, got 95',
    );
  });
});

describe('in the baseline', () => {
  test('the deployment guards and the canary roll deployments back; the bake time comes from config', () => {
    const { json, stack } = synthBaseline({ ...PRODUCTION_SETTINGS, bakeTimeMinutes: 30 });
    const config = json.Resources[logicalId(stack, stack.app.service)].Properties.DeploymentConfiguration;
    expect(config.BakeTimeInMinutes).toBe(30);
    expect(config.Alarms.AlarmNames).toEqual(stack.deploymentAlarms.map((a) => ({ Ref: logicalId(stack, a.alarm) })));
    expect(JSON.stringify(config.Alarms)).not.toContain(logicalId(stack, stack.serviceAlarms.serviceHealth));
  });

  test('the production profile refuses a mutable image tag', () => {
    expect(() => synthBaseline({ profile: 'production', containerImage: 'public.ecr.aws/nginx/nginx:latest' })).toThrow(
      'prodBaseline.containerImage must be pinned by digest or an immutable tag in the production profile (a rollback to a mutable tag redeploys the new code), got "public.ecr.aws/nginx/nginx:latest"',
    );
    expect(() => synthBaseline({ containerImage: 'public.ecr.aws/nginx/nginx:latest' })).not.toThrow();
  });
});

describe('BlueGreenFunction', () => {
  function functionStack(props: Partial<BlueGreenFunctionProps> = {}) {
    const stack = new Stack(testApp(), 'Api', { env: { region: 'eu-west-1' } });
    const fn = new lambda.Function(stack, 'Handler', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1'),
      timeout: Duration.seconds(10),
    });
    acknowledgeNag(fn, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The test function only writes its own logs.',
    });
    const alerts = new AlertTopic(stack, 'Alerts');
    const blueGreen = new BlueGreenFunction(stack, 'BlueGreen', { function: fn, alerts, ...props });
    const template = Template.fromStack(stack);
    return { stack, fn, alerts, blueGreen, template, json: template.toJSON() };
  }

  test('an alias on the current version, shifted 10 % for 5 minutes, rolled back on alarm, failure or stop', () => {
    const { template, stack, blueGreen } = functionStack();
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
      },
      AlarmConfiguration: {
        Enabled: true,
        Alarms: [{ Name: { Ref: logicalId(stack, (blueGreen.alarms as FunctionAlarms).errorRate.alarm) } }],
      },
    });
    template.hasResource('AWS::Lambda::Alias', {
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: Match.objectLike({ DeploymentGroupName: Match.anyValue() }) },
    });
  });

  test('the function alarms watch the alias and use the function timeout', () => {
    const { json, stack, blueGreen } = functionStack();
    const duration = json.Resources[logicalId(stack, (blueGreen.alarms as FunctionAlarms).duration.alarm)].Properties;
    expect(duration.Threshold).toBe(8000);
    expect(duration.Dimensions).toEqual(expect.arrayContaining([expect.objectContaining({ Name: 'Resource' })]));
  });

  test('fails on an alias name Lambda refuses', () => {
    expect(() => functionStack({ aliasName: '123' })).toThrow(
      'Api/BlueGreen: aliasName must be 1 to 128 letters, digits, hyphens or underscores and not only digits, got "123"',
    );
  });
});
