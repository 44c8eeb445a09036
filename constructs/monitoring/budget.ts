import { Stack } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { throwIfProblems } from '../core/validation';

export interface MonthlyBudgetProps {
  /** Monthly cost limit in US dollars. */
  readonly amountUsd: number;
  /** The topic notified (the notify severity). Its key, if any, must let AWS Budgets use it. */
  readonly topic: sns.ITopic;
  /**
   * The topic's KMS key: a statement letting AWS Budgets use it is added.
   * @default - the topic is not encrypted with a key of this app
   */
  readonly topicKey?: kms.IKey;
}

/**
 * An AWS Budgets monthly cost budget for the account that notifies a topic at 80 % of actual spend
 * and at 100 % of forecast spend.
 */
export class MonthlyBudget extends Construct {
  public readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: MonthlyBudgetProps) {
    super(scope, id);
    throwIfProblems(this, [
      (!(props.amountUsd > 0) || props.amountUsd > 1_000_000) &&
        `amountUsd must be more than 0 and at most 1000000, got ${props.amountUsd}`,
    ]);
    const stack = Stack.of(this);
    const budgetsService = new iam.ServicePrincipal('budgets.amazonaws.com');
    props.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetNotifications',
        principals: [budgetsService],
        actions: ['sns:Publish'],
        resources: [props.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    props.topicKey?.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetNotifications',
        principals: [budgetsService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const subscriber = { subscriptionType: 'SNS', address: props.topic.topicArn };
    this.budget = new budgets.CfnBudget(this, 'Resource', {
      budget: {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.amountUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: [
        {
          notification: {
            notificationType: 'ACTUAL',
            comparisonOperator: 'GREATER_THAN',
            threshold: 80,
            thresholdType: 'PERCENTAGE',
          },
          subscribers: [subscriber],
        },
        {
          notification: {
            notificationType: 'FORECASTED',
            comparisonOperator: 'GREATER_THAN',
            threshold: 100,
            thresholdType: 'PERCENTAGE',
          },
          subscribers: [subscriber],
        },
      ],
    });
  }
}
