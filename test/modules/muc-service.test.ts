// The room service (RoomService) as admin surfaces use it: each change reaches the occupants exactly
// as a client's change would (presence with 321/301, 104 on configuration, the destruction notice,
// a posted message), and is stored when the room persists. Also what removing an account drops,
// and registering with a room (XEP-0045 §7.10).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, type TestClient } from '../support/client.js';
import { SERVICE, DATA, codes, errorCondition, itemOf, join, messageFrom } from '../support/muc.js';
import type { MucService } from '../../src/modules/muc/index.js';
import { DomainError } from '../../src/errors.js';

let parley: Parley;
let muc: MucService;
let alice: TestClient;
let bob: TestClient;
const ROOM = `ops@${SERVICE}`;

before(async () => {
  parley = await startParley({ muc: { maxRoomsPerAccount: 4, maxPersistentRoomsPerAccount: 2 } });
  await parley.register('alice', 'bob', 'gone');
  [alice, bob] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b')]);
  muc = parley.server.service('muc');
});

after(async () => {
  await parley?.close();
});

async function rejects(p: Promise<unknown>, kind: DomainError['kind']): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof DomainError && err.kind === kind);
}

test('createRoom makes an unlocked room with its owner and options; a second is a conflict; bad names are refused', async () => {
  assert.deepEqual(muc.serviceDomains(), [SERVICE]);
  const info = await muc.createRoom(ROOM, 'alice@localhost', { title: 'Operations', persistent: true });
  assert.equal(info.locked, false);
  assert.equal(info.config.title, 'Operations');
  assert.equal(await muc.affiliationOf(ROOM, 'alice@localhost'), 'owner');
  await rejects(muc.createRoom(ROOM, undefined), 'conflict');
  await rejects(muc.createRoom('nowhere@elsewhere.example', undefined), 'not-found');
  await rejects(muc.createRoom('not a jid@@', undefined), 'bad-argument');
  await rejects(muc.configure(ROOM, { title: 'x'.repeat(1000) }), 'bad-argument');
  assert.ok((await muc.rooms(SERVICE)).some((r) => r.jid === ROOM));
  assert.equal((await muc.room(`none@${SERVICE}`)), undefined);
});

