// Privacy lists (XEP-0016) and blocking (XEP-0191) over XMPP with real clients: one enforcement on
// the routing path, in both directions, for messages, IQs and presence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { bodyOf, iqError, settle, xml, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

const PRIVACY = 'jabber:iq:privacy';
const BLOCKING = 'urn:xmpp:blocking';

let parley: Parley;

before(async () => {
  parley = await startParley({ limits: { maxPrivacyLists: 3, maxPrivacyListItems: 4 } });
});

after(async () => {
  await parley?.close();
});

/** Contacts with a subscription both ways, `group` on a's side. */
async function befriend(a: string, b: string, group = 'Friends'): Promise<void> {
  for (const [u, c, g] of [[a, b, group], [b, a, 'Friends']] as const) {
    const r = await parley.api('add_rosteritem', { localuser: u, localhost: 'localhost', user: c, host: 'localhost', nick: c, group: g, subs: 'both' });
    assert.equal(r.status, 200, r.text);
  }
}

const message = (to: string, body: string, type = 'chat') => xml('message', { to, type, id: `m-${body}` }, xml('body', {}, body));
const isMessage = (from: string, body: string) => (el: Element) => el.name === 'message' && el.attrs.type !== 'error' && el.attrs.from?.startsWith(from) && bodyOf(el) === body;
const isError = (body: string) => (el: Element) => el.name === 'message' && el.attrs.type === 'error' && bodyOf(el) === body;
const condition = (el: Element) => el.getChild('error')?.children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas') as Element | undefined;
const presenceFrom = (from: string, type?: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from && el.attrs.type === type;
const count = (c: TestClient, pred: (el: Element) => boolean) => c.received.filter(pred).length;

function listIq(name: string, items: Element[]): Element {
  return xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVACY }, xml('list', { name }, ...items)));
}
const item = (attrs: Record<string, string>, ...kinds: string[]) => xml('item', attrs, ...kinds.map((k) => xml(k)));
const setIq = (what: 'active' | 'default', name?: string) => xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVACY }, xml(what, name === undefined ? {} : { name })));

