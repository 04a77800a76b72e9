// The presence counters (status_list, status_list_host, status_num, status_num_host: H16) and the
// s2s commands of a server without federation, over real HTTP and `parley ctl`, with the sessions
// of real XMPP clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, type TestClient } from '../support/client.js';

// dist/test/admin → the repository root.
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const BIN = join(ROOT, 'bin/parley.js');

let parley: Parley;
let workDir: string;
let configFile: string;
const clients: TestClient[] = [];
let alicePhone: TestClient;
let aliceLaptop: TestClient;

async function ok(command: string, args: Record<string, unknown> = {}, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

/** A real client with the presence given (none at all when `show` is null). */
async function online(user: string, resource: string, opts: { domain?: string; show?: string | null; status?: string; priority?: number } = {}) {
  const c = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, domain: opts.domain, username: user, password: `${user}pw`, resource, presence: false });
  clients.push(c);
  if (opts.show !== null) await c.send(presence(opts));
  await c.sync();
  return c;
}

function presence(opts: { show?: string | null; status?: string; priority?: number }) {
  const p = xml('presence', {});
  if (opts.show) p.append(xml('show', {}, opts.show));
  if (opts.status) p.append(xml('status', {}, opts.status));
  if (opts.priority !== undefined) p.append(xml('priority', {}, String(opts.priority)));
  return p;
}

function ctl(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', '--config', configFile, ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => done({ stdout, stderr, code }));
  });
}