test('service changes reach occupants as a client\'s would: configuration (104), affiliation, subject, messages', async () => {
  await join(alice, ROOM, 'Alice');
  await join(bob, ROOM, 'Bob');
  assert.deepEqual((await muc.occupants(ROOM)).map((o) => [o.nick, o.role]).sort(), [['Alice', 'moderator'], ['Bob', 'participant']]);
  assert.deepEqual(await muc.roomsOf('bob@localhost'), [ROOM]);

  let mark = bob.received.length;
  await muc.configure(ROOM, { allowSubscription: true });
  await bob.waitFor((el) => bob.received.indexOf(el) >= mark && el.name === 'message' && codes(el).includes('104'), 3000, '104');

  await muc.setAffiliation(ROOM, 'bob@localhost', 'admin');
  await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Bob` && itemOf(el)?.attrs.affiliation === 'admin' && itemOf(el)?.attrs.role === 'moderator', 3000, 'admin');
  assert.deepEqual((await muc.affiliations(ROOM)).map((a) => [a.jid, a.affiliation]).sort(), [['alice@localhost', 'owner'], ['bob@localhost', 'admin']]);

  await muc.setSubject(ROOM, 'Set by the service');
  const s = await bob.waitFor((el) => el.name === 'message' && el.getChildText('subject') === 'Set by the service', 3000, 'subject');
  assert.equal(s.attrs.from, ROOM);

  mark = alice.received.length;
  await muc.postMessage(ROOM, 'bob@localhost', 'posted for Bob');
  await messageFrom(alice, `${ROOM}/Bob`, 'posted for Bob', mark);
  await rejects(muc.postMessage(ROOM, 'gone@localhost', 'who am I'), 'forbidden');

  await muc.setAffiliation(ROOM, 'bob@localhost', 'outcast', 'by command');
  const ban = await alice.waitFor((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Bob` && codes(el).includes('301'), 3000, 'ban');
  assert.equal(itemOf(ban)?.getChildText('reason'), 'by command');
  await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Bob` && codes(el).includes('301'), 3000, 'own ban');
  assert.equal(errorCondition(await join(bob, ROOM, 'Bob')), 'forbidden');
  await muc.setAffiliation(ROOM, 'bob@localhost', 'none');
});

test('subscriptions and nicks through the service; removing an account drops its affiliations, nick and subscriptions', async () => {
  await muc.setAffiliation(ROOM, 'gone@localhost', 'member');
  await muc.registerNick(SERVICE, 'gone@localhost', 'Ghost');
  await rejects(muc.registerNick(SERVICE, 'bob@localhost', 'Ghost'), 'conflict');
  assert.deepEqual(await muc.subscribe(ROOM, 'gone@localhost', 'Ghost', ['urn:xmpp:mucsub:nodes:messages', 'bogus']), ['urn:xmpp:mucsub:nodes:messages']);
  assert.deepEqual(await muc.subscribers(ROOM), ['gone@localhost']);
  assert.equal((await parley.api('unregister', { user: 'gone', host: 'localhost' })).status, 200);
  assert.equal(await muc.affiliationOf(ROOM, 'gone@localhost'), 'none');
  assert.equal(await muc.registeredNick(SERVICE, 'gone@localhost'), undefined);
  assert.deepEqual(await muc.subscribers(ROOM), []);
  await muc.registerNick(SERVICE, 'bob@localhost', 'Ghost'); // free again
  await muc.unregisterNick(SERVICE, 'bob@localhost');
  await rejects(muc.unregisterNick(SERVICE, 'bob@localhost'), 'not-found');
});

test('registering with a room (§7.10) reserves the nick and makes the account a member', async () => {
  const form = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'jabber:iq:register' })));
  assert.ok(form.getChild('query')!.getChild('x', DATA)!.getChildren('field').some((f: any) => f.attrs.var === 'muc#register_roomnick'));
  await bob.iq(
    xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: 'jabber:iq:register' }, xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'muc#register_roomnick' }, xml('value', {}, 'Bobby'))))),
  );
  assert.equal(await muc.affiliationOf(ROOM, 'bob@localhost'), 'member');
  assert.equal(await muc.registeredNick(SERVICE, 'bob@localhost'), 'Bobby');
  const again = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'jabber:iq:register' })));
  assert.equal(again.getChild('query')!.getChildText('username'), 'Bobby');
  assert.equal((await iqError(alice, xml('iq', { type: 'set', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' }, xml('nick', {}, 'Bobby'))))).condition, 'conflict');
});

test('destroyRoom: occupants get the notice with reason and alternate venue; the room is gone', async () => {
  await muc.destroyRoom(ROOM, 'closing', `elsewhere@${SERVICE}`);
  const p = await alice.waitFor((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Alice` && el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('destroy') !== undefined, 3000, 'destroyed');
  assert.equal(p.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('destroy')!.attrs.jid, `elsewhere@${SERVICE}`);
  assert.equal(await muc.room(ROOM), undefined);
  await rejects(muc.destroyRoom(ROOM), 'not-found');
  assert.deepEqual(await muc.roomsOf('alice@localhost'), []);
});

test('a restore brings stored rooms back as they were backed up (the service reads them again)', async () => {
  const room = `saved@${SERVICE}`;
  await muc.createRoom(room, 'alice@localhost', { persistent: true, title: 'Saved' });
  await muc.setAffiliation(room, 'bob@localhost', 'member');
  assert.equal((await parley.api('backup', { file: 'muc.backup' })).status, 200);
  await muc.destroyRoom(room);
  assert.equal(await muc.room(room), undefined);
  assert.equal((await parley.api('restore', { file: 'muc.backup' })).status, 200);
  const info = await muc.room(room);
  assert.equal(info?.config.title, 'Saved');
  assert.equal(await muc.affiliationOf(room, 'bob@localhost'), 'member');
});

test('muc.maxPersistentRoomsPerAccount and muc.maxRoomsPerAccount: one more is refused', async () => {
  // Alice owns `saved` (persistent) from the test before.
  await muc.createRoom(`p2@${SERVICE}`, 'alice@localhost', { persistent: true });
  await rejects(muc.createRoom(`p3@${SERVICE}`, 'alice@localhost', { persistent: true }), 'bad-argument');
  assert.equal(await muc.room(`p3@${SERVICE}`), undefined);
  await muc.createRoom(`t1@${SERVICE}`, 'alice@localhost');
  await muc.createRoom(`t2@${SERVICE}`, 'alice@localhost');
  await rejects(muc.createRoom(`t3@${SERVICE}`, 'alice@localhost'), 'forbidden');
  // A client is refused the same way.
  const refused = await join(alice, `t4@${SERVICE}`, 'Alice');
  assert.equal(errorCondition(refused), 'not-allowed');
  // An owner making a third room persistent through the form: not-acceptable.
  await muc.destroyRoom(`t2@${SERVICE}`);
  await join(alice, `t5@${SERVICE}`, 'Alice');
  const form = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'muc#roomconfig_persistentroom' }, xml('value', {}, '1')));
  assert.equal((await iqError(alice, xml('iq', { type: 'set', to: `t5@${SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, form)))).condition, 'not-acceptable');
});
