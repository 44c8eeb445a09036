import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import type { Construct } from 'constructs';
import { HealthCanary } from '../constructs/canary/health-canary';
import { BaselineManifest } from '../constructs/core/manifest';
import { acknowledgeNag, nagName } from '../constructs/core/nag';
import { ResilientDatabase } from '../constructs/database/resilient-database';
import { BlueGreenService } from '../constructs/deploy/blue-green-service';
import { MigrationSnapshotHook } from '../constructs/deploy/migration-snapshot';
import { BlueGreenTraffic } from '../constructs/deploy/traffic';
import { EdgeMode, EdgeProtection } from '../constructs/edge/edge-protection';
import { type KitAlarm, Severity } from '../constructs/monitoring/alarms';
import { AlertTopic } from '../constructs/monitoring/alert-topic';
import { MonthlyBudget } from '../constructs/monitoring/budget';
import { graph, OperationsDashboard } from '../constructs/monitoring/dashboard';
import { ErrorLogAlarm } from '../constructs/monitoring/log-alarms';
import { ServiceAlarms } from '../constructs/monitoring/service-alarms';
import { BaselineNetwork } from '../constructs/network/network';
import { DrillSchedule } from '../constructs/restore-drill/drill-schedule';
import { RestoreDrill } from '../constructs/restore-drill/restore-drill';
import { acknowledgeCompliancePacks } from './compliance';
import type { BaselineConfig } from './config';
import { acknowledgeConfigFindings } from './nag-acknowledgements';

export interface BaselineStackProps extends Omit<StackProps, 'env' | 'terminationProtection' | 'stackName'> {
  /** The validated config (see `resolveConfig`). */
  readonly config: BaselineConfig;
}

/**
 * The whole production envelope of one app: network, alert topic, app tier behind the blue/green
 * traffic layout, and the database. The region is fixed by the config; the account comes from the
 * environment at deploy time, so synthesis needs no credentials and makes no lookups.
 */
export class BaselineStack extends Stack {
  public readonly config: BaselineConfig;
  public readonly network: BaselineNetwork;
  public readonly alerts: AlertTopic;
  public readonly traffic: BlueGreenTraffic;
  public readonly app: BlueGreenService;
  public readonly database: ResilientDatabase;
  public readonly restoreDrill: RestoreDrill;
  public readonly serviceAlarms: ServiceAlarms;
  public readonly canary: HealthCanary;
  /** The WAF web ACL, unless edgeProtection is "off". */
  public readonly edge?: EdgeProtection;
  /** The alarms a deployment rolls back on: the service's deployment guards and the canary. */
  public readonly deploymentAlarms: readonly KitAlarm[];
  public readonly errorLogAlarm: ErrorLogAlarm;
  public readonly dashboard: OperationsDashboard;
  public readonly manifest: BaselineManifest;

