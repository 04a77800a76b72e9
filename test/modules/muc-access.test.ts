// Who may enter a room (XEP-0045 §7.2): members-only rooms refuse strangers (407), password rooms
// need the password (401), full rooms refuse (503), a nick is required (jid-malformed), and the
// configured limits hold (muc.maxNickLength, muc.maxJoinedRoomsPerAccount, muc.maxRoomsPerAccount).
// Also private messages between occupants and their policy, and history on entering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { SERVICE, adminSet, codes, configure, createInstant, errorCondition, groupchat, join, messageFrom } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  parley = await startParley({ muc: { maxNickLength: 10, maxJoinedRoomsPerAccount: 3, maxRoomsPerAccount: 5, maxHistory: 5, maxHistoryChars: 2000 } });
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

/** Leaves a room and waits for the room's answer (muc.maxJoinedRoomsPerAccount counts rooms one is in). */
async function leave(c: TestClient, room: string, nick: string): Promise<void> {
  const mark = c.received.length;
  await c.send(xml('presence', { to: `${room}/${nick}`, type: 'unavailable' }));
  await c.waitFor((el) => c.received.indexOf(el) >= mark && el.name === 'presence' && el.attrs.from === `${room}/${nick}` && el.attrs.type === 'unavailable', 3000, 'left');
}

after(async () => {
  await parley?.close();
});

test('a members-only room refuses a stranger (registration-required) and lets a member in', async () => {
  const room = `club@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, { 'muc#roomconfig_membersonly': '1' });
  const refused = await join(bob, room, 'Bob');
  assert.equal(errorCondition(refused), 'registration-required');
  assert.equal(refused.getChild('error')?.attrs.type, 'auth');
  await adminSet(alice, room, xml('item', { jid: 'bob@localhost', affiliation: 'member' }));
  const ok = await join(bob, room, 'Bob');
  assert.deepEqual(codes(ok), ['110']);
  // Losing membership removes him (321).
  await adminSet(alice, room, xml('item', { jid: 'bob@localhost', affiliation: 'none' }));
  const out = await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && codes(el).includes('321'), 3000, '321');
  assert.equal(out.attrs.type, 'unavailable');
  await leave(alice, room, 'Alice');
});

test('a password room needs its password (not-authorized)', async () => {
  const room = `secret@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, { 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'cauldron' });
  const none = await join(bob, room, 'Bob');
  assert.equal(errorCondition(none), 'not-authorized');
  const wrong = await join(bob, room, 'Bob', { password: 'kettle' });
  assert.equal(errorCondition(wrong), 'not-authorized');
  const right = await join(bob, room, 'Bob', { password: 'cauldron' });
  assert.deepEqual(codes(right), ['110']);
  const info = await carol.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === 'muc_passwordprotected'));
  await leave(alice, room, 'Alice');
  await leave(bob, room, 'Bob');
});

