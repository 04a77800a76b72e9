// PEP notifications (XEP-0163 §4.3) filtered by entity capabilities (XEP-0115): a user avatar
// (XEP-0084, data and metadata) published by a real client reaches the contacts whose clients ask
// for urn:xmpp:avatar:metadata+notify, and no one else; a contact coming online later gets the
// last item; caps are verified (a false ver is not believed) and cached by ver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { befriend, capsClient, isEvent, itemsIq, itemsOf, NS_EVENT, publishIq, pubsubFailure, type CapsClient } from './pep-support.js';

const NS_DATA = 'urn:xmpp:avatar:data';
const NS_METADATA = 'urn:xmpp:avatar:metadata';
const IMAGE = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const AVATAR_ID = createHash('sha1').update(IMAGE).digest('hex');
const ALICE = 'alice@localhost';

let parley: Parley;
let alice: CapsClient;
let bob: CapsClient;
let carol: CapsClient;
let dave: CapsClient;
const extra: TestClient[] = [];

/** Waits until the server knows the client's caps (it asked, got the answer and verified it). */
async function capsKnown(c: CapsClient, user: string, resource: string): Promise<void> {
  const pep = parley.server.service('pep');
  await eventually(() => {
    const s = parley.server.sessions.get(`${user}@localhost`, resource);
    return s !== undefined && pep.featuresOf(s) !== undefined;
  }, 5000, `caps of ${user}/${resource}`);
  await c.sync();
}

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina');
  await befriend(parley, 'alice', 'bob');
  await befriend(parley, 'alice', 'carol');
  await befriend(parley, 'alice', 'erin');
  await befriend(parley, 'alice', 'frank');
  alice = await capsClient(parley, 'alice', 'phone', [`${NS_METADATA}+notify`]);
  bob = await capsClient(parley, 'bob', 'desk', [`${NS_METADATA}+notify`, 'urn:xmpp:ping']);
  carol = await capsClient(parley, 'carol', 'desk', ['urn:xmpp:ping']);
  dave = await capsClient(parley, 'dave', 'desk', [`${NS_METADATA}+notify`, 'urn:xmpp:ping']);
  await Promise.all([capsKnown(alice, 'alice', 'phone'), capsKnown(bob, 'bob', 'desk'), capsKnown(carol, 'carol', 'desk'), capsKnown(dave, 'dave', 'desk')]);
});

after(async () => {
  for (const c of [alice, bob, carol, dave, ...extra]) await c?.stop();
  await parley?.close();
});

test('an avatar published by alice reaches bob (metadata+notify), alice herself, and not carol (no +notify) nor dave (no contact)', async () => {
  const data = await alice.iq(publishIq(NS_DATA, xml('data', { xmlns: NS_DATA }, IMAGE.toString('base64')), AVATAR_ID));
  assert.equal(data.getChild('pubsub')?.getChild('publish')?.getChild('item')?.attrs.id, AVATAR_ID);
  const metadata = xml('metadata', { xmlns: NS_METADATA }, xml('info', { bytes: String(IMAGE.length), id: AVATAR_ID, type: 'image/png', height: '1', width: '1' }));
  await alice.iq(publishIq(NS_METADATA, metadata, AVATAR_ID));

  const event = await bob.waitFor(isEvent(NS_METADATA, ALICE, AVATAR_ID), 3000, 'the metadata notification');
  assert.equal(event.attrs.type, 'headline');
  const info = event.getChild('event', NS_EVENT)!.getChild('items')!.getChild('item')!.getChild('metadata', NS_METADATA)!.getChild('info')!;
  assert.equal(info.attrs.id, AVATAR_ID);
  assert.equal(info.attrs.bytes, String(IMAGE.length));
  await alice.waitFor(isEvent(NS_METADATA, ALICE, AVATAR_ID), 3000, "alice's own notification");

  await settle(alice, bob, carol, dave);
  assert.equal(carol.received.filter(isEvent(NS_METADATA, ALICE)).length, 0, 'carol did not ask for notifications');
  assert.equal(dave.received.filter(isEvent(NS_METADATA, ALICE)).length, 0, 'dave is not a contact');
  // Nobody asked for the data node's notifications.
  assert.equal(bob.received.filter(isEvent(NS_DATA, ALICE)).length, 0);
});

