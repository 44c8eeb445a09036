import { Annotations, ArnFormat, Duration, Names, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { Construct } from 'constructs';
import { createExpiringBucket } from '../core/bucket';
import { CANARY_HANDLER, canaryCode } from '../core/handler-code';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag, nagName } from '../core/nag';
import { throwIfProblems, URL_PATH_PATTERN, wholeNumberProblem } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from '../monitoring/alarms';
import { type ApiStepSpec, HEALTH_CANARY_ENV, HEALTH_CHECK_DEFAULTS, type HealthCheckConfig } from './check';

/** What a response must look like for a request of the canary to pass. */
export interface HealthCanaryExpectation {
  /**
   * HTTP status the response must have. Redirects are not followed, so a 301 is a 301.
   * @default 200
   */
  readonly expectedStatus?: number;
  /**
   * Text the response body must contain.
   * @default - any body
   */
  readonly bodyContains?: string;
  /**
   * Longest time from sending the request to the end of the body.
   * @default - only the request timeout applies
   */
  readonly latencyLimit?: Duration;
}

/** An API step the canary checks after the health URL, such as `GET /api/products`. */
export interface HealthCanaryStep extends HealthCanaryExpectation {
  /** Name of the step in messages and logs (unique within the canary). */
  readonly name: string;
  /** Path under the canary's URL, starting with "/" (query string allowed). */
  readonly path: string;
  /**
   * HTTP method.
   * @default 'GET'
   */
  readonly method?: string;
  /**
   * Request headers. They are stored in the canary's environment variables, which anyone who can
   * read the canary or the template sees: never put credentials here (the construct warns).
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Request body.
   * @default - none
   */
  readonly body?: string;
}

export interface HealthCanaryProps {
  /**
   * Base URL of the service, with its scheme, such as `https://shop.example.com` or
   * `http://${alb.loadBalancerDnsName}` (tokens allowed). Paths are appended to it.
   */
  readonly url: string;
  /**
   * Path of the health request (a GET).
   * @default '/'
   */
  readonly healthPath?: string;
  /**
   * What the health response must look like.
   * @default - status 200, any body, no latency limit besides the request timeout
   */
  readonly healthExpectation?: HealthCanaryExpectation;
  /**
   * API steps checked, in order, after the health request passes.
   * @default - none
   */
  readonly steps?: readonly HealthCanaryStep[];
  /**
   * How often the canary runs: whole minutes from 1 to 60. Each run costs money (about $10 a month at
   * 5 minutes), and the interval is part of the time to detect a broken path.
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;
  /**
   * Synthetics runtime: a Node.js Puppeteer runtime, since the script uses its modules and layout.
   * @default synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0 (Node.js 22)
   */
  readonly runtime?: synthetics.Runtime;
  /**
   * Longest a run may take: from 15 seconds to the schedule, at most 14 minutes. The check stops
   * retrying 10 seconds before it, so a slow service fails the run with a message, not a timeout.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Timeout of each request attempt (connection, response and body).
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
  /**
   * Attempts after the first when a request fails, inside one run (0 to 5), so one blip does not
   * fail a run and one failed run is a real failure. The wait doubles from 1 second.
   * @default 2
   */
  readonly retries?: number;
  /**
   * Where the canary's alarms notify.
   * @default - the alarms are created without actions
   */
  readonly alerts?: IAlertRouting;
  /**
   * How long run artifacts (reports, logs) and run records are kept: whole days from 1 to 455.
   * @default Duration.days(30)
   */
  readonly artifactRetention?: Duration;
  /**
   * Bucket that receives the server access logs of the artifacts bucket.
   * @default - no server access logs (only the canary writes to the bucket)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
  /**
   * Name of the canary: 1 to 21 lower-case letters, digits, hyphens or underscores.
   * @default - generated from the construct path
   */
  readonly canaryName?: string;
}

/** The namespace of CloudWatch Synthetics metrics (per canary with the `CanaryName` dimension). */
export const SYNTHETICS_NAMESPACE = 'CloudWatchSynthetics';

/** What the check keeps in hand for Synthetics to start and finish a run (upload, metrics). */
const RUN_OVERHEAD = Duration.seconds(10);
/** Synthetics' longest run. */
const MAX_TIMEOUT = Duration.minutes(14);
/** Lambda's limit for all environment variables of a function, in bytes. */
const ENVIRONMENT_LIMIT = 4096;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const SECRET_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key|x-amz-security-token)$/i;

