// The health check a HealthCanary runs: plain TypeScript over `fetch`, with no aws-cdk-lib and no
// Synthetics, so it is unit-tested against a local HTTP server. `health.canary.ts` wraps it.

/** What a response must look like for a request to pass. */
/**
 * The part of `fetch` the check uses, declared here so the published declarations do not depend on
 * the DOM or Node's global `fetch` types (Node's built-in fetch fits).
 */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    redirect: 'manual';
    /** An AbortSignal (typed structurally for the same reason). */
    signal: { readonly aborted: boolean };
  },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface ResponseExpectation {
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
   * Longest time, in milliseconds, from sending the request to the end of the body.
   * @default - only the request timeout applies
   */
  readonly latencyLimitMs?: number;
}

/** One request of the check: the health request, or an API step. */
export interface RequestSpec extends ResponseExpectation {
  /** Path under the base URL, starting with "/" (query string allowed). */
  readonly path: string;
  /**
   * HTTP method.
   * @default 'GET'
   */
  readonly method?: string;
  /**
   * Request headers. They travel in the canary's configuration: never put secrets here.
   * @default - none (besides User-Agent)
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Request body.
   * @default - none
   */
  readonly body?: string;
}

/** An API step: a named request checked after the health request. */
export interface ApiStepSpec extends RequestSpec {
  /** Name of the step, as it appears in messages and logs. */
  readonly name: string;
}

/** What {@link runHealthCheck} checks. */
export interface HealthCheckConfig {
  /** Base URL, such as `https://shop.example.com`; paths are appended to it. */
  readonly baseUrl: string;
  /** The health request (always a GET). */
  readonly health: Omit<RequestSpec, 'method' | 'body'>;
  /**
   * API steps, run in order after the health request passes.
   * @default - none
   */
  readonly steps?: readonly ApiStepSpec[];
  /**
   * Timeout of each attempt, in milliseconds (connection, response and body).
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Attempts after the first when a request fails, so one blip does not fail the run.
   * @default 2
   */
  readonly retries?: number;
  /**
   * Wait before the first retry, in milliseconds; it doubles before each further retry.
   * @default 1000
   */
  readonly retryDelayMs?: number;
  /**
   * Time the whole check may take, in milliseconds: no attempt starts or runs beyond it.
   * @default - no limit
   */
  readonly budgetMs?: number;
}

/** One attempt at one request. */
export interface AttemptEvent {
  readonly step: string;
  readonly attempt: number;
  readonly passed: boolean;
  readonly status?: number;
  readonly latencyMs: number;
  readonly message: string;
}

/** The outcome of one request, after its retries. */
export interface StepResult {
  /** `health`, or the name of the API step. */
  readonly name: string;
  /** Method and path, such as `GET /health`. */
  readonly request: string;
  readonly passed: boolean;
  /** True when the step did not run (the health request failed, or the budget was used up). */
  readonly skipped: boolean;
  /** Attempts made (0 when skipped). */
  readonly attempts: number;
  /** HTTP status of the last attempt, when a response arrived. */
  readonly status?: number;
  /** Latency of the last attempt, in milliseconds. */
  readonly latencyMs?: number;
  /** `GET /health: 200 in 12 ms`, or why the last attempt failed, such as `GET /health: expected 200, got 500`. */
  readonly message: string;
  /** Why each failed attempt failed, in order (a passing step may have some: the blips it retried). */
  readonly failures: readonly string[];
}

/** The outcome of a whole check. */
export interface HealthCheckReport {
  readonly passed: boolean;
  readonly steps: readonly StepResult[];
  /** `all 3 requests passed`, or the messages of the failed steps joined with "; ". */
  readonly message: string;
  readonly durationMs: number;
}

/** What {@link runHealthCheck} uses from outside, replaceable in tests. */
export interface HealthCheckOptions {
  /** @default globalThis.fetch */
  readonly fetchImpl?: FetchLike;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** User-Agent header of every request. @default 'prod-baseline-health-canary' */
  readonly userAgent?: string;
  /** Called after every attempt (the canary logs them). @default - nothing */
  readonly onAttempt?: (event: AttemptEvent) => void;
}

