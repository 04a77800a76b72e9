/** Rosters, presence subscriptions and message routing (RFC 6121) between real clients. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, bodyOf, iqError, settle, type TestClient } from '../support/client.js';
import { RawConn, expectStreamError } from './raw.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let parley: Parley;

before(async () => {
  parley = await startParley();
});
after(async () => {
  await parley.close();
});

const register = (...names: string[]) => parley.register(...names);

function login(user: string, resource: string, opts: { priority?: number; presence?: boolean } = {}): Promise<TestClient> {
  return parley.login(user, resource, opts);
}

/** The roster as the admin API reports it: `contact → subscription/ask` (groups collapsed). */
async function rosterOf(user: string): Promise<Record<string, string>> {
  const r = await parley.api('get_roster', { user, server: 'localhost' });
  assert.equal(r.status, 200, r.text);
  const out: Record<string, string> = {};
  for (const row of r.body as { jid: string; subscription: string; ask: string }[]) out[row.jid] = `${row.subscription}/${row.ask}`;
  return out;
}


const isPresence = (from: string, type?: string) => (el: any) =>
  el.is('presence') && el.attrs.from === from && el.attrs.type === type;
const isPush = (jid: string, pred: (item: any) => boolean = () => true) => (el: any) => {
  if (!el.is('iq') || el.attrs.type !== 'set') return false;
  const item = el.getChild('query', NS_ROSTER)?.getChild('item');
  return item !== undefined && item.attrs.jid === jid && pred(item);
};
const errorCondition = (el: any): string | undefined =>
  el.getChild('error')?.children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS)?.name;

function rosterSet(item: any) {
  return xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, item));
}


test('roster get, set and remove, with pushes to every resource that requested the roster', async () => {
  await register('ro');
  const r1 = await login('ro', 'r1');
  const r2 = await login('ro', 'r2');
  const r3 = await login('ro', 'r3'); // never asks for the roster: gets no pushes
  const empty = await r1.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  assert.equal(empty.getChild('query', NS_ROSTER)?.getChildren('item').length, 0);
  await r2.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));

  // Set: subscription values other than "remove" from a client are ignored (RFC 6121 §2.1.2.5).
  await r1.iq(rosterSet(xml('item', { jid: 'Zed@LocalHost', name: 'Zed', subscription: 'both' }, xml('group', {}, 'Friends'), xml('group', {}, 'Work'))));
  for (const c of [r1, r2]) {
    const push = await c.waitFor(isPush('zed@localhost'), 3000, `push to ${c.jid}`);
    assert.ok(push.attrs.from === undefined || push.attrs.from === 'ro@localhost', `push from ${push.attrs.from}`);
    const item = push.getChild('query', NS_ROSTER).getChild('item');
    assert.equal(item.attrs.name, 'Zed');
    assert.equal(item.attrs.subscription, 'none');
    assert.deepEqual(item.getChildren('group').map((g: any) => g.text()).sort(), ['Friends', 'Work']);
  }
  const rows = (await parley.api('get_roster', { user: 'ro', server: 'localhost' })).body;
  assert.deepEqual(
    rows.map((r: any) => `${r.jid}|${r.nick}|${r.subscription}|${r.ask}|${r.group}`).sort(),
    ['zed@localhost|Zed|none|none|Friends', 'zed@localhost|Zed|none|none|Work'],
  );
  const got = await r2.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  const items = got.getChild('query', NS_ROSTER).getChildren('item');
  assert.equal(items.length, 1);
  assert.equal(items[0].attrs.jid, 'zed@localhost');

  // Update: a new push with the new name and groups.
  await r2.iq(rosterSet(xml('item', { jid: 'zed@localhost', name: 'Zedd' })));
  await r1.waitFor(isPush('zed@localhost', (i) => i.attrs.name === 'Zedd' && i.getChildren('group').length === 0), 3000, 'update push');

  // Remove: pushed as subscription="remove".
  await r1.iq(rosterSet(xml('item', { jid: 'zed@localhost', subscription: 'remove' })));
  for (const c of [r1, r2]) await c.waitFor(isPush('zed@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'remove push');
  assert.deepEqual(await rosterOf('ro'), {});
  // Removing what is not there: item-not-found.
  assert.equal((await iqError(r1, rosterSet(xml('item', { jid: 'zed@localhost', subscription: 'remove' })))).condition, 'item-not-found');

  await settle(r1, r2, r3);
  assert.equal(r3.received.filter(isPush('zed@localhost')).length, 0, 'no pushes to a resource that never requested the roster');
});

