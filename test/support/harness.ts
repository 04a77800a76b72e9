import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Server } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import { connect, type TestClient } from './client.js';

// Test clients talk to a self-signed certificate generated per data directory.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

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
   * Logs a real client in over TCP (password `<user>pw` unless given); the client is stopped by close().
   */
  login(user: string, resource: string, opts?: { password?: string; priority?: number; presence?: boolean }): Promise<TestClient>;
  close(): Promise<void>;
}

/** Starts a real Parley on free loopback ports with a fresh data directory. */
export async function startParley(config: Record<string, unknown> = {}): Promise<Parley> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const listen = { address: '127.0.0.1', port: 0 };
  const cfg = parseConfig({
    hosts: ['localhost'],
    dataDir,
    logLevel: 'silent',
    listen: { c2s: listen, c2sTls: listen, http: listen, https: listen },
    ...config,
  });
  const server = new Server({ config: cfg, logger: pino({ level: 'silent' }) });
  await server.start();
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
