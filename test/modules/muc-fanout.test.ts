// Fan-out: a room with many occupants, each of whom gets every message exactly once, addressed to
// itself, and the join and leave presences of the others (one stanza built per kind of recipient).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { SERVICE, configure, createInstant, groupchat, itemOf, join } from '../support/muc.js';

const N = 30;
let parley: Parley;
let clients: TestClient[] = [];
const ROOM = `crowd@${SERVICE}`;

before(async () => {
  parley = await startParley();
  const users = Array.from({ length: N }, (_, i) => `u${i}`);
  await parley.register(...users);
  clients = [];
  for (let i = 0; i < N; i += 10) clients.push(...(await Promise.all(users.slice(i, i + 10).map((u) => parley.login(u, 'r')))));
});

after(async () => {
  await parley?.close();
});

test(`${N} occupants: each gets every message once, addressed to it; moderators see real JIDs, others not`, async () => {
  await createInstant(clients[0]!, ROOM, 'n0');
  for (let i = 1; i < N; i++) await join(clients[i]!, ROOM, `n${i}`);
  // The last to enter saw everyone before itself.
  const last = clients[N - 1]!;
  const seen = new Set(last.received.filter((el) => el.name === 'presence' && el.attrs.from?.startsWith(`${ROOM}/`)).map((el) => el.attrs.from));
  assert.equal(seen.size, N);
  // The owner (a moderator) saw n5's real JID; n7 did not.
  const atOwner = clients[0]!.received.find((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/n5`)!;
  assert.equal(itemOf(atOwner)?.attrs.jid, clients[5]!.jid);
  const atOther = clients[7]!.received.find((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/n5`)!;
  assert.equal(itemOf(atOther)?.attrs.jid, undefined);

  for (let k = 0; k < 5; k++) await groupchat(clients[k]!, ROOM, `msg ${k}`);
  for (const c of clients) {
    await eventually(() => c.received.filter((el) => el.name === 'message' && el.getChildText('body')?.startsWith('msg ')).length >= 5, 5000, `messages at ${c.jid}`);
  }
  await settle(...clients.slice(0, 3));
  for (const c of clients) {
    const msgs = c.received.filter((el) => el.name === 'message' && el.getChildText('body')?.startsWith('msg '));
    assert.deepEqual(msgs.map((m) => m.getChildText('body')), ['msg 0', 'msg 1', 'msg 2', 'msg 3', 'msg 4']);
    assert.ok(msgs.every((m) => m.attrs.to === c.jid));
  }
  // Broadcasting only moderators' presence: a participant's change reaches nobody else.
  await configure(clients[0]!, ROOM, { 'muc#roomconfig_presencebroadcast': ['moderator'] });
  const mark = clients.map((c) => c.received.length);
  await clients[9]!.send(xml('presence', { to: `${ROOM}/n9` }, xml('show', {}, 'away')));
  await clients[9]!.waitFor((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/n9` && el.getChildText('show') === 'away', 3000, 'own presence');
  await settle(clients[0]!, clients[9]!, clients[10]!);
  assert.ok(!clients[10]!.received.slice(mark[10]).some((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/n9`));
});