test('a full room refuses (service-unavailable); a nick is required; too long a nick is refused', async () => {
  const room = `tiny@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, { 'muc#roomconfig_maxusers': '1' });
  const full = await join(bob, room, 'Bob');
  assert.equal(errorCondition(full), 'service-unavailable');

  await bob.send(xml('presence', { to: room }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
  const noNick = await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === room && el.attrs.type === 'error', 3000, 'jid-malformed');
  assert.equal(errorCondition(noNick), 'jid-malformed');

  const long = await join(bob, `other@${SERVICE}`, 'a-very-long-nick');
  assert.equal(errorCondition(long), 'not-acceptable');
  await leave(alice, room, 'Alice');
});

test('muc.maxJoinedRoomsPerAccount: one more room is refused (resource-constraint)', async () => {
  // Carol is in none yet: three rooms, then a fourth.
  for (const n of [1, 2, 3]) assert.deepEqual(codes(await join(carol, `c${n}@${SERVICE}`, 'Carol')), n === 1 || n === 2 || n === 3 ? ['110', '201'] : []);
  const fourth = await join(carol, `c4@${SERVICE}`, 'Carol');
  assert.equal(errorCondition(fourth), 'resource-constraint');
  for (const n of [1, 2, 3]) await carol.send(xml('presence', { to: `c${n}@${SERVICE}/Carol`, type: 'unavailable' }));
  await settle(carol);
});

test('private messages go to the occupant from room/nick; the policy can forbid them', async () => {
  const room = `pm@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await join(bob, room, 'Bob');
  await bob.send(xml('message', { to: `${room}/Alice`, type: 'chat' }, xml('body', {}, 'psst')));
  const pm = await alice.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'psst', 3000, 'pm');
  assert.equal(pm.attrs.from, `${room}/Bob`);
  assert.equal(pm.attrs.type, 'chat');
  assert.ok(pm.getChild('x', 'http://jabber.org/protocol/muc#user'));
  // To nobody: item-not-found; as groupchat: bad-request.
  await bob.send(xml('message', { to: `${room}/Nobody`, type: 'chat', id: 'pm2' }, xml('body', {}, 'hello?')));
  const e1 = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'pm2' && el.attrs.type === 'error', 3000, 'error');
  assert.equal(errorCondition(e1), 'item-not-found');
  await configure(alice, room, { 'muc#roomconfig_allowpm': 'moderators' });
  await bob.send(xml('message', { to: `${room}/Alice`, type: 'chat', id: 'pm3' }, xml('body', {}, 'again')));
  const e2 = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'pm3' && el.attrs.type === 'error', 3000, 'error');
  assert.equal(errorCondition(e2), 'forbidden');
  // A moderator still may.
  await alice.send(xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'from the chair')));
  await bob.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'from the chair', 3000, 'moderator pm');
  await leave(alice, room, 'Alice');
  await leave(bob, room, 'Bob');
});

test('history on entering: the last messages with delay, limited by maxstanzas, maxchars and seconds', async () => {
  const room = `hist@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  for (let i = 1; i <= 7; i++) await groupchat(alice, room, `line ${i}`);
  await messageFrom(alice, `${room}/Alice`, 'line 7');

  const bobStart = bob.received.length;
  await join(bob, room, 'Bob');
  const subject = await bob.waitFor((el) => bob.received.indexOf(el) >= bobStart && el.name === 'message' && el.getChild('subject') !== undefined, 3000, 'subject');
  const history = bob.received.slice(bobStart).filter((el) => el.name === 'message' && el.getChild('body'));
  // muc.maxHistory is 5: lines 3..7, each delayed by the room, and the subject after them.
  assert.deepEqual(history.map((m) => m.getChildText('body')), ['line 3', 'line 4', 'line 5', 'line 6', 'line 7']);
  assert.equal(history[0]!.getChild('delay', 'urn:xmpp:delay')?.attrs.from, room);
  assert.ok(bob.received.indexOf(subject) > bob.received.indexOf(history[4]!));

  const carolStart = carol.received.length;
  await join(carol, room, 'Carol', { history: { maxstanzas: '2' } });
  await carol.waitFor((el) => carol.received.indexOf(el) >= carolStart && el.name === 'message' && el.getChild('subject') !== undefined, 3000, 'subject');
  assert.deepEqual(carol.received.slice(carolStart).filter((el) => el.name === 'message' && el.getChild('body')).map((m) => m.getChildText('body')), ['line 6', 'line 7']);
  await carol.send(xml('presence', { to: `${room}/Carol`, type: 'unavailable' }));
  await settle(carol);
  const again = carol.received.length;
  await join(carol, room, 'Carol', { history: { maxchars: '0' } });
  await carol.waitFor((el) => carol.received.indexOf(el) >= again && el.name === 'message' && el.getChild('subject') !== undefined, 3000, 'subject');
  assert.equal(carol.received.slice(again).filter((el) => el.name === 'message' && el.getChild('body')).length, 0);
  await leave(alice, room, 'Alice');
  await leave(bob, room, 'Bob');
  await leave(carol, room, 'Carol');
});

test('an occupant whose session ends leaves the room (unavailable broadcast)', async () => {
  const room = `drop@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  const dave = await (await parley.register('dave'), parley.login('dave', 'd'));
  await join(dave, room, 'Dave');
  await alice.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Dave`, 3000, 'dave in');
  assert.equal((await parley.api('kick_session', { user: 'dave', host: 'localhost', resource: 'd', reason: 'bye' })).status, 200);
  const left = await alice.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Dave` && el.attrs.type === 'unavailable', 5000, 'dave out');
  assert.deepEqual(codes(left), []);
  await leave(alice, room, 'Alice');
});

