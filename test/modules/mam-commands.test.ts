// The archive's admin commands over real HTTP (ejabberd's mod_mam commands), on archives real
// clients made: remove_mam_for_user, remove_mam_for_user_with_peer, delete_old_mam_messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { x } from '../../src/xmpp/xml/element.js';
import { parseJID } from '../../src/xmpp/jid.js';
import type { TestClient } from '../support/client.js';
import { chat, mamQuery } from '../support/mam.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

let round = 0;
const count = (c: TestClient, body: string) => c.received.filter((el) => el.getChildText('body') === body).length;
const bodies = async (c: TestClient) => (await mamQuery(c, { max: 50 })).items.map((i) => i.body);

async function api(command: string, args: Record<string, unknown>, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

async function converse(): Promise<void> {
  const n = ++round;
  await alice.send(chat('bob@localhost', 'alice to bob'));
  await bob.waitFor((el) => el.getChildText('body') === 'alice to bob' && count(bob, 'alice to bob') === n, 5000);
  await carol.send(chat('bob@localhost', 'carol to bob'));
  await bob.waitFor((el) => el.getChildText('body') === 'carol to bob' && count(bob, 'carol to bob') === n, 5000);
  await bob.send(chat('alice@localhost', 'bob to alice'));
  await alice.waitFor((el) => el.getChildText('body') === 'bob to alice' && count(alice, 'bob to alice') === n, 5000);
}

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
  await converse();
});

after(() => parley?.close());

test("remove_mam_for_user_with_peer removes one conversation of one archive, as ejabberd answers", async () => {
  assert.deepEqual(await bodies(bob), ['alice to bob', 'carol to bob', 'bob to alice']);
  assert.equal(await api('remove_mam_for_user_with_peer', { user: 'bob', host: 'localhost', with: 'alice@localhost/a' }), 'MAM archive removed');
  assert.deepEqual(await bodies(bob), ['carol to bob']);
  assert.deepEqual(await bodies(alice), ['alice to bob', 'bob to alice'], "the peer's archive is its own");
  const bad = await api('remove_mam_for_user_with_peer', { user: 'bob', host: 'localhost', with: 'not a jid@' }, 400);
  assert.deepEqual(bad, { status: 'error', code: 10001, message: 'Invalid peer JID' });
});

test('remove_mam_for_user empties an archive; an unknown account answers the same', async () => {
  assert.equal(await api('remove_mam_for_user', { user: 'alice', host: 'localhost' }), 'MAM archive removed');
  assert.deepEqual(await bodies(alice), []);
  assert.deepEqual(await bodies(bob), ['carol to bob']);
  assert.equal(await api('remove_mam_for_user', { user: 'nobody', host: 'localhost' }), 'MAM archive removed');
  const r = await parley.api('remove_mam_for_user', { user: 'alice', host: 'elsewhere.example' });
  assert.notEqual(r.status, 200, 'a host that is not served is refused');
});

test('delete_old_mam_messages by type and age: chat, groupchat, all; another type answers 1', async () => {
  await converse();
  const mam = parley.server.service('mam');
  await mam.archiveRoomMessage('room@conference.localhost', x('message', { from: 'room@conference.localhost/nick', type: 'groupchat' }, x('body', {}, 'in a room')), 'carol@localhost/c');
  // Counted by a room query asking for no message (max 0).
  const roomCount = async () => {
    const query = x('query', { xmlns: 'urn:xmpp:mam:2' }, x('set', { xmlns: 'http://jabber.org/protocol/rsm' }, x('max', {}, '0')));
    const fin = await mam.queryRoom('room@conference.localhost', parseJID('carol@localhost/c'), x('iq', { type: 'set' }, query), query);
    return Number(fin!.getChild('set')!.getChildText('count'));
  };
  assert.equal(await roomCount(), 1);
  assert.equal(await api('delete_old_mam_messages', { type: 'bogus', days: 0 }), 1);
  assert.equal(await api('delete_old_mam_messages', { type: 'all', days: 1 }), 0);
  assert.deepEqual(await bodies(alice), ['alice to bob', 'bob to alice'], 'nothing is a day old');
  assert.equal(await api('delete_old_mam_messages', { type: 'groupchat', days: 0 }), 0);
  assert.equal(await roomCount(), 0);
  assert.deepEqual(await bodies(alice), ['alice to bob', 'bob to alice'], 'chats are kept when rooms are purged');
  assert.equal(await api('delete_old_mam_messages', { type: 'chat', days: 0 }), 0);
  assert.deepEqual(await bodies(alice), []);
  assert.deepEqual(await bodies(bob), []);
  assert.equal((await parley.api('delete_old_mam_messages', { type: 'all', days: -1 })).status, 400);
});