/**
 * A CloudWatch Synthetics canary that checks the health URL of a service and optional API steps
 * (method, path, expected status, body text, latency limit) on a schedule, retrying within a run so
 * one blip does not fail it. Its artifacts go to a private, encrypted, SSL-only bucket that expires
 * them. Two alarms page: a failed run (within the schedule plus 3 minutes) and a canary that stopped
 * reporting runs.
 */
export class HealthCanary extends Construct {
  public readonly canary: synthetics.Canary;
  public readonly canaryName: string;
  /** Reports and logs of the runs (S3-managed encryption, private, SSL only, expiring). */
  public readonly artifactsBucket: s3.Bucket;
  /** Execution role of the canary: artifacts bucket, Synthetics metrics and its own logs only. */
  public readonly role: iam.Role;
  /** A run failed: the health request or an API step did not pass after its retries. */
  public readonly alarm: KitAlarm;
  /** No run reported for two schedule intervals: the service is unwatched. */
  public readonly notRunningAlarm: KitAlarm;
  public readonly alarms: readonly KitAlarm[];
  /** How often the canary runs. */
  public readonly schedule: Duration;
  /** Base URL the canary checks. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: HealthCanaryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const schedule = props.schedule ?? Duration.minutes(5);
    const timeout = props.timeout ?? Duration.minutes(1);
    const requestTimeout = props.requestTimeout ?? Duration.millis(HEALTH_CHECK_DEFAULTS.requestTimeoutMs);
    const retries = props.retries ?? HEALTH_CHECK_DEFAULTS.retries;
    const artifactRetention = props.artifactRetention ?? Duration.days(30);
    const runtime = props.runtime ?? synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0;
    const healthPath = props.healthPath ?? '/';
    const steps = props.steps ?? [];
    this.canaryName = props.canaryName ?? Names.uniqueResourceName(this, { maxLength: 21 }).toLowerCase();
    this.url = props.url;
    this.schedule = schedule;

    const check: Omit<HealthCheckConfig, 'baseUrl'> = {
      health: { path: healthPath, ...expectationSpec(props.healthExpectation) },
      steps: steps.map(
        (step): ApiStepSpec => ({
          name: step.name,
          method: (step.method ?? 'GET').toUpperCase(),
          path: step.path,
          headers: step.headers,
          body: step.body,
          ...expectationSpec(step),
        }),
      ),
      requestTimeoutMs: requestTimeout.toMilliseconds(),
      retries,
      retryDelayMs: HEALTH_CHECK_DEFAULTS.retryDelayMs,
      budgetMs: Math.max(0, timeout.toMilliseconds() - RUN_OVERHEAD.toMilliseconds()),
    };
    throwIfProblems(this, [
      urlProblem(props.url),
      pathProblem('healthPath', healthPath),
      ...expectationProblems('healthExpectation', props.healthExpectation, requestTimeout),
      ...steps.flatMap((step, i) => stepProblems(step, i, steps, requestTimeout)),
      scheduleProblem(schedule),
      timeoutProblem(timeout, scheduleProblem(schedule) ? undefined : schedule),
      !Token.isUnresolved(requestTimeout.toMilliseconds()) &&
        !Token.isUnresolved(timeout.toMilliseconds()) &&
        (requestTimeout.toMilliseconds() < 1000 || requestTimeout.toMilliseconds() > timeout.toMilliseconds()) &&
        `requestTimeout must be between 1 second and the timeout (${timeout.toHumanString()}), got ${requestTimeout.toHumanString()}`,
      wholeNumberProblem('retries', retries, 0, 5),
      !Token.isUnresolved(artifactRetention.toMilliseconds()) &&
        (artifactRetention.toMilliseconds() % 86_400_000 !== 0 ||
          artifactRetention.toMilliseconds() < 86_400_000 ||
          artifactRetention.toMilliseconds() > 455 * 86_400_000) &&
        `artifactRetention must be whole days from 1 to 455, got ${artifactRetention.toHumanString()}`,
      !Token.isUnresolved(this.canaryName) &&
        !/^[0-9a-z_-]{1,21}$/.test(this.canaryName) &&
        `canaryName must be 1 to 21 lower-case letters, digits, hyphens or underscores, got "${this.canaryName}"`,
      !Token.isUnresolved(runtime.name) &&
        !(runtime.family === synthetics.RuntimeFamily.NODEJS && runtime.name.startsWith('syn-nodejs-puppeteer-')) &&
        `runtime must be a Node.js Puppeteer runtime (the canary script uses its Synthetics modules and layout), got ${runtime.name}`,
      environmentProblem(props.url, check),
    ]);
    this.warnAboutSecrets(props.url, steps);

    // SSE-S3 (createExpiringBucket): the artifacts are run reports and logs of requests to the service
    // (Synthetics keeps headers and bodies out of them); a customer-managed key would add a key policy
    // to maintain and grants for everyone who opens a run in the console, for no data that needs it.
    this.artifactsBucket = createExpiringBucket(this, 'ArtifactsBucket', {
      expiration: artifactRetention,
      ruleId: 'expire-canary-artifacts',
      bucketProps: {
        serverAccessLogsBucket: props.serverAccessLogsBucket,
        serverAccessLogsPrefix: props.serverAccessLogsBucket ? `health-canary/${this.canaryName}/` : undefined,
      },
    });
    if (!props.serverAccessLogsBucket) {
      acknowledgeNag(this.artifactsBucket, {
        id: 'AwsSolutions-S1',
        reason:
          'Only the canary writes to this bucket and its objects expire; pass serverAccessLogsBucket to log access.',
      });
    }

    this.role = this.createRole();
    this.canary = new synthetics.Canary(this, 'Resource', {
      canaryName: this.canaryName,
      runtime,
      test: synthetics.Test.custom({ code: canaryCode(__dirname, 'health'), handler: CANARY_HANDLER }),
      schedule: synthetics.Schedule.rate(schedule),
      timeout,
      environmentVariables: {
        [HEALTH_CANARY_ENV.baseUrl]: props.url,
        [HEALTH_CANARY_ENV.check]: stack.toJsonString(check),
      },
      role: this.role,
      artifactsBucketLocation: { bucket: this.artifactsBucket },
      artifactS3EncryptionMode: synthetics.ArtifactsEncryptionMode.S3_MANAGED,
      successRetentionPeriod: artifactRetention,
      failureRetentionPeriod: artifactRetention,
      // Deleting the canary also deletes the Lambda function and layer Synthetics made for it.
      provisionedResourceCleanup: true,
      startAfterCreation: true,
    });
    markKitResource(this.canary, 'HealthCanary', 'canary');

    this.alarm = new KitAlarm(this, 'FailedAlarm', {
      // One-minute periods: a failed run alarms one minute after it reports, not a whole schedule
      // later. Runs leave most minutes empty, and an empty minute keeps the state of the last run.
      metric: this.metricSuccessPercent({ period: Duration.minutes(1), statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 100,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      severity: Severity.PAGE,
      routing: props.alerts,
      sourceInterval: schedule,
      runbook: {
        meaning:
          'The health canary failed a run: the health URL or an API step did not return the expected status, body or latency, even after retries.',
        firstCheck:
          "The failed run in the CloudWatch Synthetics console (its log names the request and why it failed), then the service's healthy hosts and 5xx alarms and its last deployment.",
      },
    });
    this.notRunningAlarm = new KitAlarm(this, 'NotRunningAlarm', {
      // Missing data breaches: a canary that stopped leaves the service unwatched. Two empty periods
      // in a row are needed, so a run that lands just across a period boundary does not page.
      metric: this.metricSuccessPercent({ period: schedule, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      datapointsToAlarm: 2,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: Severity.PAGE,
      routing: props.alerts,
      runbook: {
        meaning: `The health canary reported no run for two schedule intervals (${schedule.toHumanString()} each): nothing is watching the service from outside.`,
        firstCheck:
          "The canary's state and last runs in the CloudWatch Synthetics console (stopped, an error before the script started, a retired runtime), then its Lambda logs.",
      },
    });
    this.alarms = [this.alarm, this.notRunningAlarm];

    this.acknowledgeFindings();
    BaselineManifest.of(this).addEntry(this, {
      role: 'canary',
      construct: 'HealthCanary',
      attributes: { canaryName: this.canaryName, url: props.url },
    });
  }

  /**
   * Percentage of runs that passed (each run is 0 or 100), in `CloudWatchSynthetics` by `CanaryName`.
   * @default - average over the schedule interval
   */
  public metricSuccessPercent(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.canary.metricSuccessPercent({ period: this.schedule, ...props });
  }

