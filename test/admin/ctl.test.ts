// `parley ctl` as a real child process talking to a running server over its control socket:
// stdout and exit codes like ejabberdctl (docs/reference/ejabberd-observed.md §3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, bodyOf, xml, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

// dist/test/admin → the repository root.
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const BIN = join(ROOT, 'bin/parley.js');

let parley: Parley;
let workDir: string;
let configFile: string;
let service: string;
const clients: TestClient[] = [];

interface CtlResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs `node bin/parley.js ctl --config <file> args...` and collects its output. */
function ctl(args: string[], config = configFile): Promise<CtlResult> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', '--config', config, ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, stderr, code }));
  });
}

/** Asserts exit code and exact stdout (and that nothing went to stderr, like ejabberdctl). */
async function expectCtl(args: string[], stdout: string | RegExp, code = 0): Promise<CtlResult> {
  const r = await ctl(args);
  const what = `parley ctl ${args.join(' ')}`;
  assert.equal(r.code, code, `${what}: exit code (stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)})`);
  if (typeof stdout === 'string') assert.equal(r.stdout, stdout, `${what}: stdout (stderr ${JSON.stringify(r.stderr)})`);
  else assert.match(r.stdout, stdout, `${what}: stdout (stderr ${JSON.stringify(r.stderr)})`);
  assert.equal(r.stderr, '', `${what}: stderr`);
  return r;
}

const lines = (...l: string[]) => l.map((x) => x + '\n').join('');

async function online(username: string, password: string, resource: string, presence?: { show?: string; status?: string; priority?: number }) {
  const c = await connect({ service, username, password, resource, priority: presence?.priority });
  clients.push(c);
  if (presence?.show || presence?.status) {
    const p = xml('presence', {});
    if (presence.show) p.append(xml('show', {}, presence.show));
    if (presence.status) p.append(xml('status', {}, presence.status));
    if (presence.priority !== undefined) p.append(xml('priority', {}, String(presence.priority)));
    await c.send(p);
  }
  return c;
}

let alicePhone: TestClient;
let aliceLaptop: TestClient;
let bobDesk: TestClient;

