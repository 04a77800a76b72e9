// The roster bulk commands over real HTTP (and two through `parley ctl`): process_rosteritems,
// push_roster, push_roster_all, push_alltoall. Each answer is checked together with its effect on
// real XMPP clients (roster pushes, roster gets) and on the rosters as get_roster reads them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Element } from '@xmpp/xml';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, type TestClient } from '../support/client.js';

const NS_ROSTER = 'jabber:iq:roster';
const LIMIT = 8;
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;
let outside: string;

before(async () => {
  parley = await startParley({
    hosts: ['localhost', 'team.example', 'big.example', 'pri.example', 'ctl.example'],
    limits: { maxRosterItems: LIMIT, maxCommandFileSize: 2048 },
  });
  outside = mkdtempSync(join(tmpdir(), 'parley-outside-'));
});
after(async () => {
  await parley?.close();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

async function call(command: string, args: Record<string, unknown>, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

async function register(host: string, ...users: string[]): Promise<void> {
  for (const user of users) await call('register', { user, host, password: `${user}pw` });
}

/** A real client that asked for its roster: roster pushes reach it from then on. */
async function rosterClient(user: string, host = 'localhost'): Promise<TestClient> {
  const c = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: user, password: `${user}pw`, resource: 'r', domain: host });
  clients.push(c);
  await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  return c;
}
const clients: TestClient[] = [];
after(async () => {
  for (const c of clients) await c.stop();
});

/** The item of a roster push about `jid`, if `el` is one. */
function pushedItem(el: Element, jid: string): Element | undefined {
  if (!el.is('iq') || el.attrs.type !== 'set') return undefined;
  const item = el.getChild('query', NS_ROSTER)?.getChild('item');
  return item?.attrs.jid === jid ? item : undefined;
}
const pushOf = (jid: string, subscription: string) => (el: Element) => pushedItem(el, jid)?.attrs.subscription === subscription;
const groupsOf = (item: Element | undefined) => (item?.getChildren('group') ?? []).map((g: Element) => g.text()).sort();

/** The roster of an account as get_roster reads it: `jid subscription ask group` rows, sorted. */
async function roster(user: string, host: string): Promise<string[]> {
  const rows = await call('get_roster', { user, host });
  return rows.map((r: any) => `${r.jid} ${r.subscription} ${r.ask} ${r.group}`.trimEnd()).sort();
}

test('push_alltoall: every account of the host gets every other one, with subscription both, in the group', async () => {
  await register('team.example', 'u1', 'u2', 'u3');
  const u1 = await rosterClient('u1', 'team.example');
  assert.equal(await call('push_alltoall', { host: 'team.example', group: 'Everybody;Team' }), 0);
  // The online client is told of each new contact, with its name and groups.
  for (const other of ['u2', 'u3']) {
    const item = pushedItem(await u1.waitFor(pushOf(`${other}@team.example`, 'both')), `${other}@team.example`);
    assert.equal(item?.attrs.name, other);
    assert.deepEqual(groupsOf(item), ['Everybody', 'Team']);
  }
  const got = await u1.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  assert.deepEqual(got.getChild('query')!.getChildren('item').map((i: Element) => `${i.attrs.jid} ${i.attrs.subscription}`).sort(), ['u2@team.example both', 'u3@team.example both']);
  assert.deepEqual(await roster('u2', 'team.example'), [
    'u1@team.example both none Everybody',
    'u1@team.example both none Team',
    'u3@team.example both none Everybody',
    'u3@team.example both none Team',
  ]);
  // Accounts of other hosts are untouched.
  assert.deepEqual(await roster('admin', 'localhost'), []);
  // Presence now flows both ways: u2 coming online is seen by u1.
  const u2 = await rosterClient('u2', 'team.example');
  await u1.waitFor((el) => el.is('presence') && el.attrs.from === u2.jid && el.attrs.type === undefined, 3000, 'u2 available');
  // Again: nothing new, nothing doubled.
  assert.equal(await call('push_alltoall', { host: 'team.example', group: '' }), 0);
  assert.deepEqual(await roster('u3', 'team.example'), ['u1@team.example both none', 'u2@team.example both none']);

  // What the command wrote belongs to the accounts: removing one removes its roster.
  await call('unregister', { user: 'u3', host: 'team.example' });
  assert.deepEqual(await call('process_rosteritems', { action: 'list', subs: 'any', asks: 'any', users: 'u3@team.example', contacts: 'any' }), []);

  assert.equal(await call('push_alltoall', { host: 'nowhere.example', group: 'G' }, 404), 'Unknown host: nowhere.example');
  assert.match(await call('push_alltoall', { host: 'team.example', group: 5 }, 400), /^Arg 5 is not in format/);
  assert.equal(await call('push_alltoall', { host: 'team.example' }, 400), 'Request have missing argument: group');
});

test('push_alltoall beyond limits.maxRosterItems is refused whole', async () => {
  const users = Array.from({ length: LIMIT + 2 }, (_, i) => `b${i}`);
  await register('big.example', ...users);
  const body = await call('push_alltoall', { host: 'big.example', group: 'All' }, 403);
  assert.match(body, /^Rosters would exceed limits\.maxRosterItems \(8\): b0@big\.example .*nothing was changed$/);
  for (const u of users) assert.deepEqual(await roster(u, 'big.example'), []);
});

/** Writes a file into the server's data directory; returns its relative name. */
function dataFile(name: string, text: string | Buffer): string {
  writeFileSync(join(parley.dataDir, name), text);
  return name;
}

test("push_roster: the file's contacts enter the user's roster with subscription both (binaries, /utf8, strings)", async () => {
  await register('localhost', 'alice', 'bob', 'carol');
  const alice = await rosterClient('alice');
  const file = dataFile(
    'alice-roster.txt',
    '% the template of the seed, with UTF-8 names\n' +
      '[{<<"bob">>, <<"localhost">>, <<"Workers">>, <<"Bob">>},\n' +
      ' {<<"carol">>, <<"localhost">>, <<"Wörkers;Friends"/utf8>>, <<"Cärol"/utf8>>},\n' +
      ' {"alice", "localhost", "Workers", "Me"},\n' +
      ' {"Zed", "Remote.Example", "", "Zed"}].\n',
  );
  assert.equal(await call('push_roster', { file, user: 'alice', host: 'localhost' }), 0);
  const carol = pushedItem(await alice.waitFor(pushOf('carol@localhost', 'both')), 'carol@localhost');
  assert.equal(carol?.attrs.name, 'Cärol');
  assert.deepEqual(groupsOf(carol), ['Friends', 'Wörkers']);
  await alice.waitFor(pushOf('zed@remote.example', 'both'));
  // Each push carries its own roster version (RFC 6121 §2.6.3), and the last is the roster's.
  const vers = alice.received.filter((el) => el.is('iq') && el.attrs.type === 'set').map((el) => Number(el.getChild('query', NS_ROSTER)!.attrs.ver));
  assert.equal(vers.length, 3);
  assert.deepEqual(vers, [...vers].sort((a, b) => a - b));
  assert.equal(new Set(vers).size, 3);
  const current = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER, ver: String(vers[2]) })));
  assert.equal(current.getChild('query'), undefined, 'a client holding the last pushed version is up to date');
  // The user is never her own contact; the contacts' rosters are not changed (as ejabberd).
  assert.deepEqual(await roster('alice', 'localhost'), [
    'bob@localhost both none Workers',
    'carol@localhost both none Friends',
    'carol@localhost both none Wörkers',
    'zed@remote.example both none',
  ]);
  assert.deepEqual(await roster('bob', 'localhost'), []);
  // An absolute path inside the data directory is the same file.
  assert.equal(await call('push_roster', { file: join(parley.dataDir, file), user: 'bob', host: 'localhost' }), 0);
  assert.deepEqual((await roster('bob', 'localhost')).map((r) => r.split(' ')[0]), ['alice@localhost', 'carol@localhost', 'carol@localhost', 'zed@remote.example']);
});