test('blocking: the contact cannot reach the user by message, IQ or presence, the user cannot reach the contact; unblock restores', async () => {
  await parley.register('ann', 'ben');
  await befriend('ann', 'ben');
  const ben = await parley.login('ben', 'desk');
  const ann = await parley.login('ann', 'phone');
  const annTablet = await parley.login('ann', 'tablet');
  await ben.waitFor(presenceFrom('ann@localhost/phone'), 3000, "ann's presence");

  // An empty block list; the tablet asks for it and so gets the pushes.
  const list0 = await annTablet.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.deepEqual(list0.getChild('blocklist', BLOCKING)!.getChildren('item'), []);

  await ann.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'ben@localhost' }))));
  const [markPhone, markTablet] = [ann.received.length, annTablet.received.length];
  // ben learns ann is gone (he was subscribed to her presence), and the tablet gets the push.
  await ben.waitFor(presenceFrom('ann@localhost/phone', 'unavailable'), 3000, 'unavailable from ann/phone');
  await ben.waitFor(presenceFrom('ann@localhost/tablet', 'unavailable'), 3000, 'unavailable from ann/tablet');
  const push = await annTablet.waitFor((el) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('block', BLOCKING) !== undefined, 3000, 'block push');
  assert.equal(push.getChild('block', BLOCKING)!.getChild('item')!.attrs.jid, 'ben@localhost');
  // The phone did not ask for the block list: no block push for it.
  await settle(ann, annTablet);
  assert.equal(count(ann, (el) => el.name === 'iq' && el.getChild('block', BLOCKING) !== undefined), 0);

  const list1 = await ann.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.deepEqual(list1.getChild('blocklist', BLOCKING)!.getChildren('item').map((i: Element) => i.attrs.jid), ['ben@localhost']);

  // ben's message is refused with service-unavailable, his IQ too, his presence is dropped.
  await ben.send(message('ann@localhost', 'hello?'));
  const bounced = await ben.waitFor(isError('hello?'), 3000, 'error for the blocked message');
  assert.equal(condition(bounced)?.name, 'service-unavailable');
  await ben.send(message('ann@localhost/phone', 'to the phone'));
  assert.equal(condition(await ben.waitFor(isError('to the phone')))?.name, 'service-unavailable');
  const iq = await iqError(ben, xml('iq', { type: 'get', to: 'ann@localhost/phone' }, xml('query', { xmlns: 'jabber:iq:version' })));
  assert.equal(iq.condition, 'service-unavailable');
  await ben.send(xml('presence', {}, xml('status', {}, 'back')));
  await ben.send(xml('presence', { to: 'ann@localhost/phone' }, xml('status', {}, 'directed')));
  await settle(ben, ann, annTablet);
  const fromBen = (el: Element) => el.attrs.from?.startsWith('ben@') && (el.name === 'message' || el.name === 'presence');
  assert.equal(ann.received.slice(markPhone).filter(fromBen).length, 0, 'nothing from ben reached the phone');
  assert.equal(annTablet.received.slice(markTablet).filter(fromBen).length, 0, 'nothing from ben reached the tablet');

  // ann cannot write to ben: not-acceptable with <blocked/>.
  await ann.send(message('ben@localhost', 'sorry'));
  const refused = await ann.waitFor(isError('sorry'), 3000, 'error for writing to a blocked contact');
  assert.equal(condition(refused)?.name, 'not-acceptable');
  assert.ok(refused.getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors'), '<blocked/> in the error');
  assert.equal((await iqError(ann, xml('iq', { type: 'get', to: 'ben@localhost/desk' }, xml('query', { xmlns: 'jabber:iq:version' })))).condition, 'not-acceptable');
  await ann.send(xml('presence', { to: 'ben@localhost/desk' }));
  await settle(ann, ben);
  assert.equal(count(ben, isMessage('ann@', 'sorry')), 0);
  assert.equal(count(ben, (el) => el.name === 'iq' && el.attrs.type === 'get' && el.attrs.from?.startsWith('ann@')), 0, "ann's IQ did not reach ben");
  assert.equal(ben.received.filter((el) => el.name === 'presence' && el.attrs.from === 'ann@localhost/phone' && el.attrs.type === undefined).length, 1, "only ann's presence from before the block");

  // While ann is offline, ben's message is refused, not stored for later.
  await annTablet.stop();
  await ann.stop();
  await ben.send(message('ann@localhost', 'offline?'));
  assert.equal(condition(await ben.waitFor(isError('offline?')))?.name, 'service-unavailable');
  assert.deepEqual((await parley.api('get_offline_count', { user: 'ann', server: 'localhost' })).body, { value: 0 });

  const ann2 = await parley.login('ann', 'phone');
  await ann2.iq(xml('iq', { type: 'set' }, xml('unblock', { xmlns: BLOCKING }, xml('item', { jid: 'ben@localhost' }))));
  // Unblocked: ben sees ann's presence again, and messages go both ways.
  await ben.waitFor((el) => presenceFrom('ann@localhost/phone')(el) && ben.received.indexOf(el) > ben.received.findIndex(presenceFrom('ann@localhost/phone', 'unavailable')), 3000, "ann's presence after unblocking");
  await ben.send(message('ann@localhost', 'again'));
  await ann2.waitFor(isMessage('ben@localhost', 'again'), 3000, "ben's message after unblocking");
  await ann2.send(message('ben@localhost', 'welcome back'));
  await ben.waitFor(isMessage('ann@localhost', 'welcome back'));
  assert.equal(count(ann2, (el) => el.name === 'message' && bodyOf(el) === 'offline?'), 0, 'the refused message was never stored');
});

test('unblock without items unblocks everyone; a malformed JID is jid-malformed; blocking is announced in disco', async () => {
  await parley.register('cat', 'dan', 'eve');
  const cat = await parley.login('cat', 'r');
  const dan = await parley.login('dan', 'r');
  const eve = await parley.login('eve', 'r');
  await cat.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'dan@localhost' }), xml('item', { jid: 'eve@localhost/r' }))));
  await dan.send(message('cat@localhost', 'd1'));
  await eve.send(message('cat@localhost/r', 'e1'));
  await dan.waitFor(isError('d1'));
  await eve.waitFor(isError('e1'));
  await cat.iq(xml('iq', { type: 'set' }, xml('unblock', { xmlns: BLOCKING })));
  const list = await cat.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.equal(list.getChild('blocklist', BLOCKING)!.getChildren('item').length, 0);
  await dan.send(message('cat@localhost', 'd2'));
  await cat.waitFor(isMessage('dan@localhost', 'd2'));

  const bad = await iqError(cat, xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'a@b@c' }))));
  assert.equal(bad.condition, 'jid-malformed');
  const empty = await iqError(cat, xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING })));
  assert.equal(empty.condition, 'bad-request');

  const info = await cat.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const features = info.getChild('query')!.getChildren('feature').map((f: Element) => f.attrs.var);
  assert.ok(features.includes(PRIVACY) && features.includes(BLOCKING), features.join(' '));
});