test('one account in a room from two resources under one nick: both get messages; the occupant leaves with its last resource', async () => {
  const room = `twice@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  const bob2 = await parley.login('bob', 'second');
  await join(bob, room, 'Bob');
  await join(bob2, room, 'Bob');
  let mark = [bob.received.length, bob2.received.length];
  await groupchat(alice, room, 'to both');
  await messageFrom(bob, `${room}/Alice`, 'to both', mark[0]);
  await messageFrom(bob2, `${room}/Alice`, 'to both', mark[1]);
  const aliceMark = alice.received.length;
  await leave(bob2, room, 'Bob');
  await settle(alice, bob);
  assert.ok(!alice.received.slice(aliceMark).some((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.attrs.type === 'unavailable'));
  mark = [bob.received.length, bob2.received.length];
  await groupchat(alice, room, 'to one');
  await messageFrom(bob, `${room}/Alice`, 'to one', mark[0]);
  await leave(bob, room, 'Bob');
  await alice.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.attrs.type === 'unavailable', 3000, 'bob gone');
  await leave(alice, room, 'Alice');
});

test('the subject: anyone may change it by default; when the owner forbids it, only moderators (forbidden otherwise)', async () => {
  const room = `topic@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await join(bob, room, 'Bob');
  await bob.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'by Bob')));
  await alice.waitFor((el) => el.name === 'message' && el.getChildText('subject') === 'by Bob', 3000, 'subject by bob');
  await configure(alice, room, { 'muc#roomconfig_changesubject': '0' });
  await bob.send(xml('message', { to: room, type: 'groupchat', id: 'subj2' }, xml('subject', {}, 'again by Bob')));
  const err = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'subj2' && el.attrs.type === 'error', 3000, 'refused');
  assert.equal(errorCondition(err), 'forbidden');
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'by the chair')));
  await bob.waitFor((el) => el.name === 'message' && el.getChildText('subject') === 'by the chair', 3000, 'subject by alice');
  // A newcomer gets the current subject, from whoever set it.
  const carolMark = carol.received.length;
  await join(carol, room, 'Carol');
  const s = await carol.waitFor((el) => carol.received.indexOf(el) >= carolMark && el.name === 'message' && el.getChild('subject') !== undefined, 3000, 'subject');
  assert.equal(s.getChildText('subject'), 'by the chair');
  assert.equal(s.attrs.from, `${room}/Alice`);
  await leave(alice, room, 'Alice');
  await leave(bob, room, 'Bob');
  await leave(carol, room, 'Carol');
});

test('muc.maxHistoryChars: a room keeps no more history than this many characters, the oldest going first', async () => {
  const room = `big@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await groupchat(alice, room, 'small 1');
  await groupchat(alice, room, 'small 2');
  const long = 'x'.repeat(1700);
  await groupchat(alice, room, long);
  await messageFrom(alice, `${room}/Alice`, long);
  const mark = bob.received.length;
  await join(bob, room, 'Bob');
  await bob.waitFor((el) => bob.received.indexOf(el) >= mark && el.name === 'message' && el.getChild('subject') !== undefined, 3000, 'subject');
  const history = bob.received.slice(mark).filter((el) => el.name === 'message' && el.getChild('body'));
  assert.deepEqual(history.map((m) => m.getChildText('body')!.slice(0, 7)), ['xxxxxxx']);
  await leave(alice, room, 'Alice');
  await leave(bob, room, 'Bob');
});