before(async () => {
  parley = await startParley();
  service = `xmpp://127.0.0.1:${parley.ports.c2s}`;
  workDir = mkdtempSync(join(tmpdir(), 'parley-ctl-'));
  configFile = join(workDir, 'parley.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
});

after(async () => {
  for (const c of clients) await c.stop();
  await parley?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('the control socket exists in the data directory with mode 0600', () => {
  const st = statSync(join(parley.dataDir, 'ctl.sock'));
  assert.ok(st.isSocket(), 'ctl.sock is a Unix socket');
  assert.equal(st.mode & 0o777, 0o600);
});

test('accounts: register, registered_users, registered_vhosts, check_account, check_password, change_password, unregister', async () => {
  await Promise.all([
    expectCtl(['register', 'alice', 'localhost', 'alicepw'], 'User alice@localhost successfully registered\n'),
    expectCtl(['register', 'bob', 'localhost', 'bobpw'], 'User bob@localhost successfully registered\n'),
    expectCtl(['register', 'temp', 'localhost', 'temppw'], 'User temp@localhost successfully registered\n'),
    expectCtl(['register', 'zed', 'example.org', 'x'], 'Error: not_found: Unknown host: example.org\n', 1),
  ]);
  // The effect is the same as over HTTP.
  assert.equal((await parley.api('check_password', { user: 'alice', host: 'localhost', password: 'alicepw' })).body, 0);

  await Promise.all([
    expectCtl(['register', 'bob', 'localhost', 'x'], 'Error: conflict: User bob@localhost already registered\n', 1),
    expectCtl(['registered_users', 'localhost'], lines('admin', 'alice', 'bob', 'temp')),
    expectCtl(['registered_vhosts'], 'localhost\n'),
    expectCtl(['check_account', 'bob', 'localhost'], ''),
    expectCtl(['check_account', 'nobody', 'localhost'], 'Error: false\n', 1),
    expectCtl(['check_password', 'bob', 'localhost', 'wrong'], 'Error: false\n', 1),
    expectCtl(['change_password', 'temp', 'localhost', 'newpw'], ''),
    expectCtl(['change_password', 'nobody', 'localhost', 'x'], 'Error: not_found: User nobody@localhost does not exist\n', 1),
  ]);
  await Promise.all([
    expectCtl(['check_password', 'temp', 'localhost', 'temppw'], 'Error: false\n', 1),
    expectCtl(['check_password', 'temp', 'localhost', 'newpw'], ''),
    expectCtl(['unregister', 'nobody', 'localhost'], 'Error: not_found: User nobody@localhost does not exist\n', 1),
    expectCtl(['registered_users', 'example.org'], 'Error: not_found: Unknown host: example.org\n', 1),
  ]);
  // The conflicting register left bob's password alone.
  assert.equal((await parley.api('check_password', { user: 'bob', host: 'localhost', password: 'bobpw' })).body, 0);

  await expectCtl(['unregister', 'temp', 'localhost'], '');
  await Promise.all([
    expectCtl(['check_account', 'temp', 'localhost'], 'Error: false\n', 1),
    expectCtl(['registered_users', 'localhost'], lines('admin', 'alice', 'bob')),
  ]);
});

test('status and stats', async () => {
  const [, , , up] = await Promise.all([
    expectCtl(['status'], /^The node parley@localhost is started with status: started\nParley \S+ is running in that node\n$/),
    expectCtl(['stats', 'registeredusers'], '3\n'),
    expectCtl(['stats', 'onlineusers'], '0\n'),
    expectCtl(['stats', 'uptimeseconds'], /^\d+\n$/),
    expectCtl(['stats', 'processes'], /^[1-9]\d*\n$/),
    expectCtl(['stats', 'bogus'], 'Error: bad_argument: Unknown statistic: bogus\n', 1),
    expectCtl(['stats_host', 'registeredusers', 'localhost'], '3\n'),
  ]);
  assert.ok(Number(up!.stdout) <= parley.server.uptimeSeconds());
});

test('sessions: connected_users*, user_resources, user_sessions_info, num_resources, resource_num, get_presence', async () => {
  await Promise.all([expectCtl(['connected_users'], ''), expectCtl(['connected_users_number'], '0\n')]);
  alicePhone = await online('alice', 'alicepw', 'phone', { show: 'dnd', status: 'On phone', priority: 10 });
  aliceLaptop = await online('alice', 'alicepw', 'laptop', { show: 'away', status: 'On laptop', priority: 5 });
  bobDesk = await online('bob', 'bobpw', 'desk');
  await eventually(async () => (await parley.api('get_presence', { user: 'alice', host: 'localhost' })).body.status === 'On phone', 3000, 'presence');
  await eventually(
    async () => (await parley.api('user_sessions_info', { user: 'alice', host: 'localhost' })).body.every((s: any) => s.statustext !== ''),
    3000,
    'statuses',
  );

  const [, , vhost, , , info, mine] = await Promise.all([
    expectCtl(['connected_users'], lines('alice@localhost/laptop', 'alice@localhost/phone', 'bob@localhost/desk')),
    expectCtl(['connected_users_number'], '3\n'),
    expectCtl(['connected_users_vhost', 'localhost'], /^(\S+\n){3}$/),
    expectCtl(['stats', 'onlineusers'], '3\n'),
    expectCtl(['stats_host', 'onlineusers', 'localhost'], '3\n'),
    // One line per session, ten tab-separated fields in ejabberd's order.
    expectCtl(['connected_users_info'], /^([^\t\n]*\t){9}[^\t\n]*\n([^\t\n]*\t){9}[^\t\n]*\n([^\t\n]*\t){9}[^\t\n]*\n$/),
    expectCtl(['user_sessions_info', 'alice', 'localhost'], /^([^\t\n]*\t){8}[^\t\n]*\n([^\t\n]*\t){8}[^\t\n]*\n$/),
    expectCtl(['user_resources', 'alice', 'localhost'], lines('laptop', 'phone')),
    expectCtl(['num_resources', 'alice', 'localhost'], '2\n'),
    expectCtl(['num_resources', 'nobody', 'localhost'], '0\n'),
    // The command line carries integers as text.
    expectCtl(['resource_num', 'alice', 'localhost', '1'], 'laptop\n'),
    expectCtl(['resource_num', 'alice', 'localhost', '9'], 'Error: bad_argument: Wrong resource number: 9\n', 1),
    expectCtl(['resource_num', 'alice', 'localhost', 'abc'], 'Error: bad_argument: Arg <<97,98,99>> is not in format integer\n', 1),
    expectCtl(['get_presence', 'alice', 'localhost'], 'alice@localhost/phone\tdnd\tOn phone\n'),
    expectCtl(['get_presence', 'bob', 'localhost'], 'bob@localhost/desk\tavailable\t\n'),
    expectCtl(['get_presence', 'nobody', 'localhost'], 'nobody@localhost\tunavailable\t\n'),
  ]);
  assert.deepEqual(vhost!.stdout.trim().split('\n').sort(), ['alice@localhost/laptop', 'alice@localhost/phone', 'bob@localhost/desk']);
  const rows = info!.stdout.slice(0, -1).split('\n').map((l) => l.split('\t'));
  const http = (await parley.api('connected_users_info')).body as Record<string, unknown>[];
  for (const row of rows) {
    const same = http.find((s) => s.jid === row[0])!;
    assert.ok(same, `${row[0]} is listed over HTTP too`);
    const expected = Object.entries(same).map(([k, v]) => (k === 'uptime' ? row[6] : String(v)));
    assert.deepEqual(row, expected, `${row[0]}: jid connection ip port priority node uptime status resource statustext`);
  }
  const phone = rows.find((r) => r[0] === 'alice@localhost/phone')!;
  assert.deepEqual([phone[1], phone[2], phone[4], phone[5], phone[7], phone[8], phone[9]], ['c2s', '127.0.0.1', '10', 'parley@localhost', 'dnd', 'phone', 'On phone']);

  const laptop = mine!.stdout.split('\n').map((l) => l.split('\t')).find((r) => r[7] === 'laptop')!;
  assert.deepEqual([laptop[0], laptop[3], laptop[6], laptop[8]], ['c2s', '5', 'away', 'On laptop']);

});

const pushFor = (jid: string, subscription: string) => (el: Element) => {
  const item = el.is('iq') && el.attrs.type === 'set' ? el.getChild('query', 'jabber:iq:roster')?.getChild('item') : undefined;
  return item?.attrs.jid === jid && item.attrs.subscription === subscription;
};

test('roster: add_rosteritem, get_roster (one row per group, tab-separated), delete_rosteritem', async () => {
  await bobDesk.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await expectCtl(['get_roster', 'bob', 'localhost'], '');
  await Promise.all([
    expectCtl(['add_rosteritem', 'bob', 'localhost', 'alice', 'localhost', 'Alice', 'g1;g2', 'both'], ''),
    expectCtl(['add_rosteritem', 'bob', 'localhost', 'dave', 'example.org', '', '', 'none'], ''),
    // alice's roster has bob too, so that set_presence below reaches him.
    expectCtl(['add_rosteritem', 'alice', 'localhost', 'bob', 'localhost', 'Bob', '', 'both'], ''),
    expectCtl(['add_rosteritem', 'bob', 'localhost', 'x', 'localhost', 'X', '', 'bogus'], 'Error: bad_argument: Invalid subscription: bogus\n', 1),
    expectCtl(['get_roster', 'nobody', 'localhost'], 'Error: not_found: User nobody@localhost does not exist\n', 1),
  ]);
  await bobDesk.waitFor(pushFor('alice@localhost', 'both'), 3000, 'roster push');
  const roster = await expectCtl(['get_roster', 'bob', 'localhost'], /^([^\n]*\n){3}$/);
  assert.deepEqual(roster.stdout.slice(0, -1).split('\n').sort(), [
    'alice@localhost\tAlice\tboth\tnone\tg1',
    'alice@localhost\tAlice\tboth\tnone\tg2',
    'dave@example.org\t\tnone\tnone\t',
  ]);

  await expectCtl(['delete_rosteritem', 'bob', 'localhost', 'dave', 'example.org'], '');
  await bobDesk.waitFor(pushFor('dave@example.org', 'remove'), 3000, 'removal push');
  await Promise.all([
    expectCtl(['get_roster', 'bob', 'localhost'], /^alice@localhost\tAlice\tboth\tnone\tg[12]\nalice@localhost\tAlice\tboth\tnone\tg[12]\n$/),
    expectCtl(['get_roster', 'alice', 'localhost'], 'bob@localhost\tBob\tboth\tnone\t\n'),
  ]);
});

test('set_presence, send_message, send_stanza, send_stanza_c2s, get_offline_count', async () => {
  await expectCtl(['set_presence', 'alice', 'localhost', 'laptop', 'available', 'xa', 'Gone', '20'], '');
  const p = await bobDesk.waitFor(
    (el) => el.is('presence') && el.attrs.from === 'alice@localhost/laptop' && el.getChildText('show') === 'xa',
    3000,
    "alice's new presence",
  );
  assert.equal(p.getChildText('status'), 'Gone');
  await Promise.all([
    expectCtl(['get_presence', 'alice', 'localhost'], 'alice@localhost/laptop\txa\tGone\n'),
    expectCtl(['set_presence', 'alice', 'localhost', 'nores', 'available', '', '', '0'], 'Error: not_found: User session not found: alice@localhost/nores\n', 1),
    expectCtl(['send_message', 'headline', 'admin@localhost', 'bob@localhost/desk', 'Subj', 'from ctl'], ''),
    expectCtl(['send_stanza', 'admin@localhost', 'alice@localhost/phone', '<message type="chat"><body>raw from ctl</body></message>'], ''),
    expectCtl(['send_stanza', 'admin@localhost', 'alice@localhost', '<message'], /^Error: bad_argument: Invalid stanza/, 1),
    expectCtl(['send_stanza_c2s', 'bob', 'localhost', 'desk', '<message to="alice@localhost/laptop" type="chat"><body>c2s from ctl</body></message>'], ''),
    expectCtl(['send_stanza_c2s', 'bob', 'localhost', 'nores', '<message/>'], 'Error: not_found: User session not found: bob@localhost/nores\n', 1),
    // admin is offline: messages for him are stored.
    expectCtl(['get_offline_count', 'admin', 'localhost'], '0\n'),
  ]);
  const m = await bobDesk.waitFor((el) => el.is('message') && bodyOf(el) === 'from ctl', 3000, 'message');
  assert.deepEqual([m.attrs.type, m.attrs.from, m.getChildText('subject')], ['headline', 'admin@localhost', 'Subj']);
  const s = await alicePhone.waitFor((el) => el.is('message') && bodyOf(el) === 'raw from ctl', 3000, 'stanza');
  assert.equal(s.attrs.from, 'admin@localhost');
  const c = await aliceLaptop.waitFor((el) => el.is('message') && bodyOf(el) === 'c2s from ctl', 3000, 'c2s stanza');
  assert.equal(c.attrs.from, 'bob@localhost/desk');
  await Promise.all([
    expectCtl(['send_message', 'chat', 'bob@localhost', 'admin@localhost', '', 'while away'], ''),
    expectCtl(['send_stanza', 'bob@localhost', 'admin@localhost', '<message><body>stored too</body></message>'], ''),
  ]);
  await expectCtl(['get_offline_count', 'admin', 'localhost'], '2\n');
});

test('kick_session and kick_user disconnect the clients', async () => {
  const errors: string[] = [];
  aliceLaptop.xmpp.on('error', (e: any) => errors.push(`laptop:${e.condition}`));
  alicePhone.xmpp.on('error', (e: any) => errors.push(`phone:${e.condition}`));
  await expectCtl(['kick_session', 'alice', 'localhost', 'laptop', 'Kicked from ctl'], '');
  await eventually(() => errors.includes('laptop:conflict'), 3000, 'laptop kicked');
  await eventually(async () => (await parley.api('num_resources', { user: 'alice', host: 'localhost' })).body.resources === 1, 3000, 'laptop gone');
  await Promise.all([
    expectCtl(['user_resources', 'alice', 'localhost'], 'phone\n'),
    expectCtl(['kick_session', 'alice', 'localhost', 'laptop', 'again'], 'Error: false\n', 1),
  ]);
  await expectCtl(['kick_user', 'alice', 'localhost'], '1\n');
  await eventually(() => errors.includes('phone:policy-violation'), 3000, 'phone kicked');
  await eventually(async () => (await parley.api('connected_users_number')).body.num_sessions === 1, 3000, 'alice gone');
  await Promise.all([
    expectCtl(['connected_users'], 'bob@localhost/desk\n'),
    expectCtl(['kick_user', 'alice', 'localhost'], '0\n'),
    expectCtl(['connected_users_number'], '1\n'),
  ]);
});

test('unknown command → exit 1 with "Did you mean"; wrong arity → usage and "requires N more/less argument(s)"', async () => {
  const [, far, few] = await Promise.all([
    expectCtl(['registered_user', 'localhost'], "Error: unknown command 'registered_user'. Did you mean 'registered_users'?\n", 1),
    ctl(['no_such_thing_at_all']),
    expectCtl(['registered_users'], /Error: the command 'registered_users' requires 1 more argument\.\n$/, 1),
    expectCtl(['registered_users', 'localhost', 'extra'], /Error: the command 'registered_users' requires 1 less argument\.\n$/, 1),
    expectCtl(['check_password', 'bob'], /Error: the command 'check_password' requires 2 more arguments\.\n$/, 1),
    expectCtl(['status', 'a', 'b'], /Error: the command 'status' requires 2 less arguments\.\n$/, 1),
    expectCtl(['change_password', 'bob', 'localhost'], /requires 1 more argument/, 1),
  ]);
  assert.equal(far.code, 1);
  assert.match(far.stdout, /^Error: unknown command 'no_such_thing_at_all'\./);
  assert.match(few.stdout, /Command Name: registered_users/);
  assert.match(few.stdout, /Arguments: HOST/);
  // Nothing ran: bob's password is unchanged.
  assert.equal((await parley.api('check_password', { user: 'bob', host: 'localhost', password: 'bobpw' })).body, 0);
});

test('ctl help lists every command; help <command> describes one', async () => {
  const [help, one] = await Promise.all([
    expectCtl(['help'], /^Usage: parley ctl COMMAND \[ARGUMENTS\]/),
    expectCtl(['help', 'get_roster'], /Command Name: get_roster/),
  ]);
  const names = [
    'add_rosteritem', 'change_password', 'check_account', 'check_password', 'connected_users', 'connected_users_info',
    'connected_users_number', 'connected_users_vhost', 'delete_rosteritem', 'gc', 'get_offline_count', 'get_presence', 'get_roster',
    'kick_session', 'kick_user', 'num_resources', 'register', 'registered_users', 'registered_vhosts', 'resource_num',
    'send_message', 'send_stanza', 'send_stanza_c2s', 'set_presence', 'stats', 'stats_host', 'status', 'unregister',
    'user_resources', 'user_sessions_info',
  ];
  assert.equal(names.length, 30);
  const listed = help.stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
  for (const n of names) assert.ok(listed.includes(n), `help lists ${n}`);
  assert.match(one.stdout, /Description: Get roster of a local user/);
});

test('no server running (empty data directory) → exit 3, nodedown', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'parley-ctl-empty-'));
  try {
    const cfg = join(empty, 'parley.yml');
    writeFileSync(cfg, `hosts: [localhost]\ndataDir: ${JSON.stringify(empty)}\n`);
    const runs = await Promise.all([['status'], ['registered_users', 'localhost']].map((args) => ctl(args, cfg)));
    for (const r of runs) {
      assert.equal(r.code, 3, r.stdout);
      assert.match(r.stdout, /^Failed RPC connection to the node parley@localhost: nodedown\n/);
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