test('push_roster: paths outside the data directory are refused, whatever the way out', async () => {
  writeFileSync(join(outside, 'secret.txt'), '[{"bob", "localhost", "G", "B"}].');
  mkdirSync(join(parley.dataDir, 'templates'), { recursive: true });
  symlinkSync(join(outside, 'secret.txt'), join(parley.dataDir, 'link-out.txt'));
  symlinkSync(outside, join(parley.dataDir, 'dir-out'));
  const refused = [
    '/etc/passwd',
    join(outside, 'secret.txt'),
    '../secret.txt',
    'templates/../../secret.txt',
    `${join(parley.dataDir, '..')}/x.txt`,
    'link-out.txt',
    'dir-out/secret.txt',
    join(parley.dataDir, 'link-out.txt'),
  ];
  for (const file of refused) {
    assert.equal(await call('push_roster', { file, user: 'carol', host: 'localhost' }, 403), `File is outside the data directory: ${file}`, file);
  }
  // Whether a file exists outside is not told either.
  assert.equal(await call('push_roster', { file: '/nonexistent/x', user: 'carol', host: 'localhost' }, 403), 'File is outside the data directory: /nonexistent/x');
  assert.deepEqual(await roster('carol', 'localhost'), [], 'nothing read from outside');
  // A link that stays inside is followed.
  symlinkSync(join(parley.dataDir, 'alice-roster.txt'), join(parley.dataDir, 'templates', 'link-in.txt'));
  assert.equal(await call('push_roster', { file: 'templates/link-in.txt', user: 'carol', host: 'localhost' }), 0);
  assert.deepEqual((await roster('carol', 'localhost')).map((r) => r.split(' ')[0]), ['alice@localhost', 'bob@localhost', 'zed@remote.example']);
});

