import { Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag, nagName } from '../core/nag';
import { FARGATE_MEMORY_MIB, throwIfProblems, wholeNumberProblem } from '../core/validation';
import type { IBlueGreenTraffic } from './traffic';

export interface BlueGreenServiceProps {
  /**
   * The traffic layout the service serves behind: its tasks register in the blue target group first,
   * and ECS moves the production rule's weights between blue and green on every deployment.
   */
  readonly traffic: IBlueGreenTraffic;
  /** The app's container image. Pin it by digest or immutable tag so a rollback is real. */
  readonly image: ecs.ContainerImage;
  /**
   * Cluster to run in.
   * @default - a new cluster in the traffic layout's VPC
   */
  readonly cluster?: ecs.ICluster;
  /**
   * Port the container listens on.
   * @default 80
   */
  readonly containerPort?: number;
  /**
   * Task CPU units.
   * @default 256
   */
  readonly cpu?: number;
  /**
   * Task memory (MiB); must fit `cpu`.
   * @default 512
   */
  readonly memoryLimitMiB?: number;
  /**
   * Number of tasks.
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * Secrets handed to the container as environment variables at start (never plain environment).
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  /**
   * Plain environment variables: non-secret values only (secrets go in `secrets`).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Retention of the container logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Turn on CloudWatch Container Insights for the cluster this construct creates (billed per metric).
   * @default false
   */
  readonly containerInsights?: boolean;
  /**
   * CPU architecture of the image.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * How long the old revision keeps running after production traffic moved to the new one. Within
   * this window a rollback is a traffic shift (seconds), not a redeploy. 0 to 1440 minutes.
   * @default Duration.minutes(15)
   */
  readonly bakeTime?: Duration;
  /**
   * Alarms that roll a deployment back (the deployment guards, never a catch-all composite: ECS
   * ignores alarms that are already in ALARM when a deployment starts). More with `addRollbackAlarm`.
   * @default - none: only the circuit breaker rolls back
   */
  readonly rollbackAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * A function that runs smoke checks against test traffic (the test listener rule, header
   * `X-Prod-Baseline-Test`) after the new revision got test traffic and before production traffic
   * moves; returning `{ hookStatus: 'FAILED' }` rolls the deployment back.
   * @default - no smoke checks
   */
  readonly smokeTest?: lambda.IFunction;
  /**
   * More lifecycle hooks, such as a `MigrationSnapshotHook`'s `hook`.
   * @default - none
   */
  readonly lifecycleHooks?: readonly ecs.IDeploymentLifecycleHookTarget[];
  /**
   * Create an ECR repository for the app's images: scan on push, immutable tags (a tag can never be
   * moved to other code, so a rollback to it is real), the newest 100 images kept, retained on deletion.
   * `repository` exposes it; point `image` at it from your CI.
   * @default false
   */
  readonly createRepository?: boolean;
  /**
   * Fewest tasks (autoscaling floor).
   * @default - desiredCount
   */
  readonly minCapacity?: number;
  /**
   * Most tasks (autoscaling ceiling).
   * @default - four times minCapacity
   */
  readonly maxCapacity?: number;
  /**
   * Average CPU the service scales to.
   * @default 60
   */
  readonly targetCpuPercent?: number;
  /**
   * Requests per task per minute the service scales to (tracked on both target groups: the live one decides).
   * @default 1000
   */
  readonly requestsPerTarget?: number;
}

/**
 * The app on ECS Fargate with ECS-native blue/green deployments: a plain `cdk deploy` with a new image
 * starts the new revision in the other target group, gives it test traffic, moves the production
 * rule's weights, and keeps the old revision for the bake time, rolling back on the circuit breaker or
 * on any rollback alarm. Tasks run in private subnets reachable only from the load balancer, with
 * container logs kept, secrets from Secrets Manager, and target-tracking autoscaling on CPU and requests.
 */
export class BlueGreenService extends Construct {
  public readonly service: ecs.FargateService;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;
  public readonly cluster: ecs.ICluster;
  public readonly scaling: ecs.ScalableTaskCount;
  /** The app's image repository, when `createRepository` is set. */
  public readonly repository?: ecr.Repository;
  private readonly rollbackAlarms: cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? 256;
    const memory = props.memoryLimitMiB ?? 512;
    const containerPort = props.containerPort ?? 80;
    const desiredCount = props.desiredCount ?? 2;
    const bakeTime = props.bakeTime ?? Duration.minutes(15);
    const minCapacity = props.minCapacity ?? desiredCount;
    const maxCapacity = props.maxCapacity ?? minCapacity * 4;
    const targetCpu = props.targetCpuPercent ?? 60;
    const requestsPerTarget = props.requestsPerTarget ?? 1000;
    const bakeMinutes = bakeTime.toMinutes({ integral: false });
    const memoryChoices = Token.isUnresolved(cpu) ? [memory] : FARGATE_MEMORY_MIB[cpu];
    throwIfProblems(this, [
      !memoryChoices && `cpu must be one of ${Object.keys(FARGATE_MEMORY_MIB).join(', ')}, got ${cpu}`,
      memoryChoices &&
        !memoryChoices.includes(memory) &&
        `memoryLimitMiB must fit cpu ${cpu}: one of ${memoryChoices.join(', ')}, got ${memory}`,
      wholeNumberProblem('desiredCount', desiredCount, 1),
      wholeNumberProblem('containerPort', containerPort, 1, 65535),
      !Token.isUnresolved(bakeMinutes) &&
        (bakeMinutes < 0 || bakeMinutes > 1440 || !Number.isInteger(bakeMinutes)) &&
        `bakeTime must be a whole number of minutes from 0 to 1440, got ${bakeTime.toHumanString()}`,
      wholeNumberProblem('minCapacity', minCapacity, 1),
      maxCapacity < minCapacity && `maxCapacity must be at least minCapacity (${minCapacity}), got ${maxCapacity}`,
      (targetCpu < 10 || targetCpu > 90) && `targetCpuPercent must be from 10 to 90, got ${targetCpu}`,
      wholeNumberProblem('requestsPerTarget', requestsPerTarget, 1),
    ]);
    this.rollbackAlarms = [];

