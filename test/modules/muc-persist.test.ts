// Persistent rooms (XEP-0045 §10.2) survive a restart of the server on the same storage with their
// configuration, subject, affiliations, registered nicks and MUC/Sub subscriptions; temporary rooms
// do not. Also destruction with a reason and an alternate venue, and registered nicks (§7.10).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Server } from '../../src/server.js';
import { startParley, type Parley } from '../support/harness.js';
import { connect, iqError, xml, type TestClient } from '../support/client.js';
import { SERVICE, MUC_OWNER, adminSet, codes, configure, createInstant, errorCondition, itemOf, join } from '../support/muc.js';

let parley: Parley;
let restarted: Server | undefined;
const extra: TestClient[] = [];

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
});

after(async () => {
  for (const c of extra) await c.stop();
  await restarted?.stop();
  await parley?.close();
});

async function loginTo(server: Server, user: string, resource: string): Promise<TestClient> {
  const c = await connect({ service: `xmpp://127.0.0.1:${server.addresses.c2s!.port}`, username: user, password: `${user}pw`, resource });
  extra.push(c);
  return c;
}

test('registered nicks: register on the service, a nick registered by another is refused (conflict) on entering and registering', async () => {
  const alice = await parley.login('alice', 'reg');
  const bob = await parley.login('bob', 'reg');
  const form = await alice.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' })));
  assert.ok(form.getChild('query')!.getChild('x', 'jabber:x:data'));
  const submit = (nick: string) =>
    xml('iq', { type: 'set', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'nick' }, xml('value', {}, nick)))));
  await alice.iq(submit('Morgana'));
  const registered = await alice.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' })));
  assert.ok(registered.getChild('query')!.getChild('registered'));
  assert.equal(registered.getChild('query')!.getChildText('username'), 'Morgana');
  assert.equal((await iqError(bob, submit('Morgana'))).condition, 'conflict');

  await createInstant(bob, `lair@${SERVICE}`, 'Bob');
  const taken = await join(bob, `other@${SERVICE}`, 'Morgana');
  assert.equal(errorCondition(taken), 'conflict');
  // Its owner may use it, and a nick change to it is refused to others.
  assert.deepEqual(codes(await join(alice, `lair@${SERVICE}`, 'Morgana')), ['110']);
  await alice.send(xml('presence', { to: `lair@${SERVICE}/Morgana`, type: 'unavailable' }));
  await bob.send(xml('presence', { to: `lair@${SERVICE}/Morgana` }));
  const refused = await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'error' && el.attrs.from === `lair@${SERVICE}/Morgana`, 3000, 'nick change refused');
  assert.equal(errorCondition(refused), 'conflict');
  // The reserved nick is discoverable (§7.12).
  const item = await alice.iq(xml('iq', { type: 'get', to: `lair@${SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'x-roomuser-item' })));
  assert.equal(item.getChild('query')!.getChild('identity')?.attrs.name, 'Morgana');
  await alice.stop();
  await bob.stop();
});

test('a persistent room keeps its configuration, subject, affiliations, nicks and subscriptions across a restart; a temporary room does not', async () => {
  const alice = await parley.login('alice', 'p');
  const room = `keep@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, {
    'muc#roomconfig_persistentroom': '1',
    'muc#roomconfig_roomname': 'Kept',
    'muc#roomconfig_membersonly': '1',
    allow_subscription: '1',
  });
  await adminSet(alice, room, xml('item', { jid: 'bob@localhost', affiliation: 'member' }), xml('item', { jid: 'carol@localhost', affiliation: 'outcast' }, xml('reason', {}, 'no')));
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'Stays')));
  await alice.waitFor((el) => el.name === 'message' && el.getChildText('subject') === 'Stays', 3000, 'subject');
  await alice.iq(xml('iq', { type: 'set', to: room }, xml('subscribe', { xmlns: 'urn:xmpp:mucsub:0', nick: 'AliceSub' }, xml('event', { node: 'urn:xmpp:mucsub:nodes:messages' }))));
  await createInstant(alice, `fleeting@${SERVICE}`, 'Alice');
  await alice.stop();
  const early = await parley.login('bob', 'before');
  const beforeRestart = await join(early, room, 'Bob');

  await parley.server.stop();
  // Those in a room when the node stops are told why they leave (332).
  const shutdown = await early.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.attrs.type === 'unavailable', 3000, '332');
  assert.deepEqual(codes(shutdown), ['110', '332']);
  restarted = new Server({ config: parley.server.config, logger: pino({ level: 'silent' }) });
  await restarted.start();

  const bob = await loginTo(restarted, 'bob', 'after');
  const self = await join(bob, room, 'Bob');
  assert.deepEqual(codes(self), ['110']);
  assert.equal(itemOf(self)?.attrs.affiliation, 'member');
  // Bob keeps his occupant id (XEP-0421) across the restart.
  const oid = (el: typeof self) => el.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id;
  assert.ok(oid(self));
  assert.equal(oid(self), oid(beforeRestart));
  const subject = await bob.waitFor((el) => el.name === 'message' && el.attrs.from?.startsWith(room) && el.getChild('subject') !== undefined, 3000, 'subject');
  assert.equal(subject.getChildText('subject'), 'Stays');
  const info = await bob.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = info.getChild('query')!;
  assert.equal(q.getChild('identity')?.attrs.name, 'Kept');
  const features = q.getChildren('feature').map((f: any) => f.attrs.var);
  for (const f of ['muc_persistent', 'muc_membersonly', 'urn:xmpp:mucsub:0']) assert.ok(features.includes(f), f);

  const carol = await loginTo(restarted, 'carol', 'after');
  assert.equal(errorCondition(await join(carol, room, 'Carol')), 'forbidden');
  const gone = await iqError(carol, xml('iq', { type: 'get', to: `fleeting@${SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(gone.condition, 'item-not-found');

  const alice2 = await loginTo(restarted, 'alice', 'after');
  const subs = await alice2.iq(xml('iq', { type: 'get', to: SERVICE }, xml('subscriptions', { xmlns: 'urn:xmpp:mucsub:0' })));
  assert.deepEqual(subs.getChild('subscriptions')!.getChildren('subscription').map((s: any) => s.attrs.jid), [room]);
  const nick = await alice2.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' })));
  assert.equal(nick.getChild('query')!.getChildText('username'), 'Morgana');
  // Bob leaves; the persistent room stays though empty.
  await bob.send(xml('presence', { to: `${room}/Bob`, type: 'unavailable' }));
  await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`, 3000, 'left');
  const still = await alice2.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: MUC_OWNER })));
  assert.equal(still.attrs.type, 'result');
});

test('destruction: occupants learn the reason and the alternate venue; the room and its stored state are gone', async () => {
  assert.ok(restarted);
  const alice = await loginTo(restarted, 'alice', 'destroy');
  const bob = await loginTo(restarted, 'bob', 'destroy');
  const room = `keep@${SERVICE}`;
  await join(alice, room, 'Alice');
  await join(bob, room, 'Bob');
  const denied = await iqError(bob, xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('destroy', {}))));
  assert.equal(denied.condition, 'forbidden');
  await alice.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('destroy', { jid: `newplace@${SERVICE}` }, xml('reason', {}, 'moving house')))));
  const p = await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.attrs.type === 'unavailable' && el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('destroy') !== undefined, 3000, 'destroyed');
  const d = p.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('destroy')!;
  assert.equal(d.attrs.jid, `newplace@${SERVICE}`);
  assert.equal(d.getChildText('reason'), 'moving house');
  const gone = await iqError(alice, xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(gone.condition, 'item-not-found');
  // Re-creating it starts afresh: Carol's ban went with the room.
  const carol = await loginTo(restarted, 'carol', 'destroy');
  const fresh = await join(carol, room, 'Carol');
  assert.deepEqual(codes(fresh), ['110', '201']);
});