/** Thrown by {@link assertHealthy} when a check failed; carries the report. */
export class HealthCheckError extends Error {
  constructor(public readonly report: HealthCheckReport) {
    super(report.message);
    this.name = 'HealthCheckError';
  }
}

/** The environment variables through which a HealthCanary hands the check its configuration. */
export const HEALTH_CANARY_ENV = {
  /** The base URL (a token in the template, such as the ALB's DNS name). */
  baseUrl: 'HEALTH_CANARY_BASE_URL',
  /** The rest of the {@link HealthCheckConfig}, as JSON. */
  check: 'HEALTH_CANARY_CHECK',
} as const;

/** Defaults of {@link HealthCheckConfig}: 10-second requests, retried twice after 1 and 2 seconds. */
export const HEALTH_CHECK_DEFAULTS = {
  requestTimeoutMs: 10_000,
  retries: 2,
  retryDelayMs: 1_000,
} as const;

const DEFAULT_USER_AGENT = 'prod-baseline-health-canary';

/** Network error codes (Node's `cause.code`) in words. */
const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

/**
 * Runs the health request, then each API step, against `config.baseUrl`. Every request is retried
 * (`retries`, with a doubling delay) until it passes; the steps are skipped when the health request
 * fails. Never throws for a failed check: the report says what failed (see {@link assertHealthy}).
 */
export async function runHealthCheck(
  config: HealthCheckConfig,
  options: HealthCheckOptions = {},
): Promise<HealthCheckReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const deadline = config.budgetMs === undefined ? Number.POSITIVE_INFINITY : started + config.budgetMs;
  const context: RunContext = {
    fetchImpl: options.fetchImpl ?? (globalThis.fetch as unknown as FetchLike),
    now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    onAttempt: options.onAttempt ?? (() => {}),
    baseUrl: config.baseUrl.replace(/\/+$/, ''),
    requestTimeoutMs: config.requestTimeoutMs ?? HEALTH_CHECK_DEFAULTS.requestTimeoutMs,
    retries: config.retries ?? HEALTH_CHECK_DEFAULTS.retries,
    retryDelayMs: config.retryDelayMs ?? HEALTH_CHECK_DEFAULTS.retryDelayMs,
    deadline,
    budgetMs: config.budgetMs,
  };

  const results: StepResult[] = [];
  const health = await runStep(context, 'health', { ...config.health, method: 'GET' });
  results.push(health);
  for (const step of config.steps ?? []) {
    if (!health.passed) {
      results.push(skipped(step, 'not run, the health request failed'));
    } else if (now() >= deadline) {
      results.push(skipped(step, `not run, the run budget of ${config.budgetMs} ms was used up`));
    } else {
      results.push(await runStep(context, step.name, step));
    }
  }

  const failed = results.filter((r) => !r.passed && !r.skipped);
  const passed = results.every((r) => r.passed);
  const message = passed
    ? `all ${results.length} request${results.length === 1 ? '' : 's'} passed`
    : (failed.length > 0 ? failed : results.filter((r) => !r.passed)).map((r) => r.message).join('; ');
  return { passed, steps: results, message, durationMs: now() - started };
}

/** Throws a {@link HealthCheckError} when the report failed. */
export function assertHealthy(report: HealthCheckReport): void {
  if (!report.passed) throw new HealthCheckError(report);
}

interface RunContext {
  readonly fetchImpl: FetchLike;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly userAgent: string;
  readonly onAttempt: (event: AttemptEvent) => void;
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly deadline: number;
  readonly budgetMs: number | undefined;
}

interface AttemptOutcome {
  readonly passed: boolean;
  readonly status?: number;
  readonly latencyMs: number;
  readonly message: string;
}

