// The room commands that reach people outside the room — MUC/Sub subscriptions, direct
// invitations, registered nicks — and send_message's groupchat rules (H21, H24), over real HTTP,
// observed by real clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { call, createByClient, heard, isSubEvent, join, joinRefused, refused, say, SERVICE } from './muc-commands-support.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
let dave: TestClient;
let erin: TestClient;
const ROOM = `news@${SERVICE}`;
const MESSAGES = 'urn:xmpp:mucsub:nodes:messages';
const AFFILIATIONS = 'urn:xmpp:mucsub:nodes:affiliations';

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol', 'dave', 'erin');
  [alice, bob, carol, dave, erin] = await Promise.all(
    ['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => parley.login(u, 'home')),
  );
  await call(parley, 'create_room_with_opts', {
    name: 'news', service: SERVICE, host: 'localhost',
    options: [{ name: 'allow_subscription', value: 'true' }, { name: 'persistent', value: 'true' }, { name: 'affiliations', value: 'owner:alice@localhost' }],
  });
  await join(alice, ROOM, 'Alice');
  await join(bob, ROOM, 'Bob');
});

after(async () => {
  await parley?.close();
});

test('subscribe_room: the subscriber gets the room\'s messages without being in it; get_subscribers lists it; unsubscribe_room stops them', async () => {
  assert.deepEqual(await call(parley, 'subscribe_room', { user: 'carol@localhost', nick: 'Carol', room: ROOM, nodes: `${MESSAGES}, ${AFFILIATIONS}` }), [MESSAGES, AFFILIATIONS]);
  assert.deepEqual(await call(parley, 'get_subscribers', { name: 'news', service: SERVICE }), ['carol@localhost']);

  await say(alice, ROOM, 'first edition');
  await heard(bob, ROOM, 'first edition');
  await carol.waitFor(isSubEvent(ROOM, MESSAGES, 'first edition'), 5000, 'the message as a MUC/Sub event');
  // carol is not an occupant.
  assert.deepEqual((await call(parley, 'get_room_occupants', { name: 'news', service: SERVICE })).map((o: any) => o.nick), ['Alice', 'Bob']);

  assert.equal(await call(parley, 'unsubscribe_room', { user: 'carol@localhost', room: ROOM }), 0);
  assert.deepEqual(await call(parley, 'get_subscribers', { name: 'news', service: SERVICE }), []);
  await say(alice, ROOM, 'second edition');
  await heard(bob, ROOM, 'second edition');
  await settle(alice, bob, carol);
  assert.equal(carol.received.filter(isSubEvent(ROOM, MESSAGES, 'second edition')).length, 0, 'no event after unsubscribing');
  // Unsubscribing again is no error (ejabberd answers 0).
  assert.equal(await call(parley, 'unsubscribe_room', { user: 'carol@localhost', room: ROOM }), 0);
});

test('create_room_with_opts subscribers: the room is made with its subscribers, who get its messages', async () => {
  const room = `digest@${SERVICE}`;
  assert.equal(
    await call(parley, 'create_room_with_opts', {
      name: 'digest', service: SERVICE, host: 'localhost',
      options: [{ name: 'allow_subscription', value: 'true' }, { name: 'subscribers', value: 'dave@localhost=Dave=messages=subject;erin@localhost:Erin:messages' }],
    }),
    0,
  );
  assert.deepEqual(await call(parley, 'get_subscribers', { name: 'digest', service: SERVICE }), ['dave@localhost', 'erin@localhost']);
  await join(alice, room, 'Alice');
  await say(alice, room, 'digest one');
  await dave.waitFor(isSubEvent(room, MESSAGES, 'digest one'), 5000, 'dave gets the event');
  await erin.waitFor(isSubEvent(room, MESSAGES, 'digest one'), 5000, 'erin gets the event');
  await alice.send(xml('presence', { to: `${room}/Alice`, type: 'unavailable' }));
});

