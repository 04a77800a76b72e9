// What clients keep in PEP: bookmarks (XEP-0402 urn:xmpp:bookmarks:1, one item per room, private
// and max_items=max), nicknames (XEP-0172), and the bookmarks_to_pep command over real HTTP moving
// the XEP-0048 bookmarks a client stored in private XML storage (XEP-0049) to the PEP node
// storage:bookmarks, where the client then reads them (as ejabberd 23.01 does).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { befriend, capsClient, isEvent, itemsIq, itemsOf, NS_EVENT, NS_PUBSUB, publishIq, pubsubFailure, type CapsClient } from './pep-support.js';

const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';
const NS_NICK = 'http://jabber.org/protocol/nick';
const NS_STORAGE = 'storage:bookmarks';
const ALICE = 'alice@localhost';
const BOOKMARK_OPTIONS = {
  'pubsub#persist_items': 'true',
  'pubsub#max_items': 'max',
  'pubsub#send_last_published_item': 'never',
  'pubsub#access_model': 'whitelist',
};

let parley: Parley;
let phone: CapsClient;
let laptop: CapsClient;
let bob: CapsClient;
const extra: TestClient[] = [];

async function capsKnown(user: string, resource: string): Promise<void> {
  const pep = parley.server.service('pep');
  await eventually(() => {
    const s = parley.server.sessions.get(`${user}@localhost`, resource);
    return s !== undefined && pep.featuresOf(s) !== undefined;
  }, 5000, `caps of ${user}/${resource}`);
}

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol', 'dave');
  await befriend(parley, 'alice', 'bob');
  await befriend(parley, 'carol', 'bob');
  const wants = [`${NS_BOOKMARKS2}+notify`, `${NS_NICK}+notify`, `${NS_STORAGE}+notify`];
  [phone, laptop, bob] = await Promise.all([capsClient(parley, 'alice', 'phone', wants), capsClient(parley, 'alice', 'laptop', wants), capsClient(parley, 'bob', 'desk', wants)]);
  await Promise.all([capsKnown('alice', 'phone'), capsKnown('alice', 'laptop'), capsKnown('bob', 'desk')]);
});

after(async () => {
  for (const c of [phone, laptop, bob, ...extra]) await c?.stop();
  await parley?.close();
});

const conference = (name: string, nick: string) => xml('conference', { xmlns: NS_BOOKMARKS2, name, autojoin: 'true' }, xml('nick', {}, nick));

test("XEP-0402: one item per room, published with its publish-options; alice's other client is told, her contact is not", async () => {
  await phone.iq(publishIq(NS_BOOKMARKS2, conference('The Play', 'JC'), 'theplay@conference.localhost', BOOKMARK_OPTIONS));
  await phone.iq(publishIq(NS_BOOKMARKS2, conference('Orchard', 'Juliet'), 'orchard@conference.localhost', BOOKMARK_OPTIONS));
  const event = await laptop.waitFor(isEvent(NS_BOOKMARKS2, ALICE, 'orchard@conference.localhost'), 3000, 'the bookmark notification');
  assert.equal(event.getChild('event', NS_EVENT)!.getChild('items')!.getChild('item')!.getChild('conference', NS_BOOKMARKS2)!.getChildText('nick'), 'Juliet');

  const r = await laptop.iq(itemsIq(ALICE, NS_BOOKMARKS2));
  assert.deepEqual(itemsOf(r).map((i: Element) => [i.attrs.id, i.getChild('conference', NS_BOOKMARKS2)!.attrs.name]), [
    ['theplay@conference.localhost', 'The Play'],
    ['orchard@conference.localhost', 'Orchard'],
  ]);
  // Private: bob, a contact whose client wants the notifications, gets none and cannot read them.
  await settle(phone, laptop, bob);
  assert.equal(bob.received.filter(isEvent(NS_BOOKMARKS2, ALICE)).length, 0);
  const refused = await pubsubFailure(bob, itemsIq(ALICE, NS_BOOKMARKS2));
  assert.deepEqual([refused.condition, refused.app], ['not-allowed', 'closed-node']);
  // The same options again are met by the node; other ones are not.
  await phone.iq(publishIq(NS_BOOKMARKS2, conference('The Play', 'Romeo'), 'theplay@conference.localhost', BOOKMARK_OPTIONS));
  const unmet = await pubsubFailure(phone, publishIq(NS_BOOKMARKS2, conference('X', 'x'), 'x@conference.localhost', { ...BOOKMARK_OPTIONS, 'pubsub#max_items': '1' }));
  assert.deepEqual([unmet.condition, unmet.app], ['conflict', 'precondition-not-met']);
});

