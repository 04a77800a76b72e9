// Offline storage maintenance (issue item 5): message expiry (XEP-0079 expire-at, XEP-0023
// jabber:x:expire), delete_expired_messages, delete_old_messages, and the per-account quota answered
// with resource-constraint; real clients, real HTTP, the backend PARLEY_TEST_STORAGE selects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, bodyOf, settle, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_AMP = 'http://jabber.org/protocol/amp';
const NS_X_EXPIRE = 'jabber:x:expire';
const QUOTA = 4;
const MAX_CHARS = 4096;
const DAY = 86_400_000;

let parley: Parley;
let sam: TestClient;

before(async () => {
  parley = await startParley({ limits: { maxOfflineMessages: QUOTA, maxOfflineChars: MAX_CHARS } });
  await parley.register('sam', 'tom', 'rita', 'quinn', 'una', 'vic', 'full', 'xen', 'yul');
  sam = await parley.login('sam', 's');
});
after(async () => {
  await parley.close();
});

const count = async (user: string): Promise<number> => {
  const r = await parley.api('get_offline_count', { user, server: 'localhost' });
  assert.equal(r.status, 200, r.text);
  return r.body.value;
};

const chat = (to: string, body: string, ...extra: Element[]) => xml('message', { to, type: 'chat', id: body }, xml('body', {}, body), ...extra);
const ampExpireAt = (at: Date) => xml('amp', { xmlns: NS_AMP }, xml('rule', { condition: 'expire-at', action: 'drop', value: at.toISOString() }));
const xExpire = (seconds: number) => xml('x', { xmlns: NS_X_EXPIRE, seconds: String(seconds) });
const errorCondition = (el: Element): string | undefined =>
  (el.getChild('error')?.children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS) as Element | undefined)?.name;
const messagesIn = (c: TestClient) => c.received.filter((el) => el.is('message') && el.attrs.type !== 'error').map((el) => bodyOf(el));

test('expiry: a message already expired on arrival is not stored; others are delivered with the TTL that is left (XEP-0023)', async () => {
  await sam.send(chat('rita@localhost', 'gone', ampExpireAt(new Date(Date.now() - 60_000))));
  await sam.send(chat('rita@localhost', 'legacy', xExpire(3600)));
  await sam.send(chat('rita@localhost', 'amp', ampExpireAt(new Date(Date.now() + 3_600_000))));
  await sam.send(chat('rita@localhost', 'plain'));
  await sam.sync();
  await eventually(async () => (await count('rita')) === 3, 3000, 'three stored');

  const rita = await parley.login('rita', 'r');
  await rita.waitFor((el) => bodyOf(el) === 'plain', 3000, 'the last one');
  await settle(rita);
  assert.deepEqual(messagesIn(rita), ['legacy', 'amp', 'plain'], 'the expired one never arrives');
  const legacy = rita.received.find((el) => bodyOf(el) === 'legacy')!;
  const x = legacy.getChild('x', NS_X_EXPIRE)!;
  const left = Number(x.attrs.seconds);
  assert.ok(left > 3000 && left <= 3600, `seconds left: ${x.attrs.seconds}`);
  assert.equal(x.attrs.stored, undefined, 'the storage mark is not passed on');
  assert.ok(legacy.getChild('delay', 'urn:xmpp:delay'), 'delayed delivery stamp');
  const amp = rita.received.find((el) => bodyOf(el) === 'amp')!;
  assert.equal(amp.getChild('amp', NS_AMP)?.getChild('rule')?.attrs.condition, 'expire-at', 'the rule is delivered as sent');
  await eventually(async () => (await count('rita')) === 0, 3000, 'delivered messages leave storage');
  await rita.stop();
});

