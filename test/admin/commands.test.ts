// Every ejabberd admin command over real HTTP: its answer, and its effect on the running server,
// observed through real XMPP clients and other commands (docs/reference/ejabberd-observed.md §1.8, §2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, bodyOf, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

let parley: Parley;
let service: string;
const clients: TestClient[] = [];
const T0 = Date.now();

const SESSION_KEYS = ['connection', 'ip', 'port', 'priority', 'node', 'uptime', 'status', 'resource', 'statustext'];

/** Calls a command as admin and checks the HTTP status; returns the parsed body. */
async function ok(command: string, args: Record<string, unknown> = {}, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

async function online(
  username: string,
  password: string,
  resource: string,
  opts: { priority?: number; show?: string; status?: string; domain?: string } = {},
) {
  const c = await connect({ service, username, password, resource, priority: opts.priority, domain: opts.domain });
  clients.push(c);
  if (opts.show || opts.status) {
    const p = xml('presence', {});
    if (opts.show) p.append(xml('show', {}, opts.show));
    if (opts.status) p.append(xml('status', {}, opts.status));
    if (opts.priority !== undefined) p.append(xml('priority', {}, String(opts.priority)));
    await c.send(p);
  }
  return c;
}

/** Stream errors a client receives (the server closing its stream). */
function streamErrors(c: TestClient): { condition: string; text: string }[] {
  const errors: { condition: string; text: string }[] = [];
  c.xmpp.on('error', (err: any) => {
    if (err?.name === 'StreamError') errors.push({ condition: err.condition, text: err.text });
  });
  return errors;
}

async function loginFails(username: string, password: string): Promise<void> {
  await assert.rejects(connect({ service, username, password, resource: 'x' }), (err: any) => {
    assert.match(String(err?.condition ?? err?.message), /not-authorized/);
    return true;
  });
}

const isPresenceFrom = (from: string, pred: (p: Element) => boolean = () => true) => (el: Element) =>
  el.is('presence') && el.attrs.from === from && pred(el);

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'] });
  service = `xmpp://127.0.0.1:${parley.ports.c2s}`;
});

after(async () => {
  for (const c of clients) await c.stop();
  await parley?.close();
});

test('register: the new account logs in over XMPP; conflict, unknown host and bad input are refused', async () => {
  for (const [user, host, password] of [
    ['alice', 'localhost', 'alicepw'],
    ['bob', 'localhost', 'bobpw'],
    ['carol', 'localhost', 'carolpw'],
    ['zed', 'other.test', 'zedpw'],
  ]) {
    assert.equal(await ok('register', { user, host, password }), `User ${user}@${host} successfully registered`);
  }
  // Names are prepared (nodeprep): "Dave" is dave.
  assert.equal(await ok('register', { user: 'Dave', host: 'localhost', password: 'davepw' }), 'User dave@localhost successfully registered');
  const dave = await connect({ service, username: 'dave', password: 'davepw', resource: 'first' });
  assert.equal(dave.jid, 'dave@localhost/first');
  await dave.stop();
  const zed = await connect({ service, domain: 'other.test', username: 'zed', password: 'zedpw', resource: 'z' });
  assert.equal(zed.jid, 'zed@other.test/z');
  await zed.stop();

  assert.deepEqual(await ok('register', { user: 'alice', host: 'localhost', password: 'x' }, 409), {
    status: 'error', code: 10090, message: 'User alice@localhost already registered',
  });
  assert.deepEqual(await ok('register', { user: 'DAVE', host: 'localhost', password: 'x' }, 409), {
    status: 'error', code: 10090, message: 'User dave@localhost already registered',
  });
  assert.deepEqual(await ok('register', { user: 'zed', host: 'example.org', password: 'x' }, 404), {
    status: 'error', code: 10001, message: 'Unknown host: example.org',
  });
  const bad = await ok('register', { user: 'a b@c', host: 'localhost', password: 'x' }, 400);
  assert.equal(bad.status, 'error');
  assert.equal(bad.code, 10001);
  assert.match(bad.message, /^Invalid user name/);
  assert.deepEqual(await ok('register', { user: 'emptypw', host: 'localhost', password: '' }, 400), {
    status: 'error', code: 10001, message: 'Empty password',
  });
  const empty = await ok('register', { user: '', host: 'localhost', password: 'x' }, 400);
  assert.equal(empty.code, 10001);
  // The conflict did not change alice's password; the refused ones created nothing.
  assert.equal(await ok('check_password', { user: 'alice', host: 'localhost', password: 'alicepw' }), 0);
  assert.equal(await ok('check_account', { user: 'emptypw', host: 'localhost' }), 1);
  assert.deepEqual(await ok('registered_users', { host: 'localhost' }), ['admin', 'alice', 'bob', 'carol', 'dave']);
});