test('XEP-0402: removing a bookmark is a retraction the other client is told of; send_last_published_item never sends nothing at login', async () => {
  await phone.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node: NS_BOOKMARKS2, notify: 'true' }, xml('item', { id: 'orchard@conference.localhost' })))));
  await laptop.waitFor((el) => el.getChild('event', NS_EVENT)?.getChild('items')?.getChild('retract')?.attrs.id === 'orchard@conference.localhost', 3000, 'the retraction');
  assert.deepEqual(itemsOf(await phone.iq(itemsIq(ALICE, NS_BOOKMARKS2))).map((i: Element) => i.attrs.id), ['theplay@conference.localhost']);

  const tablet = await capsClient(parley, 'alice', 'tablet', [`${NS_BOOKMARKS2}+notify`, `${NS_NICK}+notify`]);
  extra.push(tablet);
  await capsKnown('alice', 'tablet');
  // The nick node (default on_sub_and_presence) is sent at login once it exists; the bookmarks never.
  await phone.iq(publishIq(NS_NICK, xml('nick', { xmlns: NS_NICK }, 'Alice'), 'current'));
  await tablet.waitFor(isEvent(NS_NICK, ALICE, 'current'));
  await settle(tablet);
  assert.equal(tablet.received.filter(isEvent(NS_BOOKMARKS2, ALICE)).length, 0);
});

test('XEP-0172: a nickname reaches a contact that wants it, and one who logs in later', async () => {
  const event = await bob.waitFor(isEvent(NS_NICK, ALICE, 'current'), 3000, 'the nick notification');
  assert.equal(event.getChild('event', NS_EVENT)!.getChild('items')!.getChild('item')!.getChildText('nick', NS_NICK), 'Alice');
  const later = await capsClient(parley, 'bob', 'laptop', [`${NS_NICK}+notify`]);
  extra.push(later);
  const last = await later.waitFor(isEvent(NS_NICK, ALICE, 'current'), 5000, 'the last nick');
  assert.equal(last.getChild('event', NS_EVENT)!.getChild('items')!.getChild('item')!.getChildText('nick', NS_NICK), 'Alice');
});

test('XEP-0402 compat: PEP bookmarks are in private XML storage, and what a client stores there reaches PEP (and its other clients)', async () => {
  const info = await phone.iq(xml('iq', { type: 'get', to: ALICE }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f: Element) => f.attrs.var === `${NS_BOOKMARKS2}#compat`));
  const privateGet = async () =>
    (await phone.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: NS_STORAGE }))))).getChild('query')!.getChild('storage', NS_STORAGE)!;
  // What the earlier tests left in PEP: The Play, nick Romeo.
  const stored = await privateGet();
  assert.deepEqual(stored.getChildren('conference').map((c: Element) => [c.attrs.jid, c.attrs.name, c.attrs.autojoin, c.getChildText('nick')]), [
    ['theplay@conference.localhost', 'The Play', 'true', 'Romeo'],
  ]);
  // An old client stores two rooms and a URL: the new room is published, the URL stays in private storage only.
  const storage = xml(
    'storage',
    { xmlns: NS_STORAGE },
    xml('conference', { jid: 'theplay@conference.localhost', name: 'The Play', autojoin: 'true' }, xml('nick', {}, 'Romeo')),
    xml('conference', { jid: 'tower@conference.localhost', name: 'Tower', autojoin: 'false' }, xml('nick', {}, 'Rapunzel')),
    xml('url', { name: 'Home', url: 'https://example.com/' }),
  );
  await phone.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:private' }, storage)));
  const event = await laptop.waitFor(isEvent(NS_BOOKMARKS2, ALICE, 'tower@conference.localhost'), 3000, 'the bookmark from private storage');
  const conf = event.getChild('event', NS_EVENT)!.getChild('items')!.getChild('item')!.getChild('conference', NS_BOOKMARKS2)!;
  assert.deepEqual([conf.attrs.name, conf.attrs.autojoin, conf.getChildText('nick')], ['Tower', 'false', 'Rapunzel']);
  assert.deepEqual(itemsOf(await phone.iq(itemsIq(ALICE, NS_BOOKMARKS2))).map((i: Element) => i.attrs.id).sort(), ['theplay@conference.localhost', 'tower@conference.localhost']);
  // Removing a room in private storage retracts it; a room published in PEP keeps the URL in private storage.
  await phone.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: NS_STORAGE }, storage.getChildren('conference')[1]!, storage.getChild('url')!))));
  await laptop.waitFor((el) => el.getChild('event', NS_EVENT)?.getChild('items')?.getChild('retract')?.attrs.id === 'theplay@conference.localhost', 3000, 'the retraction');
  await phone.iq(publishIq(NS_BOOKMARKS2, conference('Garden', 'Eve'), 'garden@conference.localhost', BOOKMARK_OPTIONS));
  const after = await privateGet();
  assert.deepEqual(after.getChildren('conference').map((c: Element) => c.attrs.jid), ['tower@conference.localhost', 'garden@conference.localhost']);
  assert.equal(after.getChild('url')?.attrs.url, 'https://example.com/');
});