test('roster set errors: two items, duplicate group, empty group, someone else\'s roster', async () => {
  await register('rerr', 'rother');
  const c = await login('rerr', 'x');
  const two = await iqError(c, xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'a@localhost' }), xml('item', { jid: 'b@localhost' }))));
  assert.deepEqual(two, { condition: 'bad-request', type: 'modify' });
  const dup = await iqError(c, rosterSet(xml('item', { jid: 'a@localhost' }, xml('group', {}, 'G'), xml('group', {}, 'G'))));
  assert.deepEqual(dup, { condition: 'bad-request', type: 'modify' });
  const emptyGroup = await iqError(c, rosterSet(xml('item', { jid: 'a@localhost' }, xml('group', {}, ''))));
  assert.equal(emptyGroup.condition, 'not-acceptable');
  const badJid = await iqError(c, rosterSet(xml('item', { jid: 'a@b@c' })));
  assert.equal(badJid.condition, 'jid-malformed');
  const foreign = await iqError(c, xml('iq', { type: 'get', to: 'rother@localhost' }, xml('query', { xmlns: NS_ROSTER })));
  assert.equal(foreign.condition, 'forbidden');
  assert.deepEqual(await rosterOf('rerr'), {}, 'nothing was stored');
});

test('subscription state machine: request, approve, pre-approve, cancel both ways', async () => {
  await register('sam', 'tia');
  const sam = await login('sam', 's');
  const tia = await login('tia', 't');
  for (const c of [sam, tia]) await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));

  // 1. sam asks to see tia's presence.
  await sam.send(xml('presence', { to: 'tia@localhost', type: 'subscribe' }));
  const req = await tia.waitFor(isPresence('sam@localhost', 'subscribe'), 3000, 'subscription request');
  assert.equal(req.attrs.to, 'tia@localhost');
  await sam.waitFor(isPush('tia@localhost', (i) => i.attrs.ask === 'subscribe' && i.attrs.subscription === 'none'), 3000, 'ask push');
  assert.deepEqual(await rosterOf('sam'), { 'tia@localhost': 'none/out' });
  assert.deepEqual(await rosterOf('tia'), { 'sam@localhost': 'none/in' });

  // 2. tia approves: sam gets 'subscribed', a push, and tia's current presence.
  await tia.send(xml('presence', { to: 'sam@localhost', type: 'subscribed' }));
  await sam.waitFor(isPresence('tia@localhost', 'subscribed'), 3000, 'subscribed');
  await sam.waitFor(isPush('tia@localhost', (i) => i.attrs.subscription === 'to' && !i.attrs.ask), 3000, 'to push');
  await sam.waitFor(isPresence('tia@localhost/t'), 3000, "tia's presence");
  await tia.waitFor(isPush('sam@localhost', (i) => i.attrs.subscription === 'from'), 3000, 'from push');
  assert.deepEqual(await rosterOf('sam'), { 'tia@localhost': 'to/none' });
  assert.deepEqual(await rosterOf('tia'), { 'sam@localhost': 'from/none' });

  // 3. sam pre-approves tia (RFC 6121 §3.4) before tia asks ...
  await sam.send(xml('presence', { to: 'tia@localhost', type: 'subscribed' }));
  await sam.waitFor(isPush('tia@localhost', (i) => i.attrs.approved === 'true'), 3000, 'approved push');
  assert.deepEqual(await rosterOf('sam'), { 'tia@localhost': 'to/none' });
  // ... so tia's later request is granted at once: sam sees no prompt.
  await tia.send(xml('presence', { to: 'sam@localhost', type: 'subscribe' }));
  await tia.waitFor(isPresence('sam@localhost', 'subscribed'), 3000, 'automatic subscribed');
  await tia.waitFor(isPresence('sam@localhost/s'), 3000, "sam's presence");
  await eventually(async () => (await rosterOf('sam'))['tia@localhost'] === 'both/none', 3000, 'sam both');
  await eventually(async () => (await rosterOf('tia'))['sam@localhost'] === 'both/none', 3000, 'tia both');
  await settle(tia, sam);
  assert.equal(sam.received.filter(isPresence('tia@localhost', 'subscribe')).length, 0, 'no prompt after pre-approval');

  // 4. tia stops watching sam (unsubscribe): sam is told; tia gets sam's unavailable.
  await tia.send(xml('presence', { to: 'sam@localhost', type: 'unsubscribe' }));
  await sam.waitFor(isPresence('tia@localhost', 'unsubscribe'), 3000, 'unsubscribe');
  await tia.waitFor(isPresence('sam@localhost/s', 'unavailable'), 3000, 'unavailable after unsubscribe');
  await eventually(async () => (await rosterOf('tia'))['sam@localhost'] === 'from/none', 3000, 'tia from');
  assert.deepEqual(await rosterOf('sam'), { 'tia@localhost': 'to/none' });

  // 5. tia revokes sam's subscription (unsubscribed): sam gets it and tia's unavailable.
  await tia.send(xml('presence', { to: 'sam@localhost', type: 'unsubscribed' }));
  await sam.waitFor(isPresence('tia@localhost', 'unsubscribed'), 3000, 'unsubscribed');
  await sam.waitFor(isPresence('tia@localhost/t', 'unavailable'), 3000, 'unavailable after unsubscribed');
  await eventually(async () => (await rosterOf('sam'))['tia@localhost'] === 'none/none', 3000, 'sam none');
  assert.deepEqual(await rosterOf('tia'), { 'sam@localhost': 'none/none' });

  // Presence no longer flows either way (each still gets its own broadcast back, RFC 6121 §4.2.2).
  await tia.send(xml('presence', {}, xml('status', {}, 'new status')));
  await sam.send(xml('presence', {}, xml('status', {}, 'new status')));
  await sam.waitFor((p) => isPresence('sam@localhost/s')(p) && p.getChildText('status') === 'new status', 3000, 'own presence');
  await tia.waitFor((p) => isPresence('tia@localhost/t')(p) && p.getChildText('status') === 'new status', 3000, 'own presence');
  await settle(tia, sam);
  assert.equal(sam.received.filter((p) => isPresence('tia@localhost/t')(p) && p.getChildText('status') === 'new status').length, 0);
  assert.equal(tia.received.filter((p) => isPresence('sam@localhost/s')(p) && p.getChildText('status') === 'new status').length, 0);
});