test('bob retrieves the avatar data by id; dave, who is not subscribed to her presence, is refused', async () => {
  const r = await bob.iq(itemsIq(ALICE, NS_DATA, {}, xml('item', { id: AVATAR_ID })));
  const [item] = itemsOf(r);
  assert.equal(item?.attrs.id, AVATAR_ID);
  assert.equal(Buffer.from(item!.getChild('data', NS_DATA)!.text(), 'base64').toString('hex'), IMAGE.toString('hex'));
  const failure = await pubsubFailure(dave, itemsIq(ALICE, NS_DATA));
  assert.deepEqual([failure.condition, failure.app], ['not-authorized', 'presence-subscription-required']);
});

test('erin comes online later with metadata+notify and gets the last item, without a disco query (the ver is cached)', async () => {
  const erin = await capsClient(parley, 'erin', 'laptop', [`${NS_METADATA}+notify`, 'urn:xmpp:ping']);
  extra.push(erin);
  const event = await erin.waitFor(isEvent(NS_METADATA, ALICE, AVATAR_ID), 5000, 'the last published item');
  assert.ok(event.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, 'the last item carries when it was published');
  assert.equal(erin.capsQueries(), 0, "bob's ver was verified and cached: erin is not asked");
  assert.ok(bob.capsQueries() >= 1);
});

test('a client whose features do not hash to the ver it claims gets nothing', async () => {
  const frank = await capsClient(parley, 'frank', 'liar', [`${NS_METADATA}+notify`], { lie: true });
  extra.push(frank);
  await eventually(() => frank.capsQueries() >= 1, 5000, 'the caps query');
  await alice.iq(publishIq(NS_METADATA, xml('metadata', { xmlns: NS_METADATA }), 'second'));
  await bob.waitFor(isEvent(NS_METADATA, ALICE, 'second'), 3000, 'the new item reaches bob');
  await settle(frank, alice);
  assert.equal(frank.received.filter(isEvent(NS_METADATA, ALICE)).length, 0);
});

test('a retraction with notify reaches bob; an unavailable client is no longer notified', async () => {
  await alice.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('retract', { node: NS_METADATA, notify: 'true' }, xml('item', { id: 'second' })))));
  await bob.waitFor((el) => el.name === 'message' && el.getChild('event', NS_EVENT)?.getChild('items')?.getChild('retract')?.attrs.id === 'second', 3000, 'the retraction');
  await bob.send(xml('presence', { type: 'unavailable' }));
  await bob.sync();
  const before = bob.received.length;
  await alice.iq(publishIq(NS_METADATA, xml('metadata', { xmlns: NS_METADATA }), 'third'));
  await alice.waitFor(isEvent(NS_METADATA, ALICE, 'third'));
  await settle(bob, alice);
  assert.equal(bob.received.slice(before).filter(isEvent(NS_METADATA, ALICE)).length, 0);
});

test("a contact whose subscription alice approves gets her last item at once, with her presence", async () => {
  const gina = await capsClient(parley, 'gina', 'phone', [`${NS_METADATA}+notify`, 'urn:xmpp:ping']);
  extra.push(gina);
  await capsKnown(gina, 'gina', 'phone');
  await settle(gina);
  assert.equal(gina.received.filter(isEvent(NS_METADATA, ALICE)).length, 0, 'not a contact yet');
  await gina.send(xml('presence', { to: ALICE, type: 'subscribe' }));
  await alice.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === 'gina@localhost', 3000, 'the request');
  await alice.send(xml('presence', { to: 'gina@localhost', type: 'subscribed' }));
  await gina.waitFor(isEvent(NS_METADATA, ALICE, 'third'), 3000, "alice's last item");
  await settle(gina, alice);
  assert.equal(gina.received.filter(isEvent(NS_METADATA, ALICE)).length, 1, 'once, however many presences follow');
});
