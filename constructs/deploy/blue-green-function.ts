import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag } from '../core/nag';
import { throwIfProblems } from '../core/validation';
import type { IAlertRouting } from '../monitoring/alarms';
import { FunctionAlarms } from '../monitoring/service-alarms';

export interface BlueGreenFunctionProps {
  /** The function; every deploy publishes a new version (`currentVersion`) that the alias shifts to. */
  readonly function: lambda.Function;
  /**
   * Name of the alias that callers use.
   * @default 'live'
   */
  readonly aliasName?: string;
  /**
   * How traffic shifts to a new version.
   * @default codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES
   */
  readonly deploymentConfig?: codedeploy.ILambdaDeploymentConfig;
  /**
   * Alarms that roll a shift back. More with `addRollbackAlarm`.
   * @default - the error-rate alarm of the alias (when `alerts` is given), nothing else
   */
  readonly rollbackAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * Where the function's alarms (error rate, throttles, duration, measured on the alias) notify.
   * @default - no function alarms are created
   */
  readonly alerts?: IAlertRouting;
  /**
   * A function CodeDeploy runs before any traffic shifts (smoke tests against the new version).
   * @default - none
   */
  readonly preTrafficHook?: lambda.IFunction;
}

/**
 * Traffic shifting for a Lambda function: an alias with a CodeDeploy deployment group that moves
 * 10 % of traffic to a new version for 5 minutes, then the rest, and rolls back automatically on an
 * alarm, a failed hook or a stopped deployment.
 */
export class BlueGreenFunction extends Construct {
  public readonly alias: lambda.Alias;
  public readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /** Error rate, throttles and duration of the alias, when `alerts` is given. */
  public readonly alarms?: FunctionAlarms;

  constructor(scope: Construct, id: string, props: BlueGreenFunctionProps) {
    super(scope, id);
    const aliasName = props.aliasName ?? 'live';
    throwIfProblems(this, [
      !/^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/.test(aliasName) &&
        `aliasName must be 1 to 128 letters, digits, hyphens or underscores and not only digits, got "${aliasName}"`,
    ]);
    this.alias = new lambda.Alias(this, 'Alias', { aliasName, version: props.function.currentVersion });

    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'DeploymentGroup', {
      alias: this.alias,
      deploymentConfig: props.deploymentConfig ?? codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      preHook: props.preTrafficHook,
    });
    acknowledgeNag(this.deploymentGroup, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason: 'The AWS-managed CodeDeploy role for Lambda only shifts alias weights and invokes the hooks.',
    });
    markKitResource(this.deploymentGroup, 'BlueGreenFunction', 'function-deployment-group');

    if (props.alerts) {
      this.alarms = new FunctionAlarms(this, 'Alarms', {
        function: this.alias,
        // Lambda's default timeout is 3 seconds.
        timeout: props.function.timeout ?? Duration.seconds(3),
        routing: props.alerts,
      });
      this.addRollbackAlarm(this.alarms.errorRate.alarm);
    }
    for (const alarm of props.rollbackAlarms ?? []) this.addRollbackAlarm(alarm);

    BaselineManifest.of(this).addEntry(this, {
      role: 'blue-green-function',
      construct: 'BlueGreenFunction',
      attributes: {
        functionName: props.function.functionName,
        aliasName,
        applicationName: this.deploymentGroup.application.applicationName,
        deploymentGroupName: this.deploymentGroup.deploymentGroupName,
      },
    });
  }

  /** Adds an alarm that rolls a traffic shift back. */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.deploymentGroup.addAlarm(alarm);
  }
}
