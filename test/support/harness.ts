import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import pg from 'pg';
import { Server, type ServerOptions } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import { loadTls } from '../../src/transports/tls-material.js';
import { connect, type ClientOptions, type TestClient } from './client.js';

// Test clients talk to a self-signed certificate.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

/**
 * The self-signed certificate the server generates on a first start (an RSA key: ~0.25 s of CPU),
 * generated once for all test processes by the server's own code and copied into each new data
 * directory, where the server finds it as it does on a restart. No test inspects it; the ones about
 * generating it pass `tls: {}` and get their own.
 */
let sharedTls: string | undefined;
export async function sharedTlsDir(): Promise<string> {
  if (sharedTls) return sharedTls;
  const dir = join(tmpdir(), `parley-test-tls-${userInfo().uid}`);
  if (!existsSync(join(dir, 'tls', 'key.pem'))) {
    const fresh = mkdtempSync(join(tmpdir(), 'parley-test-tls-new-'));
    await loadTls(parseConfig({ hosts: ['localhost'] }), fresh, 'localhost');
    try {
      renameSync(fresh, dir);
    } catch {
      rmSync(fresh, { recursive: true, force: true }); // another test process got there first
    }
  }
  return (sharedTls = join(dir, 'tls'));
}

export interface Parley {
  server: Server;
  dataDir: string;
  adminPassword: string;
  ports: { c2s: number; c2sTls: number; http: number; https: number };
  /** POST /api/<command> as the admin (or with the given basic credentials); returns status and parsed body. */
  api(command: string, args?: Record<string, unknown>, auth?: string | null): Promise<{ status: number; body: any; text: string }>;
  /** Registers each account over the API with the password `<user>pw`; fails on any other answer than 200. */
  register(...users: string[]): Promise<void>;
  /**
   * Logs a real client in over TCP (password `<user>pw` unless given; SASL PLAIN unless a mechanism is
   * named, see ClientOptions.mechanism); the client is stopped by close().
   */
  login(user: string, resource: string, opts?: { password?: string; priority?: number; presence?: boolean; mechanism?: ClientOptions['mechanism'] }): Promise<TestClient>;
  close(): Promise<void>;
}

/** PostgreSQL for the tests (PARLEY_TEST_STORAGE=postgres, and the tests that use both backends by name). */
export const TEST_PG_URL = process.env.PARLEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The backend a server gets when its test names none: PARLEY_TEST_STORAGE=postgres runs the whole suite on PostgreSQL. */
function testStorage(): 'sqlite' | 'postgres' {
  const v = process.env.PARLEY_TEST_STORAGE ?? 'sqlite';
  if (v !== 'sqlite' && v !== 'postgres') throw new Error(`PARLEY_TEST_STORAGE must be sqlite or postgres, not ${v}`);
  return v;
}

/** Drops a PostgreSQL schema a test made (and everything in it). */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Starts a real Parley on free loopback ports with a fresh data directory (with a ready certificate
 * unless the config has `tls`, see sharedTlsDir). Unless the config names a
 * storage backend, it is the one PARLEY_TEST_STORAGE selects; on PostgreSQL each server gets a fresh
 * schema, dropped by close().
 */
export async function startParley(config: Record<string, unknown> = {}, options: Pick<ServerOptions, 'configFile' | 'control'> = {}): Promise<Parley> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  if (config.tls === undefined) cpSync(await sharedTlsDir(), join(dataDir, 'tls'), { recursive: true });
  const listen = { address: '127.0.0.1', port: 0 };
  const storage = (config.storage ?? {}) as Record<string, unknown>;
  let schema: string | undefined;
  if (storage.backend === undefined && testStorage() === 'postgres') {
    schema = `parley_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    config = { ...config, storage: { ...storage, backend: 'postgres', url: TEST_PG_URL, schema } };
  }
  const cfg = parseConfig({
    hosts: ['localhost'],
    dataDir,
    logLevel: 'silent',
    listen: { c2s: listen, c2sTls: listen, http: listen, https: listen },
    ...config,
  });
  const server = new Server({ config: cfg, logger: pino({ level: 'silent' }), ...options });
  try {
    await server.start();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropSchema(schema);
    throw err;
  }
  const adminPassword = readFileSync(join(dataDir, 'admin-password'), 'utf8').trim();
  const a = server.addresses;
  const ports = { c2s: a.c2s?.port ?? 0, c2sTls: a.c2sTls?.port ?? 0, http: a.http?.port ?? 0, https: a.https?.port ?? 0 };
  const adminAuth = `admin@localhost:${adminPassword}`;
  const clients: TestClient[] = [];
  const api: Parley['api'] = async (command, args = {}, auth = adminAuth) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth !== null) headers.authorization = 'Basic ' + Buffer.from(auth).toString('base64');
    const res = await fetch(`http://127.0.0.1:${ports.http}/api/${command}`, { method: 'POST', headers, body: JSON.stringify(args) });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body, text };
  };
  return {
    server,
    dataDir,
    adminPassword,
    ports,
    api,
    async register(...users) {
      for (const user of users) {
        const r = await api('register', { user, host: 'localhost', password: `${user}pw` });
        if (r.status !== 200) throw new Error(`registering ${user}: ${r.status} ${r.text}`);
      }
    },
    async login(user, resource, opts = {}) {
      const { password = `${user}pw`, ...rest } = opts;
      const c = await connect({ service: `xmpp://127.0.0.1:${ports.c2s}`, username: user, password, resource, ...rest });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) await c.stop();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (schema) await dropSchema(schema);
    },
  };
}

/** Polls until the condition holds (for effects that arrive asynchronously). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