test('bookmarks_to_pep over /api: the bookmarks a client stored in private XML storage move to the PEP node storage:bookmarks', async () => {
  const carol = await parley.login('carol', 'desk');
  extra.push(carol);
  const storage = xml('storage', { xmlns: NS_STORAGE }, xml('conference', { jid: 'council@conference.localhost', name: 'Council', autojoin: 'true' }, xml('nick', {}, 'Carol')), xml('url', { name: 'Home', url: 'https://example.com/' }));
  await carol.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:private' }, storage)));
  assert.equal((await pubsubFailure(carol, itemsIq('carol@localhost', NS_STORAGE))).condition, 'item-not-found', 'not in PEP before the command');

  const r = await parley.api('bookmarks_to_pep', { user: 'carol', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body, 'Bookmarks exported to PEP node');

  const [item] = itemsOf(await carol.iq(itemsIq('carol@localhost', NS_STORAGE)));
  assert.equal(item!.attrs.id, 'current');
  const published = item!.getChild('storage', NS_STORAGE)!;
  assert.equal(published.getChild('conference')!.attrs.jid, 'council@conference.localhost');
  assert.equal(published.getChild('conference')!.getChildText('nick'), 'Carol');
  assert.equal(published.getChild('url')!.attrs.url, 'https://example.com/');
  // Persistent and private to carol.
  const form = (await carol.iq(xml('iq', { type: 'get' }, xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('configure', { node: NS_STORAGE })))))
    .getChild('pubsub')!.getChild('configure')!.getChild('x', 'jabber:x:data')!;
  const value = (v: string) => form.getChildren('field').find((f: Element) => f.attrs.var === v)?.getChildText('value');
  assert.deepEqual([value('pubsub#access_model'), value('pubsub#persist_items')], ['whitelist', '1']);
  assert.equal((await pubsubFailure(bob, itemsIq('carol@localhost', NS_STORAGE))).condition, 'not-allowed');

  // Again: the item is replaced, still one.
  assert.equal((await parley.api('bookmarks_to_pep', { user: 'carol', host: 'localhost' })).status, 200);
  assert.equal(itemsOf(await carol.iq(itemsIq('carol@localhost', NS_STORAGE))).length, 1);
});

test('XEP-0048 in PEP: a storage:bookmarks node created without options is private all the same', async () => {
  const dave = await parley.login('dave', 'desk');
  extra.push(dave);
  await befriend(parley, 'dave', 'bob');
  const storage = xml('storage', { xmlns: NS_STORAGE }, xml('conference', { jid: 'den@conference.localhost', autojoin: 'true' }));
  await dave.iq(publishIq(NS_STORAGE, storage, 'current'));
  assert.equal(itemsOf(await dave.iq(itemsIq('dave@localhost', NS_STORAGE))).length, 1);
  const refused = await pubsubFailure(bob, itemsIq('dave@localhost', NS_STORAGE));
  assert.deepEqual([refused.condition, refused.app], ['not-allowed', 'closed-node']);
  // A node of another name still defaults to presence access.
  await dave.iq(publishIq(NS_NICK, xml('nick', { xmlns: NS_NICK }, 'Dave'), 'current'));
  assert.equal(itemsOf(await bob.iq(itemsIq('dave@localhost', NS_NICK))).length, 1);
  await dave.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('delete', { node: NS_STORAGE }))));
  await dave.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('delete', { node: NS_NICK }))));
});

test('bookmarks_to_pep: an account without stored bookmarks, and an unknown account, are errors', async () => {
  const none = await parley.api('bookmarks_to_pep', { user: 'dave', host: 'localhost' });
  assert.notEqual(none.status, 200);
  assert.match(none.text, /Cannot retrieve bookmarks from private XML storage/);
  const unknown = await parley.api('bookmarks_to_pep', { user: 'nobody', host: 'localhost' });
  assert.notEqual(unknown.status, 200);
  assert.deepEqual(await parley.server.service('pep').nodesOf({ user: 'dave', host: 'localhost' }), []);
});