test('privacy lists: group and subscription items, active list per session against the default list, pushes and XEP-0016 errors', async () => {
  await parley.register('fay', 'gus', 'hal');
  await befriend('fay', 'gus', 'Work'); // gus is in fay's group Work; hal is not in her roster
  const a = await parley.login('fay', 'a');
  const b = await parley.login('fay', 'b');
  const gus = await parley.login('gus', 'r');
  const hal = await parley.login('hal', 'r');

  // "no-work": no messages from the group Work. "strangers": no messages from JIDs without a subscription.
  await a.iq(listIq('no-work', [item({ type: 'group', value: 'Work', action: 'deny', order: '1' }, 'message'), item({ action: 'allow', order: '2' })]));
  await b.waitFor((el) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', PRIVACY)?.getChild('list')?.attrs.name === 'no-work', 3000, 'privacy list push to the other resource');
  await a.iq(listIq('strangers', [item({ type: 'subscription', value: 'none', action: 'deny', order: '5' }, 'message')]));

  // Active on a only: gus's messages to a are refused, to b delivered.
  await a.iq(setIq('active', 'no-work'));
  await gus.send(message('fay@localhost/a', 'to a'));
  assert.equal(condition(await gus.waitFor(isError('to a')))?.name, 'service-unavailable');
  await gus.send(message('fay@localhost/b', 'to b'));
  await b.waitFor(isMessage('gus@localhost', 'to b'));
  // hal (not in Work) reaches a.
  await hal.send(message('fay@localhost/a', 'hal to a'));
  await a.waitFor(isMessage('hal@localhost', 'hal to a'));

  // The default list applies to b (no active list of its own): hal (no subscription) is refused there.
  await b.iq(setIq('default', 'strangers'));
  await hal.send(message('fay@localhost/b', 'hal to b'));
  assert.equal(condition(await hal.waitFor(isError('hal to b')))?.name, 'service-unavailable');
  // To the bare JID, each resource's own list decides: a takes hal's message, b does not.
  await hal.send(message('fay@localhost', 'hal to fay'));
  await a.waitFor(isMessage('hal@localhost', 'hal to fay'));
  await settle(hal, a, b);
  assert.equal(count(b, isMessage('hal@localhost', 'hal to fay')), 0);
  assert.equal(count(hal, isError('hal to fay')), 0);

  // Names, active and default as each session sees them.
  const names = await a.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY })));
  const q = names.getChild('query', PRIVACY)!;
  assert.equal(q.getChild('active')?.attrs.name, 'no-work');
  assert.equal(q.getChild('default')?.attrs.name, 'strangers');
  assert.deepEqual(q.getChildren('list').map((l: Element) => l.attrs.name), ['no-work', 'strangers']);
  const one = await b.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY }, xml('list', { name: 'no-work' }))));
  const items = one.getChild('query', PRIVACY)!.getChild('list')!.getChildren('item');
  assert.deepEqual(items.map((i: Element) => [i.attrs.type, i.attrs.value, i.attrs.action, i.attrs.order, i.getChildren('message').length]), [
    ['group', 'Work', 'deny', '1', 1],
    [undefined, undefined, 'allow', '2', 0],
  ]);

  // XEP-0016 errors.
  assert.equal((await iqError(a, setIq('active', 'nope'))).condition, 'item-not-found');
  assert.equal((await iqError(a, xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY }, xml('list', { name: 'nope' }))))).condition, 'item-not-found');
  assert.equal((await iqError(a, listIq('x', [item({ action: 'maybe', order: '1' })]))).condition, 'bad-request');
  assert.equal((await iqError(a, listIq('x', [item({ type: 'jid', action: 'deny', order: '1' })]))).condition, 'bad-request');
  assert.equal((await iqError(a, listIq('x', [item({ action: 'deny', order: '-1' })]))).condition, 'bad-request');
  assert.equal((await iqError(a, listIq('x', [item({ action: 'deny', order: '1' }), item({ action: 'allow', order: '1' })]))).condition, 'bad-request');
  // b cannot remove the list active on a; a cannot change the default b uses.
  assert.equal((await iqError(b, listIq('no-work', []))).condition, 'conflict');
  assert.equal((await iqError(a, setIq('default'))).condition, 'conflict');
  // Someone else's lists are not reachable.
  assert.equal((await iqError(hal, xml('iq', { type: 'get', to: 'fay@localhost' }, xml('query', { xmlns: PRIVACY })))).condition, 'forbidden');

  // a declines its active list: the default applies to it too, so hal is refused everywhere.
  await a.iq(setIq('active'));
  await hal.send(message('fay@localhost', 'refused'));
  await hal.waitFor(isError('refused'));
  // The sole user of the default may change it, and a list nobody uses may go.
  await b.stop();
  await a.iq(setIq('default'));
  await a.iq(listIq('no-work', []));
  const after = await a.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY })));
  assert.deepEqual(after.getChild('query', PRIVACY)!.getChildren('list').map((l: Element) => l.attrs.name), ['strangers']);
  assert.equal(after.getChild('query', PRIVACY)!.getChild('default'), undefined);
  await hal.send(message('fay@localhost', 'allowed again'));
  await a.waitFor(isMessage('hal@localhost', 'allowed again'));
});