test('a subscription request can be denied with unsubscribed', async () => {
  await register('uma', 'vic');
  const uma = await login('uma', 'u');
  const vic = await login('vic', 'v');
  await uma.send(xml('presence', { to: 'vic@localhost', type: 'subscribe' }));
  await vic.waitFor(isPresence('uma@localhost', 'subscribe'), 3000, 'request');
  await vic.send(xml('presence', { to: 'uma@localhost', type: 'unsubscribed' }));
  await uma.waitFor(isPresence('vic@localhost', 'unsubscribed'), 3000, 'denial');
  await eventually(async () => (await rosterOf('uma'))['vic@localhost'] === 'none/none', 3000, 'uma none/none');
  const vicRoster = await rosterOf('vic');
  assert.ok(vicRoster['uma@localhost'] === undefined || vicRoster['uma@localhost'] === 'none/none', JSON.stringify(vicRoster));
});

test('a subscription request sent while the contact is offline is delivered when the contact comes online', async () => {
  await register('wes', 'xia');
  const wes = await login('wes', 'w');
  await wes.send(xml('presence', { to: 'xia@localhost', type: 'subscribe' }, xml('status', {}, 'please add me')));
  await eventually(async () => (await rosterOf('xia'))['wes@localhost'] === 'none/in', 3000, 'pending in');
  const xia = await login('xia', 'x');
  const req = await xia.waitFor(isPresence('wes@localhost', 'subscribe'), 3000, 'stored request');
  assert.equal(req.attrs.to, 'xia@localhost');
  await xia.send(xml('presence', { to: 'wes@localhost', type: 'subscribed' }));
  await wes.waitFor(isPresence('xia@localhost', 'subscribed'), 3000, 'approval');
  await wes.waitFor(isPresence('xia@localhost/x'), 3000, "xia's presence after approval");
  assert.deepEqual(await rosterOf('wes'), { 'xia@localhost': 'to/none' });
});

