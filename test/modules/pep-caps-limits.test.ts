// The bounds of entity capabilities (XEP-0115) as PEP keeps them: pep.capsCacheSize (the least
// recently used ver goes, and a client claiming it is asked again), and a client whose features are
// too many to keep gets no notifications.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { befriend, capsClient, isEvent, publishIq } from './pep-support.js';

const NODE = 'http://jabber.org/protocol/nick';
let parley: Parley;
const clients: TestClient[] = [];

before(async () => {
  parley = await startParley({ pep: { capsCacheSize: 1 } });
  await parley.register('alice', 'bob');
  await befriend(parley, 'alice', 'bob');
});

after(async () => {
  for (const c of clients) await c.stop();
  await parley?.close();
});

test('pep.capsCacheSize: one ver kept; a client claiming an evicted ver is asked again', async () => {
  const pep = parley.server.service('pep');
  const first = await capsClient(parley, 'bob', 'one', [`${NODE}+notify`]);
  clients.push(first);
  await eventually(() => first.capsQueries() === 1 && pep.capsCacheSize === 1, 5000, 'the first ver cached');
  const second = await capsClient(parley, 'bob', 'two', [`${NODE}+notify`, 'urn:xmpp:ping']);
  clients.push(second);
  await eventually(() => second.capsQueries() === 1, 5000, 'the second ver asked');
  await second.sync();
  assert.equal(pep.capsCacheSize, 1, 'still one entry');
  const third = await capsClient(parley, 'bob', 'three', [`${NODE}+notify`]);
  clients.push(third);
  await eventually(() => third.capsQueries() === 1, 5000, "the first ver, evicted, asked of the third client");
});

test('a client whose caps list more features than are kept gets no notifications', async () => {
  const many = Array.from({ length: 1001 }, (_, i) => `urn:parley:test:feature:${i}`);
  const greedy = await capsClient(parley, 'bob', 'greedy', [`${NODE}+notify`, ...many]);
  clients.push(greedy);
  await eventually(() => greedy.capsQueries() === 1, 5000, 'the caps query');
  await greedy.sync();
  const alice = await parley.login('alice', 'desk');
  clients.push(alice);
  await alice.iq(publishIq(NODE, xml('nick', { xmlns: NODE }, 'Alice'), 'current'));
  await clients[0]!.waitFor(isEvent(NODE, 'alice@localhost', 'current'), 3000, 'a client with few features is told');
  await settle(greedy, alice);
  assert.equal(greedy.received.filter(isEvent(NODE, 'alice@localhost')).length, 0);
});
