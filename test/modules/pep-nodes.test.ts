// PEP nodes as XEP-0060 has them, from real clients: publish with auto-create and publish-options
// (precondition-not-met), items (all, max_items, by id) under each access model (presence, open,
// roster, whitelist), node configuration, create/delete/purge, affiliations, the limits
// (pep.maxNodes, pep.maxItemsPerNode, pep.maxItemSize), disco and removal with the account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startParley, type Parley } from '../support/harness.js';
import { xml, type TestClient } from '../support/client.js';
import { befriend, dataForm, itemsIq, itemsOf, NS_PUBSUB, NS_PUBSUB_OWNER, publishIq, pubsubFailure } from './pep-support.js';

const MAX_NODES = 6;
const MAX_ITEMS = 3;
const MAX_SIZE = 1024;
const ALICE = 'alice@localhost';

let parley: Parley;
let alice: TestClient;
let bob: TestClient; // contact, group "friends"
let carol: TestClient; // contact, group "work"
let dave: TestClient; // stranger

before(async () => {
  parley = await startParley({ pep: { maxNodes: MAX_NODES, maxItemsPerNode: MAX_ITEMS, maxItemSize: MAX_SIZE } });
  await parley.register('alice', 'bob', 'carol', 'dave', 'gone');
  await befriend(parley, 'alice', 'bob');
  for (const [u, c] of [['alice', 'carol'], ['carol', 'alice']]) {
    const r = await parley.api('add_rosteritem', { localuser: u, localhost: 'localhost', user: c, host: 'localhost', nick: c, group: 'work', subs: 'both' });
    assert.equal(r.status, 200);
  }
  [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((u) => parley.login(u, 'desk')));
});

after(async () => {
  for (const c of [alice, bob, carol, dave]) await c?.stop();
  await parley?.close();
});

const entry = (text: string) => xml('entry', { xmlns: 'urn:parley:test' }, text);
const ownerIq = (type: 'get' | 'set', ...children: Element[]) => xml('iq', { type }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, ...children));
const ids = (r: Element) => itemsOf(r).map((i) => i.attrs.id);

test('publish auto-creates the node with presence access; items: all (oldest first, at most max_items kept), max_items, by id', async () => {
  const node = 'urn:parley:test:notes';
  for (const id of ['1', '2', '3']) await alice.iq(publishIq(node, entry(`note ${id}`), id, { 'pubsub#max_items': '10' }));
  // A publish without id gets one.
  const r = await alice.iq(publishIq(node, entry('no id')));
  const generated = r.getChild('pubsub', NS_PUBSUB)!.getChild('publish')!.getChild('item')!.attrs.id!;
  assert.ok(generated.length > 0);
  // max_items 10 is over pep.maxItemsPerNode (3): the node keeps 3.
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, node))), ['2', '3', generated]);
  assert.deepEqual(ids(await bob.iq(itemsIq(ALICE, node, { max_items: '1' }))), [generated]);
  const [two] = itemsOf(await bob.iq(itemsIq(ALICE, node, {}, xml('item', { id: '2' }))));
  assert.equal(two!.getChild('entry', 'urn:parley:test')!.text(), 'note 2');
  assert.deepEqual(Object.values(await pubsubFailure(bob, itemsIq(ALICE, node, {}, xml('item', { id: '1' })))).slice(0, 1), ['item-not-found'], 'trimmed');
  const stranger = await pubsubFailure(dave, itemsIq(ALICE, node));
  assert.deepEqual([stranger.condition, stranger.app], ['not-authorized', 'presence-subscription-required']);
  assert.equal((await pubsubFailure(bob, itemsIq(ALICE, 'urn:none'))).condition, 'item-not-found');
  // A republished id replaces the item and becomes the newest.
  await alice.iq(publishIq(node, entry('note 2 again'), '2'));
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, node))), ['3', generated, '2']);
});

