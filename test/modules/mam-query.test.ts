// The message archive (XEP-0313) of accounts from real clients: what is archived on both sides,
// the stanza id on what is delivered, paging with RSM backwards and forwards, the form's filters,
// and who may read an archive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, settle, type TestClient } from '../support/client.js';
import { chat, mamQuery, mamQueryIq, NS_MAM } from '../support/mam.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
/** Bodies in the order bob's archive holds them. */
const bobArchive: string[] = [];
let middle = '';

const bodyOf = (el: Element) => el.getChildText('body');
const received = (c: TestClient, body: string) => c.waitFor((el) => el.name === 'message' && bodyOf(el) === body, 5000, body);

before(async () => {
  parley = await startParley({ mam: { maxPageSize: 7 } });
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
  for (let i = 0; i < 10; i++) {
    await alice.send(chat('bob@localhost', `a${i}`));
    await received(bob, `a${i}`);
    bobArchive.push(`a${i}`);
  }
  await new Promise((r) => setTimeout(r, 5));
  middle = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 3; i++) {
    await bob.send(chat('alice@localhost/a', `b${i}`));
    await received(alice, `b${i}`);
    bobArchive.push(`b${i}`);
  }
  for (let i = 0; i < 2; i++) {
    await carol.send(chat('bob@localhost/b', `c${i}`));
    await received(bob, `c${i}`);
    bobArchive.push(`c${i}`);
  }
});

after(() => parley?.close());

test('a delivered message carries the stanza id of its copy in the recipient\'s archive', async () => {
  const delivered = await received(bob, 'a3');
  const sid = delivered.getChildren('stanza-id', 'urn:xmpp:sid:0');
  assert.equal(sid.length, 1);
  assert.equal(sid[0]!.attrs.by, 'bob@localhost');
  const page = await mamQuery(bob, { ids: [sid[0]!.attrs.id] });
  assert.deepEqual(page.items.map((i) => i.body), ['a3']);
  assert.equal(page.items[0]!.message.attrs.from, 'alice@localhost/a');
  assert.ok(page.items[0]!.stamp, 'each result has its delay stamp');
});

test('the last page first (empty before), then backwards to the start: count, first, last, complete', async () => {
  const seen: string[][] = [];
  let page = await mamQuery(bob, { max: 4, before: '' });
  for (;;) {
    assert.equal(page.count, 15);
    assert.equal(page.first, page.items[0]?.id);
    assert.equal(page.last, page.items.at(-1)?.id);
    seen.unshift(page.items.map((i) => i.body!));
    if (page.complete) break;
    assert.equal(page.items.length, 4);
    page = await mamQuery(bob, { max: 4, before: page.first });
  }
  assert.deepEqual(seen.map((p) => p.length), [3, 4, 4, 4]);
  assert.deepEqual(seen.flat(), bobArchive);
});

test('forwards from the start with after, and max is capped by mam.maxPageSize', async () => {
  const first = await mamQuery(bob, { max: 100 });
  assert.equal(first.items.length, 7, 'capped at 7');
  assert.equal(first.complete, false);
  const second = await mamQuery(bob, { max: 100, after: first.last });
  const third = await mamQuery(bob, { max: 100, after: second.last });
  assert.equal(third.complete, true);
  assert.deepEqual([...first.items, ...second.items, ...third.items].map((i) => i.body), bobArchive);
  const ids = [...first.items, ...second.items, ...third.items].map((i) => BigInt(i.id));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids increase');
  const none = await mamQuery(bob, { after: third.last });
  assert.deepEqual(none.items, []);
  assert.equal(none.complete, true);
  assert.equal(none.count, 15);
});

test('flip-page returns the page newest first; max 0 only counts', async () => {
  const flipped = await mamQuery(bob, { max: 3, before: '', flip: true });
  assert.deepEqual(flipped.items.map((i) => i.body), ['c1', 'c0', 'b2']);
  assert.equal(flipped.first, flipped.items[0]!.id);
  const counted = await mamQuery(bob, { max: 0 });
  assert.deepEqual(counted.items, []);
  assert.equal(counted.count, 15);
});

test('filters: with (bare and full), start, end, ids, after-id, before-id, full text', async () => {
  assert.deepEqual((await mamQuery(bob, { with: 'carol@localhost' })).items.map((i) => i.body), ['c0', 'c1']);
  assert.deepEqual((await mamQuery(bob, { with: 'carol@localhost/c' })).items.map((i) => i.body), ['c0', 'c1']);
  assert.deepEqual((await mamQuery(bob, { with: 'carol@localhost/other' })).items, []);
  const withAlice = await mamQuery(bob, { with: 'alice@localhost', max: 20 });
  assert.equal(withAlice.count, 13, 'both directions of the conversation');
  assert.deepEqual((await mamQuery(bob, { start: middle })).items.map((i) => i.body), ['b0', 'b1', 'b2', 'c0', 'c1']);
  const early = await mamQuery(bob, { end: middle, max: 5 });
  assert.equal(early.count, 10);
  assert.deepEqual(early.items.map((i) => i.body), ['a0', 'a1', 'a2', 'a3', 'a4']);
  const all = (await mamQuery(bob, { max: 7 })).items;
  const picked = await mamQuery(bob, { ids: [all[1]!.id, all[4]!.id, 'not-an-id'] });
  assert.deepEqual(picked.items.map((i) => i.body), ['a1', 'a4']);
  assert.deepEqual((await mamQuery(bob, { afterId: all[4]!.id, beforeId: all[6]!.id })).items.map((i) => i.body), ['a5']);
  assert.deepEqual((await mamQuery(bob, { fulltext: 'c1' })).items.map((i) => i.body), ['c1']);
});

