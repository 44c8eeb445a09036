import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildBaselineApp } from '../../lib/app';
import { cdkJsonContext, PRODUCTION_SETTINGS, settingsContext, testApp } from '../helpers';

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['dev', {}],
    ['production', PRODUCTION_SETTINGS],
    [
      'production without Multi-AZ or deletion protection',
      { ...PRODUCTION_SETTINGS, multiAz: false, deletionProtection: false },
    ],
  ])('the baseline stack (%s) has zero unacknowledged findings', (_name, settings) => {
    const { app } = buildBaselineApp({ context: { ...cdkJsonContext(), ...settingsContext(settings) } });
    expect(() => app.synth()).not.toThrow();
  });

  test('exactly these findings are acknowledged, each with a reason', () => {
    const { app } = buildBaselineApp({ context: cdkJsonContext() });
    const acknowledged: Record<string, string> = {};
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules')) {
        for (const [id, reason] of Object.entries<string>(entry.data)) {
          if (id.startsWith('AwsSolutions::')) acknowledged[`${construct.node.path} ${id}`] = reason;
        }
      }
    }
    expect(Object.keys(acknowledged).sort()).toEqual([
      'ProdBaseline/App/Cluster AwsSolutions::AwsSolutions-ECS4',
      'ProdBaseline/App/Resource AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
      'ProdBaseline/App/TaskDefinition AwsSolutions::AwsSolutions-ECS2',
      'ProdBaseline/Canary AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'ProdBaseline/Canary AwsSolutions::AwsSolutions-IAM5[Resource::<CanaryArtifactsBucket4A60D32B.Arn>/*]',
      'ProdBaseline/Canary AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:/aws/lambda/cwsyn-prodbacanaryf44d455f-*]',
      'ProdBaseline/Canary/ArtifactsBucket AwsSolutions::AwsSolutions-S1',
      'ProdBaseline/Database/Resource AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      'ProdBaseline/Database/Resource AwsSolutions::AwsSolutions-RDS10',
      'ProdBaseline/Database/Resource AwsSolutions::AwsSolutions-RDS11',
      'ProdBaseline/Database/Resource AwsSolutions::AwsSolutions-RDS3',
      'ProdBaseline/LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'ProdBaseline/LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::<RestoreDrillStepsF50913D8.Arn>:*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::<RestoreDrillVerifyF4F20C35.Arn>:*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:rds:us-east-1:<AWS::AccountId>:db:drill-*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:rds:us-east-1:<AWS::AccountId>:og:*]',
      'ProdBaseline/RestoreDrill AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:rds:us-east-1:<AWS::AccountId>:snapshot:rds:<DatabaseF44359DD>-*]',
      'ProdBaseline/Traffic/AccessLogs AwsSolutions::AwsSolutions-S1',
      'ProdBaseline/Traffic/Resource AwsSolutions::AwsSolutions-EC23',
      'ProdBaseline/Traffic/TestTrafficSecret AwsSolutions::AwsSolutions-SMG4',
    ]);
    for (const reason of Object.values(acknowledged)) expect(reason.length).toBeGreaterThan(40);
  });

  test('the production profile needs no Multi-AZ or deletion-protection acknowledgement', () => {
    const { app } = buildBaselineApp({ context: { ...cdkJsonContext(), ...settingsContext(PRODUCTION_SETTINGS) } });
    const ids = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data));
    expect(ids).not.toContain('AwsSolutions::AwsSolutions-RDS3');
    expect(ids).not.toContain('AwsSolutions::AwsSolutions-RDS10');
  });

  test('fails synthesis when a stack has an unacknowledged finding', () => {
    const app = testApp();
    const stack = new Stack(app, 'Bad', { env: { region: 'us-east-1' } });
    new s3.Bucket(stack, 'Open');
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("Acknowledge with 'AwsSolutions::AwsSolutions-S1'");
    expect(message).toContain("Acknowledge with 'AwsSolutions::AwsSolutions-S10'");
  });
});