test('presence-out and presence-in items: what the user broadcasts and what she sees', async () => {
  await parley.register('ida', 'jon', 'kim');
  await befriend('ida', 'jon');
  await befriend('ida', 'kim');
  const jon = await parley.login('jon', 'r');
  const kim = await parley.login('kim', 'r');
  const ida = await parley.login('ida', 'r');
  await jon.waitFor(presenceFrom('ida@localhost/r'));
  await kim.waitFor(presenceFrom('ida@localhost/r'));
  await ida.iq(listIq('hide', [item({ type: 'jid', value: 'jon@localhost', action: 'deny', order: '1' }, 'presence-out', 'presence-in')]));
  await ida.iq(setIq('active', 'hide'));

  await ida.send(xml('presence', {}, xml('show', {}, 'away')));
  await kim.waitFor((el) => presenceFrom('ida@localhost/r')(el) && el.getChildText('show') === 'away', 3000, "kim sees ida's away");
  await jon.send(xml('presence', {}, xml('show', {}, 'dnd')));
  await kim.send(xml('presence', {}, xml('show', {}, 'chat')));
  await ida.waitFor((el) => presenceFrom('kim@localhost/r')(el) && el.getChildText('show') === 'chat', 3000, "ida sees kim's chat");
  await settle(ida, jon, kim);
  assert.equal(count(jon, (el) => presenceFrom('ida@localhost/r')(el) && el.getChildText('show') === 'away'), 0, "jon did not see ida's away");
  assert.equal(count(ida, (el) => presenceFrom('jon@localhost/r')(el) && el.getChildText('show') === 'dnd'), 0, "ida did not see jon's dnd");
  // Presence items leave messages alone.
  await jon.send(message('ida@localhost', 'still here'));
  await ida.waitFor(isMessage('jon@localhost', 'still here'));
});

test('limits: lists per account and items per list (the block list included)', async () => {
  await parley.register('lou');
  const lou = await parley.login('lou', 'r');
  const allow = (n: number) => Array.from({ length: n }, (_, i) => item({ type: 'jid', value: `u${i}@localhost`, action: 'allow', order: String(i + 1) }));
  await lou.iq(listIq('one', allow(4)));
  const big = await iqError(lou, listIq('two', allow(5)));
  assert.equal(big.condition, 'not-allowed');
  await lou.iq(listIq('two', allow(1)));
  await lou.iq(listIq('three', allow(1)));
  assert.equal((await iqError(lou, listIq('four', allow(1)))).condition, 'not-allowed');
  // Replacing a list is not a new one.
  await lou.iq(listIq('three', allow(2)));
  // Blocking needs a default list (three lists already: none can be made), then room in it.
  assert.equal((await iqError(lou, xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'x@localhost' }))))).condition, 'not-allowed');
  await lou.iq(setIq('default', 'three'));
  await lou.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'x@localhost' }), xml('item', { jid: 'y@localhost' }))));
  const full = await iqError(lou, xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'z@localhost' }))));
  assert.equal(full.condition, 'not-allowed');
  const list = await lou.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.deepEqual(list.getChild('blocklist', BLOCKING)!.getChildren('item').map((i: Element) => i.attrs.jid), ['x@localhost', 'y@localhost']);
});

test("an account's lists go with it", async () => {
  await parley.register('max', 'ned');
  const max = await parley.login('max', 'r');
  await max.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, xml('item', { jid: 'ned@localhost' }))));
  await max.stop();
  assert.equal((await parley.api('unregister', { user: 'max', host: 'localhost' })).status, 200);
  await parley.register('max');
  const max2 = await parley.login('max', 'r');
  const list = await max2.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.equal(list.getChild('blocklist', BLOCKING)!.getChildren('item').length, 0);
  const ned = await parley.login('ned', 'r');
  await ned.send(message('max@localhost', 'hi max'));
  await max2.waitFor(isMessage('ned@localhost', 'hi max'));
});
