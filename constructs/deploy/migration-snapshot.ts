import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { HANDLER_RUNTIME, handlerCode } from '../core/handler-code';
import { BaselineManifest } from '../core/manifest';
import { acknowledgeNag, nagName } from '../core/nag';
import { throwIfProblems, wholeNumberProblem } from '../core/validation';

export interface MigrationSnapshotHookProps {
  /** The database to snapshot before each forward deployment. */
  readonly database: rds.IDatabaseInstance;
  /**
   * Prefix of the snapshot identifiers (`<prefix>-<service revision id>`).
   * @default 'predeploy'
   */
  readonly snapshotPrefix?: string;
  /**
   * Days a pre-deployment snapshot is kept before the hook deletes it.
   * @default 14
   */
  readonly retentionDays?: number;
}

/**
 * An ECS blue/green lifecycle hook (PRE_SCALE_UP) that takes an RDS snapshot before each forward
 * deployment and waits until it is available, so a rollback across a schema migration has a restore
 * point. Rollbacks are skipped: ECS runs no PRE_SCALE_UP hook when it rolls back, and a redeploy of an
 * older task definition is recognised. Pass `hook` to `BlueGreenService`'s `lifecycleHooks`.
 */
export class MigrationSnapshotHook extends Construct {
  public readonly function: lambda.Function;
  public readonly hook: ecs.IDeploymentLifecycleHookTarget;
  public readonly snapshotPrefix: string;

  constructor(scope: Construct, id: string, props: MigrationSnapshotHookProps) {
    super(scope, id);
    const prefix = props.snapshotPrefix ?? 'predeploy';
    const retentionDays = props.retentionDays ?? 14;
    throwIfProblems(this, [
      !/^[a-z][a-z0-9-]{0,40}$/.test(prefix) &&
        `snapshotPrefix must be a lower-case letter, then letters, digits or hyphens, at most 41 characters, got "${prefix}"`,
      wholeNumberProblem('retentionDays', retentionDays, 1, 3650),
    ]);
    this.snapshotPrefix = prefix;
    const stack = Stack.of(this);
    const rdsArn = (resource: string, name: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const snapshots = rdsArn('snapshot', `${prefix}-*`);

    this.function = new lambda.Function(this, 'Resource', {
      description: 'prod-baseline: RDS snapshot before each forward blue/green deployment',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(__dirname, 'migration-snapshot'),
      timeout: Duration.minutes(1),
      memorySize: 256,
      environment: {
        DB_INSTANCE_IDENTIFIER: props.database.instanceIdentifier,
        SNAPSHOT_PREFIX: prefix,
        RETENTION_DAYS: String(retentionDays),
      },
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SnapshotTheDatabase',
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        resources: [props.database.instanceArn, snapshots],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'DeleteOwnSnapshots', actions: ['rds:DeleteDBSnapshot'], resources: [snapshots] }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'Describe',
        actions: ['rds:DescribeDBSnapshots', 'ecs:DescribeServiceRevisions'],
        resources: ['*'],
      }),
    );
    acknowledgeNag(
      this,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The managed policy only lets the function write its own logs.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'DescribeDBSnapshots and DescribeServiceRevisions read only; service revisions are not known at synth time.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagName(stack, snapshots)}]`,
        reason: 'Pre-deployment snapshots get a new name per deployment; only this prefix is allowed.',
      },
    );
    this.hook = new ecs.DeploymentLifecycleLambdaTarget(this.function, 'MigrationSnapshot', {
      lifecycleStages: [ecs.DeploymentLifecycleStage.PRE_SCALE_UP],
    });

    BaselineManifest.of(this).addEntry(this, {
      role: 'migration-snapshots',
      construct: 'MigrationSnapshotHook',
      attributes: { dbInstanceIdentifier: props.database.instanceIdentifier, snapshotPrefix: prefix },
    });
  }
}
