// Roster and presence details (issue item 12), between real clients: a subscription request kept
// complete for a contact who was offline and delivered on every login until answered (RFC 6121
// §3.1.3), presence reflected to the user's other resources with the client's id, and roster
// results that carry a version whether or not the client sent one (RFC 6121 §2.6).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, settle, type TestClient } from '../support/client.js';
import { textCodec } from '../../src/storage/kinds.js';
import type { Element } from '@xmpp/xml';

const NS_NICK = 'http://jabber.org/protocol/nick';
const NS_PREAUTH = 'urn:xmpp:pars:0';
const NS_ROSTER = 'jabber:iq:roster';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const MAX_REQUEST = 1024;

let parley: Parley;

before(async () => {
  parley = await startParley({ limits: { maxSubscriptionRequestSize: MAX_REQUEST } });
});
after(async () => {
  await parley.close();
});

const isSubscribe = (from: string) => (el: Element) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === from;
const errorCondition = (el: Element): string | undefined =>
  (el.getChild('error')?.children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS) as Element | undefined)?.name;

/** The requests the server keeps for an account, read from its store (what outlives a login). */
const kept = (user: string) => parley.server.storage.map('subscription-requests', textCodec).count({ user, host: 'localhost' });

/** Logs in, waits until everything the server sends on login has arrived, and returns what did. */
async function loginAndSettle(user: string, resource: string): Promise<TestClient> {
  const c = await parley.login(user, resource);
  await settle(c);
  return c;
}

function request(to: string) {
  return xml(
    'presence',
    { to, type: 'subscribe', id: 'sub-1' },
    xml('status', {}, 'It is Pat'),
    xml('nick', { xmlns: NS_NICK }, 'Patricia'),
    xml('preauth', { xmlns: NS_PREAUTH, token: 'a1b2c3' }),
  );
}

/** The request as a contact received it, with all its content. */
function assertComplete(el: Element, to: string): void {
  assert.equal(el.attrs.to, to);
  assert.equal(el.attrs.id, 'sub-1', 'the id the requester gave');
  assert.equal(el.getChildText('status'), 'It is Pat');
  assert.equal(el.getChild('nick', NS_NICK)?.getText(), 'Patricia', 'XEP-0172 nick');
  assert.equal(el.getChild('preauth', NS_PREAUTH)?.attrs.token, 'a1b2c3', 'XEP-0379 preauth');
}

test('a request for an offline contact is delivered complete on every login until answered, then never again', async () => {
  await parley.register('pat', 'kay');
  const pat = await parley.login('pat', 'p');
  await pat.send(request('kay@localhost'));
  await pat.sync();
  await eventually(async () => (await kept('kay')) === 1, 3000, 'kept');

  const first = await loginAndSettle('kay', 'k1');
  const seen1 = first.received.filter(isSubscribe('pat@localhost'));
  assert.equal(seen1.length, 1);
  assertComplete(seen1[0]!, 'kay@localhost');
  await first.stop();

  // Not answered: again on the next login, complete.
  const second = await loginAndSettle('kay', 'k2');
  const seen2 = second.received.filter(isSubscribe('pat@localhost'));
  assert.equal(seen2.length, 1);
  assertComplete(seen2[0]!, 'kay@localhost');

  // Approved: pat learns it; the request is gone for good.
  await second.send(xml('presence', { to: 'pat@localhost', type: 'subscribed' }));
  await pat.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === 'kay@localhost', 3000, 'approval');
  await second.stop();
  assert.equal(await kept('kay'), 0);
  const third = await loginAndSettle('kay', 'k3');
  assert.equal(third.received.filter(isSubscribe('pat@localhost')).length, 0, 'an answered request is not delivered again');
  await third.stop();
});

test('an online contact gets the request complete too; a denied or cancelled request is not delivered again', async () => {
  await parley.register('lee', 'mia', 'ned');
  const pat = await parley.login('pat', 'p2');
  const ned = await parley.login('ned', 'n');
  await pat.send(request('ned@localhost'));
  assertComplete(await ned.waitFor(isSubscribe('pat@localhost'), 3000, 'live request'), 'ned@localhost');
  await ned.stop();

  // Denied.
  await pat.send(request('lee@localhost'));
  await pat.sync();
  const lee = await loginAndSettle('lee', 'l1');
  assert.equal(lee.received.filter(isSubscribe('pat@localhost')).length, 1);
  await lee.send(xml('presence', { to: 'pat@localhost', type: 'unsubscribed' }));
  await pat.waitFor((el) => el.is('presence') && el.attrs.type === 'unsubscribed' && el.attrs.from === 'lee@localhost', 3000, 'denial');
  await lee.stop();
  const lee2 = await loginAndSettle('lee', 'l2');
  assert.equal(lee2.received.filter(isSubscribe('pat@localhost')).length, 0, 'a denied request is not delivered again');
  await lee2.stop();

  // Cancelled by the requester before mia logs in.
  await pat.send(request('mia@localhost'));
  await pat.sync();
  await eventually(async () => (await kept('mia')) === 1, 3000, 'kept for mia');
  await pat.send(xml('presence', { to: 'mia@localhost', type: 'unsubscribe' }));
  await pat.sync();
  await eventually(async () => (await kept('mia')) === 0, 3000, 'dropped with the cancellation');
  const mia = await loginAndSettle('mia', 'm');
  assert.equal(mia.received.filter(isSubscribe('pat@localhost')).length, 0);
  await mia.stop();
  await pat.stop();
});