test('push_roster: missing, unreadable, malformed and oversized files; unknown user or host; wrong types', async () => {
  await register('localhost', 'dan');
  const args = { user: 'dan', host: 'localhost' };
  const cases: [string, number, string | RegExp][] = [
    ['nope.txt', 404, 'No such file: nope.txt'],
    ['', 400, 'Empty file path'],
    ['templates', 400, 'Not a regular file: templates'],
    [dataFile('bad1.txt', '[{"bob", "localhost", "G", "B"}'), 400, 'Invalid roster file: line 1, column 32: expected , or ], found the end of the file'],
    [dataFile('bad2.txt', '[{"bob", "localhost", "G"}].'), 400, 'Invalid roster file: entry 1 is not a tuple {User, Host, Group, Nick}'],
    [dataFile('bad3.txt', '[{bob, localhost, g, b}].'), 400, 'Invalid roster file: line 1, column 3: expected a list, tuple, string or binary, found a name (an atom?)'],
    [dataFile('bad4.txt', '[{"b@d", "localhost", "G", "B"}].'), 400, 'Invalid roster file: entry 1: not a JID: b@d@localhost'],
    [dataFile('bad5.txt', '[{"bob", "localhost", "G", "\\x{0}"}].'), 400, /holds a character that XML does not allow \(U\+0000\)/],
    [dataFile('bad6.txt', Buffer.from([0x5b, 0xff, 0x5d, 0x2e])), 400, 'File bad6.txt is not UTF-8 text'],
    [dataFile('big.txt', `[${'{"bob", "localhost", "G", "B"},'.repeat(80)}{"x","y","z","w"}].`), 403, 'File big.txt is larger than limits.maxCommandFileSize (2048 bytes)'],
  ];
  for (const [file, status, message] of cases) {
    const body = await call('push_roster', { file, ...args }, status);
    if (typeof message === 'string') assert.equal(body, message, file);
    else assert.match(body, message, file);
  }
  assert.deepEqual(await roster('dan', 'localhost'), [], 'nothing changed by any of them');
  // A file of the data directory that is no template: refused without quoting it.
  const secret = await call('push_roster', { file: 'admin-password', ...args }, 400);
  assert.match(secret, /^Invalid roster file: line 1, column 1: expected a list, tuple, string or binary, found (a name \(an atom\?\)|a number|another character|[^\w\s])$/);
  const good = dataFile('good.txt', '[{"bob", "localhost", "G", "B"}].');
  assert.equal(await call('push_roster', { file: good, user: 'nobody', host: 'localhost' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await call('push_roster', { file: good, user: 'dan', host: 'nowhere.example' }, 404), 'Unknown host: nowhere.example');
  assert.match(await call('push_roster', { file: 12, ...args }, 400), /^Arg 12 is not in format/);
  assert.equal(await call('push_roster', { file: good, user: 'dan' }, 400), 'Request have missing argument: host');
});

test('push_roster beyond limits.maxRosterItems is refused whole', async () => {
  await register('localhost', 'erin');
  const entries = Array.from({ length: LIMIT + 1 }, (_, i) => `{"c${i}", "remote.example", "G", "C${i}"}`);
  const file = dataFile('many.txt', `[${entries.join(',\n')}].`);
  assert.equal(await call('push_roster', { file, user: 'erin', host: 'localhost' }, 403), 'Rosters would exceed limits.maxRosterItems (8): erin@localhost (9+); nothing was changed');
  assert.deepEqual(await roster('erin', 'localhost'), []);
  // Room for all but one: still refused whole, the roster as it was.
  await call('add_rosteritem', { localuser: 'erin', localhost: 'localhost', user: 'x', host: 'remote.example', nick: 'X', group: '', subs: 'none' });
  const eight = dataFile('eight.txt', `[${entries.slice(0, LIMIT).join(',\n')}].`);
  assert.equal(await call('push_roster', { file: eight, user: 'erin', host: 'localhost' }, 403), 'Rosters would exceed limits.maxRosterItems (8): erin@localhost (9); nothing was changed');
  assert.deepEqual(await roster('erin', 'localhost'), ['x@remote.example none none']);
  // Contacts already there do not count again.
  const seven = dataFile('seven.txt', `[${entries.slice(0, LIMIT - 1).join(',\n')}].`);
  assert.equal(await call('push_roster', { file: seven, user: 'erin', host: 'localhost' }), 0);
  assert.equal(await call('push_roster', { file: seven, user: 'erin', host: 'localhost' }), 0);
  assert.equal((await roster('erin', 'localhost')).length, LIMIT);
});

test('push_roster_all: every user of the file gets every other one; local users must exist', async () => {
  await register('localhost', 'fay', 'gus');
  await register('team.example', 'hal');
  const fay = await rosterClient('fay');
  const file = dataFile(
    'all.txt',
    '[{"fay", "localhost", "Workers", "Fay"},\n {"gus", "localhost", "Workers", "Gus"},\n {"hal", "team.example", "Bosses", "Hal"},\n {"out", "remote.example", "Outside", "Out"}].',
  );
  assert.equal(await call('push_roster_all', { file }), 0);
  const hal = pushedItem(await fay.waitFor(pushOf('hal@team.example', 'both')), 'hal@team.example');
  assert.equal(hal?.attrs.name, 'Hal');
  assert.deepEqual(groupsOf(hal), ['Bosses']);
  await fay.waitFor(pushOf('gus@localhost', 'both'));
  assert.deepEqual(await roster('fay', 'localhost'), ['gus@localhost both none Workers', 'hal@team.example both none Bosses', 'out@remote.example both none Outside']);
  assert.deepEqual(await roster('gus', 'localhost'), ['fay@localhost both none Workers', 'hal@team.example both none Bosses', 'out@remote.example both none Outside']);
  assert.deepEqual((await roster('hal', 'team.example')).map((r) => r.split(' ')[0]), ['fay@localhost', 'gus@localhost', 'out@remote.example']);

  // One local user that does not exist: nothing is changed for anyone.
  const missing = dataFile('missing.txt', '[{"gus", "localhost", "New", "Gus"},\n {"ghost", "localhost", "New", "Ghost"}].');
  assert.equal(await call('push_roster_all', { file: missing }, 404), 'User ghost@localhost does not exist');
  assert.deepEqual(await roster('gus', 'localhost'), ['fay@localhost both none Workers', 'hal@team.example both none Bosses', 'out@remote.example both none Outside']);
  assert.equal(await call('push_roster_all', { file: '../all.txt' }, 403), 'File is outside the data directory: ../all.txt');
  assert.equal(await call('push_roster_all', { file: 'bad2.txt' }, 400), 'Invalid roster file: entry 1 is not a tuple {User, Host, Group, Nick}');
  assert.match(await call('push_roster_all', { file: ['a', 1] }, 400), /is not in format/);
});

test('process_rosteritems: list by subscription, pending state and JID patterns (globs, SQL LIKE, any)', async () => {
  await register('pri.example', 'p1', 'p2', 'p3');
  const add = (localuser: string, user: string, host: string, subs: string) =>
    call('add_rosteritem', { localuser, localhost: 'pri.example', user, host, nick: '', group: '', subs });
  await add('p1', 'p2', 'pri.example', 'both');
  await add('p2', 'p1', 'pri.example', 'both');
  await add('p1', 'friend', 'icq.example.net', 'to');
  // A server JID (no user part), as a client adds one.
  const p1 = await rosterClient('p1', 'pri.example');
  await p1.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'icq.example.net' }))));
  await add('p2', 'x_y', 'other.org', 'from');
  // A pending request: p3 asks p1 (p3's item: ask out; p1's: a stored request, ask in).
  const p3 = await rosterClient('p3', 'pri.example');
  await p3.send(xml('presence', { type: 'subscribe', to: 'p1@pri.example' }));
  await p3.waitFor(pushOf('p1@pri.example', 'none'));
  await p1.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === 'p3@pri.example');
  const list = async (subs: string, asks: string, users: string, contacts: string) =>
    (await call('process_rosteritems', { action: 'list', subs, asks, users, contacts })).map((r: any) => `${r.user} ${r.contact}`).sort();
  // The request is stored on p1's side too (an item clients do not see).
  await eventually(async () => (await list('any', 'in', 'p1@pri.example', 'any')).length === 1, 3000, "p3's request stored");

  assert.deepEqual(await list('any', 'any', '*@pri.example', 'any'), [
    'p1@pri.example friend@icq.example.net',
    'p1@pri.example icq.example.net',
    'p1@pri.example p2@pri.example',
    'p1@pri.example p3@pri.example',
    'p2@pri.example p1@pri.example',
    'p2@pri.example x_y@other.org',
    'p3@pri.example p1@pri.example',
  ]);
  // The seed's example: server JIDs, or contacts whose server part contains icq.
  assert.deepEqual(await list('none:from:to', 'any', '*@pri.example', '*:*@*icq*'), ['p1@pri.example friend@icq.example.net', 'p1@pri.example icq.example.net']);
  assert.deepEqual(await list('both', 'any', 'p1@pri.example', 'any'), ['p1@pri.example p2@pri.example']);
  assert.deepEqual(await list('any', 'out', '*@pri.example', 'any'), ['p3@pri.example p1@pri.example']);
  assert.deepEqual(await list('any', 'in', '*@pri.example', 'any'), ['p1@pri.example p3@pri.example']);
  assert.deepEqual(await list('any', 'out:in', 'p[13]@pri.example', 'any'), ['p1@pri.example p3@pri.example', 'p3@pri.example p1@pri.example']);
  assert.deepEqual(await list('from', 'none', '?2@*', '*@!pri.example'), ['p2@pri.example x_y@other.org']);
  // The SQL form of the seed: % and _.
  assert.deepEqual(await list('to', 'any', '%@pri.example', '%@%icq%'), ['p1@pri.example friend@icq.example.net']);
  assert.deepEqual(await list('any', 'any', '%@pri.example', 'x_y@%'), ['p2@pri.example x_y@other.org']);
  assert.deepEqual(await list('any', 'any', 'nobody@pri.example', 'any'), []);

  const bad: [Record<string, unknown>, string | RegExp][] = [
    [{ action: 'purge' }, 'Invalid action: purge'],
    [{ subs: 'none:sometimes' }, 'Invalid subs: sometimes'],
    [{ asks: 'both' }, 'Invalid asks: both'],
    [{ asks: '' }, 'Empty asks: give any, or none, out, in separated by :'],
    [{ users: '' }, 'Empty users: give any, or JID patterns separated by :'],
    [{ contacts: 'a[b@c' }, 'Invalid JID pattern a[b@c: [ without ]'],
    [{ users: 'user@' }, 'Invalid JID pattern user@: no server part'],
    [{ action: 1 }, /^Arg 1 is not in format/],
  ];
  for (const [over, message] of bad) {
    const body = await call('process_rosteritems', { action: 'list', subs: 'any', asks: 'any', users: 'any', contacts: 'any', ...over }, 400);
    if (typeof message === 'string') assert.equal(body, message);
    else assert.match(body, message);
  }
});

