// A room's archive (XEP-0313 on the room, through the archive module): messages carry the room's
// stanza-id, queries to the room page through them, members-only rooms keep theirs for members,
// and a moderator's retraction (XEP-0425) reaches the occupants and the archive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, type TestClient } from '../support/client.js';
import { mamQuery, mamQueryIq } from '../support/mam.js';
import { SERVICE, adminSet, configure, createInstant, groupchat, join, messageFrom } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
const ROOM = `log@${SERVICE}`;
const ids: string[] = [];

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

after(async () => {
  await parley?.close();
});

test('with archiving on, each groupchat message carries the stanza-id the archive gave it; disco says urn:xmpp:mam:2', async () => {
  await createInstant(alice, ROOM, 'Alice');
  await configure(alice, ROOM, { mam: '1' });
  await join(bob, ROOM, 'Bob');
  for (let i = 1; i <= 5; i++) {
    const mark = bob.received.length;
    await groupchat(alice, ROOM, `entry ${i}`);
    const m = await messageFrom(bob, `${ROOM}/Alice`, `entry ${i}`, mark);
    const sid = m.getChild('stanza-id', 'urn:xmpp:sid:0');
    assert.equal(sid?.attrs.by, ROOM);
    ids.push(sid!.attrs.id);
  }
  assert.equal(new Set(ids).size, 5);
  // A client cannot forge the room's stanza-id.
  const mark = bob.received.length;
  await alice.send(xml('message', { to: ROOM, type: 'groupchat' }, xml('body', {}, 'forged'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: ROOM, id: 'fake' })));
  const forged = await messageFrom(bob, `${ROOM}/Alice`, 'forged', mark);
  assert.deepEqual(forged.getChildren('stanza-id', 'urn:xmpp:sid:0').map((s: any) => s.attrs.id).filter((id: string) => id === 'fake'), []);
  ids.push(forged.getChild('stanza-id', 'urn:xmpp:sid:0')!.attrs.id);

  const info = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === 'urn:xmpp:mam:2'));
});

test('a query to the room pages through its archive, from the room', async () => {
  const first = await mamQuery(carol, { to: ROOM, max: 2 });
  assert.deepEqual(first.items.map((i) => i.body), ['entry 1', 'entry 2']);
  assert.deepEqual(first.items.map((i) => i.id), ids.slice(0, 2));
  assert.equal(first.items[0]!.message.attrs.from, `${ROOM}/Alice`);
  assert.equal(first.complete, false);
  const second = await mamQuery(carol, { to: ROOM, max: 2, after: first.last! });
  assert.deepEqual(second.items.map((i) => i.body), ['entry 3', 'entry 4']);
  const third = await mamQuery(carol, { to: ROOM, max: 2, after: second.last! });
  assert.deepEqual(third.items.map((i) => i.body), ['entry 5', 'forged']);
  assert.equal(third.complete, true);
  // The results come from the room itself.
  const result = carol.received.find((el) => el.getChild('result', 'urn:xmpp:mam:2') !== undefined);
  assert.equal(result?.attrs.from, ROOM);
});

test('a members-only room keeps its archive for members', async () => {
  await configure(alice, ROOM, { 'muc#roomconfig_membersonly': '1' });
  const refused = await iqError(carol, mamQueryIq({ to: ROOM }, 'denied'));
  assert.equal(refused.condition, 'forbidden');
  await adminSet(alice, ROOM, xml('item', { jid: 'carol@localhost', affiliation: 'member' }));
  const page = await mamQuery(carol, { to: ROOM, max: 1 });
  assert.equal(page.items.length, 1);
  // Without archiving, the room answers service-unavailable.
  await configure(alice, ROOM, { mam: '0' });
  assert.equal((await iqError(carol, mamQueryIq({ to: ROOM }, 'off'))).condition, 'service-unavailable');
  await configure(alice, ROOM, { mam: '1' });
});

test('a moderator retracts a message: occupants get the retraction, the archive keeps a tombstone', async () => {
  const target = ids[1]!;
  await join(carol, ROOM, 'Carol'); // a member now; Bob, who is not, left when the room became members-only
  const denied = await iqError(bob, xml('iq', { type: 'set', to: ROOM }, xml('moderate', { xmlns: 'urn:xmpp:message-moderate:1', id: target }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1' }))));
  assert.equal(denied.condition, 'forbidden');
  await alice.iq(
    xml('iq', { type: 'set', to: ROOM }, xml('moderate', { xmlns: 'urn:xmpp:message-moderate:1', id: target }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1' }), xml('reason', {}, 'off topic'))),
  );
  const r = await carol.waitFor((el) => el.name === 'message' && el.attrs.from === ROOM && el.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined, 3000, 'retraction');
  const retract = r.getChild('retract', 'urn:xmpp:message-retract:1')!;
  assert.equal(retract.attrs.id, target);
  assert.equal(retract.getChild('moderated', 'urn:xmpp:message-moderate:1')?.attrs.by, `${ROOM}/Alice`);
  assert.equal(retract.getChildText('reason'), 'off topic');
  const page = await mamQuery(carol, { to: ROOM, max: 3 });
  const tomb = page.items.find((i) => i.id === target)!;
  assert.equal(tomb.body, undefined);
  // An id the room never gave: item-not-found.
  assert.equal((await iqError(alice, xml('iq', { type: 'set', to: ROOM }, xml('moderate', { xmlns: 'urn:xmpp:message-moderate:1', id: '12345' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1' }))))).condition, 'item-not-found');
});
