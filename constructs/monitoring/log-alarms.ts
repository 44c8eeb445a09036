import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { throwIfProblems, wholeNumberProblem } from '../core/validation';
import { type IAlertRouting, KitAlarm, Severity } from './alarms';

export interface ErrorLogAlarmProps {
  /** The app's log group, whose lines are JSON with a `level` field. */
  readonly logGroup: logs.ILogGroup;
  /**
   * Error or fatal lines per minute that, in 2 of 3 minutes, notify.
   * @default 5
   */
  readonly threshold?: number;
  readonly routing?: IAlertRouting;
}

/**
 * Counts JSON log lines at level error or fatal (`"level": "error"`/`"fatal"`, either case, or pino's
 * numeric levels 50 and up) with a metric filter, and alarms on them.
 */
export class ErrorLogAlarm extends Construct {
  public readonly metricFilter: logs.MetricFilter;
  public readonly alarm: KitAlarm;
  public readonly metric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: ErrorLogAlarmProps) {
    super(scope, id);
    const threshold = props.threshold ?? 5;
    throwIfProblems(this, [wholeNumberProblem('threshold', threshold, 1)]);
    const namespace = `ProdBaseline/${Stack.of(this).stackName}`;
    this.metricFilter = new logs.MetricFilter(this, 'Resource', {
      logGroup: props.logGroup,
      filterPattern: logs.FilterPattern.any(
        ...['error', 'fatal', 'ERROR', 'FATAL'].map((level) => logs.FilterPattern.stringValue('$.level', '=', level)),
        logs.FilterPattern.numberValue('$.level', '>=', 50),
      ),
      metricNamespace: namespace,
      metricName: 'ErrorLogLines',
      metricValue: '1',
      defaultValue: 0,
    });
    this.metric = this.metricFilter.metric({ statistic: 'Sum', period: Duration.minutes(1) });
    this.alarm = new KitAlarm(this, 'Alarm', {
      metric: this.metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      datapointsToAlarm: 2,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      severity: Severity.NOTIFY,
      routing: props.routing,
      runbook: {
        meaning: `The app logged at least ${threshold} error or fatal lines a minute in 2 of 3 minutes.`,
        firstCheck: 'CloudWatch Logs Insights on the app log group: filter level in ("error", "fatal"), newest first.',
      },
    });
  }
}
