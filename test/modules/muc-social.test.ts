// Group chat beyond talking: invitations (XEP-0249 direct, XEP-0045 §7.8.2 mediated with decline),
// self-ping (XEP-0410), voice requests (§8.6), the room directory (disco#items of the service and
// of the host), and ejabberd's MUC/Sub (subscribe, events to subscribers, the subscriber list).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { iqError, settle, xml, type TestClient } from '../support/client.js';
import { SERVICE, DATA, codes, configure, createInstant, groupchat, itemOf, join, messageFrom } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol', 'dave');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

after(async () => {
  await parley?.close();
});

test('mediated invitation: the invitee gets it from the room (with the password); a decline reaches the inviter', async () => {
  const room = `party@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, { 'muc#roomconfig_membersonly': '1', 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'pw' });
  await alice.send(xml('message', { to: room }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('invite', { to: 'bob@localhost' }, xml('reason', {}, 'come in')))));
  const inv = await bob.waitFor((el) => el.name === 'message' && el.attrs.from === room && el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('invite') !== undefined, 3000, 'invitation');
  const ux = inv.getChild('x', 'http://jabber.org/protocol/muc#user')!;
  assert.equal(ux.getChild('invite')!.attrs.from, 'alice@localhost');
  assert.equal(ux.getChild('invite')!.getChildText('reason'), 'come in');
  assert.equal(ux.getChildText('password'), 'pw');
  // An admin's invitation to a members-only room makes the invitee a member.
  assert.deepEqual(codes(await join(bob, room, 'Bob', { password: 'pw' })), ['110']);

  await alice.send(xml('message', { to: room }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('invite', { to: 'carol@localhost' }))));
  await carol.waitFor((el) => el.name === 'message' && el.attrs.from === room, 3000, 'invitation');
  await carol.send(xml('message', { to: room }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('decline', { to: 'alice@localhost' }, xml('reason', {}, 'busy')))));
  const decline = await alice.waitFor((el) => el.name === 'message' && el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('decline') !== undefined, 3000, 'decline');
  assert.equal(decline.attrs.from, room);
  const d = decline.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('decline')!;
  assert.equal(d.attrs.from, 'carol@localhost');
  assert.equal(d.getChildText('reason'), 'busy');
  // Bob, a mere member, may not invite (allowInvites is off).
  await bob.send(xml('message', { to: room, id: 'inv-bob' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('invite', { to: 'dave@localhost' }))));
  const err = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'inv-bob' && el.attrs.type === 'error', 3000, 'refused invitation');
  assert.ok(err.getChild('error')?.getChild('forbidden'));
});

test('direct invitation (XEP-0249) reaches the invitee as sent', async () => {
  await alice.send(xml('message', { to: 'carol@localhost' }, xml('x', { xmlns: 'jabber:x:conference', jid: `party@${SERVICE}`, reason: 'join us', password: 'pw' })));
  const m = await carol.waitFor((el) => el.name === 'message' && el.getChild('x', 'jabber:x:conference')?.attrs.reason === 'join us', 3000, 'direct invitation');
  assert.equal(m.getChild('x', 'jabber:x:conference')!.attrs.jid, `party@${SERVICE}`);
  assert.equal(m.attrs.from, alice.jid);
});

test('self-ping: the room answers a ping to one\'s own occupant JID; not-acceptable when not in the room', async () => {
  const room = `party@${SERVICE}`;
  const ok = await bob.iq(xml('iq', { type: 'get', to: `${room}/Bob` }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(ok.attrs.type, 'result');
  assert.equal(ok.attrs.from, `${room}/Bob`);
  assert.equal((await iqError(carol, xml('iq', { type: 'get', to: `${room}/Bob` }, xml('ping', { xmlns: 'urn:xmpp:ping' })))).condition, 'not-acceptable');
  assert.equal((await iqError(carol, xml('iq', { type: 'get', to: `nowhere@${SERVICE}/Carol` }, xml('ping', { xmlns: 'urn:xmpp:ping' })))).condition, 'not-acceptable');
  // A ping to another occupant goes to that occupant's client, which answers.
  const other = await bob.iq(xml('iq', { type: 'get', to: `${room}/Alice` }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(other.attrs.from, `${room}/Alice`);
});

test('voice request: a visitor asks, moderators get the form, an approval gives voice', async () => {
  const room = `stage@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  await configure(alice, room, { 'muc#roomconfig_moderatedroom': '1', members_by_default: '0' });
  const self = await join(carol, room, 'Carol');
  assert.equal(itemOf(self)?.attrs.role, 'visitor');
  await groupchat(carol, room, 'may I?');
  const refused = await carol.waitFor((el) => el.name === 'message' && el.attrs.type === 'error' && el.attrs.from === room, 3000, 'visitor refused');
  assert.ok(refused.getChild('error')?.getChild('forbidden'));

  const request = xml(
    'x',
    { xmlns: DATA, type: 'submit' },
    xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#request')),
    xml('field', { var: 'muc#role' }, xml('value', {}, 'participant')),
  );
  await carol.send(xml('message', { to: room }, request));
  const form = await alice.waitFor((el) => el.name === 'message' && el.attrs.from === room && el.getChild('x', DATA) !== undefined, 3000, 'voice request');
  const fields = Object.fromEntries(form.getChild('x', DATA)!.getChildren('field').map((f: any) => [f.attrs.var, f.getChildText('value')]));
  assert.equal(fields['muc#roomnick'], 'Carol');
  assert.equal(fields['muc#jid'], carol.jid);
  assert.equal(fields['muc#request_allow'], '0');

  const approval = xml(
    'x',
    { xmlns: DATA, type: 'submit' },
    xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#request')),
    xml('field', { var: 'muc#role' }, xml('value', {}, 'participant')),
    xml('field', { var: 'muc#jid' }, xml('value', {}, carol.jid)),
    xml('field', { var: 'muc#roomnick' }, xml('value', {}, 'Carol')),
    xml('field', { var: 'muc#request_allow' }, xml('value', {}, 'true')),
  );
  await alice.send(xml('message', { to: room }, approval));
  await carol.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Carol` && itemOf(el)?.attrs.role === 'participant', 3000, 'voice granted');
  // Too soon again: refused.
  await carol.send(xml('message', { to: room, id: 'again' }, xml('body', {}, 'x')));
  await settle(carol);
});

test('the room directory: the host lists the service; the service lists public rooms, not hidden or locked ones; a room lists its occupants', async () => {
  const hostItems = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(hostItems.getChild('query')!.getChildren('item').some((i: any) => i.attrs.jid === SERVICE));
  const svcInfo = await alice.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(svcInfo.getChild('query')!.getChild('identity')!.attrs.category, 'conference');
  assert.ok(svcInfo.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === 'http://jabber.org/protocol/muc'));

  await createInstant(alice, `hidden@${SERVICE}`, 'Alice');
  await configure(alice, `hidden@${SERVICE}`, { 'muc#roomconfig_publicroom': '0' });
  await join(alice, `locked@${SERVICE}`, 'Alice'); // never configured
  const items = await bob.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  const jids = items.getChild('query')!.getChildren('item').map((i: any) => i.attrs.jid).sort();
  assert.ok(jids.includes(`party@${SERVICE}`));
  assert.ok(jids.includes(`stage@${SERVICE}`));
  assert.ok(!jids.includes(`hidden@${SERVICE}`));
  assert.ok(!jids.includes(`locked@${SERVICE}`));

  const roomItems = await bob.iq(xml('iq', { type: 'get', to: `stage@${SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.deepEqual(roomItems.getChild('query')!.getChildren('item').map((i: any) => i.attrs.jid).sort(), [`stage@${SERVICE}/Alice`, `stage@${SERVICE}/Carol`]);
  const info = await bob.iq(xml('iq', { type: 'get', to: `stage@${SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const form = info.getChild('query')!.getChild('x', DATA)!;
  const occupants = form.getChildren('field').find((f: any) => f.attrs.var === 'muc#roominfo_occupants');
  assert.equal(occupants?.getChildText('value'), '2');
  assert.ok(info.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === 'muc_moderated'));
});

test('MUC/Sub: a subscriber who is not in the room gets its messages and subject wrapped as events; moderators list subscribers', async () => {
  const room = `news@${SERVICE}`;
  await createInstant(alice, room, 'Alice');
  const refused = await iqError(bob, xml('iq', { type: 'set', to: room }, xml('subscribe', { xmlns: 'urn:xmpp:mucsub:0', nick: 'Bob' }, xml('event', { node: 'urn:xmpp:mucsub:nodes:messages' }))));
  assert.equal(refused.condition, 'not-allowed');
  await configure(alice, room, { allow_subscription: '1' });
  const res = await bob.iq(
    xml('iq', { type: 'set', to: room }, xml('subscribe', { xmlns: 'urn:xmpp:mucsub:0', nick: 'Bob' }, xml('event', { node: 'urn:xmpp:mucsub:nodes:messages' }), xml('event', { node: 'urn:xmpp:mucsub:nodes:subject' }))),
  );
  const sub = res.getChild('subscribe', 'urn:xmpp:mucsub:0')!;
  assert.deepEqual(sub.getChildren('event').map((e: any) => e.attrs.node).sort(), ['urn:xmpp:mucsub:nodes:messages', 'urn:xmpp:mucsub:nodes:subject']);
  // The nick is Bob's now: Carol may not take it.
  assert.equal((await iqError(carol, xml('iq', { type: 'set', to: room }, xml('subscribe', { xmlns: 'urn:xmpp:mucsub:0', nick: 'Bob' })))).condition, 'conflict');

  await groupchat(alice, room, 'breaking news');
  const ev = await bob.waitFor((el) => el.name === 'message' && el.attrs.from === room && el.getChild('event', 'http://jabber.org/protocol/pubsub#event') !== undefined, 3000, 'event');
  const items = ev.getChild('event', 'http://jabber.org/protocol/pubsub#event')!.getChild('items')!;
  assert.equal(items.attrs.node, 'urn:xmpp:mucsub:nodes:messages');
  const inner = items.getChild('item')!.getChild('message')!;
  assert.equal(inner.attrs.from, `${room}/Alice`);
  assert.equal(inner.attrs.type, 'groupchat');
  assert.equal(inner.getChildText('body'), 'breaking news');

  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'Headlines')));
  await bob.waitFor((el) => el.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items')?.attrs.node === 'urn:xmpp:mucsub:nodes:subject', 3000, 'subject event');

  const list = await alice.iq(xml('iq', { type: 'get', to: room }, xml('subscriptions', { xmlns: 'urn:xmpp:mucsub:0' })));
  assert.deepEqual(list.getChild('subscriptions')!.getChildren('subscription').map((s: any) => [s.attrs.jid, s.attrs.nick]), [['bob@localhost', 'Bob']]);
  assert.equal((await iqError(carol, xml('iq', { type: 'get', to: room }, xml('subscriptions', { xmlns: 'urn:xmpp:mucsub:0' })))).condition, 'forbidden');

  // A subscriber who is offline gets the events later (they go through offline storage).
  await bob.stop();
  await eventually(() => !parley.server.sessions.hasSessions('bob@localhost'), 3000, 'bob offline');
  await groupchat(alice, room, 'while you were away');
  await eventually(async () => (await parley.api('get_offline_count', { user: 'bob', server: 'localhost' })).body?.value >= 1, 3000, 'the event stored offline');
  const bob2 = await parley.login('bob', 'again');
  await bob2.waitFor((el) => el.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items')?.getChild('item')?.getChild('message')?.getChildText('body') === 'while you were away', 5000, 'stored event');

  // A subscriber speaks without entering, under its subscribed nick.
  const aliceMark = alice.received.length;
  await groupchat(bob2, room, 'from afar');
  await messageFrom(alice, `${room}/Bob`, 'from afar', aliceMark);
  // Not in the room, Bob gets his own message as an event too.
  await bob2.waitFor((el) => el.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items')?.getChild('item')?.getChild('message')?.getChildText('body') === 'from afar', 3000, 'own event');

  await bob2.iq(xml('iq', { type: 'set', to: room }, xml('unsubscribe', { xmlns: 'urn:xmpp:mucsub:0' })));
  const after = await alice.iq(xml('iq', { type: 'get', to: room }, xml('subscriptions', { xmlns: 'urn:xmpp:mucsub:0' })));
  assert.equal(after.getChild('subscriptions')!.getChildren('subscription').length, 0);
  const mark = bob2.received.length;
  await groupchat(alice, room, 'no longer');
  await settle(alice, bob2);
  await eventually(() => true);
  assert.ok(!bob2.received.slice(mark).some((el) => el.getChild('event', 'http://jabber.org/protocol/pubsub#event')));
});

test('moderation (XEP-0425) is for moderators; an unknown message is item-not-found', async () => {
  const room = `party@${SERVICE}`;
  const moderate = (id: string) => xml('iq', { type: 'set', to: room }, xml('moderate', { xmlns: 'urn:xmpp:message-moderate:1', id }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1' })));
  assert.equal((await iqError(carol, moderate('x'))).condition, 'forbidden');
  assert.equal((await iqError(alice, moderate('nope'))).condition, 'item-not-found');
});

test('the room directory pages (XEP-0059): max, after, count', async () => {
  const muc = parley.server.service('muc');
  for (const n of ['d1', 'd2', 'd3', 'd4', 'd5']) await muc.createRoom(`${n}@${SERVICE}`, 'alice@localhost', { title: n.toUpperCase() });
  const page = async (set: ReturnType<typeof xml>) => (await carol.iq(xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }, set)))).getChild('query')!;
  const first = await page(xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '2')));
  const items = first.getChildren('item').map((i: any) => i.attrs.jid);
  assert.deepEqual(items, [`d1@${SERVICE}`, `d2@${SERVICE}`]);
  const rsm = first.getChild('set', 'http://jabber.org/protocol/rsm')!;
  const total = Number(rsm.getChildText('count'));
  assert.ok(total >= 7, `count ${total}`);
  const second = await page(xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '2'), xml('after', {}, rsm.getChildText('last')!)));
  assert.deepEqual(second.getChildren('item').map((i: any) => i.attrs.jid), [`d3@${SERVICE}`, `d4@${SERVICE}`]);
  assert.equal(second.getChildren('item')[0].attrs.name, 'D3 (0)');
});