test('publish-options are preconditions on an existing node: precondition-not-met, nothing published', async () => {
  const node = 'urn:parley:test:private';
  await alice.iq(publishIq(node, entry('secret'), 'a', { 'pubsub#access_model': 'whitelist', 'pubsub#persist_items': 'true' }));
  const failure = await pubsubFailure(alice, publishIq(node, entry('open?'), 'b', { 'pubsub#access_model': 'open' }));
  assert.deepEqual([failure.condition, failure.app, failure.type], ['conflict', 'precondition-not-met', 'cancel']);
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, node))), ['a']);
  // Options the node meets are fine.
  await alice.iq(publishIq(node, entry('still secret'), 'c', { 'pubsub#access_model': 'whitelist' }));
  const whitelist = await pubsubFailure(bob, itemsIq(ALICE, node));
  assert.deepEqual([whitelist.condition, whitelist.app], ['not-allowed', 'closed-node']);
});

test('access models: open for anyone, roster for the groups allowed, whitelist for members', async () => {
  await alice.iq(publishIq('urn:parley:test:open', entry('hello world'), 'x', { 'pubsub#access_model': 'open' }));
  assert.deepEqual(ids(await dave.iq(itemsIq(ALICE, 'urn:parley:test:open'))), ['x']);

  await alice.iq(publishIq('urn:parley:test:roster', entry('for friends'), 'x', { 'pubsub#access_model': 'roster' }));
  await alice.iq(ownerIq('set', xml('configure', { node: 'urn:parley:test:roster' }, dataForm(`${NS_PUBSUB}#node_config`, { 'pubsub#roster_groups_allowed': 'friends' }))));
  assert.deepEqual(ids(await bob.iq(itemsIq(ALICE, 'urn:parley:test:roster'))), ['x']);
  const notInGroup = await pubsubFailure(carol, itemsIq(ALICE, 'urn:parley:test:roster'));
  assert.deepEqual([notInGroup.condition, notInGroup.app], ['not-authorized', 'not-in-roster-group']);

  const node = 'urn:parley:test:private';
  await alice.iq(ownerIq('set', xml('affiliations', { node }, xml('affiliation', { jid: 'dave@localhost', affiliation: 'member' }))));
  assert.deepEqual(ids(await dave.iq(itemsIq(ALICE, node))), ['c'], 'one item kept: the default pubsub#max_items');
  const affiliations = (await alice.iq(ownerIq('get', xml('affiliations', { node })))).getChild('pubsub', NS_PUBSUB_OWNER)!.getChild('affiliations')!;
  assert.deepEqual(affiliations.getChildren('affiliation').map((a: Element) => `${a.attrs.jid} ${a.attrs.affiliation}`), ['alice@localhost owner', 'dave@localhost member']);
  // A publisher reads and publishes (not configures); none is back to nothing.
  await alice.iq(ownerIq('set', xml('affiliations', { node }, xml('affiliation', { jid: 'dave@localhost', affiliation: 'publisher' }))));
  await dave.iq(xml('iq', { type: 'set', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', { id: 'd' }, entry('from dave'))))));
  const [fromDave] = itemsOf(await alice.iq(itemsIq(ALICE, node)));
  assert.deepEqual([fromDave!.attrs.id, fromDave!.attrs.publisher], ['d', 'dave@localhost']);
  assert.equal((await pubsubFailure(dave, xml('iq', { type: 'get', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('configure', { node }))))).condition, 'forbidden');
  await alice.iq(ownerIq('set', xml('affiliations', { node }, xml('affiliation', { jid: 'dave@localhost', affiliation: 'none' }))));
  assert.equal((await pubsubFailure(dave, itemsIq(ALICE, node))).condition, 'not-allowed');
  assert.equal((await pubsubFailure(dave, xml('iq', { type: 'set', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', { id: 'e' }, entry('again'))))))).condition, 'forbidden');
});

test('only the owner publishes, retracts, configures, deletes and purges (forbidden)', async () => {
  const node = 'urn:parley:test:open';
  assert.equal((await pubsubFailure(bob, xml('iq', { type: 'set', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', { id: 'y' }, entry('mine'))))))).condition, 'forbidden');
  assert.equal((await pubsubFailure(bob, xml('iq', { type: 'set', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node }, xml('item', { id: 'x' })))))).condition, 'forbidden');
  assert.equal((await pubsubFailure(bob, xml('iq', { type: 'set', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('delete', { node }))))).condition, 'forbidden');
  assert.equal((await pubsubFailure(bob, xml('iq', { type: 'get', to: ALICE }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('configure', { node }))))).condition, 'forbidden');
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, node))), ['x']);
});

test('node configuration: get shows the form, set changes it (max_items trims), bad values are not-acceptable', async () => {
  const node = 'urn:parley:test:notes';
  const form = (await alice.iq(ownerIq('get', xml('configure', { node })))).getChild('pubsub', NS_PUBSUB_OWNER)!.getChild('configure')!.getChild('x', 'jabber:x:data')!;
  const value = (v: string) => form.getChildren('field').find((f: Element) => f.attrs.var === v)?.getChildText('value');
  assert.equal(value('pubsub#access_model'), 'presence');
  assert.equal(value('pubsub#max_items'), '10');
  assert.equal(value('pubsub#send_last_published_item'), 'on_sub_and_presence');
  await alice.iq(ownerIq('set', xml('configure', { node }, dataForm(`${NS_PUBSUB}#node_config`, { 'pubsub#max_items': '1' }))));
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, node))), ['2']);
  const bad = await pubsubFailure(alice, ownerIq('set', xml('configure', { node }, dataForm(`${NS_PUBSUB}#node_config`, { 'pubsub#access_model': 'authorize' }))));
  assert.equal(bad.condition, 'not-acceptable');
});

test('create (conflict when it exists), purge, delete; oversized items and too many nodes are refused', async () => {
  const create = (node: string) => xml('iq', { type: 'set' }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node })));
  await alice.iq(create('urn:parley:test:made'));
  assert.equal((await pubsubFailure(alice, create('urn:parley:test:made'))).condition, 'conflict');
  await alice.iq(publishIq('urn:parley:test:made', entry('1'), '1'));
  await alice.iq(ownerIq('set', xml('purge', { node: 'urn:parley:test:made' })));
  assert.deepEqual(ids(await alice.iq(itemsIq(ALICE, 'urn:parley:test:made'))), []);
  await alice.iq(ownerIq('set', xml('delete', { node: 'urn:parley:test:made' })));
  assert.equal((await pubsubFailure(alice, itemsIq(ALICE, 'urn:parley:test:made'))).condition, 'item-not-found');

  const big = await pubsubFailure(alice, publishIq('urn:parley:test:big', entry('x'.repeat(MAX_SIZE + 1))));
  assert.deepEqual([big.condition, big.app], ['not-acceptable', 'payload-too-big']);

  // alice has notes, private, open, roster: two more fill pep.maxNodes.
  await alice.iq(create('urn:parley:test:n5'));
  await alice.iq(create('urn:parley:test:n6'));
  const full = await pubsubFailure(alice, publishIq('urn:parley:test:n7', entry('one too many')));
  assert.deepEqual([full.condition, full.app], ['not-allowed', 'max-nodes-exceeded']);
});