  constructor(scope: Construct, id: string, props: BaselineStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      stackName: config.stackName,
      env: { region: config.region },
      terminationProtection: config.terminationProtection,
      description: `prod-baseline production envelope (${config.profile} profile)`,
    });
    this.config = config;
    this.manifest = BaselineManifest.of(this);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.network = new BaselineNetwork(this, 'Network', {
      cidr: config.vpcCidr,
      natGateways: config.natGateways,
      flowLogRetention: logRetention,
    });

    this.alerts = new AlertTopic(this, 'Alerts', {
      page: { emails: config.alertEmails, webhooks: config.alertWebhooks },
      notify: {
        emails: config.notifyEmails.length > 0 ? config.notifyEmails : config.alertEmails,
        webhooks: config.alertWebhooks,
      },
      slack: config.slackWorkspaceId
        ? { workspaceId: config.slackWorkspaceId, channelId: config.slackChannelId }
        : undefined,
    });
    if (config.monthlyBudgetUsd > 0) {
      new MonthlyBudget(this, 'Budget', {
        amountUsd: config.monthlyBudgetUsd,
        topic: this.alerts.notifyTopic,
        topicKey: this.alerts.key,
      });
    }

    this.database = new ResilientDatabase(this, 'Database', {
      vpc: this.network.vpc,
      instanceType: new ec2.InstanceType(config.dbInstanceClass),
      databaseName: config.databaseName,
      backupRetention: Duration.days(config.backupRetentionDays),
      multiAz: config.multiAz,
      deletionProtection: config.deletionProtection,
      allocatedStorageGiB: config.dbAllocatedStorageGiB,
      maxAllocatedStorageGiB: config.dbMaxAllocatedStorageGiB,
      logRetention,
      alerts: this.alerts,
      awsBackup: config.awsBackupPlan ? {} : undefined,
    });

    this.restoreDrill = new RestoreDrill(this, 'RestoreDrill', {
      source: this.database,
      schedule: config.restoreDrillSchedule === 'daily' ? DrillSchedule.daily() : DrillSchedule.weekly(),
      rpoTarget: Duration.minutes(config.rpoTargetMinutes),
      rtoTarget: Duration.minutes(config.rtoTargetMinutes),
      alerts: this.alerts,
      logRetention,
    });

    const https = this.httpsSettings(config);
    this.traffic = new BlueGreenTraffic(this, 'Traffic', {
      certificate: https?.certificate,
      domainName: https ? config.domainName : undefined,
      vpc: this.network.vpc,
      targetPort: config.containerPort,
      healthCheckPath: config.healthCheckPath,
      accessLogRetentionDays: config.accessLogRetentionDays,
      deletionProtection: config.deletionProtection,
    });

    if (https?.zone) {
      new route53.ARecord(this, 'AppRecord', {
        zone: https.zone,
        recordName: config.domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.traffic.loadBalancer)),
      });
    }
    const secret = this.database.secret;
    const snapshots = config.preDeploySnapshots
      ? new MigrationSnapshotHook(this, 'MigrationSnapshots', { database: this.database.instance })
      : undefined;
    this.app = new BlueGreenService(this, 'App', {
      traffic: this.traffic,
      image: ecs.ContainerImage.fromRegistry(config.containerImage),
      containerPort: config.containerPort,
      cpu: config.taskCpu,
      memoryLimitMiB: config.taskMemoryMiB,
      desiredCount: config.desiredCount,
      maxCapacity: config.maxTasks,
      bakeTime: Duration.minutes(config.bakeTimeMinutes),
      lifecycleHooks: snapshots ? [snapshots.hook] : undefined,
      logRetention,
      // Not a secret: where the app re-reads the credentials after an authentication failure (rotation).
      environment: { DB_SECRET_ARN: secret.secretArn },
      secrets: {
        DB_HOST: ecs.Secret.fromSecretsManager(secret, 'host'),
        DB_PORT: ecs.Secret.fromSecretsManager(secret, 'port'),
        DB_NAME: ecs.Secret.fromSecretsManager(secret, 'dbname'),
        DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
        DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
      },
    });
    this.database.allowConnectionsFrom(this.app.service);
    if (snapshots) {
      acknowledgeNag(this.app.service, {
        id: `AwsSolutions-IAM5[Resource::${nagName(this, snapshots.function.functionArn)}:*]`,
        reason: 'aws-cdk-lib lets ECS invoke the snapshot hook function and its versions; nothing else matches.',
      });
    }
    // The app itself may read the secret again after a password rotation (the task role, not only
    // the execution role that injects it at start).
    secret.grantRead(this.app.taskDefinition.taskRole);

    this.serviceAlarms = new ServiceAlarms(this, 'ServiceAlarms', {
      loadBalancer: this.traffic.loadBalancer,
      targetGroups: [this.traffic.blueTargetGroup, this.traffic.greenTargetGroup],
      service: this.app.service,
      routing: this.alerts,
    });
    // The canary's failure pages through ServiceHealth; a canary that stopped running only notifies.
    this.canary = new HealthCanary(this, 'Canary', {
      url: this.traffic.url,
      healthPath: config.healthCheckPath,
      schedule: Duration.minutes(config.canaryRateMinutes),
    });
    this.serviceAlarms.addCriticalAlarm(this.canary.alarm.alarm);
    this.deploymentAlarms = [...this.serviceAlarms.deploymentAlarms, this.canary.alarm];
    for (const guard of this.deploymentAlarms) this.app.addRollbackAlarm(guard.alarm);
    for (const action of this.alerts.actionsFor(Severity.NOTIFY)) {
      this.canary.notRunningAlarm.alarm.addAlarmAction(action);
      this.canary.notRunningAlarm.alarm.addOkAction(action);
    }
    if (config.edgeProtection !== 'off') {
      this.edge = new EdgeProtection(this, 'Edge', {
        loadBalancer: this.traffic.loadBalancer,
        mode: config.edgeProtection === 'count' ? EdgeMode.COUNT : EdgeMode.BLOCK,
        logRetention: logRetention,
        alerts: this.alerts,
      });
    }
    this.errorLogAlarm = new ErrorLogAlarm(this, 'ErrorLogs', { logGroup: this.app.logGroup, routing: this.alerts });
    this.dashboard = this.buildDashboard();

    new CfnOutput(this, 'AppUrl', {
      description: 'URL of the app (plain HTTP until a domain is configured)',
      value: this.traffic.url,
    });
    new CfnOutput(this, 'AlertTopicArn', {
      description: 'SNS topic every alarm notifies',
      value: this.alerts.topic.topicArn,
    });
    new CfnOutput(this, 'DatabaseSecretArn', {
      description: 'Secrets Manager secret with the database credentials',
      value: secret.secretArn,
    });

    acknowledgeConfigFindings(this);
    acknowledgeCompliancePacks(this);
  }

  private buildDashboard(): OperationsDashboard {
    const dashboard = new OperationsDashboard(this, 'Dashboard');
    const lb = this.traffic.loadBalancer.metrics;
    const service = this.serviceAlarms;
    const db = this.database.instance;
    const drill = this.restoreDrill;
    const minute = Duration.minutes(1);
    dashboard.addSection('Golden signals', [
      graph('Requests per minute', [lb.requestCount({ period: minute, statistic: 'Sum' })]),
      graph('5xx rate (%)', [service.elb5xxRate.metric, service.target5xxRate.metric]),
      graph('Response time', [
        lb.targetResponseTime({ period: minute, statistic: 'p50' }),
        lb.targetResponseTime({ period: minute, statistic: 'p99' }),
      ]),
      graph('Healthy targets', [service.healthyHosts.metric]),
    ]);
    dashboard.addSection('Service and logs', [
      graph('Service CPU and memory (%)', [
        this.app.service.metricCpuUtilization({ period: minute }),
        this.app.service.metricMemoryUtilization({ period: minute }),
      ]),
      graph('Error log lines per minute', [this.errorLogAlarm.metric]),
      graph('Rejected connections', [lb.rejectedConnectionCount({ period: minute, statistic: 'Sum' })]),
    ]);
    dashboard.addSection('Health canary', [
      graph('Canary success (%)', [this.canary.metricSuccessPercent()]),
      graph('Canary duration (ms)', [this.canary.metricDuration()]),
    ]);
    dashboard.addSection('Database', [
      graph('CPU (%)', [db.metricCPUUtilization({ period: minute })]),
      graph('Connections', [db.metricDatabaseConnections({ period: minute, statistic: 'Maximum' })]),
      graph('Free storage (bytes)', [db.metricFreeStorageSpace({ period: minute, statistic: 'Minimum' })]),
      graph('Read and write latency (s)', [
        db.metric('ReadLatency', { period: minute }),
        db.metric('WriteLatency', { period: minute }),
      ]),
    ]);
    dashboard.addSection('Restore drill', [
      graph('Drill passed (1) or failed (0)', [drill.metricDrillSucceeded({ period: Duration.hours(1) })]),
      graph('RPO offered and data age (s)', [drill.metricRestorePointLagSeconds(), drill.metricDataAgeSeconds()]),
      graph('Restore time, RTO (s)', [drill.metricRestoreSeconds()]),
      graph('Seconds since last success', [drill.metricSecondsSinceLastSuccess()]),
    ]);
    dashboard.addAlarmStatus(
      'Deployment guards (a deployment rolls back when one is in ALARM)',
      this.deploymentAlarms.map((a) => a.alarm),
    );
    dashboard.addAlarmStatus('Every alarm', [
      service.serviceHealth,
      ...service.all.map((a) => a.alarm),
      this.errorLogAlarm.alarm.alarm,
      ...this.database.alarms.all.map((a) => a.alarm),
      ...drill.alarms.map((a) => a.alarm),
      ...this.canary.alarms.map((a) => a.alarm),
    ]);
    return dashboard;
  }

  /** The certificate for the configured domain: an imported one, or a new DNS-validated one. */
  private httpsSettings(
    config: BaselineConfig,
  ): { certificate: acm.ICertificate; zone?: route53.IHostedZone } | undefined {
    if (config.domainName === '') return undefined;
    if (config.certificateArn !== '') {
      return { certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn) };
    }
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: config.hostedZoneId,
      zoneName: config.domainName.split('.').slice(-2).join('.'),
    });
    return {
      zone,
      certificate: new acm.Certificate(this, 'Certificate', {
        domainName: config.domainName,
        validation: acm.CertificateValidation.fromDns(zone),
      }),
    };
  }
}