test('registered_vhosts and registered_users: per host, sorted; unknown host refused', async () => {
  assert.deepEqual(await ok('registered_vhosts'), ['localhost', 'other.test']);
  assert.deepEqual(await ok('registered_users', { host: 'localhost' }), ['admin', 'alice', 'bob', 'carol', 'dave']);
  assert.deepEqual(await ok('registered_users', { host: 'other.test' }), ['zed']);
  assert.deepEqual(await ok('registered_users', { host: 'LOCALHOST' }), ['admin', 'alice', 'bob', 'carol', 'dave'], 'host is nameprepped');
  assert.equal(await ok('registered_users', { host: 'example.org' }, 404), 'Unknown host: example.org');
});

test('check_account and check_password: 0 when true, 1 when not (unknown user and host included)', async () => {
  assert.equal(await ok('check_account', { user: 'bob', host: 'localhost' }), 0);
  assert.equal(await ok('check_account', { user: 'BOB', host: 'localhost' }), 0);
  assert.equal(await ok('check_account', { user: 'bob', host: 'other.test' }), 1, 'accounts are per host');
  assert.equal(await ok('check_account', { user: 'nobody', host: 'localhost' }), 1);
  assert.equal(await ok('check_account', { user: 'bob', host: 'example.org' }), 1);
  assert.equal(await ok('check_password', { user: 'bob', host: 'localhost', password: 'bobpw' }), 0);
  assert.equal(await ok('check_password', { user: 'bob', host: 'localhost', password: 'BOBPW' }), 1);
  assert.equal(await ok('check_password', { user: 'bob', host: 'localhost', password: '' }), 1);
  assert.equal(await ok('check_password', { user: 'nobody', host: 'localhost', password: 'x' }), 1);
  assert.equal(await ok('check_password', { user: 'bob', host: 'example.org', password: 'bobpw' }), 1);
  assert.equal(await ok('check_account', { host: 'localhost' }, 400), 'Request have missing argument: user');
});

