import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { ProdBaselineError } from '../core/errors';
import { createKitKey } from '../core/key';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag } from '../core/nag';
import { storageCeilingProblem, throwIfProblems, wholeNumberProblem } from '../core/validation';
import type { IAlertRouting } from '../monitoring/alarms';
import { DatabaseAlarms, type DatabaseAlarmThresholds } from './database-alarms';

export interface ResilientDatabaseProps {
  /** The VPC to run in. The instance goes into its isolated subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the instance.
   * @default - the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Subnets of the secret-rotation function. It must reach the Secrets Manager API, so it needs
   * egress (a NAT gateway or a VPC endpoint): in isolated subnets rotation fails.
   * @default - the VPC's private-with-egress subnets
   */
  readonly rotationSubnets?: ec2.SubnetSelection;
  /**
   * PostgreSQL engine version. A major-only version lets RDS apply minor upgrades without template drift.
   * @default rds.PostgresEngineVersion.VER_17
   */
  readonly engineVersion?: rds.PostgresEngineVersion;
  /**
   * Instance class.
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Name of the database created in the instance.
   * @default 'app'
   */
  readonly databaseName?: string;
  /**
   * How long automated backups, and so point-in-time recovery, reach back.
   * @default Duration.days(14)
   */
  readonly backupRetention?: Duration;
  /**
   * Run a standby in a second AZ.
   * @default true
   */
  readonly multiAz?: boolean;
  /**
   * Refuse deletion of the instance until this is switched off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the instance when it leaves the stack. DESTROY is refused: it loses the data.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Initial storage (GiB).
   * @default 20
   */
  readonly allocatedStorageGiB?: number;
  /**
   * Ceiling for storage autoscaling (GiB): equal to `allocatedStorageGiB` turns autoscaling off,
   * otherwise at least 10 % above it (RDS refuses less).
   * @default 100
   */
  readonly maxAllocatedStorageGiB?: number;
  /**
   * Retention of the exported PostgreSQL logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often the master password is rotated.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
  /**
   * Where the database alarms notify (an `AlertTopic`, or your own routing).
   * @default - the alarms are created without actions
   */
  readonly alerts?: IAlertRouting;
  /**
   * Thresholds of the database alarms.
   * @default - see `DatabaseAlarmThresholds`
   */
  readonly alarmThresholds?: DatabaseAlarmThresholds;
  /**
   * Key that encrypts storage, backups, snapshots and the credentials secret.
   * @default - a new key with rotation on, retained on stack deletion
   */
  readonly key?: kms.IKey;
  /**
   * An AWS Backup plan in the same region besides RDS's own automated backups: a vault encrypted with
   * the database key, a daily backup and continuous backup (point-in-time recovery), each kept
   * `retention`. With continuous backup on, AWS Backup manages the instance's backup window.
   * @default - none (RDS automated backups only)
   */
  readonly awsBackup?: AwsBackupOptions;
  /**
   * An RDS Proxy in front of the instance, for apps that open many connections (it pools them, so
   * queries do not collapse under load); TLS required. Apps connect to `proxy.endpoint`.
   * @default false
   */
  readonly proxy?: boolean;
  /**
   * Interval of RDS enhanced monitoring (OS metrics every interval, to CloudWatch Logs); 0 turns it off.
   * @default Duration.seconds(60)
   */
  readonly enhancedMonitoringInterval?: Duration;
}

/** The AWS Backup plan of a `ResilientDatabase`. */
export interface AwsBackupOptions {
  /**
   * How long each backup is kept (continuous backups at most 35 days).
   * @default Duration.days(35)
   */
  readonly retention?: Duration;
}

/**
 * PostgreSQL on RDS with production defaults: isolated subnets, storage and credentials encrypted with
 * a customer-managed key, TLS enforced (`rds.force_ssl`), backups with point-in-time recovery,
 * deletion protection, logs exported with a retention, and master-password rotation that does not
 * rotate on every deploy.
 */
