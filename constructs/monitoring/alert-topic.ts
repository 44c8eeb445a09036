import { Annotations, Token } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { createKitKey } from '../core/key';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag } from '../core/nag';
import { EMAIL_PATTERN, throwIfProblems } from '../core/validation';
import { type IAlertRouting, Severity } from './alarms';

/** AWS services that publish alarms and events to the alert topics and so must be able to use their key. */
export const ALERT_PUBLISHER_SERVICES = ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] as const;

/** Who hears about alarms of one severity. */
export interface AlertSubscribers {
  /**
   * E-mail addresses. Each recipient must confirm the subscription (AWS sends a confirmation mail);
   * until then nothing is delivered.
   * @default - none
   */
  readonly emails?: readonly string[];
  /**
   * HTTPS endpoints (an incident tool's webhook, for example) that receive the SNS notification JSON.
   * The endpoint must confirm the subscription by visiting the SubscribeURL it receives.
   * @default - none
   */
  readonly webhooks?: readonly string[];
}

/** An AWS Chatbot Slack channel that receives both severities. */
export interface SlackChannel {
  /** The Slack workspace ID, as authorised once in the AWS Chatbot console. */
  readonly workspaceId: string;
  /** The Slack channel ID (not its name). */
  readonly channelId: string;
}

export interface AlertTopicProps {
  /**
   * Subscribers of the page (critical) topic.
   * @default - none: alarms fire into a topic nobody reads, and `prod-baseline alarm-test` says so
   */
  readonly page?: AlertSubscribers;
  /**
   * Subscribers of the notify (warning) topic.
   * @default - the page subscribers
   */
  readonly notify?: AlertSubscribers;
  /**
   * E-mail addresses subscribed to the page topic (shorthand for `page.emails`).
   * @default - none
   */
  readonly emails?: readonly string[];
  /**
   * An AWS Chatbot Slack channel that receives both topics.
   * @default - none
   */
  readonly slack?: SlackChannel;
  /**
   * Display name of the topics (the sender name of alert e-mails).
   * @default 'prod-baseline'
   */
  readonly displayName?: string;
  /**
   * Customer-managed key that encrypts both topics. It must let `cloudwatch.amazonaws.com` and
   * `events.amazonaws.com` use it, or alarm notifications are dropped silently. A key defined in this
   * app gets the statement added to its policy; an imported one cannot, and the construct warns.
   * @default - a new key with rotation on, retained on stack deletion, whose policy lets those services use it
   */
  readonly key?: kms.IKey;
}

/**
 * The alert topics every kit alarm notifies, by severity: `page` (critical, `topic`) and `notify`
 * (warning, `notifyTopic`). Both are encrypted with one customer-managed KMS key whose policy lets
 * CloudWatch and EventBridge use it, SSL-only, with e-mail and HTTPS subscriptions and optionally a
 * Slack channel through AWS Chatbot.
 */
export class AlertTopic extends Construct implements IAlertRouting {
  /** The page (critical) topic. */
  public readonly topic: sns.Topic;
  /** The notify (warning) topic. */
  public readonly notifyTopic: sns.Topic;
  public readonly key: kms.IKey;
  /** The AWS Chatbot channel, when a Slack channel is configured. */
  public readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const page: AlertSubscribers = { ...props.page, emails: [...(props.page?.emails ?? []), ...(props.emails ?? [])] };
    const notify: AlertSubscribers = props.notify ?? page;
    throwIfProblems(this, [...subscriberProblems('page', page), ...subscriberProblems('notify', notify)]);

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

    const displayName = props.displayName ?? 'prod-baseline';
    // The page topic keeps the ID the single alert topic had ('Resource'), so it is never replaced.
    this.topic = new sns.Topic(this, 'Resource', {
      displayName: `${displayName} PAGE`,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.notifyTopic = new sns.Topic(this, 'Notify', {
      displayName: `${displayName} notify`,
      masterKey: this.key,
      enforceSSL: true,
    });
    markKitResource(this.topic, 'AlertTopic', 'alert-topic');
    markKitResource(this.notifyTopic, 'AlertTopic', 'notify-topic');
    subscribe(this.topic, page);
    subscribe(this.notifyTopic, notify);

    if (props.slack) {
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'Slack', {
        slackChannelConfigurationName: `${id}-${props.slack.channelId}`.slice(0, 128),
        slackWorkspaceId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        notificationTopics: [this.topic, this.notifyTopic],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        // Read-only: the channel shows alarms; nobody changes the account from Slack.
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
      });
      acknowledgeNag(this.slackChannel, {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]',
        reason: 'The Chatbot guardrail is the AWS read-only policy: nothing can be changed from the Slack channel.',
      });
    }

    BaselineManifest.of(this).addEntry(this, {
      role: 'alert-topic',
      construct: 'AlertTopic',
      attributes: { topicArn: this.topic.topicArn, notifyTopicArn: this.notifyTopic.topicArn, keyArn: this.key.keyArn },
    });
  }

  /** Page alarms notify the page topic; notify alarms the notify topic. */
  public actionsFor(severity: Severity): cloudwatch.IAlarmAction[] {
    return [new actions.SnsAction(severity === Severity.PAGE ? this.topic : this.notifyTopic)];
  }

  /** Subscribes an e-mail address to the page topic. The recipient must confirm it before anything is delivered. */
  public addEmail(address: string, severity: Severity = Severity.PAGE): void {
    (severity === Severity.PAGE ? this.topic : this.notifyTopic).addSubscription(
      new subscriptions.EmailSubscription(address),
    );
  }
}

function subscriberProblems(severity: string, subscribers: AlertSubscribers): string[] {
  const problems: string[] = [];
  const badEmails = (subscribers.emails ?? []).filter((e) => !Token.isUnresolved(e) && !EMAIL_PATTERN.test(e));
  if (badEmails.length > 0) {
    problems.push(
      `${severity} emails must be e-mail addresses such as "oncall@example.com", got ${badEmails.map((e) => JSON.stringify(e)).join(', ')}`,
    );
  }
  const badHooks = (subscribers.webhooks ?? []).filter(
    (u) => !Token.isUnresolved(u) && !/^https:\/\/[^\s/]+\S*$/.test(u),
  );
  if (badHooks.length > 0) {
    problems.push(
      `${severity} webhooks must be https:// URLs, got ${badHooks.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  }
  return problems;
}

function subscribe(topic: sns.Topic, subscribers: AlertSubscribers): void {
  for (const email of subscribers.emails ?? []) topic.addSubscription(new subscriptions.EmailSubscription(email));
  for (const url of subscribers.webhooks ?? []) {
    topic.addSubscription(new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }));
  }
}