test("disco: the account shows pubsub/pep and PEP's features; its items list the nodes the requester may see", async () => {
  const info = await bob.iq(xml('iq', { type: 'get', to: ALICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = info.getChild('query')!;
  assert.ok(q.getChildren('identity').some((i: Element) => i.attrs.category === 'pubsub' && i.attrs.type === 'pep'));
  const features = q.getChildren('feature').map((f: Element) => f.attrs.var);
  for (const f of ['publish', 'auto-create', 'publish-options', 'access-presence', 'access-whitelist', 'retrieve-items']) assert.ok(features.includes(`${NS_PUBSUB}#${f}`), f);
  const nodes = async (c: TestClient) =>
    (await c.iq(xml('iq', { type: 'get', to: ALICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })))).getChild('query')!.getChildren('item').map((i: Element) => i.attrs.node).sort();
  assert.deepEqual(await nodes(bob), ['urn:parley:test:n5', 'urn:parley:test:n6', 'urn:parley:test:notes', 'urn:parley:test:open', 'urn:parley:test:roster']);
  assert.deepEqual(await nodes(dave), ['urn:parley:test:open']);
});

test("removing an account removes its nodes and items", async () => {
  const gone = await parley.login('gone', 'desk');
  await gone.iq(publishIq('urn:parley:test:mine', entry('bye'), '1', { 'pubsub#access_model': 'open' }));
  await gone.stop();
  const r = await parley.api('unregister', { user: 'gone', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  const pep = parley.server.service('pep');
  assert.deepEqual(await pep.nodesOf({ user: 'gone', host: 'localhost' }), []);
  assert.equal((await pubsubFailure(bob, itemsIq('gone@localhost', 'urn:parley:test:mine'))).condition, 'service-unavailable');
});
