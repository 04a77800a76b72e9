// stop, stop_kindly, restart and the log file commands against a real `parley start` process:
// the answer reaches the caller, the announcement reaches a connected client before the node
// stops, a restarted node serves clients again, and the process exits when stopped.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, sharedTlsDir } from '../support/harness.js';
import { connect, bodyOf, type TestClient } from '../support/client.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const BIN = join(ROOT, 'bin/parley.js');
const work = mkdtempSync(join(tmpdir(), 'parley-ops-proc-'));
const configFile = join(work, 'parley.yml');
const dataDir = join(work, 'data');
const clients: TestClient[] = [];
const children: ChildProcess[] = [];

after(() => {
  for (const c of clients) void c.stop().catch(() => undefined);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface Node {
  child: ChildProcess;
  /** Everything the process wrote to standard output so far. */
  out(): string;
  exited: Promise<number | null>;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.PARLEY_CONFIG;
  return e;
}

async function startNode(): Promise<Node> {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await eventually(() => /serving localhost/.test(out), 20_000, 'the node to start');
  return { child, out: () => out, exited };
}

/** The ports of the n-th "serving" block the node printed (a restart prints a new one). */
function ports(node: Node, n: number): { c2s: number; http: number } {
  const blocks = [...node.out().matchAll(/c2s 127\.0\.0\.1:(\d+) .* http 127\.0\.0\.1:(\d+)/g)];
  const b = blocks[n - 1];
  assert.ok(b, `serving block ${n} in: ${node.out()}`);
  return { c2s: Number(b[1]), http: Number(b[2]) };
}

async function api(port: number, command: string, args: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  const password = readFileSync(join(dataDir, 'admin-password'), 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${port}/api/${command}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`admin@localhost:${password}`).toString('base64') },
    body: JSON.stringify(args),
  });
  return { status: res.status, text: await res.text() };
}

function ctl(args: string[]): Promise<{ stdout: string; code: number | null }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', '--config', configFile, ...args], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => done({ stdout, code }));
  });
}

async function login(port: number, resource: string): Promise<TestClient> {
  const c = await connect({ service: `xmpp://127.0.0.1:${port}`, username: 'alice', password: 'alicepw', resource });
  clients.push(c);
  return c;
}

test('restart brings a new server up in the same process; rotate_log; stop_kindly announces, waits and stops', async () => {
  cpSync(await sharedTlsDir(), join(dataDir, 'tls'), { recursive: true });
  const listen = '{ address: 127.0.0.1, port: 0 }';
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: data\nlogLevel: info\nlogFile: parley.log\nlisten: { c2s: ${listen}, c2sTls: ${listen}, http: ${listen}, https: ${listen} }\n`);
  const node = await startNode();
  let p = ports(node, 1);
  assert.equal((await api(p.http, 'register', { user: 'alice', host: 'localhost', password: 'alicepw' })).status, 200);
  const before = await login(p.c2s, 'one');

  // restart: answered, then the node stops its sessions and serves again (new free ports here).
  const r = await api(p.http, 'restart');
  assert.deepEqual(r, { status: 200, text: '0' });
  await eventually(() => [...node.out().matchAll(/serving localhost/g)].length === 2, 20_000, 'the node to start again');
  await eventually(() => before.xmpp.status !== 'online', 5000, 'the old session to end');
  p = ports(node, 2);
  const c = await login(p.c2s, 'two');
  assert.equal(node.child.exitCode, null, 'the same process');

  // The log goes to the file; rotate_log moves it aside and opens a new one.
  await eventually(() => existsSync(join(dataDir, 'parley.log')) && readFileSync(join(dataDir, 'parley.log'), 'utf8').includes('parley started'), 5000, 'the log file');
  assert.equal((await api(p.http, 'rotate_log')).text, '0');
  const rotated = readdirSync(dataDir).filter((f) => f.startsWith('parley.log.'));
  assert.equal(rotated.length, 1, readdirSync(dataDir).join(' '));
  assert.match(readFileSync(join(dataDir, rotated[0]!), 'utf8'), /parley started/);
  assert.equal((await api(p.http, 'reopen_log')).text, '0');
  await eventually(() => existsSync(join(dataDir, 'parley.log')) && readFileSync(join(dataDir, 'parley.log'), 'utf8').includes('log rotated'), 5000, 'the new log file');

  // stop_kindly: the announcement first, then the answer after the delay, then the process ends.
  const started = Date.now();
  const answer = api(p.http, 'stop_kindly', { delay: 1, announcement: 'Maintenance: back in 5 minutes' });
  const headline = await c.waitFor((el) => el.is('message') && el.attrs.type === 'headline', 5000, 'the announcement');
  assert.equal(bodyOf(headline), 'Maintenance: back in 5 minutes');
  assert.equal(headline.attrs.from, 'localhost');
  assert.deepEqual(await answer, { status: 200, text: '0' });
  assert.ok(Date.now() - started >= 1000, 'the answer comes after the delay');
  assert.equal(await node.exited, 0);
});

test('stop over parley ctl stops the process; over HTTP the default permissions refuse it', async () => {
  const node = await startNode();
  const p = ports(node, 1);
  const refused = await api(p.http, 'stop');
  assert.equal(refused.status, 403, refused.text);
  const bad = await api(p.http, 'stop_kindly', { delay: -1, announcement: 'x' });
  assert.equal(bad.status, 400);
  const r = await ctl(['stop']);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(await node.exited, 0);
});