function requestLabel(spec: RequestSpec): string {
  return `${(spec.method ?? 'GET').toUpperCase()} ${spec.path}`;
}

function skipped(step: ApiStepSpec, why: string): StepResult {
  const request = requestLabel(step);
  return {
    name: step.name,
    request,
    passed: false,
    skipped: true,
    attempts: 0,
    message: `${step.name} (${request}): ${why}`,
    failures: [],
  };
}

async function runStep(context: RunContext, name: string, spec: RequestSpec): Promise<StepResult> {
  const request = requestLabel(spec);
  const label = name === 'health' ? request : `${name} (${request})`;
  const failures: string[] = [];
  let last: AttemptOutcome | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= context.retries + 1; attempt++) {
    if (attempt > 1) {
      const delay = context.retryDelayMs * 2 ** (attempt - 2);
      // A retry that could not finish inside the budget would only turn a clear failure into a timeout.
      if (context.now() + delay >= context.deadline) break;
      await context.sleep(delay);
    }
    const remaining = context.deadline - context.now();
    if (remaining <= 0) break;
    attempts = attempt;
    const timeoutMs = Math.min(context.requestTimeoutMs, remaining);
    last = await attemptOnce(context, spec, label, Math.ceil(timeoutMs));
    context.onAttempt({
      step: name,
      attempt,
      passed: last.passed,
      status: last.status,
      latencyMs: last.latencyMs,
      message: last.message,
    });
    if (last.passed) break;
    failures.push(last.message);
  }
  if (!last) {
    return {
      name,
      request,
      passed: false,
      skipped: true,
      attempts: 0,
      message: `${label}: not run, the run budget of ${context.budgetMs} ms was used up`,
      failures,
    };
  }
  const suffix = !last.passed && attempts > 1 ? ` (after ${attempts} attempts)` : '';
  return {
    name,
    request,
    passed: last.passed,
    skipped: false,
    attempts,
    status: last.status,
    latencyMs: last.latencyMs,
    message: `${last.message}${suffix}`,
    failures,
  };
}

async function attemptOnce(
  context: RunContext,
  spec: RequestSpec,
  label: string,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const method = (spec.method ?? 'GET').toUpperCase();
  const expectedStatus = spec.expectedStatus ?? 200;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const start = context.now();
  // The step's own headers win, User-Agent included, whatever their case.
  const headers: Record<string, string> = { 'user-agent': context.userAgent };
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
    headers[name] = value;
  }
  try {
    const response = await context.fetchImpl(`${context.baseUrl}${spec.path}`, {
      method,
      headers,
      body: spec.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    // Latency covers the whole body: a health page that stalls half-way is not healthy.
    const body = await response.text();
    const latencyMs = Math.round(context.now() - start);
    const status = response.status;
    const fail = (why: string): AttemptOutcome => ({ passed: false, status, latencyMs, message: `${label}: ${why}` });
    if (status !== expectedStatus) return fail(`expected ${expectedStatus}, got ${status}`);
    if (spec.bodyContains !== undefined && !body.includes(spec.bodyContains)) {
      return fail(`body does not contain ${JSON.stringify(spec.bodyContains)}`);
    }
    if (spec.latencyLimitMs !== undefined && latencyMs > spec.latencyLimitMs) {
      return fail(`took ${latencyMs} ms, limit ${spec.latencyLimitMs} ms`);
    }
    return { passed: true, status, latencyMs, message: `${label}: ${status} in ${latencyMs} ms` };
  } catch (error) {
    const latencyMs = Math.round(context.now() - start);
    const why = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : describeNetworkError(error);
    return { passed: false, latencyMs, message: `${label}: ${why}` };
  } finally {
    clearTimeout(timer);
  }
}

/** A fetch failure in words: Node puts the reason in `cause` (`TypeError: fetch failed`). */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: unknown })?.code;
  if (typeof code === 'string') return NETWORK_ERRORS[code] ?? `${code}: ${messageOf(cause)}`;
  return messageOf(cause);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