    if (props.createRepository) {
      this.repository = new ecr.Repository(this, 'Repository', {
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        encryption: ecr.RepositoryEncryption.AES_256,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [{ description: 'keep the newest 100 images', maxImageCount: 100 }],
      });
      markKitResource(this.repository, 'BlueGreenService', 'image-repository');
    }
    const vpc = props.traffic.vpc;
    if (props.cluster) {
      this.cluster = props.cluster;
    } else {
      const cluster = new ecs.Cluster(this, 'Cluster', {
        vpc,
        containerInsightsV2: props.containerInsights ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
      });
      if (!props.containerInsights) {
        acknowledgeNag(cluster, {
          id: 'AwsSolutions-ECS4',
          reason:
            'Container Insights is opt-in (containerInsights) because it is billed per metric; service CPU/memory and target health cover the alarms.',
        });
      }
      this.cluster = cluster;
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB: memory,
      runtimePlatform: {
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.container = this.taskDefinition.addContainer('App', {
      image: props.image,
      essential: true,
      portMappings: [{ containerPort, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'app' }),
      secrets: props.secrets ? { ...props.secrets } : undefined,
      environment: props.environment ? { ...props.environment } : undefined,
      stopTimeout: Duration.seconds(30),
    });

    this.service = new ecs.FargateService(this, 'Resource', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      deploymentStrategy: ecs.DeploymentStrategy.BLUE_GREEN,
      bakeTime,
      lifecycleHooks: [
        ...(props.lifecycleHooks ?? []),
        ...(props.smokeTest
          ? [
              new ecs.DeploymentLifecycleLambdaTarget(props.smokeTest, 'SmokeTest', {
                lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
              }),
            ]
          : []),
      ],
    });
    this.service
      .loadBalancerTarget({
        containerName: this.container.containerName,
        containerPort,
        alternateTarget: new ecs.AlternateTarget('AlternateTarget', {
          alternateTargetGroup: props.traffic.greenTargetGroup,
          productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(props.traffic.productionRule),
          testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(props.traffic.testRule),
        }),
      })
      .attachToApplicationTargetGroup(props.traffic.blueTargetGroup);

    for (const alarm of props.rollbackAlarms ?? []) this.addRollbackAlarm(alarm);
    if (props.smokeTest) {
      acknowledgeNag(this.service, {
        id: `AwsSolutions-IAM5[Resource::${nagName(Stack.of(this), props.smokeTest.functionArn)}:*]`,
        reason: 'aws-cdk-lib lets ECS invoke the smoke-test function and its versions; nothing else matches.',
      });
    }

    // Target tracking on CPU and on requests per task. Requests are tracked on both target groups:
    // the idle one asks to scale in, and ECS only scales in when every policy agrees, so the live one decides.
    this.scaling = this.service.autoScaleTaskCount({ minCapacity, maxCapacity });
    this.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: targetCpu,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });
    for (const [name, group] of [
      ['Blue', props.traffic.blueTargetGroup],
      ['Green', props.traffic.greenTargetGroup],
    ] as const) {
      this.scaling.scaleOnRequestCount(`${name}Requests`, {
        requestsPerTarget,
        targetGroup: group as elbv2.ApplicationTargetGroup,
        scaleOutCooldown: Duration.minutes(1),
        scaleInCooldown: Duration.minutes(5),
      });
    }
    this.service.connections.allowFrom(props.traffic.loadBalancer, ec2.Port.tcp(containerPort), 'load balancer to app');
    markKitResource(this.service, 'BlueGreenService', 'app-service');
    acknowledgeNag(this.service, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
      reason:
        'The AWS-managed policy ECS-native blue/green needs to move the listener rule weights between the two target groups.',
    });

    BaselineManifest.of(this).addEntry(this, {
      role: 'app-service',
      construct: 'BlueGreenService',
      attributes: {
        clusterName: this.cluster.clusterName,
        serviceName: this.service.serviceName,
        serviceArn: this.service.serviceArn,
        logGroupName: this.logGroup.logGroupName,
        productionRuleArn: props.traffic.productionRule.listenerRuleArn,
        blueTargetGroupArn: props.traffic.blueTargetGroup.targetGroupArn,
        greenTargetGroupArn: props.traffic.greenTargetGroup.targetGroupArn,
        bakeTimeMinutes: String(bakeMinutes),
      },
    });
  }

  /** Adds an alarm that rolls a deployment back. Use deployment guards, not a catch-all composite. */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    if (this.rollbackAlarms.length === 0) {
      // Rendered at synthesis, so every alarm added later is included.
      this.service.enableDeploymentAlarms(Lazy.list({ produce: () => this.rollbackAlarms.map((a) => a.alarmName) }), {
        behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
      });
    }
    this.rollbackAlarms.push(alarm);
  }
}
