// Last activity (XEP-0012) over real XMPP clients, and get_last / set_last over real HTTP: the
// query to an offline contact, to an online one, to the server, to a full JID, and who may ask.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, iqError, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

const NS_LAST = 'jabber:iq:last';
let parley: Parley;

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'], limits: { maxLastStatusLength: 20 } });
  await parley.register('alice', 'bob', 'carol', 'dave');
  // alice shares her presence with bob (bob's item in alice's roster: from); carol is no contact.
  for (const [localuser, user, subs] of [['alice', 'bob', 'from'], ['bob', 'alice', 'to']]) {
    const r = await parley.api('add_rosteritem', { localuser, localhost: 'localhost', user, host: 'localhost', nick: user, group: 'Friends', subs });
    assert.equal(r.body, 0, r.text);
  }
});

after(async () => {
  await parley?.close();
});

const lastQuery = (to: string) => xml('iq', { type: 'get', to }, xml('query', { xmlns: NS_LAST }));

async function lastOf(c: TestClient, to: string): Promise<{ seconds: number; status: string }> {
  const reply: Element = await c.iq(lastQuery(to));
  const q = reply.getChild('query', NS_LAST) ?? (reply.is('query') ? reply : undefined);
  assert.ok(q, `a jabber:iq:last query in ${reply.toString()}`);
  return { seconds: Number(q.attrs.seconds), status: q.text() };
}

const getLast = async (user: string, host = 'localhost') => parley.api('get_last', { user, host });
const XEP82_MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;


/**
 * get_last shows the logout once the session-closed handler has stored it: until then it can still
 * show the registration record, after the session has left the directory (no longer ONLINE).
 */
function loggedOut(status: string): boolean {
  return status !== 'ONLINE' && status !== "Registered but didn't login";
}

test('a session that ends stores the time and the status of its last unavailable presence; get_last reports it, ONLINE while connected', async () => {
  const before = Date.now();
  const alice = await parley.login('alice', 'phone');
  const online = await getLast('alice');
  assert.equal(online.status, 200);
  assert.equal(online.body.status, 'ONLINE');
  assert.match(online.body.timestamp, XEP82_MICRO);
  assert.ok(Math.abs(Date.parse(online.body.timestamp) - Date.now()) < 60_000);

  await alice.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'Gone fishing')));
  await alice.sync();
  assert.equal((await getLast('alice')).body.status, 'ONLINE', 'still connected after unavailable presence');
  await alice.stop();
  const last = await eventually(async () => {
    const r = await getLast('alice');
    return loggedOut(r.body.status) && r.body;
  }, 5000, 'alice offline in get_last');
  assert.equal(last.status, 'Gone fishing');
  assert.match(last.timestamp, XEP82_MICRO);
  const at = Date.parse(last.timestamp);
  assert.ok(at >= before - 1000 && at <= Date.now(), `${last.timestamp} is the logout time`);

  // bob, subscribed to alice's presence, asks her server.
  const bob = await parley.login('bob', 'desk');
  const seen = await lastOf(bob, 'alice@localhost');
  assert.equal(seen.status, 'Gone fishing');
  assert.ok(seen.seconds >= 0 && seen.seconds < 60, `seconds ${seen.seconds}`);
  await bob.stop();
});

test('a session that became available again after an unavailable presence leaves with an empty status; the status is cut to limits.maxLastStatusLength', async () => {
  const dave = await parley.login('dave', 'x');
  await dave.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'a'.repeat(30))));
  await dave.sync();
  await dave.send(xml('presence', {}));
  await dave.sync();
  await dave.stop();
  // Available again after the long status: that status is forgotten.
  const plain = await eventually(async () => {
    const r = await getLast('dave');
    return loggedOut(r.body.status) && r.body;
  }, 5000, 'dave offline in get_last');
  assert.equal(plain.status, '');

  const again = await parley.login('dave', 'y');
  await again.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'b'.repeat(30))));
  await again.sync();
  await again.stop();
  const cut = await eventually(async () => {
    const r = await getLast('dave');
    return r.body.status !== 'ONLINE' && r.body.status !== '' && r.body;
  }, 5000);
  assert.equal(cut.status, 'b'.repeat(20));
});