test('on login a user gets the presence of online contacts she is subscribed to; unavailable is broadcast on disconnect', async () => {
  await register('yan', 'zoe', 'pat');
  // yan ↔ zoe: both. yan → pat: 'from' only (pat sees yan, yan does not see pat).
  for (const [a, b, s] of [['yan', 'zoe', 'both'], ['zoe', 'yan', 'both'], ['yan', 'pat', 'from'], ['pat', 'yan', 'to']]) {
    const r = await parley.api('add_rosteritem', { localuser: a, localhost: 'localhost', user: b, host: 'localhost', nick: '', group: '', subs: s });
    assert.equal(r.status, 200, r.text);
  }
  const zoe = await login('zoe', 'z');
  await zoe.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'at lunch')));
  const pat = await login('pat', 'p');
  await settle(zoe, pat); // zoe's away presence is handled before yan logs in and probes

  const yan = await login('yan', 'y');
  const zp = await yan.waitFor(isPresence('zoe@localhost/z'), 3000, "zoe's presence via probe");
  assert.equal(zp.getChildText('show'), 'away');
  assert.equal(zp.getChildText('status'), 'at lunch');
  await zoe.waitFor(isPresence('yan@localhost/y'), 3000, "yan's initial presence at zoe");
  await pat.waitFor(isPresence('yan@localhost/y'), 3000, "yan's initial presence at pat (from subscription)");
  await settle(yan, pat, zoe);
  assert.equal(yan.received.filter(isPresence('pat@localhost/p')).length, 0, "yan is not subscribed to pat's presence");

  // An explicit probe from a contact with a subscription is answered.
  await zoe.send(xml('presence', { to: 'yan@localhost', type: 'probe' }));
  await eventually(() => zoe.received.filter(isPresence('yan@localhost/y')).length >= 2, 3000, 'probe answer');

  await yan.stop();
  await zoe.waitFor(isPresence('yan@localhost/y', 'unavailable'), 3000, 'unavailable at zoe');
  await pat.waitFor(isPresence('yan@localhost/y', 'unavailable'), 3000, 'unavailable at pat');
});

test('directed presence to a non-contact, and its unavailable when the sender disconnects', async () => {
  await register('ann', 'bea');
  const bea = await login('bea', 'b');
  const ann = await login('ann', 'a');
  await ann.send(xml('presence', { to: 'bea@localhost/b' }, xml('status', {}, 'directed')));
  const p = await bea.waitFor(isPresence('ann@localhost/a'), 3000, 'directed presence');
  assert.equal(p.getChildText('status'), 'directed');
  await ann.stop();
  await bea.waitFor(isPresence('ann@localhost/a', 'unavailable'), 3000, 'unavailable after directed presence');
  assert.deepEqual(await rosterOf('ann'), {}, 'directed presence does not touch the roster');
});

test('a probe from a user without a subscription is not answered', async () => {
  await register('cid', 'dee');
  const dee = await login('dee', 'd');
  const cid = await login('cid', 'c');
  await cid.send(xml('presence', { to: 'dee@localhost', type: 'probe' }));
  await cid.send(xml('presence', { to: 'dee@localhost/d', type: 'probe' }));
  await settle(cid, dee);
  assert.equal(cid.received.filter((el) => el.is('presence') && el.attrs.from?.startsWith('dee@localhost')).length, 0);
  assert.ok(dee.received.every((el) => !(el.is('presence') && el.attrs.type === 'probe')), 'probes are handled by the server, not passed on');
});

test('a message to the bare JID goes to the highest-priority resources; negative priority only by full JID', async () => {
  await register('eve', 'fay');
  const hi1 = await login('eve', 'hi1', { priority: 5 });
  const hi2 = await login('eve', 'hi2', { priority: 5 });
  const lo = await login('eve', 'lo', { priority: 1 });
  const neg = await login('eve', 'neg', { priority: -1 });
  const fay = await login('fay', 'f');
  await fay.send(xml('message', { to: 'eve@localhost', type: 'chat' }, xml('body', {}, 'to the bare jid')));
  for (const c of [hi1, hi2]) await c.waitFor((m) => bodyOf(m) === 'to the bare jid', 3000, `bare message at ${c.jid}`);
  await fay.send(xml('message', { to: 'eve@localhost/neg', type: 'chat' }, xml('body', {}, 'to the full jid')));
  await neg.waitFor((m) => bodyOf(m) === 'to the full jid', 3000, 'full-JID message at the negative-priority resource');
  await settle(fay, hi1, hi2, lo, neg);
  assert.equal(lo.received.filter((m) => bodyOf(m) === 'to the bare jid').length, 0, 'lower priority gets nothing');
  assert.equal(neg.received.filter((m) => bodyOf(m) === 'to the bare jid').length, 0, 'negative priority gets nothing by bare JID');
  assert.equal(hi1.received.filter((m) => bodyOf(m) === 'to the bare jid').length, 1, 'exactly one copy');

  // With only a negative-priority resource online, a bare-JID message is stored offline.
  for (const c of [hi1, hi2, lo]) await c.stop();
  await eventually(async () => ((await parley.api('connected_users')).body as string[]).filter((j) => j.startsWith('eve@')).length === 1, 3000, 'only eve/neg left');
  await fay.send(xml('message', { to: 'eve@localhost', type: 'chat' }, xml('body', {}, 'for later')));
  await eventually(async () => (await parley.api('get_offline_count', { user: 'eve', server: 'localhost' })).body.value === 1, 3000, 'stored offline');
  assert.equal(neg.received.filter((m) => bodyOf(m) === 'for later').length, 0);
});

