// The Synthetics script without the Synthetics runtime: its modules are virtual mocks here, and the
// real bundle runs in a child process with stand-ins on NODE_PATH. Every request goes to 127.0.0.1.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_CANARY_ENV } from '../../../constructs/canary/check';
import { handler, loadSyntheticsRuntime, readConfig, runCanary } from '../../../constructs/canary/health.canary';
import { CANARY_SCRIPT_PATH, canaryBundleDir } from '../../../constructs/core/handler-code';

const { baseUrl: BASE_URL_ENV, check: CHECK_ENV } = HEALTH_CANARY_ENV;
const lines: { level: string; record: any }[] = [];
const legacyLogger = {
  info: (m: string) => lines.push({ level: 'info', record: JSON.parse(m) }),
  error: (m: string) => lines.push({ level: 'error', record: JSON.parse(m) }),
};
jest.mock('SyntheticsLogger', () => legacyLogger, { virtual: true });
jest.mock('Synthetics', () => ({ getCanaryUserAgentString: () => 'CloudWatchSynthetics/arn:aws:synthetics:test' }), {
  virtual: true,
});

let server: Server;
let baseUrl: string;
const userAgents: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    userAgents.push(req.headers['user-agent']);
    if (req.url === '/health') res.writeHead(200).end('ok');
    else if (req.url === '/api/products') res.writeHead(500).end('boom');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const savedEnv = { ...process.env };
beforeEach(() => {
  lines.length = 0;
  userAgents.length = 0;
});
afterEach(() => {
  process.env = { ...savedEnv };
});

const checkEnv = (check: object) => ({ [BASE_URL_ENV]: baseUrl, [CHECK_ENV]: JSON.stringify(check) });

describe('the canary handler', () => {
  test('passes a healthy service, logging each attempt and the result as JSON, with the canary user agent', async () => {
    Object.assign(process.env, checkEnv({ health: { path: '/health', bodyContains: 'ok' }, retryDelayMs: 1 }));
    await expect(handler()).resolves.toBe('all 1 request passed');
    expect(lines.map((l) => [l.level, l.record.event])).toEqual([
      ['info', 'attempt'],
      ['info', 'result'],
    ]);
    expect(lines[0].record).toMatchObject({ step: 'health', attempt: 1, passed: true, status: 200 });
    expect(lines[1].record).toMatchObject({
      passed: true,
      steps: [expect.objectContaining({ name: 'health', request: 'GET /health', passed: true })],
    });
    expect(userAgents).toEqual(['CloudWatchSynthetics/arn:aws:synthetics:test']);
  });

  test('throws when a step fails, so the run fails with the reason', async () => {
    Object.assign(
      process.env,
      checkEnv({
        health: { path: '/health' },
        steps: [{ name: 'products', path: '/api/products' }],
        retries: 1,
        retryDelayMs: 1,
      }),
    );
    await expect(handler()).rejects.toThrow('products (GET /api/products): expected 200, got 500 (after 2 attempts)');
    expect(lines.filter((l) => l.level === 'error').map((l) => l.record.event)).toEqual([
      'attempt',
      'attempt',
      'result',
    ]);
  });

  test('prefers the @aws/synthetics-* modules of newer runtimes, and falls back to the legacy ones', () => {
    expect(loadSyntheticsRuntime()).toEqual({
      logger: legacyLogger,
      userAgent: 'CloudWatchSynthetics/arn:aws:synthetics:test',
    });
    jest.isolateModules(() => {
      const logger = { info: jest.fn(), error: jest.fn() };
      jest.doMock('@aws/synthetics-logger', () => logger, { virtual: true });
      jest.doMock('@aws/synthetics-puppeteer', () => ({ getCanaryUserAgentString: () => 'new' }), { virtual: true });
      const script: typeof import('../../../constructs/canary/health.canary') = require('../../../constructs/canary/health.canary');
      expect(script.loadSyntheticsRuntime()).toEqual({ logger, userAgent: 'new' });
    });
    jest.dontMock('@aws/synthetics-logger');
    jest.dontMock('@aws/synthetics-puppeteer');
  });

  test('runCanary logs through the logger it is given', async () => {
    const logged: string[] = [];
    const logger = { info: (m: string) => logged.push(m), error: (m: string) => logged.push(m) };
    await runCanary(checkEnv({ health: { path: '/health' } }), { logger });
    expect(logged).toHaveLength(2);
    expect(userAgents).toEqual(['prod-baseline-health-canary']);
  });

  test.each([
    [{}, 'HEALTH_CANARY_BASE_URL is not set'],
    [{ [BASE_URL_ENV]: 'http://127.0.0.1' }, 'HEALTH_CANARY_CHECK is not set'],
    [{ [BASE_URL_ENV]: 'http://127.0.0.1', [CHECK_ENV]: '{' }, /^HEALTH_CANARY_CHECK is not JSON: /],
    [{ [BASE_URL_ENV]: 'http://127.0.0.1', [CHECK_ENV]: '{}' }, 'HEALTH_CANARY_CHECK has no health.path'],
  ])('%#: fails on a missing or malformed configuration', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});

describe('the bundle', () => {
  test('runs as the Synthetics runtime loads it: nodejs/node_modules/index.js, index.handler, its modules external', async () => {
    const dir = canaryBundleDir(join(__dirname, '../../../constructs/canary'), 'health');
    const script = join(dir, CANARY_SCRIPT_PATH);
    const source = readFileSync(script, 'utf8');
    expect(source).toContain('require("SyntheticsLogger")');
    expect(source).toContain('require("@aws/synthetics-logger")');

    // Stand-ins for the runtime's modules, found the way the runtime's own are: on NODE_PATH.
    const modules = mkdtempSync(join(tmpdir(), 'pb-synthetics-'));
    try {
      mkdirSync(join(modules, 'SyntheticsLogger'));
      writeFileSync(
        join(modules, 'SyntheticsLogger', 'index.js'),
        'module.exports = { info: (m) => console.log("INFO: " + m), error: (m) => console.log("ERROR: " + m) };',
      );
      mkdirSync(join(modules, 'Synthetics'));
      writeFileSync(join(modules, 'Synthetics', 'index.js'), 'module.exports = {};');
      // Asynchronous: the server answering the child lives in this process.
      const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [
            '-e',
            `require(${JSON.stringify(script)}).handler().then((m) => console.log("RESULT " + m), (e) => { console.log("FAILED " + e.message); process.exitCode = 1; })`,
          ],
          {
            encoding: 'utf8',
            env: { PATH: process.env.PATH, NODE_PATH: modules, ...checkEnv({ health: { path: '/health' } }) },
            timeout: 20_000,
          },
          (_error, stdout) => resolve({ code: child.exitCode, stdout }),
        );
      });
      expect(run.stdout).toContain('RESULT all 1 request passed');
      expect(run.stdout).toMatch(/^INFO: \{"event":"attempt","step":"health","attempt":1,"passed":true,"status":200/m);
      expect(run.code).toBe(0);
    } finally {
      rmSync(modules, { recursive: true, force: true });
    }
  });
});