test('set_last ages an account: a subscribed contact sees the seconds and status; an unsubscribed one gets forbidden', async () => {
  const hourAgo = Math.floor(Date.now() / 1000) - 3600;
  assert.equal((await parley.api('set_last', { user: 'alice', host: 'localhost', timestamp: hourAgo, status: 'GoSleeping' })).body, 0);
  const r = await getLast('alice');
  assert.deepEqual(r.body, { timestamp: new Date(hourAgo * 1000).toISOString().replace('.000Z', '.000000Z'), status: 'GoSleeping' });

  const bob = await parley.login('bob', 'laptop');
  const seen = await lastOf(bob, 'alice@localhost');
  assert.equal(seen.status, 'GoSleeping');
  assert.ok(seen.seconds >= 3600 && seen.seconds < 3660, `seconds ${seen.seconds}`);

  const carol = await parley.login('carol', 'c');
  assert.deepEqual(await iqError(carol, lastQuery('alice@localhost')), { condition: 'forbidden', type: 'auth' });
  // alice's 'to' item for bob does not let alice see bob's (bob shares nothing with her).
  const alice = await parley.login('alice', 'tablet');
  assert.deepEqual(await iqError(alice, lastQuery('bob@localhost')), { condition: 'forbidden', type: 'auth' });
  // An account may always ask about itself; it is online: 0 seconds.
  assert.equal((await lastOf(alice, 'alice@localhost')).seconds, 0);
  // Online contact: 0 seconds, no status (XEP-0012 §4).
  assert.deepEqual(await lastOf(bob, 'alice@localhost'), { seconds: 0, status: '' });
  // An unknown account reveals nothing more than an unsubscribed one.
  assert.deepEqual(await iqError(carol, lastQuery('nobody@localhost')), { condition: 'forbidden', type: 'auth' });
  // A set is not allowed.
  const set = xml('iq', { type: 'set', to: 'alice@localhost' }, xml('query', { xmlns: NS_LAST }));
  assert.deepEqual(await iqError(bob, set), { condition: 'not-allowed', type: 'cancel' });
  await Promise.all([bob.stop(), carol.stop(), alice.stop()]);
});

test('to the server: its uptime; to a full JID: delivered to that client, only for a contact allowed to see its presence', async () => {
  const carol = await parley.login('carol', 'uptime');
  const up = await lastOf(carol, 'localhost');
  assert.ok(up.seconds >= 0 && up.seconds < 3600, `uptime ${up.seconds}`);
  assert.equal(up.status, '');

  const alice = await parley.login('alice', 'desk');
  // alice's client answers queries about its idle time itself.
  alice.xmpp.iqCallee.get(NS_LAST, 'query', () => xml('query', { xmlns: NS_LAST, seconds: '42' }));
  const bob = await parley.login('bob', 'full');
  assert.deepEqual(await lastOf(bob, 'alice@localhost/desk'), { seconds: 42, status: '' });
  assert.deepEqual(await iqError(carol, lastQuery('alice@localhost/desk')), { condition: 'forbidden', type: 'auth' });
  await alice.sync();
  assert.equal(alice.received.filter((el) => el.is('iq') && el.attrs.from?.startsWith('carol@')).length, 0, 'carol’s query never reached alice');
  await Promise.all([carol.stop(), alice.stop(), bob.stop()]);
});

test('disco#info of the server and of an account announce jabber:iq:last', async () => {
  const bob = await parley.login('bob', 'disco');
  for (const to of ['localhost', 'alice@localhost']) {
    const reply: Element = await bob.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const query = reply.is('query') ? reply : reply.getChild('query')!;
    const features = query.getChildren('feature').map((f: Element) => f.attrs.var);
    assert.ok(features.includes(NS_LAST), `${to}: ${features.join(' ')}`);
  }
  await bob.stop();
});

test('a new account reports "Registered but didn\'t login"; removing the account removes its last activity', async () => {
  await parley.register('erin');
  const r = await getLast('erin');
  assert.equal(r.body.status, "Registered but didn't login");
  assert.ok(Math.abs(Date.parse(r.body.timestamp) - Date.now()) < 60_000);
  assert.equal((await parley.api('set_last', { user: 'erin', host: 'localhost', timestamp: 1500045311, status: 'old' })).body, 0);
  assert.equal((await parley.api('unregister', { user: 'erin', host: 'localhost' })).status, 200);
  await parley.register('erin');
  assert.equal((await getLast('erin')).body.status, "Registered but didn't login", 'nothing of the old account remains');
});

test('get_last and set_last errors: unknown user and host, wrong types, bad timestamp, long status', async () => {
  assert.deepEqual(await getLast('nobody'), { status: 404, body: 'User nobody@localhost does not exist', text: '"User nobody@localhost does not exist"' });
  assert.equal((await getLast('alice', 'example.org')).body, 'Unknown host: example.org');
  assert.equal((await getLast('alice', 'example.org')).status, 404);
  const set = (args: Record<string, unknown>) => parley.api('set_last', { user: 'alice', host: 'localhost', timestamp: 1500045311, status: 'x', ...args });
  assert.deepEqual(await set({ user: 'nobody' }), { status: 404, body: 'User nobody@localhost does not exist', text: '"User nobody@localhost does not exist"' });
  assert.equal((await set({ host: 'example.org' })).status, 404);
  const wrong = await set({ timestamp: 'yesterday' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /is not in format integer/);
  const negative = await set({ timestamp: -5 });
  assert.equal(negative.status, 400);
  assert.match(negative.body, /^Invalid timestamp/);
  const long = await set({ status: 'x'.repeat(21) });
  assert.equal(long.status, 400);
  assert.match(long.body, /limits\.maxLastStatusLength/);
  const missing = await parley.api('get_last', { user: 'alice' });
  assert.deepEqual([missing.status, missing.body], [400, 'Request have missing argument: host']);
  // Nothing was changed by the refused calls.
  assert.notEqual((await getLast('alice')).body.status, 'x');
});