test('expiry: a message that expired while stored is never delivered, even before a purge', async () => {
  // A message stored earlier whose expiry has passed since (the store is written as the server would have).
  const now = Date.now();
  const old = "<message from='sam@localhost/s' to='una@localhost' type='chat'><body>stale</body><x xmlns='jabber:x:expire' seconds='60'/></message>";
  assert.equal(await parley.server.storage.offline.add('una@localhost', old, now - 120_000, { expiresAt: now - 60_000 }), true);
  await sam.send(chat('una@localhost', 'fresh'));
  await sam.sync();
  await eventually(async () => (await count('una')) === 2, 3000, 'two stored');

  const una = await parley.login('una', 'u');
  await una.waitFor((el) => bodyOf(el) === 'fresh', 3000, 'fresh');
  await settle(una);
  assert.deepEqual(messagesIn(una), ['fresh']);
  await eventually(async () => (await count('una')) === 0, 3000, 'the expired one is removed too');
  await una.stop();
});

test('delete_expired_messages removes the expired messages only; a real client then gets the rest', async () => {
  await sam.send(chat('quinn@localhost', 'short', xExpire(1)));
  await sam.send(chat('quinn@localhost', 'long', xExpire(3600)));
  await sam.send(chat('quinn@localhost', 'plain'));
  await sam.sync();
  await eventually(async () => (await count('quinn')) === 3, 3000, 'three stored');
  // The short one expires a second after it was stored; each call purges what has expired by then.
  await eventually(
    async () => {
      const r = await parley.api('delete_expired_messages', {});
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body, 0, 'rescode 0');
      return (await count('quinn')) === 2;
    },
    10_000,
    'the short one purged',
  );
  assert.equal(await count('quinn'), 2, 'the unexpired ones stay');
  const quinn = await parley.login('quinn', 'q');
  await quinn.waitFor((el) => bodyOf(el) === 'plain', 3000, 'plain');
  await settle(quinn);
  assert.deepEqual(messagesIn(quinn), ['long', 'plain']);
  await quinn.stop();

  const r = await parley.api('delete_expired_messages', {});
  assert.equal(r.body, 0, 'nothing to purge is still success');
});

