// The Synthetics script of a HealthCanary (bundled into nodejs/node_modules/index.js, handler
// `index.handler`). It reads its configuration from the environment the construct sets, runs
// `runHealthCheck` and throws when the check fails, which fails the run (SuccessPercent 0).
import {
  assertHealthy,
  type FetchLike,
  HEALTH_CANARY_ENV,
  type HealthCheckConfig,
  type HealthCheckReport,
  runHealthCheck,
} from './check';

const { baseUrl: BASE_URL_ENV, check: CHECK_ENV } = HEALTH_CANARY_ENV;

/** The parts of the Synthetics runtime the script uses. */
export interface SyntheticsRuntime {
  readonly logger: { info(message: string): void; error(message: string): void };
  /** The canary's User-Agent, so the app's logs can tell canary requests apart. */
  readonly userAgent?: string;
}

/** The Synthetics entry point. */
export async function handler(): Promise<string> {
  const report = await runCanary(process.env, loadSyntheticsRuntime());
  return report.message;
}

/**
 * Runs the check configured in `env`, logging every attempt and the outcome as JSON lines, and
 * throws when it failed.
 */
export async function runCanary(
  env: Readonly<Record<string, string | undefined>>,
  runtime: SyntheticsRuntime,
  fetchImpl?: FetchLike,
): Promise<HealthCheckReport> {
  const config = readConfig(env);
  const log = (level: 'info' | 'error', record: Record<string, unknown>) =>
    runtime.logger[level](JSON.stringify(record));
  const report = await runHealthCheck(config, {
    fetchImpl,
    userAgent: runtime.userAgent,
    onAttempt: (event) => log(event.passed ? 'info' : 'error', { event: 'attempt', ...event }),
  });
  log(report.passed ? 'info' : 'error', {
    event: 'result',
    passed: report.passed,
    message: report.message,
    durationMs: report.durationMs,
    steps: report.steps.map(({ failures: _, ...step }) => step),
  });
  assertHealthy(report);
  return report;
}

/** The check configuration from the environment; throws a clear error when it is missing or malformed. */
export function readConfig(env: Readonly<Record<string, string | undefined>>): HealthCheckConfig {
  const baseUrl = env[BASE_URL_ENV];
  if (!baseUrl) throw new Error(`${BASE_URL_ENV} is not set`);
  const text = env[CHECK_ENV];
  if (!text) throw new Error(`${CHECK_ENV} is not set`);
  let check: Omit<HealthCheckConfig, 'baseUrl'>;
  try {
    check = JSON.parse(text);
  } catch (error) {
    throw new Error(`${CHECK_ENV} is not JSON: ${(error as Error).message}`);
  }
  if (typeof check?.health?.path !== 'string') throw new Error(`${CHECK_ENV} has no health.path`);
  return { ...check, baseUrl };
}

/**
 * The logger and user agent of the Synthetics runtime: the `@aws/synthetics-*` modules of
 * `syn-nodejs-puppeteer-13.1` and later, or the legacy `Synthetics`/`SyntheticsLogger` of earlier ones.
 */
export function loadSyntheticsRuntime(): SyntheticsRuntime {
  const logger = firstModule(
    () => require('@aws/synthetics-logger'),
    () => require('SyntheticsLogger'),
  ) as SyntheticsRuntime['logger'];
  const synthetics = firstModule(
    () => require('@aws/synthetics-puppeteer'),
    () => require('Synthetics'),
  ) as { getCanaryUserAgentString?: () => unknown };
  let userAgent: string | undefined;
  try {
    const value = synthetics.getCanaryUserAgentString?.();
    if (typeof value === 'string' && value !== '') userAgent = value;
  } catch {
    // The user agent is a courtesy to the app's logs; the default one is fine.
  }
  return { logger, userAgent };
}

function firstModule(preferred: () => unknown, legacy: () => unknown): unknown {
  try {
    return preferred();
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    return legacy();
  }
}
