import { Duration, Token } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';

/** Days of the week, for {@link DrillSchedule.weekly}. */
export enum WeekDay {
  SUNDAY = 'SUN',
  MONDAY = 'MON',
  TUESDAY = 'TUE',
  WEDNESDAY = 'WED',
  THURSDAY = 'THU',
  FRIDAY = 'FRI',
  SATURDAY = 'SAT',
}

/** Options of the weekly and daily schedules. */
export interface DrillTimeOptions {
  /**
   * Hour of the day (UTC) the drill starts.
   * @default 3
   */
  readonly hour?: number;
  /**
   * Minute of the hour the drill starts.
   * @default 0
   */
  readonly minute?: number;
}

/** When a restore drill runs. */
export class DrillSchedule {
  /**
   * Once a week.
   * @param day @default WeekDay.TUESDAY (early in the week, so a failure is handled in working hours)
   */
  public static weekly(day: WeekDay = WeekDay.TUESDAY, options: DrillTimeOptions = {}): DrillSchedule {
    const { hour, minute } = DrillSchedule.time(options);
    return new DrillSchedule(
      scheduler.ScheduleExpression.cron({ minute: `${minute}`, hour: `${hour}`, weekDay: day, month: '*', year: '*' }),
      Duration.days(7),
      `weekly on ${day} at ${pad(hour)}:${pad(minute)} UTC`,
    );
  }

  /** Once a day. */
  public static daily(options: DrillTimeOptions = {}): DrillSchedule {
    const { hour, minute } = DrillSchedule.time(options);
    return new DrillSchedule(
      scheduler.ScheduleExpression.cron({ minute: `${minute}`, hour: `${hour}`, day: '*', month: '*', year: '*' }),
      Duration.days(1),
      `daily at ${pad(hour)}:${pad(minute)} UTC`,
    );
  }

  /**
   * Any EventBridge Scheduler cron expression, such as `cron(0 3 1 * ? *)`.
   * @param interval the longest time between two runs, which the overdue alarm allows (plus slack)
   */
  public static cron(expression: string, interval: Duration): DrillSchedule {
    if (!Token.isUnresolved(expression) && !/^cron\(.+\)$/.test(expression)) {
      throw new Error(`DrillSchedule.cron: expression must look like "cron(0 3 ? * TUE *)", got "${expression}"`);
    }
    return new DrillSchedule(scheduler.ScheduleExpression.expression(expression), interval, expression);
  }

  private static time(options: DrillTimeOptions): { hour: number; minute: number } {
    const hour = options.hour ?? 3;
    const minute = options.minute ?? 0;
    const problems = [
      (!Number.isInteger(hour) || hour < 0 || hour > 23) && `hour must be a whole number from 0 to 23, got ${hour}`,
      (!Number.isInteger(minute) || minute < 0 || minute > 59) &&
        `minute must be a whole number from 0 to 59, got ${minute}`,
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) throw new Error(`DrillSchedule: ${problems.join('; ')}`);
    return { hour, minute };
  }

  private constructor(
    /** The EventBridge Scheduler expression. */
    public readonly expression: scheduler.ScheduleExpression,
    /** The longest time between two scheduled runs. */
    public readonly interval: Duration,
    /** Human description, for the README and alarm texts. */
    public readonly description: string,
  ) {}
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