test('process_rosteritems delete: removal pushed to the owner, subscriptions cancelled both ways', async () => {
  await register('pri.example', 'q1', 'q2');
  for (const [a, b] of [['q1', 'q2'], ['q2', 'q1']]) {
    await call('add_rosteritem', { localuser: a, localhost: 'pri.example', user: b, host: 'pri.example', nick: '', group: '', subs: 'both' });
  }
  await call('add_rosteritem', { localuser: 'q1', localhost: 'pri.example', user: 'gw', host: 'icq.example.net', nick: '', group: '', subs: 'none' });
  const q1 = await rosterClient('q1', 'pri.example');
  const q2 = await rosterClient('q2', 'pri.example');
  const deleted = await call('process_rosteritems', { action: 'delete', subs: 'both', asks: 'any', users: 'q1@pri.example', contacts: 'q*@*' });
  assert.deepEqual(deleted, [{ user: 'q1@pri.example', contact: 'q2@pri.example' }]);
  await q1.waitFor(pushOf('q2@pri.example', 'remove'));
  // q2 is told its subscriptions to and from q1 are gone (RFC 6121 §2.5.2): its item is now none.
  await q2.waitFor(pushOf('q1@pri.example', 'none'));
  await eventually(async () => (await roster('q2', 'pri.example')).join() === 'q1@pri.example none none', 3000, "q2's item cancelled");
  assert.deepEqual(await roster('q1', 'pri.example'), ['gw@icq.example.net none none']);
  // Nothing left to delete: an empty answer.
  assert.deepEqual(await call('process_rosteritems', { action: 'delete', subs: 'both', asks: 'any', users: 'q1@pri.example', contacts: 'q*@*' }), []);
});

test('parley ctl: push_alltoall and process_rosteritems', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'parley-ctl-rbulk-'));
  try {
    const config = join(workDir, 'parley.yml');
    writeFileSync(config, `hosts: [localhost, ctl.example]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
    const ctl = (...args: string[]) =>
      new Promise<{ stdout: string; code: number | null }>((done, fail) => {
        const env = { ...process.env };
        delete env.PARLEY_CONFIG;
        const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', config, ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.on('error', fail);
        child.on('close', (code) => done({ stdout, code }));
      });
    await register('ctl.example', 'k1', 'k2');
    assert.deepEqual(await ctl('push_alltoall', 'ctl.example', 'Crew'), { stdout: '', code: 0 });
    assert.deepEqual(await ctl('process_rosteritems', 'list', 'both', 'none', '*@ctl.example', 'any'), {
      stdout: 'k1@ctl.example\tk2@ctl.example\nk2@ctl.example\tk1@ctl.example\n',
      code: 0,
    });
    assert.deepEqual(await ctl('push_roster', '/etc/passwd', 'k1', 'ctl.example'), { stdout: 'Error: not_allowed: File is outside the data directory: /etc/passwd\n', code: 1 });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
