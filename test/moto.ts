import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** A moto_server on 127.0.0.1, started by the test file that needs it (each file gets its own). */
export interface Moto {
  readonly endpoint: string;
  /** Client settings that send every call to this moto_server and nowhere else. */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL = 'pip install "moto[server]"';

/** Starts moto_server on a free loopback port; fails with one line when it is not installed. */
export async function startMoto(): Promise<Moto> {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`moto_server is not installed; the test suite needs it. Install it with: ${INSTALL}`);
  }
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`moto_server did not start within 15 s:\n${seen}`)), 15_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`moto_server exited with ${code}:\n${seen}`)));
  });
  return {
    endpoint,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
