import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ProdBaselineError } from '../core/errors';
import { markKitResource } from '../core/metadata';

export interface BaselineNetworkProps {
  /**
   * IPv4 range of the VPC.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;
  /**
   * NAT gateways for the private-with-egress subnets: one per AZ avoids a single point of failure.
   * @default 2
   */
  readonly natGateways?: number;
  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * Key that encrypts the flow-log group. It must let `logs.<region>.amazonaws.com` use it.
   * @default - flow logs are encrypted with CloudWatch Logs' own keys
   */
  readonly flowLogKey?: kms.IKey;
}

/**
 * A VPC over two AZs with public, private-with-egress and isolated subnets, no context lookups,
 * and VPC flow logs (rejected and accepted traffic) to a log group with a retention.
 */
export class BaselineNetwork extends Construct {
  /** Subnet group names, stable so other stacks can select them by name. */
  public static readonly PUBLIC = 'Public';
  public static readonly PRIVATE = 'Private';
  public static readonly ISOLATED = 'Isolated';

  public readonly vpc: ec2.Vpc;
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BaselineNetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 2;
    if (!Token.isUnresolved(natGateways) && (natGateways < 1 || natGateways > 2 || !Number.isInteger(natGateways))) {
      throw new ProdBaselineError(
        this,
        `natGateways must be 1 or 2 (private-with-egress subnets need one, the VPC spans two AZs), got ${natGateways}`,
      );
    }

    this.vpc = new ec2.Vpc(this, 'Resource', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.0.0.0/16'),
      maxAzs: 2,
      natGateways,
      subnetConfiguration: [
        { name: BaselineNetwork.PUBLIC, subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: BaselineNetwork.PRIVATE, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: BaselineNetwork.ISOLATED, subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      restrictDefaultSecurityGroup: true,
    });
    markKitResource(this.vpc, 'BaselineNetwork', 'vpc');

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.flowLogKey,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }
}