  /**
   * Duration of the runs, in milliseconds (retries included).
   * @default - average over the schedule interval
   */
  public metricDuration(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.canary.metricDuration({ period: this.schedule, ...props });
  }

  /**
   * The role Synthetics requires, scoped as far as it allows: objects of this canary's bucket, metrics
   * in its namespace, and the log groups of this canary's function (`cwsyn-<name>-<id>`). Inline, so
   * the permissions exist before the canary's first run.
   */
  private createRole(): iam.Role {
    const stack = Stack.of(this);
    return new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `prod-baseline health canary ${this.canaryName}: writes its artifacts, metrics and logs`,
      inlinePolicies: {
        canary: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'FindArtifactsBucket',
              actions: ['s3:ListAllMyBuckets'],
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'ArtifactsBucketLocation',
              actions: ['s3:GetBucketLocation'],
              resources: [this.artifactsBucket.bucketArn],
            }),
            new iam.PolicyStatement({
              sid: 'WriteArtifacts',
              actions: ['s3:PutObject'],
              resources: [this.artifactsBucket.arnForObjects('*')],
            }),
            new iam.PolicyStatement({
              sid: 'PublishSyntheticsMetrics',
              actions: ['cloudwatch:PutMetricData'],
              resources: ['*'],
              conditions: { StringEquals: { 'cloudwatch:namespace': SYNTHETICS_NAMESPACE } },
            }),
            new iam.PolicyStatement({
              sid: 'WriteOwnLogs',
              actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.logGroupArn(stack)],
            }),
          ],
        }),
      },
    });
  }

  private logGroupArn(stack: Stack): string {
    return stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `/aws/lambda/cwsyn-${this.canaryName}-*`,
    });
  }

  private warnAboutSecrets(url: string, steps: readonly HealthCanaryStep[]): void {
    const secretHeaders = steps.flatMap((s) => Object.keys(s.headers ?? {}).filter((h) => SECRET_HEADERS.test(h)));
    const credentialsInUrl = !Token.isUnresolved(url) && /^https?:\/\/[^/@]*@/.test(url);
    if (secretHeaders.length > 0 || credentialsInUrl) {
      Annotations.of(this).addWarningV2(
        'prod-baseline:canary-credentials',
        `The canary's configuration is stored in plain text in its environment variables and the template; ${
          credentialsInUrl
            ? 'the url carries credentials'
            : `headers ${[...new Set(secretHeaders)].join(', ')} look like credentials`
        }. Use a dedicated, read-only health endpoint instead.`,
      );
    }
  }

  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const reasons: Record<string, string> = {
      'AwsSolutions-IAM5[Resource::*]':
        'Synthetics requires s3:ListAllMyBuckets, which has no resource; cloudwatch:PutMetricData has none either and is limited to the CloudWatchSynthetics namespace by condition.',
      [`AwsSolutions-IAM5[Resource::${nagName(stack, this.artifactsBucket.arnForObjects('*'))}]`]:
        'The canary writes a new artifact key every run; only PutObject, only in its own artifacts bucket.',
      [`AwsSolutions-IAM5[Resource::${nagName(stack, this.logGroupArn(stack))}]`]:
        "Synthetics names the canary's function cwsyn-<canary name>-<generated id>; the pattern matches only this canary's log group.",
    };
    acknowledgeNag(this, ...Object.entries(reasons).map(([id, reason]) => ({ id, reason })));
  }
}

