// Group chat (XEP-0045) with real clients: a room is created (201, locked until configured), three
// people enter, talk, change the subject and nicks, get kicked and banned, and the owner reconfigures it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, settle, xml, type TestClient } from '../support/client.js';
import { SERVICE, MUC_OWNER, DATA, adminSet, codes, configure, createInstant, errorCondition, groupchat, itemOf, join, messageFrom, presenceFrom } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
const ROOM = `coven@${SERVICE}`;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

after(async () => {
  await parley?.close();
});

test('a new room is locked (201) until its owner configures it; then others enter and see each other', async () => {
  const self = await join(alice, ROOM, 'Alice');
  assert.deepEqual(codes(self), ['110', '201']);
  assert.equal(itemOf(self)?.attrs.affiliation, 'owner');
  assert.equal(itemOf(self)?.attrs.role, 'moderator');
  // Locked: nobody else may enter yet.
  const refused = await join(bob, ROOM, 'Bob');
  assert.equal(refused.attrs.type, 'error');
  assert.equal(errorCondition(refused), 'item-not-found');
  // The owner gets the form, then accepts the defaults.
  const form = await alice.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: MUC_OWNER })));
  const fields = form.getChild('query', MUC_OWNER)!.getChild('x', DATA)!.getChildren('field').map((f: any) => f.attrs.var);
  for (const v of ['muc#roomconfig_roomname', 'muc#roomconfig_persistentroom', 'muc#roomconfig_membersonly', 'muc#roomconfig_roomsecret', 'muc#roomconfig_whois', 'allow_subscription', 'mam']) assert.ok(fields.includes(v), v);
  await alice.iq(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }))));

  const bobSelf = await join(bob, ROOM, 'Bob');
  assert.deepEqual(codes(bobSelf), ['110']);
  assert.equal(itemOf(bobSelf)?.attrs.role, 'participant');
  // Bob learned of Alice before his own presence, and the subject (empty) came last.
  const aliceSeen = bob.received.findIndex((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Alice`);
  assert.ok(aliceSeen >= 0 && aliceSeen < bob.received.indexOf(bobSelf));
  // Semi-anonymous: Bob does not see Alice's real JID; Alice (a moderator) sees Bob's.
  assert.equal(itemOf(bob.received[aliceSeen]!)?.attrs.jid, undefined);
  const bobAtAlice = await presenceFrom(alice, `${ROOM}/Bob`);
  assert.equal(itemOf(bobAtAlice)?.attrs.jid, bob.jid);
  await bob.waitFor((el) => el.name === 'message' && el.attrs.from === ROOM && el.getChild('subject') !== undefined, 3000, 'the subject');

  await join(carol, ROOM, 'Carol');
  await presenceFrom(bob, `${ROOM}/Carol`);
});

test('messages reach every occupant from room/nick; the subject changes and reaches all', async () => {
  const mark = carol.received.length;
  await groupchat(bob, ROOM, 'hello witches', 'm1');
  const atCarol = await messageFrom(carol, `${ROOM}/Bob`, 'hello witches', mark);
  assert.equal(atCarol.attrs.type, 'groupchat');
  assert.equal(atCarol.attrs.id, 'm1');
  await messageFrom(bob, `${ROOM}/Bob`, 'hello witches'); // the sender gets its echo
  // XEP-0421: the room names who spoke by an id of its own, the same in messages and presence.
  const oid = atCarol.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id;
  assert.ok(oid && oid.length >= 16);
  const bobPresence = carol.received.find((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Bob`)!;
  assert.equal(bobPresence.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id, oid);
  const alicePresence = carol.received.find((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Alice`)!;
  assert.notEqual(alicePresence.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id, oid);
  assert.ok(!oid.includes('bob'));
  await messageFrom(alice, `${ROOM}/Bob`, 'hello witches');

  await carol.send(xml('message', { to: ROOM, type: 'groupchat' }, xml('subject', {}, 'Cauldrons')));
  const subj = await alice.waitFor((el) => el.name === 'message' && el.getChildText('subject') === 'Cauldrons', 3000, 'subject');
  assert.equal(subj.attrs.from, `${ROOM}/Carol`);

  // A stranger may not post.
  const dave = await (await parley.register('dave'), parley.login('dave', 'd'));
  await groupchat(dave, ROOM, 'let me in');
  const err = await dave.waitFor((el) => el.name === 'message' && el.attrs.type === 'error', 3000, 'error');
  assert.equal(errorCondition(err), 'not-acceptable');
});

test('a nick change is announced with 303 then the new presence; a taken nick is refused with conflict', async () => {
  const clash = await join(carol, ROOM, 'Bob');
  assert.equal(clash.attrs.type, 'error');
  assert.equal(errorCondition(clash), 'conflict');

  await carol.send(xml('presence', { to: `${ROOM}/Hecate` }));
  const gone = await presenceFrom(alice, `${ROOM}/Carol`, (el) => el.attrs.type === 'unavailable');
  assert.deepEqual(codes(gone), ['303']);
  assert.equal(itemOf(gone)?.attrs.nick, 'Hecate');
  const renamed = await presenceFrom(alice, `${ROOM}/Hecate`, (el) => el.attrs.type === undefined);
  const before = alice.received.find((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Carol`)!;
  assert.equal(renamed.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id, before.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id);
  const selfGone = await presenceFrom(carol, `${ROOM}/Carol`, (el) => el.attrs.type === 'unavailable');
  assert.deepEqual(codes(selfGone), ['110', '303']);
  const mark = bob.received.length;
  await groupchat(carol, ROOM, 'renamed');
  await messageFrom(bob, `${ROOM}/Hecate`, 'renamed', mark);
});

