import { Annotations, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ProdBaselineError } from '../core/errors';
import { createKitKey } from '../core/key';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { EMAIL_PATTERN } from '../core/validation';
import type { IAlertRouting, Severity } from './alarms';

/** AWS services that publish alarms and events to the alert topic and so must be able to use its key. */
export const ALERT_PUBLISHER_SERVICES = ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] as const;

export interface AlertTopicProps {
  /**
   * E-mail addresses subscribed to the topic. Each recipient must confirm the subscription
   * (AWS sends a confirmation mail); until then nothing is delivered.
   * @default - no subscriptions: alarms fire into a topic nobody reads
   */
  readonly emails?: readonly string[];
  /**
   * Display name of the topic (the sender name of alert e-mails).
   * @default 'prod-baseline alerts'
   */
  readonly displayName?: string;
  /**
   * Customer-managed key that encrypts the topic. It must let `cloudwatch.amazonaws.com` and
   * `events.amazonaws.com` use it, or alarm notifications are dropped silently.
   * A key defined in this app gets the statement added to its policy; an imported one cannot, and
   * the construct warns.
   * @default - a new key with rotation on, retained on stack deletion, whose policy lets those services use it
   */
  readonly key?: kms.IKey;
}

/**
 * The topic every kit alarm notifies: encrypted with a customer-managed KMS key whose key policy
 * lets CloudWatch and EventBridge use it, SSL-only, with e-mail subscriptions.
 */
export class AlertTopic extends Construct implements IAlertRouting {
  public readonly topic: sns.Topic;
  public readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const emails = props.emails ?? [];
    const invalid = emails.filter((e) => !Token.isUnresolved(e) && !EMAIL_PATTERN.test(e));
    if (invalid.length > 0) {
      throw new ProdBaselineError(
        this,
        `emails must be e-mail addresses such as "oncall@example.com", got ${invalid.map((e) => JSON.stringify(e)).join(', ')}`,
      );
    }

    this.key =
      props.key ??
      createKitKey(this, 'Key', {
        description: 'prod-baseline alert topic encryption',
        construct: 'AlertTopic',
        role: 'alert-key',
      });
    const { statementAdded } = this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmAndEventPublishers',
        principals: ALERT_PUBLISHER_SERVICES.map((s) => new iam.ServicePrincipal(s)),
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    if (!statementAdded) {
      Annotations.of(this).addWarningV2(
        'prod-baseline:alert-key-policy',
        `the alert key is imported, so its key policy cannot be changed here: it must let ${ALERT_PUBLISHER_SERVICES.join(' and ')} use kms:Decrypt and kms:GenerateDataKey*, or alarm notifications are dropped silently`,
      );
    }

    this.topic = new sns.Topic(this, 'Resource', {
      displayName: props.displayName ?? 'prod-baseline alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    markKitResource(this.topic, 'AlertTopic', 'alert-topic');
    for (const email of emails) this.addEmail(email);

    BaselineManifest.of(this).addEntry(this, {
      role: 'alert-topic',
      construct: 'AlertTopic',
      attributes: { topicArn: this.topic.topicArn, keyArn: this.key.keyArn },
    });
  }

  /** Alarms of every severity notify this topic. */
  public actionsFor(_severity: Severity): cloudwatch.IAlarmAction[] {
    return [new actions.SnsAction(this.topic)];
  }

  /** Subscribes an e-mail address. The recipient must confirm it before anything is delivered. */
  public addEmail(address: string): void {
    this.topic.addSubscription(new subscriptions.EmailSubscription(address));
  }
}