test(`a request larger than limits.maxSubscriptionRequestSize (${MAX_REQUEST} bytes) is refused with policy-violation and not kept`, async () => {
  await parley.register('big', 'oli');
  const big = await parley.login('big', 'b');
  await big.send(xml('presence', { to: 'oli@localhost', type: 'subscribe', id: 'huge' }, xml('status', {}, 'x'.repeat(MAX_REQUEST))));
  const err = await big.waitFor((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.id === 'huge', 3000, 'refusal');
  assert.equal(errorCondition(err), 'policy-violation');
  assert.equal(err.attrs.from, 'oli@localhost');
  assert.equal(await kept('oli'), 0);
  assert.deepEqual((await parley.api('get_roster', { user: 'oli', server: 'localhost' })).body, [], 'no pending request recorded');
  const oli = await loginAndSettle('oli', 'o');
  assert.equal(oli.received.filter(isSubscribe('big@localhost')).length, 0);

  // Within the limit it goes through.
  await big.send(xml('presence', { to: 'oli@localhost', type: 'subscribe', id: 'small' }, xml('status', {}, 'hello')));
  const req = await oli.waitFor(isSubscribe('big@localhost'), 3000, 'request');
  assert.equal(req.getChildText('status'), 'hello');
  await oli.stop();
  await big.stop();
});

test('a kept request whose roster item went away without an answer is dropped, never delivered', async () => {
  await parley.register('sol', 'tia', 'uma');
  const tia = await parley.login('tia', 't');
  const uma = await parley.login('uma', 'u');
  await tia.send(request('sol@localhost'));
  await tia.sync();
  await eventually(async () => (await kept('sol')) === 1, 3000, 'kept');
  // The administrator removes the pending item: no answer goes through presence.
  assert.equal((await parley.api('delete_rosteritem', { localuser: 'sol', localhost: 'localhost', user: 'tia', host: 'localhost' })).body, 0);
  await uma.send(request('sol@localhost'));
  await uma.sync();
  await eventually(async () => (await kept('sol')) === 2, 3000, 'both kept');
  const sol = await loginAndSettle('sol', 's');
  assert.equal(sol.received.filter(isSubscribe('tia@localhost')).length, 0, 'not pending any more');
  assertComplete(sol.received.find(isSubscribe('uma@localhost'))!, 'sol@localhost');
  assert.equal(await kept('sol'), 1, 'the stale one is dropped');
  await sol.stop();
  await tia.stop();
  await uma.stop();
});

test('kept requests go away with the account', async () => {
  await parley.register('gone', 'asker');
  const asker = await parley.login('asker', 'a');
  await asker.send(request('gone@localhost'));
  await asker.sync();
  await eventually(async () => (await kept('gone')) === 1, 3000, 'kept');
  assert.equal((await parley.api('unregister', { user: 'gone', host: 'localhost' })).status, 200);
  assert.equal(await kept('gone'), 0);
  await asker.stop();
});

test("presence reflected to the user's own resources keeps the id the client sent", async () => {
  await parley.register('rae');
  const a = await parley.login('rae', 'a');
  const b = await parley.login('rae', 'b');
  await settle(a, b);
  await a.send(xml('presence', { id: 'pres-1' }, xml('show', {}, 'away')));
  const atB = await b.waitFor((el) => el.is('presence') && el.attrs.from === 'rae@localhost/a' && el.attrs.id === 'pres-1', 3000, 'reflected at b');
  assert.equal(atB.getChildText('show'), 'away');
  const echo = await a.waitFor((el) => el.is('presence') && el.attrs.from === 'rae@localhost/a' && el.attrs.id === 'pres-1', 3000, 'echo at a');
  assert.equal(echo.attrs.to, 'rae@localhost/a');
  await a.send(xml('presence', { type: 'unavailable', id: 'pres-2' }));
  await b.waitFor((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === 'rae@localhost/a' && el.attrs.id === 'pres-2', 3000, 'unavailable at b');
  await b.stop();
  await a.stop();
});

test('a roster result carries ver although the client sent none, and pushes carry it too', async () => {
  await parley.register('ves');
  const c = await parley.login('ves', 'v');
  const result = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  const ver = result.getChild('query', NS_ROSTER)?.attrs.ver;
  assert.equal(typeof ver, 'string', 'ver without a ver in the request');
  await c.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'wyn@localhost' }))));
  const push = await c.waitFor((el) => el.is('iq') && el.attrs.type === 'set' && el.getChild('query', NS_ROSTER) !== undefined, 3000, 'push');
  const pushed = push.getChild('query', NS_ROSTER)!.attrs.ver;
  assert.ok(pushed && pushed !== ver, `the push's version ${pushed} follows ${ver}`);
  const again = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  assert.equal(again.getChild('query', NS_ROSTER)?.attrs.ver, pushed);
  await c.stop();
});