test('subscribe_room, unsubscribe_room, get_subscribers: ejabberd\'s errors', async () => {
  await refused(parley, 'subscribe_room', { user: 'carol@localhost', nick: '', room: ROOM, nodes: MESSAGES }, 'Nickname must be set');
  await refused(parley, 'subscribe_room', { user: 'carol@localhost', nick: 'C', room: 'news', nodes: MESSAGES }, 'Malformed room JID');
  await refused(parley, 'subscribe_room', { user: '@@', nick: 'C', room: ROOM, nodes: MESSAGES }, 'Malformed user JID');
  await refused(parley, 'subscribe_room', { user: 'carol@localhost', nick: 'C', room: `nope@${SERVICE}`, nodes: MESSAGES }, 'The room does not exist');
  await refused(parley, 'unsubscribe_room', { user: 'carol@localhost', room: `nope@${SERVICE}` }, 'The room does not exist');
  await refused(parley, 'unsubscribe_room', { user: 'carol@localhost', room: 'bad room@x@y' }, 'Malformed room JID');
  await refused(parley, 'get_subscribers', { name: 'nope', service: SERVICE }, 'The room does not exist');

  // The room's password is not asked of a user the admin subscribes; members-only still holds.
  await call(parley, 'create_room_with_opts', {
    name: 'guarded', service: SERVICE, host: 'localhost',
    options: [{ name: 'allow_subscription', value: 'true' }, { name: 'password', value: 'pw' }],
  });
  assert.deepEqual(await call(parley, 'subscribe_room', { user: 'carol@localhost', nick: 'Carol', room: `guarded@${SERVICE}`, nodes: MESSAGES }), [MESSAGES]);
  await call(parley, 'change_room_option', { name: 'guarded', service: SERVICE, option: 'members_only', value: 'true' });
  await refused(parley, 'subscribe_room', { user: 'dave@localhost', nick: 'Dave', room: `guarded@${SERVICE}`, nodes: MESSAGES }, /members-only/);
  await call(parley, 'change_room_option', { name: 'guarded', service: SERVICE, option: 'allow_subscription', value: 'false' });
  await refused(parley, 'subscribe_room', { user: 'dave@localhost', nick: 'Dave', room: `guarded@${SERVICE}`, nodes: MESSAGES }, /not allowed/);
});

test('send_direct_invitation: each user not in the room gets a XEP-0249 invitation from the room, with the reason and password', async () => {
  assert.equal(
    await call(parley, 'send_direct_invitation', { name: 'news', service: SERVICE, password: 'none', reason: 'Read this', users: 'dave@localhost:erin@localhost:bob@localhost' }),
    0,
  );
  const isInvite = (el: any) => el.is('message') && el.getChild('x', 'jabber:x:conference')?.attrs.jid === ROOM;
  for (const c of [dave, erin]) {
    const m = await c.waitFor(isInvite, 5000, `invitation at ${c.jid}`);
    const x = m.getChild('x', 'jabber:x:conference');
    assert.equal(x.attrs.reason, 'Read this');
    assert.ok(!x.attrs.password, 'password none is no password');
    assert.equal(String(m.attrs.from).split('/')[0], ROOM);
  }
  await settle(alice, bob, dave, erin);
  assert.equal(bob.received.filter(isInvite).length, 0, 'bob is in the room already');

  assert.equal(await call(parley, 'send_direct_invitation', { name: 'news', service: SERVICE, password: 'pw1', reason: 'none', users: 'carol@localhost' }), 0);
  const m = await carol.waitFor(isInvite, 5000, 'invitation with password');
  assert.equal(m.getChild('x', 'jabber:x:conference').attrs.password, 'pw1');

  // A protected room's password goes only where the admin gives it.
  await call(parley, 'create_room_with_opts', { name: 'hushed', service: SERVICE, host: 'localhost', options: [{ name: 'password', value: 'hush' }] });
  assert.equal(await call(parley, 'send_direct_invitation', { name: 'hushed', service: SERVICE, password: 'none', reason: 'none', users: 'dave@localhost' }), 0);
  const hushed = await dave.waitFor((el) => el.is('message') && el.getChild('x', 'jabber:x:conference')?.attrs.jid === `hushed@${SERVICE}`, 5000, 'invitation to hushed');
  assert.deepEqual(hushed.getChild('x', 'jabber:x:conference').attrs, { xmlns: 'jabber:x:conference', jid: `hushed@${SERVICE}` });

  await refused(parley, 'send_direct_invitation', { name: 'nope', service: SERVICE, password: '', reason: '', users: 'dave@localhost' }, 'room_not_found');
  await refused(parley, 'send_direct_invitation', { name: 'a@b', service: SERVICE, password: '', reason: '', users: 'dave@localhost' }, "Invalid 'roomname' or 'service'");
  await refused(parley, 'send_direct_invitation', { name: 'news', service: SERVICE, password: '', reason: '', users: 'dave@localhost:@@' }, /Invalid JID in 'users'/);
});