test('a moderator kicks (307); a participant may not; an admin bans (301) and the banned cannot return (403)', async () => {
  const denied = await iqError(bob, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { nick: 'Hecate', role: 'none' }))));
  assert.equal(denied.condition, 'forbidden');

  await adminSet(alice, ROOM, xml('item', { nick: 'Hecate', role: 'none' }, xml('reason', {}, 'too loud')));
  const kicked = await presenceFrom(carol, `${ROOM}/Hecate`, (el) => el.attrs.type === 'unavailable' && codes(el).includes('307'));
  assert.deepEqual(codes(kicked), ['110', '307']);
  assert.equal(itemOf(kicked)?.getChildText('reason'), 'too loud');
  assert.equal(itemOf(kicked)?.getChild('actor')?.attrs.nick, 'Alice');
  const seen = await presenceFrom(bob, `${ROOM}/Hecate`, (el) => el.attrs.type === 'unavailable');
  assert.deepEqual(codes(seen), ['307']);
  // Kicked, Carol may enter again.
  await join(carol, ROOM, 'Carol');

  await adminSet(alice, ROOM, xml('item', { jid: 'carol@localhost', affiliation: 'outcast' }, xml('reason', {}, 'banned')));
  const banned = await presenceFrom(bob, `${ROOM}/Carol`, (el) => el.attrs.type === 'unavailable' && codes(el).includes('301'));
  assert.equal(itemOf(banned)?.attrs.affiliation, 'outcast');
  const again = await join(carol, ROOM, 'Carol2');
  assert.equal(errorCondition(again), 'forbidden');

  const list = await alice.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { affiliation: 'outcast' }))));
  const items = list.getChild('query')!.getChildren('item');
  assert.deepEqual(items.map((i: any) => i.attrs.jid), ['carol@localhost']);
});

test('granting membership and admin is broadcast; reconfiguring sends 104 (and 172 when real JIDs become public)', async () => {
  await adminSet(alice, ROOM, xml('item', { jid: 'bob@localhost', affiliation: 'admin' }));
  const promoted = await presenceFrom(bob, `${ROOM}/Bob`, (el) => itemOf(el)?.attrs.affiliation === 'admin');
  assert.equal(itemOf(promoted)?.attrs.role, 'moderator');
  // An admin may not touch the owner.
  const refused = await iqError(bob, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { jid: 'alice@localhost', affiliation: 'none' }))));
  assert.equal(refused.condition, 'not-allowed');
  // The last owner cannot step down.
  const last = await iqError(alice, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { jid: 'alice@localhost', affiliation: 'admin' }))));
  assert.equal(last.condition, 'conflict');

  const mark = bob.received.length;
  await configure(alice, ROOM, { 'muc#roomconfig_roomname': 'The Coven', 'muc#roomconfig_whois': 'anyone' });
  const notice = await bob.waitFor((el) => bob.received.indexOf(el) >= mark && el.name === 'message' && el.attrs.from === ROOM && codes(el).includes('104'), 3000, '104');
  assert.deepEqual(codes(notice), ['104', '172']);
  const info = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = info.getChild('query')!;
  assert.equal(q.getChild('identity')?.attrs.name, 'The Coven');
  const features = q.getChildren('feature').map((f: any) => f.attrs.var);
  assert.ok(features.includes('muc_nonanonymous'));
  assert.ok(features.includes('muc_temporary'));
  // Only owners configure.
  const notOwner = await iqError(bob, xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: MUC_OWNER })));
  assert.equal(notOwner.condition, 'forbidden');
  await settle(alice, bob);
});

test('leaving is announced; the temporary room vanishes when the last one leaves', async () => {
  await bob.send(xml('presence', { to: `${ROOM}/Bob`, type: 'unavailable' }));
  await presenceFrom(alice, `${ROOM}/Bob`, (el) => el.attrs.type === 'unavailable');
  await alice.send(xml('presence', { to: `${ROOM}/Alice`, type: 'unavailable' }));
  await presenceFrom(alice, `${ROOM}/Alice`, (el) => el.attrs.type === 'unavailable');
  await alice.sync();
  const info = await iqError(bob, xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(info.condition, 'item-not-found');
  // A client that does not speak MUC gets an instant room at once.
  const p = await join(bob, `plain@${SERVICE}`, 'Bob', { plain: true });
  assert.deepEqual(codes(p), ['110']);
  void createInstant;
});

test('cancelling the first configuration of a new room destroys it (XEP-0045 §10.1.3)', async () => {
  const room = `never@${SERVICE}`;
  const self = await join(alice, room, 'Alice');
  assert.deepEqual(codes(self), ['110', '201']);
  await alice.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'cancel' }))));
  await presenceFrom(alice, `${room}/Alice`, (el) => el.attrs.type === 'unavailable');
  const gone = await iqError(bob, xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(gone.condition, 'item-not-found');
});
