// Archiving preferences (XEP-0313 §5) from real clients: the default policy, the roster policy
// (through the roster service), the always and never lists, their limit; an offline message is
// archived once with the stanza id its offline copy carries; retraction (XEP-0424) tombstones both
// archives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, settle, type TestClient } from '../support/client.js';
import { chat, mamQuery, NS_MAM } from '../support/mam.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

const received = (c: TestClient, body: string) => c.waitFor((el) => el.name === 'message' && el.getChildText('body') === body, 5000, body);

before(async () => {
  parley = await startParley({ mam: { maxPrefsJids: 3 } });
  await parley.register('alice', 'bob', 'carol', 'dave');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

after(() => parley?.close());

function prefs(def: string, always: string[] = [], never: string[] = []): Element {
  const list = (name: string, jids: string[]) => xml(name, {}, ...jids.map((j) => xml('jid', {}, j)));
  return xml('iq', { type: 'set' }, xml('prefs', { xmlns: NS_MAM, default: def }, list('always', always), list('never', never)));
}

const bodies = async (c: TestClient, w?: string) => (await mamQuery(c, { max: 50, ...(w ? { with: w } : {}) })).items.map((i) => i.body);

test('preferences: the configured default until set; set answers and reads back what was stored', async () => {
  const got = await alice.iq(xml('iq', { type: 'get' }, xml('prefs', { xmlns: NS_MAM })));
  assert.equal(got.getChild('prefs', NS_MAM)!.attrs.default, 'always');
  const set = await alice.iq(prefs('roster', ['carol@localhost/x'], ['bob@localhost']));
  const p = set.getChild('prefs', NS_MAM)!;
  assert.equal(p.attrs.default, 'roster');
  assert.deepEqual(p.getChild('always')!.getChildren('jid').map((j: Element) => j.text()), ['carol@localhost']);
  const again = (await alice.iq(xml('iq', { type: 'get' }, xml('prefs', { xmlns: NS_MAM })))).getChild('prefs', NS_MAM)!;
  assert.deepEqual(again.getChild('never')!.getChildren('jid').map((j: Element) => j.text()), ['bob@localhost']);
  assert.equal((await iqError(alice, prefs('sometimes'))).condition, 'bad-request');
  assert.equal((await iqError(alice, prefs('always', ['a@localhost', 'b@localhost'], ['c@localhost', 'd@localhost']))).condition, 'not-acceptable');
  assert.equal((await iqError(bob, xml('iq', { type: 'get', to: 'alice@localhost' }, xml('prefs', { xmlns: NS_MAM })))).condition, 'forbidden');
});

test('never, roster and always are respected, on both sides of a conversation', async () => {
  await alice.iq(prefs('never'));
  // One after the other: two clients' stanzas race on the server, and the archive keeps arrival order.
  await bob.send(chat('alice@localhost', 'unkept-1'));
  await received(alice, 'unkept-1');
  await alice.send(chat('bob@localhost', 'unkept-2'));
  await received(bob, 'unkept-2');
  assert.deepEqual(await bodies(alice), []);
  assert.deepEqual(await bodies(bob), ['unkept-1', 'unkept-2'], 'bob archives with his own (default) policy');
  const delivered = await received(alice, 'unkept-1');
  assert.equal(delivered.getChild('stanza-id', 'urn:xmpp:sid:0'), undefined, 'no stanza id without an archived copy');

  // roster: carol is a contact of alice, bob is not
  await alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: 'carol@localhost' }))));
  await alice.iq(prefs('roster'));
  await bob.send(chat('alice@localhost', 'stranger'));
  await carol.send(chat('alice@localhost', 'contact'));
  await received(alice, 'stranger');
  await received(alice, 'contact');
  assert.deepEqual(await bodies(alice), ['contact']);

  // the lists win over the default
  await alice.iq(prefs('roster', ['bob@localhost'], ['carol@localhost']));
  await bob.send(chat('alice@localhost', 'listed'));
  await carol.send(chat('alice@localhost', 'unlisted'));
  await received(alice, 'listed');
  await received(alice, 'unlisted');
  assert.deepEqual(await bodies(alice), ['contact', 'listed']);
  await alice.iq(prefs('always'));
});

test('an offline message is archived once, with the stanza id its offline copy carries', async () => {
  await alice.send(chat('dave@localhost', 'while you were away'));
  await alice.send(chat('dave@localhost/gone', 'to a resource that is not there'));
  await settle(alice);
  const dave = await parley.login('dave', 'd');
  const first = await received(dave, 'while you were away');
  const second = await received(dave, 'to a resource that is not there');
  const page = await mamQuery(dave);
  assert.deepEqual(page.items.map((i) => i.body).sort(), ['to a resource that is not there', 'while you were away']);
  const byBody = (body: string) => page.items.find((i) => i.body === body)!;
  for (const [delivered, item] of [[first, byBody('while you were away')], [second, byBody('to a resource that is not there')]] as const) {
    const sids = delivered.getChildren('stanza-id', 'urn:xmpp:sid:0');
    assert.equal(sids.length, 1);
    assert.equal(sids[0]!.attrs.by, 'dave@localhost');
    assert.equal(sids[0]!.attrs.id, item.id);
    assert.ok(delivered.getChild('delay', 'urn:xmpp:delay'), 'the offline copy');
  }
  await dave.stop();
});

test('retraction (XEP-0424) by the sender tombstones the message in both archives; the retraction itself is delivered', async () => {
  await alice.send(chat('bob@localhost', 'oops, wrong chat', 'origin-1'));
  await alice.send(chat('bob@localhost', 'this one stays', 'origin-2'));
  await received(bob, 'this one stays');
  // A third party naming the same origin id retracts nothing.
  await carol.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: 'origin-1' }), xml('body', {}, 'fake retraction')));
  await received(bob, 'fake retraction');
  assert.ok((await bodies(bob, 'alice@localhost')).includes('oops, wrong chat'));
  await alice.send(
    xml(
      'message',
      { to: 'bob@localhost', type: 'chat', id: 'r1' },
      xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: 'origin-1' }),
      xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:message-retract:1' }),
      xml('body', {}, 'This person attempted to retract a previous message'),
      xml('store', { xmlns: 'urn:xmpp:hints' }),
    ),
  );
  const retraction = await received(bob, 'This person attempted to retract a previous message');
  assert.equal(retraction.getChild('retract', 'urn:xmpp:message-retract:1')!.attrs.id, 'origin-1');
  for (const [c, peer] of [[bob, 'alice@localhost'], [alice, 'bob@localhost']] as const) {
    const items = (await mamQuery(c, { with: peer, max: 50 })).items;
    const tomb = items.find((i) => i.message.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs.id === 'origin-1');
    assert.ok(tomb, 'the tombstone keeps its place and ids');
    assert.equal(tomb.body, undefined);
    assert.ok(tomb.message.getChild('retracted', 'urn:xmpp:message-retract:1')?.attrs.stamp);
    assert.ok(items.some((i) => i.body === 'this one stays'));
    assert.ok(items.some((i) => i.body === 'This person attempted to retract a previous message'));
  }
});
