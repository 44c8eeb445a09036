import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assertHealthy,
  describeNetworkError,
  type HealthCheckConfig,
  HealthCheckError,
  type HealthCheckOptions,
  runHealthCheck,
} from '../../../constructs/canary/check';

/** Requests the server saw: method, url and the headers the tests look at. */
const seen: { method?: string; url?: string; check?: string; userAgent?: string; body: string }[] = [];
let flakyCount = 0;

/** What the server answers: status, body, and how long it waits first. */
function answer(req: IncomingMessage, body: string): [status: number, text: string, delayMs?: number] {
  switch (req.url) {
    case '/health':
      return [200, 'ok'];
    case '/broken':
      return [500, 'boom'];
    case '/slow':
      return [200, 'ok', 250];
    case '/hang':
      return [200, 'too late', 2_000];
    case '/wrong-body':
      return [200, 'maintenance'];
    case '/moved':
      return [301, ''];
    case '/flaky':
      flakyCount += 1;
      return flakyCount === 1 ? [503, 'warming up'] : [200, 'ok'];
    case '/api/orders':
      if (req.method !== 'POST') return [405, 'method not allowed'];
      if (req.headers['x-check'] !== 'yes') return [400, 'missing header'];
      return [201, `created ${body}`];
    default:
      return [404, 'not found'];
  }
}

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const [status, text, delayMs = 0] = answer(req, body);
  const headers = status === 301 ? { location: '/health' } : { 'content-type': 'text/plain' };
  const timer = setTimeout(() => res.writeHead(status, headers).end(text), delayMs);
  // A client that gave up (a timeout test) leaves no timer behind.
  res.on('close', () => clearTimeout(timer));
}

