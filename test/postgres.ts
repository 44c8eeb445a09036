import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, escapeIdentifier, type QueryResult } from 'pg';

/** A throwaway PostgreSQL server on 127.0.0.1 that only speaks TLS to the test user, started by a test file. */
export interface TestPostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The test database (owned by the superuser; the test user can read all of it). */
  readonly database: string;
  /** The test user: may log in over TLS with scram-sha-256 and read every table (`pg_read_all_data`). */
  readonly user: string;
  readonly password: string;
  /** The server's self-signed certificate (PEM): the only CA that verifies it. */
  readonly ca: string;
  /** Runs SQL in the test database as the superuser, for seeding. */
  query(sql: string, values?: unknown[]): Promise<QueryResult>;
  /** Creates another database (readable by the test user) and returns how to seed it as the superuser. */
  createDatabase(name: string): Promise<{ query(sql: string, values?: unknown[]): Promise<QueryResult> }>;
  /** Stops the server and deletes its files; safe to call twice and after a failed test. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Also accept plaintext (non-TLS) logins with the same password, so a test can prove that a client
   * never falls back to plaintext: if it did, its login would succeed.
   * @default false
   */
  readonly acceptPlaintext?: boolean;
}

export const TEST_USER = 'drill_verifier';
/** Distinctive, so a test can search every message for it. */
export const TEST_PASSWORD = 'Pw-never-in-messages-7f3a9c';
const DATABASE = 'restored';
const SUPERUSER = 'postgres';
const MISSING =
  'PostgreSQL server binaries are not installed; the test suite needs them. Install them with: apt-get install postgresql';

/**
 * Starts PostgreSQL (the server binaries in `pg_config --bindir`) on a free loopback port with TLS
 * (a fresh self-signed certificate for localhost and 127.0.0.1), creates the test user and database,
 * and returns how to reach it. Throws one line when the binaries are missing; never skips.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = serverBinaries();
  const runAs = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'pb-pg-'));
  let stopServer = () => {};
  const cleanup = () => {
    stopServer();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const ca = makeCertificate(dir, runAs);
    const superPassword = randomBytes(18).toString('base64url');
    initCluster(bin, dir, runAs, superPassword);
    const port = await startServer(bin, dir, runAs, options);
    stopServer = () => {
      stopServer = () => {};
      try {
        run(runAs, join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Already stopped (or never fully started): the directory is removed either way.
      }
    };
    const admin = await adminClient({ port, database: 'postgres', password: superPassword, ca });
    await admin.query(`create role ${TEST_USER} login password '${TEST_PASSWORD}'`);
    await admin.query(`grant pg_read_all_data to ${TEST_USER}`);
    await admin.query(`create database ${DATABASE}`);
    await admin.end();
    const clients = [await adminClient({ port, database: DATABASE, password: superPassword, ca })];
    return {
      host: '127.0.0.1',
      port,
      database: DATABASE,
      user: TEST_USER,
      password: TEST_PASSWORD,
      ca,
      query: (sql, values) => clients[0].query(sql, values),
      createDatabase: async (name) => {
        await clients[0].query(`create database ${escapeIdentifier(name)}`);
        const client = await adminClient({ port, database: name, password: superPassword, ca });
        clients.push(client);
        return { query: (sql, values) => client.query(sql, values) };
      },
      stop: async () => {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        cleanup();
        process.removeListener('exit', cleanup);
      },
    };
  } catch (error) {
    cleanup();
    process.removeListener('exit', cleanup);
    throw error;
  }
}

/** The directory of initdb, pg_ctl and postgres; throws the one-line install hint when anything is missing. */
function serverBinaries(): string {
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bin = config.status === 0 ? config.stdout.trim() : '';
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  const complete = bin !== '' && ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(bin, b)));
  if (!complete || openssl.status !== 0) throw new Error(MISSING);
  return bin;
}

interface ServerUser {
  readonly uid: number;
  readonly gid: number;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', SUPERUSER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', SUPERUSER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(MISSING);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a command, as the server user when there is one; throws with its output when it fails. */
function run(runAs: ServerUser | undefined, command: string, args: string[]): SpawnSyncReturns<string> {
  const [file, argv] = runAs ? ['runuser', ['-u', SUPERUSER, '--', command, ...args]] : [command, args];
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result;
}

/** A self-signed certificate for localhost and 127.0.0.1, readable only by the server user. */
function makeCertificate(dir: string, runAs: ServerUser | undefined): string {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
  const keyType = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const args = ['req', '-x509', ...keyType, ...subject, '-days', '2', '-keyout', key, '-out', cert];
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl could not make a certificate:\n${result.stderr}`);
  chmodSync(key, 0o600);
  if (runAs) {
    chownSync(key, runAs.uid, runAs.gid);
    chownSync(cert, runAs.uid, runAs.gid);
  }
  return readFileSync(cert, 'utf8');
}

function initCluster(bin: string, dir: string, runAs: ServerUser | undefined, superPassword: string): void {
  const pwfile = join(dir, 'superuser.pw');
  writeFileSync(pwfile, `${superPassword}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  const settings = ['--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'];
  run(runAs, join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', SUPERUSER, `--pwfile=${pwfile}`, ...settings]);
  rmSync(pwfile);
}

/** Writes the TLS-only configuration and starts the server on a free port (retrying if the port was taken). */
async function startServer(
  bin: string,
  dir: string,
  runAs: ServerUser | undefined,
  options: StartPostgresOptions,
): Promise<number> {
  const data = join(dir, 'data');
  const hba = [
    'hostssl all all 127.0.0.1/32 scram-sha-256',
    ...(options.acceptPlaintext ? ['hostnossl all all 127.0.0.1/32 scram-sha-256'] : []),
  ];
  writeFileSync(join(data, 'pg_hba.conf'), `${hba.join('\n')}\n`);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = ''`,
        'ssl = on',
        `ssl_cert_file = '${join(dir, 'server.crt')}'`,
        `ssl_key_file = '${join(dir, 'server.key')}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 20',
        '',
      ].join('\n'),
    );
    try {
      run(runAs, join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
      return port;
    } catch (error) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
      if (attempt >= 3 || !/could not bind/.test(log)) throw new Error(`${(error as Error).message}\n${log}`);
    }
  }
}

async function adminClient(props: { port: number; database: string; password: string; ca: string }): Promise<Client> {
  const client = new Client({
    host: '127.0.0.1',
    port: props.port,
    database: props.database,
    user: SUPERUSER,
    password: props.password,
    ssl: { ca: props.ca, rejectUnauthorized: true },
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