test('change_password: the old password stops working (API and XMPP), the new one works', async () => {
  assert.equal(await ok('change_password', { user: 'dave', host: 'localhost', newpass: 'davepw2' }), 0);
  assert.equal(await ok('check_password', { user: 'dave', host: 'localhost', password: 'davepw' }), 1);
  assert.equal(await ok('check_password', { user: 'dave', host: 'localhost', password: 'davepw2' }), 0);
  await loginFails('dave', 'davepw');
  const c = await connect({ service, username: 'dave', password: 'davepw2', resource: 'again', mechanism: 'SCRAM-SHA-1' }); // the SCRAM credentials were recomputed
  assert.equal(c.jid, 'dave@localhost/again');
  await c.stop();
  // The new password also authenticates the HTTP API (dave is no admin: 403, not 401).
  const r = await parley.api('registered_vhosts', {}, 'dave@localhost:davepw2');
  assert.equal(r.status, 403);
  const old = await parley.api('registered_vhosts', {}, 'dave@localhost:davepw');
  assert.equal(old.status, 401);

  assert.equal(await ok('change_password', { user: 'nobody', host: 'localhost', newpass: 'x' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await ok('change_password', { user: 'dave', host: 'example.org', newpass: 'x' }, 404), 'Unknown host: example.org');
  assert.equal(await ok('change_password', { user: 'dave', host: 'localhost', newpass: '' }, 400), 'Empty password');
  assert.equal(await ok('check_password', { user: 'dave', host: 'localhost', password: 'davepw2' }), 0, 'unchanged by the failures');
  assert.equal(await ok('change_password', { user: 'dave', host: 'localhost', newpass: 7 }, 400), 'Arg 7 is not in format binary');
});

let alicePhone: TestClient;
let aliceLaptop: TestClient;
let bobDesk: TestClient;

test('sessions: connected_users*, user_resources, user_sessions_info, num_resources, resource_num, get_presence', async () => {
  assert.deepEqual(await ok('connected_users'), []);
  assert.deepEqual(await ok('connected_users_info'), []);
  assert.deepEqual(await ok('connected_users_number'), { num_sessions: 0 });
  alicePhone = await online('alice', 'alicepw', 'phone', { priority: 10, show: 'dnd', status: 'On phone' });
  bobDesk = await online('bob', 'bobpw', 'desk');
  aliceLaptop = await online('alice', 'alicepw', 'laptop', { priority: 5, show: 'away', status: 'On laptop' });
  const zed = await online('zed', 'zedpw', 'z', { domain: 'other.test' });
  await eventually(async () => (await ok('get_presence', { user: 'alice', host: 'localhost' })).status === 'On phone', 3000, 'presence set');
  await eventually(async () => (await ok('user_sessions_info', { user: 'alice', host: 'localhost' })).every((s: any) => s.statustext), 3000, 'statuses');

  assert.deepEqual(await ok('connected_users'), ['alice@localhost/laptop', 'alice@localhost/phone', 'bob@localhost/desk', 'zed@other.test/z']);
  assert.deepEqual(await ok('connected_users_number'), { num_sessions: 4 });
  assert.deepEqual((await ok('connected_users_vhost', { host: 'localhost' })).sort(), ['alice@localhost/laptop', 'alice@localhost/phone', 'bob@localhost/desk']);
  assert.deepEqual(await ok('connected_users_vhost', { host: 'other.test' }), ['zed@other.test/z']);
  assert.deepEqual(await ok('connected_users_vhost', { host: 'example.org' }), []);

  const info = await ok('connected_users_info');
  assert.equal(info.length, 4);
  const ports = new Map([alicePhone, aliceLaptop, bobDesk, zed].map((c) => [c.jid, c.xmpp.socket?.socket?.localPort]));
  for (const s of info) {
    assert.deepEqual(Object.keys(s), ['jid', ...SESSION_KEYS], 'ejabberd field order');
    assert.equal(s.connection, 'c2s');
    assert.equal(s.ip, '127.0.0.1');
    assert.equal(s.port, ports.get(s.jid), `${s.jid}: port is the client's own`);
    assert.equal(s.node, 'parley@localhost');
    assert.ok(Number.isInteger(s.uptime) && s.uptime >= 0 && s.uptime <= (Date.now() - T0) / 1000 + 1);
    assert.equal(s.jid.split('/')[1], s.resource);
  }
  const byJid = Object.fromEntries(info.map((s: any) => [s.jid, s]));
  assert.deepEqual(
    ['priority', 'status', 'statustext'].map((k) => byJid['alice@localhost/phone'][k]),
    [10, 'dnd', 'On phone'],
  );
  assert.deepEqual(['priority', 'status', 'statustext'].map((k) => byJid['alice@localhost/laptop'][k]), [5, 'away', 'On laptop']);
  assert.deepEqual(['priority', 'status', 'statustext'].map((k) => byJid['bob@localhost/desk'][k]), [0, 'available', '']);

  const mine = await ok('user_sessions_info', { user: 'alice', host: 'localhost' });
  assert.equal(mine.length, 2);
  for (const s of mine) assert.deepEqual(Object.keys(s), SESSION_KEYS, 'no jid field');
  assert.deepEqual(mine.map((s: any) => s.resource).sort(), ['laptop', 'phone']);
  assert.deepEqual(await ok('user_sessions_info', { user: 'carol', host: 'localhost' }), []);
  assert.deepEqual(await ok('user_sessions_info', { user: 'nobody', host: 'localhost' }), []);

  // user_resources is sorted whatever the order of connection (phone connected before laptop).
  assert.deepEqual(await ok('user_resources', { user: 'alice', host: 'localhost' }), ['laptop', 'phone']);
  assert.deepEqual(await ok('user_resources', { user: 'zed', host: 'other.test' }), ['z']);
  assert.deepEqual(await ok('user_resources', { user: 'zed', host: 'localhost' }), []);
  assert.deepEqual(await ok('user_resources', { user: 'nobody', host: 'example.org' }), []);

  assert.deepEqual(await ok('num_resources', { user: 'alice', host: 'localhost' }), { resources: 2 });
  assert.deepEqual(await ok('num_resources', { user: 'bob', host: 'localhost' }), { resources: 1 });
  assert.deepEqual(await ok('num_resources', { user: 'carol', host: 'localhost' }), { resources: 0 });
  assert.deepEqual(await ok('num_resources', { user: 'nobody', host: 'example.org' }), { resources: 0 });

  // resource_num counts from 1 (laptop is both the newest session and the first by name).
  const r1 = (await ok('resource_num', { user: 'alice', host: 'localhost', num: 1 })).resource;
  const r2 = (await ok('resource_num', { user: 'alice', host: 'localhost', num: 2 })).resource;
  assert.deepEqual([r1, r2].sort(), ['laptop', 'phone']);
  assert.equal(r1, 'laptop');
  assert.deepEqual(await ok('resource_num', { user: 'bob', host: 'localhost', num: 1 }), { resource: 'desk' });
  for (const num of [0, 3, -1]) {
    assert.equal(await ok('resource_num', { user: 'alice', host: 'localhost', num }, 400), `Wrong resource number: ${num}`);
  }
  assert.equal(await ok('resource_num', { user: 'carol', host: 'localhost', num: 1 }, 400), 'Wrong resource number: 1', 'offline user');
  assert.equal(await ok('resource_num', { user: 'alice', host: 'localhost', num: '1' }, 400), 'Arg <<49>> is not in format integer');

  // get_presence: the available resource with the highest priority.
  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost/phone', show: 'dnd', status: 'On phone' });
  assert.deepEqual(await ok('get_presence', { user: 'bob', host: 'localhost' }), { jid: 'bob@localhost/desk', show: 'available', status: '' });
  assert.deepEqual(await ok('get_presence', { user: 'carol', host: 'localhost' }), { jid: 'carol@localhost', show: 'unavailable', status: '' });
  assert.deepEqual(await ok('get_presence', { user: 'nobody', server: 'localhost' }), { jid: 'nobody@localhost', show: 'unavailable', status: '' }, 'legacy name server');
  assert.equal(await ok('get_presence', { user: 'alice' }, 400), 'Request have missing argument: host');
  assert.equal(await ok('get_presence', { user: 'alice', host: 'localhost', server: 'localhost' }, 400), 'Request have duplicate argument: host');

  // Statistics follow the sessions; the seed-002 style stats_host call.
  assert.deepEqual(await ok('stats', { name: 'onlineusers' }), { stat: 4 });
  assert.deepEqual(await ok('stats', { name: 'onlineusersnode' }), { stat: 4 });
  assert.deepEqual(await ok('stats_host', { name: 'onlineusers', host: 'localhost' }), { stat: 3 });
  assert.deepEqual(await ok('stats_host', { name: 'onlineusers', host: 'other.test' }), { stat: 1 });

  await zed.stop();
  await eventually(async () => (await ok('connected_users_number')).num_sessions === 3, 3000, 'zed gone');
  assert.deepEqual(await ok('connected_users_vhost', { host: 'other.test' }), []);
  assert.deepEqual(await ok('stats_host', { name: 'onlineusers', host: 'other.test' }), { stat: 0 });
});

test('add_rosteritem / get_roster / delete_rosteritem: roster pushes reach the connected client', async () => {
  // Only a resource that requested its roster gets pushes (RFC 6121 §2.1.6).
  const initial = await bobDesk.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  assert.equal(initial.getChild('query', 'jabber:iq:roster')!.getChildren('item').length, 0);
  assert.deepEqual(await ok('get_roster', { user: 'bob', server: 'localhost' }), []);

  const pushFor = (jid: string, pred: (item: Element) => boolean = () => true) => (el: Element) => {
    const item = el.is('iq') && el.attrs.type === 'set' ? el.getChild('query', 'jabber:iq:roster')?.getChild('item') : undefined;
    return item !== undefined && item.attrs.jid === jid && pred(item);
  };

  assert.equal(
    await ok('add_rosteritem', { localuser: 'bob', localhost: 'localhost', user: 'carol', host: 'localhost', nick: 'Carol', group: 'g1;g2', subs: 'to' }),
    0,
  );
  const push = await bobDesk.waitFor(pushFor('carol@localhost'), 3000, 'roster push for carol');
  const item = push.getChild('query', 'jabber:iq:roster')!.getChild('item')!;
  assert.equal(item.attrs.subscription, 'to');
  assert.equal(item.attrs.name, 'Carol');
  assert.deepEqual(item.getChildren('group').map((g: Element) => g.text()).sort(), ['g1', 'g2']);

  // A remote contact with no group, via the legacy names localserver/server.
  assert.equal(
    await ok('add_rosteritem', { localuser: 'bob', localserver: 'localhost', user: 'dave', server: 'example.org', nick: '', group: '', subs: 'none' }),
    0,
  );
  await bobDesk.waitFor(pushFor('dave@example.org'), 3000, 'roster push for dave');

  const roster = await ok('get_roster', { user: 'bob', server: 'localhost' });
  const sortRows = (rows: any[]) => [...rows].sort((a, b) => (a.jid + a.group < b.jid + b.group ? -1 : 1));
  assert.deepEqual(sortRows(roster), [
    { jid: 'carol@localhost', nick: 'Carol', subscription: 'to', ask: 'none', group: 'g1' },
    { jid: 'carol@localhost', nick: 'Carol', subscription: 'to', ask: 'none', group: 'g2' },
    { jid: 'dave@example.org', nick: '', subscription: 'none', ask: 'none', group: '' },
  ]);
  for (const row of roster) assert.deepEqual(Object.keys(row), ['jid', 'nick', 'subscription', 'ask', 'group']);
  // The same roster under the 23.01 argument name host.
  assert.deepEqual(sortRows(await ok('get_roster', { user: 'bob', host: 'localhost' })), sortRows(roster));
  // The client's own roster query agrees.
  const viaXmpp = await bobDesk.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  assert.deepEqual(viaXmpp.getChild('query', 'jabber:iq:roster')!.getChildren('item').map((i: Element) => i.attrs.jid).sort(), ['carol@localhost', 'dave@example.org']);

  // Changing an item replaces its groups.
  assert.equal(await ok('add_rosteritem', { localuser: 'bob', localhost: 'localhost', user: 'carol', host: 'localhost', nick: 'C', group: 'g3', subs: 'both' }), 0);
  await bobDesk.waitFor(pushFor('carol@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'second push for carol');
  assert.deepEqual(
    (await ok('get_roster', { user: 'bob', host: 'localhost' })).filter((r: any) => r.jid === 'carol@localhost'),
    [{ jid: 'carol@localhost', nick: 'C', subscription: 'both', ask: 'none', group: 'g3' }],
  );

  assert.equal(await ok('delete_rosteritem', { localuser: 'bob', localhost: 'localhost', user: 'dave', host: 'example.org' }), 0);
  await bobDesk.waitFor(pushFor('dave@example.org', (i) => i.attrs.subscription === 'remove'), 3000, 'removal push');
  assert.deepEqual((await ok('get_roster', { user: 'bob', host: 'localhost' })).map((r: any) => r.jid), ['carol@localhost']);

  // Errors.
  const add = { localuser: 'bob', localhost: 'localhost', user: 'erin', host: 'localhost', nick: 'E', group: '', subs: 'both' };
  assert.equal(await ok('add_rosteritem', { ...add, subs: 'bogus' }, 400), 'Invalid subscription: bogus');
  assert.equal(await ok('add_rosteritem', { ...add, localuser: 'nobody' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await ok('add_rosteritem', { ...add, localhost: 'example.org' }, 404), 'Unknown host: example.org');
  assert.equal(await ok('add_rosteritem', { localuser: 'bob' }, 400), 'Request have missing argument: localhost');
  const { nick: _nick, ...noNick } = add;
  assert.equal(await ok('add_rosteritem', noNick, 400), 'Request have missing argument: nick');
  assert.equal(await ok('add_rosteritem', { ...add, localserver: 'localhost' }, 400), 'Request have duplicate argument: localhost');
  assert.equal(await ok('delete_rosteritem', { localuser: 'nobody', localhost: 'localhost', user: 'carol', host: 'localhost' }, 404), 'User nobody@localhost does not exist');
  // (ejabberd 23.01 answers 0 here; Parley says what is wrong.)
  assert.equal(
    await ok('delete_rosteritem', { localuser: 'bob', localhost: 'localhost', user: 'zzz', host: 'localhost' }, 404),
    'zzz@localhost is not in the roster of bob@localhost',
  );
  assert.equal(await ok('get_roster', { user: 'nobody', host: 'localhost' }, 404), 'User nobody@localhost does not exist');
  assert.deepEqual((await ok('get_roster', { user: 'bob', host: 'localhost' })).map((r: any) => r.jid), ['carol@localhost'], 'no erin after the errors');
});

test('set_presence changes what get_presence and the session lists report, and the contact receives it', async () => {
  // alice and bob see each other's presence.
  for (const [localuser, user] of [['alice', 'bob'], ['bob', 'alice']]) {
    assert.equal(await ok('add_rosteritem', { localuser, localhost: 'localhost', user, host: 'localhost', nick: user, group: '', subs: 'both' }), 0);
  }
  const seen = bobDesk.received.length;
  const next = (pred: (el: Element) => boolean, what: string) =>
    eventually(() => bobDesk.received.slice(seen).find(pred), 3000, what);

  const args = { user: 'alice', host: 'localhost', resource: 'laptop', type: 'available', show: 'xa', status: 'Gone', priority: '20' };
  assert.equal(await ok('set_presence', args), 0);
  const p = await next(isPresenceFrom('alice@localhost/laptop', (el) => el.getChildText('show') === 'xa'), "bob receives alice's presence");
  assert.equal(p.attrs.type, undefined);
  assert.equal(p.getChildText('status'), 'Gone');
  assert.equal(p.getChildText('priority'), '20');
  // alice's other resource learns it too.
  await alicePhone.waitFor(isPresenceFrom('alice@localhost/laptop', (el) => el.getChildText('show') === 'xa'), 3000, 'own resource');

  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost/laptop', show: 'xa', status: 'Gone' });
  const laptop = (await ok('user_sessions_info', { user: 'alice', host: 'localhost' })).find((s: any) => s.resource === 'laptop');
  assert.deepEqual([laptop.priority, laptop.status, laptop.statustext], [20, 'xa', 'Gone']);
  const row = (await ok('connected_users_info')).find((s: any) => s.jid === 'alice@localhost/laptop');
  assert.deepEqual([row.priority, row.status, row.statustext], [20, 'xa', 'Gone']);

  // Priority as a negative string; no show.
  assert.equal(await ok('set_presence', { ...args, resource: 'phone', show: '', status: 'Low', priority: '-1' }), 0);
  await next(isPresenceFrom('alice@localhost/phone', (el) => el.getChildText('status') === 'Low'), 'phone presence');
  const phone = (await ok('user_sessions_info', { user: 'alice', host: 'localhost' })).find((s: any) => s.resource === 'phone');
  assert.deepEqual([phone.priority, phone.status, phone.statustext], [-1, 'available', 'Low']);

  // unavailable: the session stays connected but is no longer a candidate for get_presence.
  assert.equal(await ok('set_presence', { ...args, type: 'unavailable', show: '', status: 'brb', priority: '0' }), 0);
  await next(isPresenceFrom('alice@localhost/laptop', (el) => el.attrs.type === 'unavailable'), 'unavailable presence');
  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost/phone', show: 'available', status: 'Low' });
  assert.deepEqual(await ok('user_resources', { user: 'alice', host: 'localhost' }), ['laptop', 'phone']);
  assert.equal((await ok('user_sessions_info', { user: 'alice', host: 'localhost' })).find((s: any) => s.resource === 'laptop').status, 'unavailable');

  // Errors: none of them changes anything.
  assert.equal(await ok('set_presence', { ...args, priority: 20 }, 400), 'Arg 20 is not in format binary');
  assert.equal(await ok('set_presence', { ...args, user: 'carol', resource: 'nores' }, 404), 'User session not found: carol@localhost/nores');
  assert.equal(await ok('set_presence', { ...args, show: 'bogus' }, 400), 'Invalid show: bogus');
  assert.equal(await ok('set_presence', { ...args, priority: 'high' }, 400), 'Invalid priority: high');
  assert.equal(await ok('set_presence', { ...args, priority: '128' }, 400), 'Invalid priority: 128');
  assert.equal(await ok('set_presence', { ...args, host: 'example.org' }, 404), 'Unknown host: example.org');
  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost/phone', show: 'available', status: 'Low' });

  // Back to available with the highest priority.
  assert.equal(await ok('set_presence', args), 0);
  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost/laptop', show: 'xa', status: 'Gone' });
});

test('send_message: a headline reaches the connected client; a chat to an offline user is stored', async () => {
  assert.equal(
    await ok('send_message', { type: 'headline', from: 'admin@localhost', to: 'alice@localhost/laptop', subject: 'Subj', body: 'news' }),
    0,
  );
  const m = await aliceLaptop.waitFor((el) => el.is('message') && bodyOf(el) === 'news', 3000, 'headline');
  assert.equal(m.attrs.type, 'headline');
  assert.equal(m.attrs.from, 'admin@localhost');
  assert.equal(m.getChildText('subject'), 'Subj');

  assert.equal(await ok('send_message', { type: 'chat', from: 'admin@localhost', to: 'bob@localhost', subject: '', body: 'hello bob' }), 0);
  const chat = await bobDesk.waitFor((el) => el.is('message') && bodyOf(el) === 'hello bob', 3000, 'chat to bare JID');
  assert.equal(chat.attrs.type, 'chat');
  assert.equal(chat.getChild('subject'), undefined, 'no subject element for an empty subject');

  const count = async (user: string) => (await ok('get_offline_count', { user, server: 'localhost' })).value;
  assert.equal(await count('carol'), 0);
  assert.equal(await ok('send_message', { type: 'chat', from: 'bob@localhost', to: 'carol@localhost', subject: '', body: 'offline 1' }), 0);
  assert.equal(await ok('send_message', { type: 'normal', from: 'admin@localhost', to: 'carol@localhost', subject: 'S', body: 'offline 2' }), 0);
  await eventually(async () => (await count('carol')) === 2, 3000, 'two offline messages');
  assert.deepEqual(await ok('get_offline_count', { user: 'carol', host: 'localhost' }), { value: 2 }, 'host alias');

  assert.equal(await ok('send_message', { type: 'bogus', from: 'admin@localhost', to: 'carol@localhost', subject: '', body: 'x' }, 400), 'Invalid message type: bogus');
  assert.equal(await ok('send_message', { type: 'chat', from: 'admin@localhost', to: '@@bad', subject: '', body: 'x' }, 400), 'Invalid to JID: @@bad');
  assert.equal(await ok('send_message', { type: 'chat', from: '@@', to: 'carol@localhost', subject: '', body: 'x' }, 400), 'Invalid from JID: @@');
  assert.equal(await ok('send_message', { type: 'chat', from: 'admin@localhost', to: 'carol@localhost', body: 'x' }, 400), 'Request have missing argument: subject');
  assert.equal(await count('carol'), 2, 'the refused messages were not stored');
  assert.deepEqual(await ok('get_offline_count', { user: 'nobody', server: 'localhost' }), { value: 0 });
  assert.deepEqual(await ok('get_offline_count', { user: 'carol', server: 'example.org' }), { value: 0 });
});

test('send_stanza delivers a raw stanza; malformed XML and non-stanzas are refused', async () => {
  const stanza = '<message type="chat" id="s1"><body>via send_stanza</body><x xmlns="urn:example:ext" attr="value"/></message>';
  assert.equal(await ok('send_stanza', { from: 'admin@localhost', to: 'bob@localhost/desk', stanza }), 0);
  const m = await bobDesk.waitFor((el) => el.is('message') && bodyOf(el) === 'via send_stanza', 3000, 'raw stanza');
  assert.equal(m.attrs.from, 'admin@localhost');
  assert.equal(m.attrs.to, 'bob@localhost/desk');
  assert.equal(m.attrs.id, 's1');
  assert.equal(m.getChild('x', 'urn:example:ext')?.attrs.attr, 'value', 'extension kept');

  // To an offline account: offline storage.
  const before = (await ok('get_offline_count', { user: 'carol', server: 'localhost' })).value;
  assert.equal(await ok('send_stanza', { from: 'bob@localhost', to: 'carol@localhost', stanza: '<message><body>stanza offline</body></message>' }), 0);
  await eventually(async () => (await ok('get_offline_count', { user: 'carol', server: 'localhost' })).value === before + 1, 3000, 'stored');

  const malformed = await ok('send_stanza', { from: 'admin@localhost', to: 'bob@localhost', stanza: '<message><body>x</mess' }, 400);
  assert.match(malformed, /^Invalid stanza/);
  assert.match(await ok('send_stanza', { from: 'admin@localhost', to: 'bob@localhost', stanza: '<message' }, 400), /^Invalid stanza/);
  assert.equal(await ok('send_stanza', { from: 'admin@localhost', to: 'bob@localhost', stanza: '<foo/>' }, 400), 'Not a stanza: <foo/>');
  assert.equal(await ok('send_stanza', { from: '@@', to: 'bob@localhost', stanza: '<message/>' }, 400), 'Invalid from JID: @@');
  await bobDesk.sync(); // a delivery would have been written before the refusals were answered
  assert.equal(bobDesk.received.filter((el) => el.is('message') && bodyOf(el) === 'x').length, 0, 'nothing delivered');
});

test('send_stanza_c2s makes the named session send the stanza, as if its client had', async () => {
  const stanza = '<message to="alice@localhost/phone" type="chat"><body>via c2s</body></message>';
  assert.equal(await ok('send_stanza_c2s', { user: 'bob', host: 'localhost', resource: 'desk', stanza }), 0);
  const m = await alicePhone.waitFor((el) => el.is('message') && bodyOf(el) === 'via c2s', 3000, 'c2s stanza');
  assert.equal(m.attrs.from, 'bob@localhost/desk', 'stamped with the session JID');
  assert.equal(m.attrs.type, 'chat');

  assert.equal(
    await ok('send_stanza_c2s', { user: 'carol', host: 'localhost', resource: 'r', stanza: '<message><body>x</body></message>' }, 404),
    'User session not found: carol@localhost/r',
  );
  assert.match(await ok('send_stanza_c2s', { user: 'bob', host: 'localhost', resource: 'desk', stanza: '<message' }, 400), /^Invalid stanza/);
  assert.equal(await ok('send_stanza_c2s', { user: 'bob', host: 'localhost', resource: 'desk', stanza: '<foo/>' }, 400), 'Not a stanza: <foo/>');
});

test('kick_session closes one session with a conflict stream error; kick_user closes all with policy-violation', async () => {
  const laptopErrors = streamErrors(aliceLaptop);
  const phoneErrors = streamErrors(alicePhone);
  assert.equal(await ok('kick_session', { user: 'alice', host: 'localhost', resource: 'laptop', reason: 'Kicked by test' }), 0);
  await eventually(() => laptopErrors.length > 0, 3000, 'laptop stream error');
  assert.deepEqual(laptopErrors[0], { condition: 'conflict', text: 'Kicked by test' });
  await eventually(async () => !(await ok('connected_users')).includes('alice@localhost/laptop'), 3000, 'laptop gone');
  assert.deepEqual(await ok('connected_users'), ['alice@localhost/phone', 'bob@localhost/desk']);
  assert.deepEqual(await ok('user_resources', { user: 'alice', host: 'localhost' }), ['phone']);
  assert.equal(phoneErrors.length, 0, 'the other session is untouched');
  // bob, a contact, learns that the laptop went away.
  await bobDesk.waitFor(isPresenceFrom('alice@localhost/laptop', (el) => el.attrs.type === 'unavailable'), 3000, 'unavailable');

  // No such session: rescode failure (ejabberd 23.01 answers 0 here).
  assert.equal(await ok('kick_session', { user: 'alice', host: 'localhost', resource: 'nores', reason: 'x' }), 1);
  assert.deepEqual(await ok('user_resources', { user: 'alice', host: 'localhost' }), ['phone']);

  // A second session for alice, then kick_user.
  const tablet = await online('alice', 'alicepw', 'tablet');
  const tabletErrors = streamErrors(tablet);
  assert.deepEqual(await ok('num_resources', { user: 'alice', host: 'localhost' }), { resources: 2 });
  assert.deepEqual(await ok('kick_user', { user: 'alice', host: 'localhost' }), { num_resources: 2 });
  await eventually(() => phoneErrors.length > 0 && tabletErrors.length > 0, 3000, 'both kicked');
  assert.deepEqual(phoneErrors[0], { condition: 'policy-violation', text: 'has been kicked' });
  assert.deepEqual(tabletErrors[0], { condition: 'policy-violation', text: 'has been kicked' });
  await eventually(async () => (await ok('connected_users_number')).num_sessions === 1, 3000, 'alice gone');
  assert.deepEqual(await ok('connected_users'), ['bob@localhost/desk']);
  assert.deepEqual(await ok('connected_users_info').then((l: any[]) => l.map((s) => s.jid)), ['bob@localhost/desk']);
  assert.deepEqual(await ok('get_presence', { user: 'alice', host: 'localhost' }), { jid: 'alice@localhost', show: 'unavailable', status: '' });
  assert.deepEqual(await ok('kick_user', { user: 'alice', host: 'localhost' }), { num_resources: 0 });
  assert.deepEqual(await ok('kick_user', { user: 'nobody', host: 'example.org' }), { num_resources: 0 });
  // A kicked account can log in again.
  const back = await online('alice', 'alicepw', 'back');
  assert.equal(back.jid, 'alice@localhost/back');
  await back.stop();
});

test('stats: the five names (registeredusers over all hosts) and stats_host; unknown names refused', async () => {
  assert.deepEqual(await ok('stats', { name: 'registeredusers' }), { stat: 6 }, 'admin alice bob carol dave + zed');
  assert.deepEqual(await ok('stats_host', { name: 'registeredusers', host: 'localhost' }), { stat: 5 });
  assert.deepEqual(await ok('stats_host', { name: 'registeredusers', host: 'other.test' }), { stat: 1 });
  await eventually(async () => (await ok('stats', { name: 'onlineusers' })).stat === 1, 3000, 'only bob online');
  assert.deepEqual(await ok('stats', { name: 'onlineusersnode' }), { stat: 1 });
  assert.deepEqual(await ok('stats_host', { name: 'onlineusers', host: 'localhost' }), { stat: 1 });
  const up = (await ok('stats', { name: 'uptimeseconds' })).stat;
  assert.ok(Number.isInteger(up) && up >= 0 && up <= Math.ceil((Date.now() - T0) / 1000), `uptime ${up}`);
  const processes = (await ok('stats', { name: 'processes' })).stat;
  assert.ok(Number.isInteger(processes) && processes > 0, `processes ${processes}`);

  assert.equal(await ok('stats', { name: 'bogus' }, 400), 'Unknown statistic: bogus');
  assert.equal(await ok('stats_host', { name: 'bogus', host: 'localhost' }, 400), 'Unknown statistic: bogus');
  assert.equal(await ok('stats_host', { name: 'onlineusersnode', host: 'localhost' }, 400), 'Unknown statistic: onlineusersnode');
  assert.equal(await ok('stats_host', { name: 'registeredusers', host: 'example.org' }, 404), 'Unknown host: example.org');
  assert.equal(await ok('stats', {}, 400), 'Request have missing argument: name');

  // registeredusers follows registrations.
  assert.equal(await ok('register', { user: 'yan', host: 'other.test', password: 'y' }), 'User yan@other.test successfully registered');
  assert.deepEqual(await ok('stats', { name: 'registeredusers' }), { stat: 7 });
  assert.equal(await ok('unregister', { user: 'yan', host: 'other.test' }), '');
  assert.deepEqual(await ok('stats', { name: 'registeredusers' }), { stat: 6 });
});

test('status: the node is started', async () => {
  const status = await ok('status');
  assert.equal(typeof status, 'string');
  assert.match(status, /^The node parley@localhost is started with status: started\nParley \S+ is running in that node$/);
});

test('unregister: the session is closed, login fails, and the roster and offline messages are gone', async () => {
  // carol gets a roster item and keeps her offline messages (she has not logged in yet).
  assert.equal(await ok('add_rosteritem', { localuser: 'carol', localhost: 'localhost', user: 'bob', host: 'localhost', nick: 'B', group: 'x', subs: 'both' }), 0);
  assert.equal((await ok('get_roster', { user: 'carol', host: 'localhost' })).length, 1);
  const offline = (await ok('get_offline_count', { user: 'carol', server: 'localhost' })).value;
  assert.ok(offline >= 3, `carol has ${offline} offline messages`);
  // dave is online when his account is removed.
  const dave = await online('dave', 'davepw2', 'gone');
  const daveErrors = streamErrors(dave);

  assert.equal(await ok('unregister', { user: 'carol', host: 'localhost' }), '');
  assert.equal(await ok('unregister', { user: 'dave', host: 'localhost' }), '');
  await eventually(() => daveErrors.length > 0, 3000, "dave's stream closed");
  await eventually(async () => !(await ok('connected_users')).some((j: string) => j.startsWith('dave@')), 3000, 'dave gone');

  assert.equal(await ok('check_account', { user: 'carol', host: 'localhost' }), 1);
  assert.equal(await ok('check_password', { user: 'carol', host: 'localhost', password: 'carolpw' }), 1);
  assert.deepEqual(await ok('registered_users', { host: 'localhost' }), ['admin', 'alice', 'bob']);
  await loginFails('carol', 'carolpw');
  await loginFails('dave', 'davepw2');

  // Re-created with the same name, the account starts empty.
  assert.equal(await ok('register', { user: 'carol', host: 'localhost', password: 'new' }), 'User carol@localhost successfully registered');
  assert.deepEqual(await ok('get_roster', { user: 'carol', host: 'localhost' }), []);
  assert.deepEqual(await ok('get_offline_count', { user: 'carol', server: 'localhost' }), { value: 0 });

  assert.deepEqual(await ok('unregister', { user: 'nobody', host: 'localhost' }, 404), {
    status: 'error', code: 10001, message: 'User nobody@localhost does not exist',
  });
  assert.deepEqual(await ok('unregister', { user: 'carol', host: 'example.org' }, 404), {
    status: 'error', code: 10001, message: 'Unknown host: example.org',
  });
  assert.equal(await ok('check_account', { user: 'carol', host: 'localhost' }), 0, 'the failed calls removed nothing');
});

test('gc: a full garbage collection, rescode 0; admins only', async () => {
  assert.equal(await ok('gc'), 0);
  const bob = await parley.api('gc', {}, 'bob@localhost:bobpw');
  assert.ok(bob.status === 403 || bob.status === 401, `a user may not: ${bob.status}`);
});