function expectationSpec(expectation: HealthCanaryExpectation = {}) {
  return {
    expectedStatus: expectation.expectedStatus ?? 200,
    bodyContains: expectation.bodyContains,
    latencyLimitMs: expectation.latencyLimit?.toMilliseconds(),
  };
}

function urlProblem(url: string): string | undefined {
  const problem = `url must start with http:// or https:// and a host, got "${url}"`;
  if (Token.isUnresolved(url)) {
    // With tokens, only a literal start can be checked (`http://${alb.loadBalancerDnsName}`).
    const fragments = Tokenization.reverseString(url);
    if (fragments.firstToken !== undefined) return undefined;
    return /^https?:\/\//.test(String(fragments.firstValue)) ? undefined : problem;
  }
  if (!/^https?:\/\/[^\s/?#@]*@?[^\s/?#@]+(\/\S*)?$/.test(url)) return problem;
  return /[?#]/.test(url)
    ? `url must not have a query string or fragment (paths are appended to it), got "${url}"`
    : undefined;
}

function pathProblem(name: string, path: string): string | undefined {
  if (Token.isUnresolved(path) || URL_PATH_PATTERN.test(path)) return undefined;
  return `${name} must start with "/" and have no spaces, got "${path}"`;
}

function expectationProblems(
  name: string,
  expectation: HealthCanaryExpectation | undefined,
  requestTimeout: Duration,
): (string | undefined | false)[] {
  if (!expectation) return [];
  const limit = expectation.latencyLimit;
  return [
    expectation.expectedStatus !== undefined &&
      wholeNumberProblem(`${name}.expectedStatus`, expectation.expectedStatus, 100, 599),
    limit !== undefined &&
      !Token.isUnresolved(limit.toMilliseconds()) &&
      !Token.isUnresolved(requestTimeout.toMilliseconds()) &&
      (limit.toMilliseconds() <= 0 || limit.toMilliseconds() > requestTimeout.toMilliseconds()) &&
      `${name}.latencyLimit must be more than 0 and at most the requestTimeout (${requestTimeout.toHumanString()}), got ${limit.toHumanString()}`,
  ];
}

function stepProblems(
  step: HealthCanaryStep,
  index: number,
  steps: readonly HealthCanaryStep[],
  requestTimeout: Duration,
): (string | undefined | false)[] {
  const name = `steps[${index}]`;
  const method = (step.method ?? 'GET').toUpperCase();
  return [
    !Token.isUnresolved(step.name) &&
      !/^\S(.{0,62}\S)?$/.test(step.name) &&
      `${name}.name must be 1 to 64 characters without leading or trailing spaces, got "${step.name}"`,
    steps.findIndex((s) => s.name === step.name) !== index && `${name}.name "${step.name}" is used by an earlier step`,
    pathProblem(`${name}.path`, step.path),
    !Token.isUnresolved(method) &&
      !METHODS.includes(method) &&
      `${name}.method must be one of ${METHODS.join(', ')}, got "${step.method}"`,
    step.body !== undefined && (method === 'GET' || method === 'HEAD') && `${name}.body cannot be sent with ${method}`,
    ...expectationProblems(name, step, requestTimeout),
  ];
}

function scheduleProblem(schedule: Duration): string | undefined {
  const seconds = schedule.toMilliseconds() / 1000;
  if (Token.isUnresolved(seconds) || (seconds % 60 === 0 && seconds >= 60 && seconds <= 3600)) return undefined;
  const got = seconds % 60 === 0 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : schedule.toHumanString();
  return `schedule must be whole minutes from 1 to 60, got ${got}`;
}

/** The problem with the run timeout; `schedule` is undefined when it is itself invalid. */
function timeoutProblem(timeout: Duration, schedule: Duration | undefined): string | undefined {
  const millis = timeout.toMilliseconds();
  if (Token.isUnresolved(millis) || (schedule && Token.isUnresolved(schedule.toSeconds()))) return undefined;
  const bySchedule = schedule !== undefined && schedule.toSeconds() <= MAX_TIMEOUT.toSeconds();
  const max = bySchedule ? schedule.toSeconds() : MAX_TIMEOUT.toSeconds();
  if (millis % 1000 === 0 && millis >= 15_000 && millis <= max * 1000) return undefined;
  const limit = bySchedule ? `the schedule (${schedule.toHumanString()})` : '14 minutes';
  return `timeout must be whole seconds from 15 seconds to ${limit}, got ${timeout.toHumanString()}`;
}

function environmentProblem(url: string, check: Omit<HealthCheckConfig, 'baseUrl'>): string | undefined {
  const text = JSON.stringify(check);
  if (Token.isUnresolved(text)) return undefined;
  const bytes =
    Buffer.byteLength(text) +
    HEALTH_CANARY_ENV.baseUrl.length +
    HEALTH_CANARY_ENV.check.length +
    (Token.isUnresolved(url) ? 256 : url.length);
  return bytes > ENVIRONMENT_LIMIT
    ? `the steps must fit the canary's ${ENVIRONMENT_LIMIT} bytes of environment variables, got about ${bytes} bytes`
    : undefined;
}