test('muc_register_nick and muc_unregister_nick: a registered nick is kept for its account in every room of the service', async () => {
  assert.equal(await call(parley, 'muc_register_nick', { nick: 'Tim', jid: 'dave@localhost', service: SERVICE }), 0);
  await refused(parley, 'muc_register_nick', { nick: 'Tim', jid: 'erin@localhost', service: SERVICE }, 'Nick already registered');
  assert.equal(await joinRefused(erin, ROOM, 'Tim'), 'conflict');
  await join(dave, ROOM, 'Tim');

  assert.equal(await call(parley, 'muc_unregister_nick', { jid: 'dave@localhost', service: SERVICE }), 0);
  // Nothing registered any more: unregistering again succeeds, as in ejabberd.
  assert.equal(await call(parley, 'muc_unregister_nick', { jid: 'dave@localhost', service: SERVICE }), 0);
  assert.equal(await call(parley, 'muc_register_nick', { nick: 'Tim', jid: 'erin@localhost', service: SERVICE }), 0);
  // An empty nick unregisters (ejabberd's muc_unregister_nick is that).
  assert.equal(await call(parley, 'muc_register_nick', { nick: '', jid: 'erin@localhost', service: SERVICE }), 0);
  assert.equal(await call(parley, 'muc_register_nick', { nick: 'Tim', jid: 'carol@localhost', service: SERVICE }), 0);

  await refused(parley, 'muc_register_nick', { nick: 'X', jid: 'dave@localhost', service: 'conference.nowhere.test' }, "Invalid 'service'");
  await refused(parley, 'muc_register_nick', { nick: 'X', jid: '@@', service: SERVICE }, "Invalid 'jid'");
  await refused(parley, 'muc_unregister_nick', { jid: 'dave@localhost', service: 'nowhere' }, "Invalid 'service'");
});

test('send_message type=groupchat: from an occupant\'s full JID, a service admin\'s or a subscriber\'s bare JID it reaches the room; otherwise the sender gets the room\'s error', async () => {
  const send = (from: string, body: string) => call(parley, 'send_message', { type: 'groupchat', from, to: ROOM, subject: '', body });

  assert.equal(await send('bob@localhost/home', 'from an occupant'), 0);
  const m = await heard(alice, ROOM, 'from an occupant');
  assert.equal(m.attrs.from, `${ROOM}/Bob`);

  assert.equal(await send('admin@localhost', 'from the admin'), 0);
  await heard(alice, ROOM, 'from the admin');

  await call(parley, 'subscribe_room', { user: 'erin@localhost', nick: 'Erin', room: ROOM, nodes: MESSAGES });
  assert.equal(await send('erin@localhost', 'from a subscriber'), 0);
  await heard(bob, ROOM, 'from a subscriber');

  // A stranger: ejabberd routes the message, and the room bounces it to the sender.
  assert.equal(await send('carol@localhost/home', 'from a stranger'), 0);
  const bounce = await carol.waitFor((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.from === ROOM, 5000, 'the room\'s error');
  assert.ok(bounce.getChild('error')?.getChild('not-acceptable', 'urn:ietf:params:xml:ns:xmpp-stanzas'), bounce.toString());
  await settle(alice, bob, carol);
  assert.equal(alice.received.filter((el) => el.getChildText('body') === 'from a stranger').length, 0);

  // To a room that does not exist: the service's item-not-found, to the sender.
  assert.equal(await call(parley, 'send_message', { type: 'groupchat', from: 'carol@localhost/home', to: `ghost@${SERVICE}`, subject: '', body: 'anyone?' }), 0);
  const gone = await carol.waitFor((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.from === `ghost@${SERVICE}`, 5000, 'item-not-found');
  assert.ok(gone.getChild('error')?.getChild('item-not-found', 'urn:ietf:params:xml:ns:xmpp-stanzas'), gone.toString());

  // Other types, and groupchat to a non-room, are routed as before.
  assert.equal(await call(parley, 'send_message', { type: 'chat', from: 'admin@localhost', to: 'bob@localhost', subject: '', body: 'plain chat' }), 0);
  await bob.waitFor((el) => el.is('message') && el.getChildText('body') === 'plain chat', 5000, 'chat message');
});