test('a message to an offline full JID goes to the bare JID, or offline storage', async () => {
  await register('gil', 'hue');
  const hue = await login('hue', 'h');
  const gil = await login('gil', 'home');
  await hue.send(xml('message', { to: 'gil@localhost/gone', type: 'chat' }, xml('body', {}, 'to a gone resource')));
  const m = await gil.waitFor((el) => bodyOf(el) === 'to a gone resource', 3000, 'redirected to an online resource');
  assert.equal(m.attrs.to, 'gil@localhost/gone');
  await gil.stop();
  await eventually(async () => !((await parley.api('connected_users')).body as string[]).includes('gil@localhost/home'), 3000, 'gil offline');
  await hue.send(xml('message', { to: 'gil@localhost/home', type: 'chat' }, xml('body', {}, 'stored for gil')));
  await hue.send(xml('message', { to: 'gil@localhost/home', type: 'headline' }, xml('body', {}, 'headline dropped')));
  await eventually(async () => (await parley.api('get_offline_count', { user: 'gil', server: 'localhost' })).body.value === 1, 3000, 'stored');
  // groupchat to an unavailable resource bounces (RFC 6121 §8.5.3.2.1).
  await hue.send(xml('message', { to: 'gil@localhost/home', type: 'groupchat', id: 'gc1' }, xml('body', {}, 'gc')));
  const bounce = await hue.waitFor((el) => el.is('message') && el.attrs.id === 'gc1' && el.attrs.type === 'error', 3000, 'groupchat bounce');
  assert.equal(errorCondition(bounce), 'service-unavailable');
  const back = await login('gil', 'back');
  const stored = await back.waitFor((el) => bodyOf(el) === 'stored for gil', 3000, 'offline message');
  assert.ok(stored.getChild('delay', 'urn:xmpp:delay'));
  await settle(hue, back);
  assert.equal(back.received.filter((el) => bodyOf(el) === 'headline dropped').length, 0);
});