test('delete_old_messages(days) removes what was stored more than DAYS days ago; bad days are refused', async () => {
  const now = Date.now();
  const at = (body: string) => `<message from='sam@localhost/s' to='vic@localhost' type='chat'><body>${body}</body></message>`;
  await parley.server.storage.offline.add('vic@localhost', at('ten days'), now - 10 * DAY);
  await parley.server.storage.offline.add('vic@localhost', at('three days'), now - 3 * DAY);
  await sam.send(chat('vic@localhost', 'today'));
  await sam.sync();
  await eventually(async () => (await count('vic')) === 3, 3000, 'three stored');

  const ok = await parley.api('delete_old_messages', { days: 5 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body, 0);
  assert.equal(await count('vic'), 2, 'only the ten-day-old one went');

  for (const [args, message] of [
    [{ days: 'abc' }, 'Arg <<97,98,99>> is not in format integer'],
    [{ days: '5' }, 'Arg <<53>> is not in format integer'],
    [{}, 'Request have missing argument: days'],
    [{ days: -1 }, 'Invalid number of days: -1'],
  ] as const) {
    const r = await parley.api('delete_old_messages', args);
    assert.equal(r.status, 400, `${JSON.stringify(args)} → ${r.status} ${r.text}`);
    assert.equal(r.body, message);
  }
  assert.equal(await count('vic'), 2, 'the refused calls removed nothing');
  const bob = await parley.api('delete_old_messages', { days: 0 }, 'sam@localhost:sampw');
  assert.ok(bob.status === 401 || bob.status === 403, `admins only: ${bob.status}`);
  assert.equal(await count('vic'), 2);

  const vic = await parley.login('vic', 'v');
  await vic.waitFor((el) => bodyOf(el) === 'today', 3000, 'today');
  await settle(vic);
  assert.deepEqual(messagesIn(vic), ['three days', 'today']);
  await vic.stop();
});

test(`quota: beyond ${QUOTA} stored messages the sender gets resource-constraint, also under concurrent senders; nothing is lost silently`, async () => {
  const tom = await parley.login('tom', 't');
  const sent = { sam: [] as string[], tom: [] as string[] };
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 6; i++) {
    for (const [name, c] of [['sam', sam], ['tom', tom]] as const) {
      const body = `${name}-${i}`;
      sent[name].push(body);
      sends.push(c.send(chat('full@localhost', body)));
    }
  }
  // And through the API at the same time (its refusals go to the admin, who is offline).
  const api = Promise.all([0, 1].map((i) => parley.api('send_message', { type: 'chat', from: 'admin@localhost', to: 'full@localhost', subject: '', body: `api-${i}` })));
  await Promise.all(sends);
  for (const r of await api) assert.equal(r.body, 0);
  await settle(sam, tom);
  assert.equal(await count('full'), QUOTA, 'exactly the quota is stored');

  const refused = [...sam.received, ...tom.received].filter((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.from === 'full@localhost');
  assert.ok(refused.length >= 12 - QUOTA, `refusals to sam and tom: ${refused.length}`);
  for (const e of refused) {
    assert.equal(errorCondition(e), 'resource-constraint');
    assert.equal(e.getChild('error')?.attrs.type, 'wait');
    assert.match(e.getChild('error')?.getChildText('text') ?? '', /offline message queue is full/);
  }
  const refusedBodies = new Set(refused.map((e) => e.attrs.id));

  const full = await parley.login('full', 'f');
  await eventually(() => messagesIn(full).length === QUOTA, 3000, 'the stored ones');
  await settle(full);
  const delivered = messagesIn(full) as string[];
  assert.equal(delivered.length, QUOTA);
  // Every message from sam and tom was either delivered or refused to its sender, never both.
  for (const body of [...sent.sam, ...sent.tom]) {
    assert.ok(delivered.includes(body) !== refusedBodies.has(body), `${body}: delivered ${delivered.includes(body)}, refused ${refusedBodies.has(body)}`);
  }
  await eventually(async () => (await count('full')) === 0, 3000, 'delivered');
  await full.stop();

  // Room again once delivered.
  await sam.send(chat('full@localhost', 'room again'));
  await sam.sync();
  await eventually(async () => (await count('full')) === 1, 3000, 'stored again');
  await tom.stop();
});

test('quota: expired messages do not take the room of a deliverable one', async () => {
  const now = Date.now();
  const stale = (i: number) => `<message from='sam@localhost/s' to='xen@localhost' type='chat'><body>stale ${i}</body></message>`;
  await parley.server.storage.offline.add('xen@localhost', stale(0), now - 120_000, { expiresAt: now - 60_000 });
  for (let i = 1; i < QUOTA; i++) await parley.server.storage.offline.add('xen@localhost', stale(i), now - 120_000);
  assert.equal(await count('xen'), QUOTA, 'full, one of them expired');
  await sam.send(chat('xen@localhost', 'fits'));
  await sam.send(chat('xen@localhost', 'over'));
  await sam.sync();
  const errors = sam.received.filter((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.from === 'xen@localhost');
  assert.deepEqual(errors.map((e) => [e.attrs.id, errorCondition(e)]), [['over', 'resource-constraint']], 'the expired one made room for exactly one');
  assert.equal(await count('xen'), QUOTA);
  const xen = await parley.login('xen', 'x');
  await xen.waitFor((el) => bodyOf(el) === 'fits', 3000, 'fits');
  await settle(xen);
  assert.deepEqual(messagesIn(xen), ['stale 1', 'stale 2', 'stale 3', 'fits']);
  await xen.stop();
});

test(`quota: the characters stored per account are bounded too (limits.maxOfflineChars ${MAX_CHARS})`, async () => {
  await sam.send(chat('yul@localhost', 'big', xml('x', { xmlns: 'urn:example:pad' }, 'p'.repeat(3000))));
  await sam.send(chat('yul@localhost', 'too much', xml('x', { xmlns: 'urn:example:pad' }, 'p'.repeat(1500))));
  await sam.send(chat('yul@localhost', 'small'));
  await sam.sync();
  const errors = sam.received.filter((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.from === 'yul@localhost');
  assert.deepEqual(errors.map((e) => [e.attrs.id, errorCondition(e)]), [['too much', 'resource-constraint']]);
  assert.equal(await count('yul'), 2);
  const yul = await parley.login('yul', 'y');
  await yul.waitFor((el) => bodyOf(el) === 'small', 3000, 'small');
  await settle(yul);
  assert.deepEqual(messagesIn(yul), ['big', 'small']);
  await yul.stop();
});