export class ResilientDatabase extends Construct {
  public readonly instance: rds.DatabaseInstance;
  public readonly key: kms.IKey;
  /** The credentials secret (host, port, dbname, username, password); what apps should read. */
  public readonly secret: secretsmanager.ISecret;
  public readonly parameterGroup: rds.ParameterGroup;
  /** The DB subnet group (a restore drill reuses it). */
  public readonly subnetGroup: rds.ISubnetGroup;
  public readonly vpc: ec2.IVpc;
  /** The database created in the instance. */
  public readonly databaseName: string;
  /** CPU, storage, memory, connections and latency alarms. */
  public readonly alarms: DatabaseAlarms;
  /** The AWS Backup plan, when `awsBackup` is set. */
  public readonly backupPlan?: backup.BackupPlan;
  /** The RDS Proxy, when `proxy` is true. */
  public readonly proxy?: rds.DatabaseProxy;

  constructor(scope: Construct, id: string, props: ResilientDatabaseProps) {
    super(scope, id);
    const backupRetention = props.backupRetention ?? Duration.days(14);
    const allocated = props.allocatedStorageGiB ?? 20;
    const maxAllocated = props.maxAllocatedStorageGiB ?? 100;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    const days = backupRetention.toDays({ integral: false });
    throwIfProblems(this, [
      !Token.isUnresolved(days) &&
        (days < 1 || days > 35 || !Number.isInteger(days)) &&
        `backupRetention must be between 1 and 35 days, got ${backupRetention.toHumanString()}`,
      wholeNumberProblem('allocatedStorageGiB', allocated, 20, 65536),
      storageCeilingProblem(allocated, maxAllocated) &&
        `maxAllocatedStorageGiB ${storageCeilingProblem(allocated, maxAllocated)}`,
      removalPolicy === RemovalPolicy.DESTROY &&
        'removalPolicy must be SNAPSHOT or RETAIN, got DESTROY (it deletes the data and every automated backup)',
    ]);

    this.vpc = props.vpc;
    this.databaseName = props.databaseName ?? 'app';
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO);
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: props.engineVersion ?? rds.PostgresEngineVersion.VER_17,
    });

    this.key =
      props.key ??
      createKitKey(this, 'Key', {
        description: 'prod-baseline database storage, backups and credentials',
        construct: 'ResilientDatabase',
        role: 'database-key',
      });

    this.parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'prod-baseline: TLS required',
      parameters: { 'rds.force_ssl': '1' },
    });

    const logRetentionBefore = logRetentionFunctions(this);
    this.instance = new rds.DatabaseInstance(this, 'Resource', {
      engine,
      instanceType,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      credentials: rds.Credentials.fromGeneratedSecret('postgres', { encryptionKey: this.key }),
      databaseName: this.databaseName,
      parameterGroup: this.parameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: this.key,
      storageType: rds.StorageType.GP3,
      allocatedStorage: allocated,
      maxAllocatedStorage: maxAllocated === allocated ? undefined : maxAllocated,
      multiAz: props.multiAz ?? true,
      backupRetention,
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy,
      publiclyAccessible: false,
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      cloudwatchLogsRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      monitoringInterval:
        (props.enhancedMonitoringInterval ?? Duration.seconds(60)).toSeconds() > 0
          ? (props.enhancedMonitoringInterval ?? Duration.seconds(60))
          : undefined,
      enablePerformanceInsights: true,
      performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT,
      performanceInsightEncryptionKey: this.key,
    });
    markKitResource(this.instance, 'ResilientDatabase', 'database');
    this.subnetGroup = this.instance.node.findChild('SubnetGroup') as rds.SubnetGroup;
    acknowledgeNag(this.instance, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason: 'The AWS-managed role policy RDS enhanced monitoring needs to publish OS metrics to CloudWatch Logs.',
    });
    acknowledgeNag(this.instance, {
      id: 'AwsSolutions-RDS11',
      reason:
        'Apps read the port from the credentials secret; a non-default port hides nothing inside the VPC, where only the allowed security groups reach it.',
    });
    // aws-cdk-lib creates one log-retention function per stack; only its creator acknowledges it.
    for (const fn of logRetentionFunctions(this)) {
      if (!logRetentionBefore.includes(fn)) acknowledgeCdkLogRetentionFunction(fn);
    }
    // RDS accepts a major-only version; cfn-lint's list of versions only knows full ones (W3691).
    (this.instance.node.defaultChild as rds.CfnDBInstance).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3691'] },
    });
    if (!this.instance.secret) throw new ProdBaselineError(this, 'the instance has no generated secret');
    this.secret = this.instance.secret;
    // The generated secret itself (the instance exposes its target attachment). It is kept with the
    // retained key and the final snapshot, so a restored snapshot can still be logged into.
    const generated = this.instance.node.findChild('Secret');
    (generated as secretsmanager.Secret).applyRemovalPolicy(RemovalPolicy.RETAIN);
    markKitResource(generated, 'ResilientDatabase', 'database-secret');

    this.instance.addRotationSingleUser({
      automaticallyAfter: props.rotationInterval ?? Duration.days(30),
      vpcSubnets: props.rotationSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      rotateImmediatelyOnUpdate: false,
    });

    if (props.awsBackup) {
      const retention = props.awsBackup.retention ?? Duration.days(35);
      const retentionDays = retention.toDays({ integral: false });
      throwIfProblems(this, [
        !Token.isUnresolved(retentionDays) &&
          (retentionDays < 1 || retentionDays > 35) &&
          `awsBackup.retention must be between 1 and 35 days (continuous backups keep at most 35), got ${retention.toHumanString()}`,
      ]);
      const vault = new backup.BackupVault(this, 'BackupVault', {
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.backupPlan = new backup.BackupPlan(this, 'BackupPlan', {
        backupVault: vault,
        backupPlanRules: [
          new backup.BackupPlanRule({
            ruleName: 'Daily',
            scheduleExpression: events.Schedule.cron({ hour: '5', minute: '0' }),
            deleteAfter: retention,
          }),
          new backup.BackupPlanRule({ ruleName: 'Continuous', enableContinuousBackup: true, deleteAfter: retention }),
        ],
      });
      const selection = this.backupPlan.addSelection('Database', {
        resources: [backup.BackupResource.fromRdsDatabaseInstance(this.instance)],
      });
      acknowledgeNag(selection, {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        reason: 'The AWS-managed role policy AWS Backup needs to back up the selected database.',
      });
    }

    if (props.proxy) {
      this.proxy = this.instance.addProxy('Proxy', {
        secrets: [this.secret],
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        requireTLS: true,
        debugLogging: false,
      });
      this.instance.connections.allowDefaultPortFrom(this.proxy, 'prod-baseline: RDS Proxy to database');
    }

    this.alarms = new DatabaseAlarms(this, 'Alarms', {
      instance: this.instance,
      instanceClass: instanceType.toString(),
      allocatedStorageGiB: allocated,
      thresholds: props.alarmThresholds,
      routing: props.alerts,
    });

    BaselineManifest.of(this).addEntry(this, {
      role: 'database',
      construct: 'ResilientDatabase',
      attributes: {
        instanceIdentifier: this.instance.instanceIdentifier,
        endpoint: this.instance.dbInstanceEndpointAddress,
        secretArn: this.secret.secretArn,
        keyArn: this.key.keyArn,
      },
    });
  }

  /** Lets `other` connect on the database port. */
  public allowConnectionsFrom(other: ec2.IConnectable): void {
    this.instance.connections.allowDefaultPortFrom(other, 'prod-baseline: app to database');
  }
}

/** The function aws-cdk-lib creates (once per stack) to set the retention of the exported RDS log groups. */
function logRetentionFunctions(scope: Construct): IConstruct[] {
  return Stack.of(scope).node.children.filter((c) => c.node.id.startsWith('LogRetention'));
}

function acknowledgeCdkLogRetentionFunction(fn: IConstruct): void {
  acknowledgeNag(
    fn,
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "aws-cdk-lib's log-retention function: the managed policy only lets it write its own logs.",
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "aws-cdk-lib's log-retention function sets the retention of log groups RDS creates, whose names are not known at synth time.",
    },
  );
}