test('a message to an unknown local user bounces with service-unavailable; to a remote domain, remote-server-not-found', async () => {
  await register('ida');
  const ida = await login('ida', 'i');
  await ida.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'u1' }, xml('body', {}, 'anyone?')));
  const e1 = await ida.waitFor((el) => el.is('message') && el.attrs.id === 'u1', 3000, 'bounce');
  assert.equal(e1.attrs.type, 'error');
  assert.equal(e1.attrs.from, 'nobody@localhost');
  assert.equal(errorCondition(e1), 'service-unavailable');
  await ida.send(xml('message', { to: 'nobody@localhost/res', type: 'chat', id: 'u2' }, xml('body', {}, 'anyone?')));
  const e2 = await ida.waitFor((el) => el.is('message') && el.attrs.id === 'u2', 3000, 'bounce (full JID)');
  assert.equal(errorCondition(e2), 'service-unavailable');
  const iq = await iqError(ida, xml('iq', { type: 'get', to: 'nobody@localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
  assert.equal(iq.condition, 'service-unavailable');

  await ida.send(xml('message', { to: 'someone@example.org', type: 'chat', id: 'r1' }, xml('body', {}, 'far away')));
  const e3 = await ida.waitFor((el) => el.is('message') && el.attrs.id === 'r1', 3000, 'remote bounce');
  assert.equal(e3.attrs.type, 'error');
  assert.equal(errorCondition(e3), 'remote-server-not-found');
  const iq2 = await iqError(ida, xml('iq', { type: 'get', to: 'example.org' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(iq2.condition, 'remote-server-not-found');

  // Subscribing to an unknown local user: the server answers 'unsubscribed' for it.
  await ida.send(xml('presence', { to: 'nobody@localhost', type: 'subscribe' }));
  await ida.waitFor(isPresence('nobody@localhost', 'unsubscribed'), 3000, 'unsubscribed from a nonexistent user');
  await eventually(async () => (await rosterOf('ida'))['nobody@localhost'] === 'none/none', 3000, 'pending request cleared');
});

test('resource conflict: the old stream gets <conflict/>, the new one works', async () => {
  await register('hal', 'ivy');
  const ivy = await login('ivy', 'i');
  const old = await RawConn.tcp(parley.ports.c2s);
  assert.equal(await old.login('hal', 'halpw', 'same'), 'hal@localhost/same');
  old.write(`<presence/>`);
  await eventually(async () => ((await parley.api('connected_users')).body as string[]).includes('hal@localhost/same'));

  const fresh = await login('hal', 'same');
  assert.equal(fresh.jid, 'hal@localhost/same');
  await expectStreamError(old, 'conflict');
  const sessions = ((await parley.api('connected_users')).body as string[]).filter((j) => j.startsWith('hal@'));
  assert.deepEqual(sessions, ['hal@localhost/same']);
  await ivy.send(xml('message', { to: 'hal@localhost/same', type: 'chat' }, xml('body', {}, 'to the new one')));
  await fresh.waitFor((m) => bodyOf(m) === 'to the new one', 3000, 'message to the new session');
  assert.doesNotMatch(old.buf, /to the new one/);
});

test('removing a contact with a mutual subscription cancels it both ways (RFC 6121 §2.5.2)', async () => {
  await register('kim', 'lou');
  for (const [a, b] of [['kim', 'lou'], ['lou', 'kim']]) {
    await parley.api('add_rosteritem', { localuser: a, localhost: 'localhost', user: b, host: 'localhost', nick: '', group: '', subs: 'both' });
  }
  const lou = await login('lou', 'l');
  const kim = await login('kim', 'k');
  await lou.waitFor(isPresence('kim@localhost/k'), 3000, "kim's presence");
  await lou.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  await kim.iq(rosterSet(xml('item', { jid: 'lou@localhost', subscription: 'remove' })));
  await lou.waitFor(isPresence('kim@localhost', 'unsubscribe'), 3000, 'unsubscribe');
  await lou.waitFor(isPresence('kim@localhost', 'unsubscribed'), 3000, 'unsubscribed');
  await lou.waitFor(isPresence('kim@localhost/k', 'unavailable'), 3000, "kim's unavailable");
  await lou.waitFor(isPush('kim@localhost', (i) => i.attrs.subscription === 'none'), 3000, 'push to lou');
  assert.deepEqual(await rosterOf('kim'), {});
  assert.deepEqual(await rosterOf('lou'), { 'kim@localhost': 'none/none' });
});

test('roster versioning: a versioned get, an empty result when current, and versioned pushes', async () => {
  await register('vera');
  const c = await login('vera', 'v');
  const first = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER, ver: '' })));
  const ver0 = first.getChild('query', NS_ROSTER)?.attrs.ver;
  assert.equal(typeof ver0, 'string', 'a ver attribute in the result');
  const again = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER, ver: ver0 })));
  assert.equal(again.getChild('query', NS_ROSTER), undefined, 'an up-to-date client gets an empty result');
  await c.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'walt@localhost', name: 'Walt' }))));
  const push = await c.waitFor((el) => el.is('iq') && el.attrs.type === 'set' && el.getChild('query', NS_ROSTER)?.getChild('item')?.attrs.jid === 'walt@localhost', 3000, 'versioned push');
  const ver1 = push.getChild('query', NS_ROSTER).attrs.ver;
  assert.ok(ver1 && ver1 !== ver0, 'the push carries the new version');
  const stale = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER, ver: ver0 })));
  const q = stale.getChild('query', NS_ROSTER);
  assert.equal(q.attrs.ver, ver1);
  assert.deepEqual(q.getChildren('item').map((i: any) => i.attrs.jid), ['walt@localhost']);
})