test("the sender's copy is in the sender's archive", async () => {
  const page = await mamQuery(alice, { max: 7, before: '' });
  assert.equal(page.count, 13);
  assert.deepEqual(page.items.map((i) => i.body), ['a6', 'a7', 'a8', 'a9', 'b0', 'b1', 'b2']);
  assert.equal(page.items[0]!.message.attrs.to, 'bob@localhost');
});

test('bad queries: unknown after/before ids, unknown fields, bad dates', async () => {
  assert.equal((await iqError(bob, mamQueryIq({ after: '12345' }, 'x'))).condition, 'item-not-found');
  assert.equal((await iqError(bob, mamQueryIq({ before: 'nope' }, 'x'))).condition, 'item-not-found');
  assert.equal((await iqError(bob, mamQueryIq({ afterId: '99' }, 'x'))).condition, 'item-not-found');
  assert.equal((await iqError(bob, mamQueryIq({ start: 'yesterday' }, 'x'))).condition, 'bad-request');
  const unknownField = xml('iq', { type: 'set' }, xml('query', { xmlns: NS_MAM }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'colour' }, xml('value', {}, 'red')))));
  assert.equal((await iqError(bob, unknownField)).condition, 'bad-request');
});

test("an account cannot query another's archive; the archive is announced on the account", async () => {
  assert.equal((await iqError(alice, mamQueryIq({ to: 'bob@localhost' }, 'x'))).condition, 'forbidden');
  const info = await bob.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const features = info.getChild('query')!.getChildren('feature').map((f: Element) => f.attrs.var);
  assert.ok(features.includes(NS_MAM));
  assert.ok(features.includes('urn:xmpp:mam:2#extended'));
  const form = await bob.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_MAM })));
  assert.ok(form.getChild('query', NS_MAM)!.getChild('x', 'jabber:x:data'));
});

test('what is not archived: headlines, no body, no-store hints; a forged stanza id is replaced', async () => {
  const before = (await mamQuery(bob, { max: 0 })).count!;
  await alice.send(xml('message', { to: 'bob@localhost', type: 'headline' }, xml('body', {}, 'news')));
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'secret'), xml('no-store', { xmlns: 'urn:xmpp:hints' })));
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'ephemeral'), xml('no-permanent-store', { xmlns: 'urn:xmpp:hints' })));
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'forged'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: 'bob@localhost', id: '1' })));
  const forged = await received(bob, 'forged');
  await settle(alice, bob);
  const sids = forged.getChildren('stanza-id', 'urn:xmpp:sid:0');
  assert.equal(sids.length, 1);
  assert.notEqual(sids[0]!.attrs.id, '1');
  const after = await mamQuery(bob, { max: 7, before: '' });
  assert.equal(after.count, before + 1);
  assert.equal(after.items.at(-1)!.body, 'forged');
  assert.equal(after.items.at(-1)!.id, sids[0]!.attrs.id);
  assert.equal((await received(bob, 'secret')).getChild('stanza-id', 'urn:xmpp:sid:0'), undefined);
});

test('metadata names the first and last message; mam:1 queries are answered in their namespace; a note to oneself is archived once', async () => {
  const all = await mamQuery(bob, { max: 7 });
  const last = await mamQuery(bob, { max: 1, before: '' });
  const meta = (await bob.iq(xml('iq', { type: 'get' }, xml('metadata', { xmlns: NS_MAM })))).getChild('metadata', NS_MAM)!;
  assert.equal(meta.getChild('start')!.attrs.id, all.items[0]!.id);
  assert.equal(meta.getChild('end')!.attrs.id, last.items[0]!.id);
  assert.ok(Date.parse(meta.getChild('end')!.attrs.timestamp) > 0);
  const empty = (await carol.iq(xml('iq', { type: 'get' }, xml('metadata', { xmlns: NS_MAM })))).getChild('metadata', NS_MAM)!;
  assert.ok(empty.getChild('start'), "carol's sent messages are in her archive");

  const NS1 = 'urn:xmpp:mam:1';
  const before = bob.received.length;
  const res = await bob.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS1, queryid: 'old' }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '2')))));
  const fin = res.getChild('fin', NS1)!;
  assert.ok(fin, 'fin in urn:xmpp:mam:1');
  const results = bob.received.slice(before).map((m) => m.getChild('result', NS1)).filter((r) => r?.attrs.queryid === 'old');
  assert.deepEqual(results.map((r) => r!.attrs.id), all.items.slice(0, 2).map((i) => i.id));
  assert.equal((await iqError(bob, xml('iq', { type: 'set' }, xml('query', { xmlns: NS_MAM }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('index', {}, '3')))))).condition, 'feature-not-implemented');

  const count = (await mamQuery(bob, { max: 0 })).count!;
  await bob.send(chat('bob@localhost', 'note to self'));
  await received(bob, 'note to self');
  const after = await mamQuery(bob, { max: 1, before: '' });
  assert.equal(after.count, count + 1);
  assert.equal(after.items[0]!.body, 'note to self');
});