let server: Server;
let baseUrl: string;
let closedPortUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        check: req.headers['x-check'] as string | undefined,
        userAgent: req.headers['user-agent'],
        body,
      });
      route(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A port that was just free and is closed again: connections to it are refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  closedPortUrl = `http://127.0.0.1:${closedPort}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
  flakyCount = 0;
});

/** Quick retries, so failing cases take milliseconds. */
const fast = (config: Omit<HealthCheckConfig, 'retryDelayMs'> & { retryDelayMs?: number }): HealthCheckConfig => ({
  retryDelayMs: 5,
  ...config,
});

describe('runHealthCheck against a local server', () => {
  test('a healthy service passes with one request', async () => {
    const report = await runHealthCheck(fast({ baseUrl, health: { path: '/health', bodyContains: 'ok' } }));
    expect(report.passed).toBe(true);
    expect(report.message).toBe('all 1 request passed');
    expect(report.steps).toEqual([
      expect.objectContaining({
        name: 'health',
        request: 'GET /health',
        passed: true,
        skipped: false,
        attempts: 1,
        status: 200,
        failures: [],
      }),
    ]);
    expect(report.steps[0].message).toMatch(/^GET \/health: 200 in \d+ ms$/);
    expect(seen).toEqual([
      expect.objectContaining({ method: 'GET', url: '/health', userAgent: 'prod-baseline-health-canary' }),
    ]);
  });

  test('fails on a 500 after the retries, with the status in the message', async () => {
    const report = await runHealthCheck(fast({ baseUrl, health: { path: '/broken' } }));
    expect(report.passed).toBe(false);
    expect(report.steps[0]).toMatchObject({ status: 500, attempts: 3, passed: false });
    expect(report.message).toBe('GET /broken: expected 200, got 500 (after 3 attempts)');
    expect(report.steps[0].failures).toEqual(Array(3).fill('GET /broken: expected 200, got 500'));
    expect(seen.map((r) => r.url)).toEqual(['/broken', '/broken', '/broken']);
  });

  test('fails on a slow response, measured to the end of the body', async () => {
    const report = await runHealthCheck(fast({ baseUrl, retries: 0, health: { path: '/slow', latencyLimitMs: 100 } }));
    expect(report.passed).toBe(false);
    expect(report.steps[0].latencyMs).toBeGreaterThanOrEqual(240);
    expect(report.message).toMatch(/^GET \/slow: took \d+ ms, limit 100 ms$/);
  });

  test('reports the latency against the limit exactly as measured', async () => {
    // A clock that moves 2350 ms between the start and the end of each request.
    let clock = 0;
    const now = () => {
      clock += 2350;
      return clock;
    };
    const report = await runHealthCheck(
      fast({ baseUrl, retries: 0, health: { path: '/health', latencyLimitMs: 1000 } }),
      { now },
    );
    expect(report.message).toBe('GET /health: took 2350 ms, limit 1000 ms');
    expect(report.steps[0].status).toBe(200);
  });

  test('fails when the body does not contain the text', async () => {
    const report = await runHealthCheck(
      fast({ baseUrl, retries: 0, health: { path: '/wrong-body', bodyContains: 'ok' } }),
    );
    expect(report.message).toBe('GET /wrong-body: body does not contain "ok"');
  });

  test('fails on a refused connection, in words', async () => {
    const report = await runHealthCheck(fast({ baseUrl: closedPortUrl, health: { path: '/health' } }));
    expect(report.passed).toBe(false);
    expect(report.steps[0].status).toBeUndefined();
    expect(report.message).toBe('GET /health: connection refused (after 3 attempts)');
  });

  test('times out a request that does not answer in time', async () => {
    const report = await runHealthCheck(
      fast({ baseUrl, retries: 0, requestTimeoutMs: 200, health: { path: '/hang' } }),
    );
    expect(report.message).toBe('GET /hang: timed out after 200 ms');
    expect(report.steps[0].latencyMs).toBeLessThan(1_500);
  });

  test('a blip that passes on retry passes the run, and the blip is kept', async () => {
    const waits: number[] = [];
    const attempts: unknown[] = [];
    const report = await runHealthCheck(
      { baseUrl, retryDelayMs: 1000, health: { path: '/flaky' } },
      {
        sleep: async (ms) => {
          waits.push(ms);
        },
        onAttempt: (event) => attempts.push({ attempt: event.attempt, passed: event.passed, status: event.status }),
      },
    );
    expect(report.passed).toBe(true);
    expect(report.steps[0]).toMatchObject({
      attempts: 2,
      status: 200,
      failures: ['GET /flaky: expected 200, got 503'],
    });
    expect(waits).toEqual([1000]);
    expect(attempts).toEqual([
      { attempt: 1, passed: false, status: 503 },
      { attempt: 2, passed: true, status: 200 },
    ]);
  });

  test('the retry delay doubles', async () => {
    const waits: number[] = [];
    await runHealthCheck(
      { baseUrl, retries: 3, retryDelayMs: 100, health: { path: '/broken' } },
      {
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );
    expect(waits).toEqual([100, 200, 400]);
  });

  test('does not follow redirects: the status is the one the URL returns', async () => {
    const moved = await runHealthCheck(fast({ baseUrl, retries: 0, health: { path: '/moved' } }));
    expect(moved.message).toBe('GET /moved: expected 200, got 301');
    const expected = await runHealthCheck(fast({ baseUrl, health: { path: '/moved', expectedStatus: 301 } }));
    expect(expected.passed).toBe(true);
  });

  test('API steps run after the health request with their method, headers and body', async () => {
    const report = await runHealthCheck(
      fast({
        baseUrl: `${baseUrl}/`,
        health: { path: '/health' },
        steps: [
          {
            name: 'create order',
            method: 'post',
            path: '/api/orders',
            headers: { 'x-check': 'yes' },
            body: '{"sku":"A1"}',
            expectedStatus: 201,
            bodyContains: 'created {"sku":"A1"}',
          },
          { name: 'missing header', method: 'POST', path: '/api/orders', expectedStatus: 201 },
        ],
      }),
      { userAgent: 'CloudWatchSynthetics/test' },
    );
    expect(report.steps.map((s) => [s.name, s.request, s.passed])).toEqual([
      ['health', 'GET /health', true],
      ['create order', 'POST /api/orders', true],
      ['missing header', 'POST /api/orders', false],
    ]);
    expect(report.message).toBe('missing header (POST /api/orders): expected 201, got 400 (after 3 attempts)');
    expect(seen[1]).toEqual({
      method: 'POST',
      url: '/api/orders',
      check: 'yes',
      userAgent: 'CloudWatchSynthetics/test',
      body: '{"sku":"A1"}',
    });
  });

  test("a step's own User-Agent header replaces the default, whatever its case", async () => {
    await runHealthCheck(fast({ baseUrl, health: { path: '/health', headers: { 'User-Agent': 'mine' } } }));
    expect(seen.map((r) => r.userAgent)).toEqual(['mine']);
  });

  test('skips the API steps when the health request fails', async () => {
    const report = await runHealthCheck(
      fast({ baseUrl, retries: 0, health: { path: '/broken' }, steps: [{ name: 'orders', path: '/api/orders' }] }),
    );
    expect(report.steps[1]).toMatchObject({ name: 'orders', skipped: true, attempts: 0, passed: false });
    expect(report.steps[1].message).toBe('orders (GET /api/orders): not run, the health request failed');
    expect(report.message).toBe('GET /broken: expected 200, got 500');
    expect(seen.map((r) => r.url)).toEqual(['/broken']);
  });

  test('stops retrying when the run budget would be exceeded', async () => {
    const report = await runHealthCheck(
      { baseUrl, retryDelayMs: 60_000, budgetMs: 30_000, health: { path: '/broken' } },
      { sleep: () => Promise.reject(new Error('must not wait past the budget')) },
    );
    expect(report.steps[0].attempts).toBe(1);
    expect(report.message).toBe('GET /broken: expected 200, got 500');
  });

  test('skips steps once the budget is used up', async () => {
    let clock = 0;
    const report = await runHealthCheck(
      { baseUrl, budgetMs: 1000, health: { path: '/health' }, steps: [{ name: 'orders', path: '/api/orders' }] },
      {
        now: () => {
          clock += 400;
          return clock;
        },
      },
    );
    expect(report.steps[1].message).toBe('orders (GET /api/orders): not run, the run budget of 1000 ms was used up');
    expect(report.passed).toBe(false);
  });
});

describe('assertHealthy and errors', () => {
  test('throws a HealthCheckError carrying the report, and passes a healthy report', async () => {
    const failed = await runHealthCheck(fast({ baseUrl, retries: 0, health: { path: '/broken' } }));
    expect(() => assertHealthy(failed)).toThrow(new HealthCheckError(failed));
    expect(() => assertHealthy(failed)).toThrow('GET /broken: expected 200, got 500');
    const healthy = await runHealthCheck(fast({ baseUrl, health: { path: '/health' } }));
    expect(() => assertHealthy(healthy)).not.toThrow();
  });

  test.each([
    [{ cause: { code: 'ENOTFOUND' } }, 'host not found'],
    [{ cause: { code: 'CERT_HAS_EXPIRED' } }, 'TLS certificate has expired'],
    [{ cause: Object.assign(new Error('socket hang up'), { code: 'EWEIRD' }) }, 'EWEIRD: socket hang up'],
    [new Error('fetch failed'), 'fetch failed'],
  ])('%#: network errors are described in words', (error, words) => {
    expect(describeNetworkError(error)).toBe(words);
  });

  test('an injected fetch is used as given', async () => {
    const fetchImpl: HealthCheckOptions['fetchImpl'] = async (input) =>
      new Response(`echo ${String(input)}`, { status: 200 });
    const report = await runHealthCheck(
      { baseUrl: 'http://127.0.0.1:9', health: { path: '/health', bodyContains: 'echo http://127.0.0.1:9/health' } },
      { fetchImpl },
    );
    expect(report.passed).toBe(true);
  });
});
