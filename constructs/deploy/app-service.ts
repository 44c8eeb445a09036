import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag } from '../core/nag';
import { FARGATE_MEMORY_MIB, throwIfProblems, wholeNumberProblem } from '../core/validation';
import type { IBlueGreenTraffic } from './traffic';

export interface AppServiceProps {
  /** The traffic layout the service serves behind; its tasks register in the blue target group. */
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
}

/**
 * The app on ECS Fargate: tasks in private subnets reachable only from the load balancer, container
 * logs with a retention, secrets from Secrets Manager, and the deployment circuit breaker with rollback.
 */
export class AppService extends Construct {
  public readonly service: ecs.FargateService;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;
  public readonly cluster: ecs.ICluster;

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? 256;
    const memory = props.memoryLimitMiB ?? 512;
    const containerPort = props.containerPort ?? 80;
    const desiredCount = props.desiredCount ?? 2;
    const memoryChoices = Token.isUnresolved(cpu) ? [memory] : FARGATE_MEMORY_MIB[cpu];
    throwIfProblems(this, [
      !memoryChoices && `cpu must be one of ${Object.keys(FARGATE_MEMORY_MIB).join(', ')}, got ${cpu}`,
      memoryChoices &&
        !memoryChoices.includes(memory) &&
        `memoryLimitMiB must fit cpu ${cpu}: one of ${memoryChoices.join(', ')}, got ${memory}`,
      wholeNumberProblem('desiredCount', desiredCount, 1),
      wholeNumberProblem('containerPort', containerPort, 1, 65535),
    ]);

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
    });
    this.service.attachToApplicationTargetGroup(props.traffic.blueTargetGroup);
    this.service.connections.allowFrom(props.traffic.loadBalancer, ec2.Port.tcp(containerPort), 'load balancer to app');
    markKitResource(this.service, 'AppService', 'app-service');

    BaselineManifest.of(this).addEntry(this, {
      role: 'app-service',
      construct: 'AppService',
      attributes: {
        clusterName: this.cluster.clusterName,
        serviceName: this.service.serviceName,
        serviceArn: this.service.serviceArn,
        logGroupName: this.logGroup.logGroupName,
      },
    });
  }
}