async function expectCtl(args: string[], stdout: string, code = 0): Promise<void> {
  const r = await ctl(args);
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code, stdout, stderr: '' }, `parley ctl ${args.join(' ')}`);
}

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'] });
  workDir = mkdtempSync(join(tmpdir(), 'parley-status-'));
  configFile = join(workDir, 'parley.yml');
  writeFileSync(configFile, `hosts: [localhost, other.test]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
  await parley.register('alice', 'bob');
  assert.equal((await parley.api('register', { user: 'zed', host: 'other.test', password: 'zedpw' })).status, 200);
  alicePhone = await online('alice', 'phone', { show: 'dnd', status: 'Busy\nin a meeting', priority: 6 });
  aliceLaptop = await online('alice', 'laptop');
  await online('bob', 'desk', { show: 'away', status: 'Lunch', priority: 2 });
  await online('bob', 'idle', { show: null }); // connected, never available
  await online('zed', 'z', { domain: 'other.test', show: 'dnd', status: 'Zzz', priority: 3 });
});

after(async () => {
  for (const c of clients) await c.stop();
  await parley?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('status_list and status_list_host: the sessions whose show is STATUS, with priority and status text', async () => {
  assert.deepEqual(await ok('status_list', { status: 'dnd' }), [
    { user: 'alice', host: 'localhost', resource: 'phone', priority: 6, status: 'Busy\\nin a meeting' },
    { user: 'zed', host: 'other.test', resource: 'z', priority: 3, status: 'Zzz' },
  ]);
  assert.deepEqual(await ok('status_list_host', { host: 'localhost', status: 'dnd' }), [
    { user: 'alice', host: 'localhost', resource: 'phone', priority: 6, status: 'Busy\\nin a meeting' },
  ]);
  assert.deepEqual(await ok('status_list_host', { host: 'OTHER.test', status: 'dnd' }), [
    { user: 'zed', host: 'other.test', resource: 'z', priority: 3, status: 'Zzz' },
  ], 'the host is nameprepped');
  assert.deepEqual(await ok('status_list', { status: 'available' }), [{ user: 'alice', host: 'localhost', resource: 'laptop', priority: 0, status: '' }]);
  assert.deepEqual(await ok('status_list', { status: 'away' }), [{ user: 'bob', host: 'localhost', resource: 'desk', priority: 2, status: 'Lunch' }]);
  assert.deepEqual(await ok('status_list', { status: 'unavailable' }), [{ user: 'bob', host: 'localhost', resource: 'idle', priority: -1, status: '' }], 'connected without presence');
  assert.deepEqual(await ok('status_list', { status: 'xa' }), []);
  assert.deepEqual(await ok('status_list_host', { host: 'other.test', status: 'away' }), []);
  assert.equal((await ok('status_list', { status: 'all' })).length, 5);
});

test('status_num and status_num_host count the same sessions, and follow what clients send', async () => {
  assert.deepEqual(await ok('status_num', { status: 'dnd' }), { users: 2 });
  assert.deepEqual(await ok('status_num_host', { host: 'localhost', status: 'dnd' }), { users: 1 });
  assert.deepEqual(await ok('status_num_host', { host: 'other.test', status: 'dnd' }), { users: 1 });
  assert.deepEqual(await ok('status_num', { status: 'all' }), { users: 5 });
  assert.deepEqual(await ok('status_num_host', { host: 'localhost', status: 'all' }), { users: 4 });
  assert.deepEqual(await ok('status_num', { status: 'chat' }), { users: 0 });

  // The phone changes its presence: the counters move.
  await alicePhone.send(presence({ show: 'xa', status: 'Gone home', priority: 1 }));
  await alicePhone.sync();
  assert.deepEqual(await ok('status_num', { status: 'dnd' }), { users: 1 });
  assert.deepEqual(await ok('status_list_host', { host: 'localhost', status: 'xa' }), [
    { user: 'alice', host: 'localhost', resource: 'phone', priority: 1, status: 'Gone home' },
  ]);
  // The laptop goes unavailable, then disconnects.
  await aliceLaptop.send(xml('presence', { type: 'unavailable' }));
  await aliceLaptop.sync();
  assert.deepEqual(await ok('status_num', { status: 'available' }), { users: 0 });
  assert.deepEqual(await ok('status_num', { status: 'unavailable' }), { users: 2 });
  await aliceLaptop.stop();
  await eventually(async () => (await ok('status_num', { status: 'unavailable' })).users === 1, 3000, 'laptop gone');
  assert.deepEqual(await ok('status_num', { status: 'all' }), { users: 4 });
});

test('status_*: unknown host, unknown status, missing and wrong-typed arguments are refused in ejabberd formats', async () => {
  assert.equal(await ok('status_list_host', { host: 'example.org', status: 'dnd' }, 404), 'Unknown host: example.org');
  assert.equal(await ok('status_num_host', { host: 'example.org', status: 'dnd' }, 404), 'Unknown host: example.org');
  const invalid = 'Invalid status: busy (expected available, chat, away, dnd, xa, unavailable or all)';
  assert.equal(await ok('status_list', { status: 'busy' }, 400), invalid);
  assert.equal(await ok('status_num', { status: 'busy' }, 400), invalid);
  assert.equal(await ok('status_num_host', { host: 'localhost', status: 'busy' }, 400), invalid);
  assert.equal(await ok('status_list', {}, 400), 'Request have missing argument: status');
  assert.equal(await ok('status_num_host', { status: 'dnd' }, 400), 'Request have missing argument: host');
  assert.equal(await ok('status_num', { status: 5 }, 400), 'Arg 5 is not in format binary');
  const user = await parley.api('status_num', { status: 'dnd' }, 'bob@localhost:bobpw');
  assert.ok(user.status === 401 || user.status === 403, `admins only: ${user.status}`);
});

test('s2s: no federation yet, so no connections either way and nothing to stop; client sessions are untouched', async () => {
  assert.deepEqual(await ok('incoming_s2s_number'), { s2s_incoming: 0 });
  assert.deepEqual(await ok('outgoing_s2s_number'), { s2s_outgoing: 0 });
  const before = (await ok('connected_users_number')).num_sessions;
  assert.equal(await ok('stop_s2s_connections'), 0);
  assert.equal((await ok('connected_users_number')).num_sessions, before);
  await alicePhone.sync(); // still connected and served
  const user = await parley.api('stop_s2s_connections', {}, 'bob@localhost:bobpw');
  assert.ok(user.status === 401 || user.status === 403, `admins only: ${user.status}`);
  // The documentation says why.
  const doc = readFileSync(join(ROOT, 'docs/commands.md'), 'utf8');
  assert.match(doc, /## stop_s2s_connections[\s\S]*?does not federate yet[\s\S]*?nothing to stop/);
});

test('parley ctl: status_num, status_list_host and the s2s commands, as ejabberdctl prints them', async () => {
  await Promise.all([
    expectCtl(['status_num', 'xa'], '1\n'),
    expectCtl(['status_list_host', 'localhost', 'xa'], 'alice\tlocalhost\tphone\t1\tGone home\n'),
    expectCtl(['status_list', 'dnd'], 'zed\tother.test\tz\t3\tZzz\n'),
    expectCtl(['status_num_host', 'example.org', 'dnd'], 'Error: not_found: Unknown host: example.org\n', 1),
    expectCtl(['incoming_s2s_number'], '0\n'),
    expectCtl(['outgoing_s2s_number'], '0\n'),
    expectCtl(['stop_s2s_connections'], ''),
  ]);
});

test('parley ctl: delete_old_messages and delete_expired_messages purge offline storage', async () => {
  const now = Date.now();
  const msg = (body: string) => `<message from='alice@localhost/phone' to='bob@localhost' type='chat'><body>${body}</body></message>`;
  await parley.server.storage.offline.add('bob@localhost', msg('forty days'), now - 40 * 86_400_000);
  await parley.server.storage.offline.add('bob@localhost', msg('expired'), now - 1000, { expiresAt: now - 500 });
  await parley.server.storage.offline.add('bob@localhost', msg('current'), now);
  const count = async () => (await ok('get_offline_count', { user: 'bob', server: 'localhost' })).value;
  assert.equal(await count(), 3);
  await expectCtl(['delete_old_messages', '31'], '');
  assert.equal(await count(), 2);
  await expectCtl(['delete_expired_messages'], '');
  assert.equal(await count(), 1);
  await expectCtl(['delete_old_messages', 'abc'], 'Error: bad_argument: Arg <<97,98,99>> is not in format integer\n', 1);
  await expectCtl(['delete_old_messages', '-2'], 'Error: bad_argument: Invalid number of days: -2\n', 1);
  assert.equal(await count(), 1);
});
