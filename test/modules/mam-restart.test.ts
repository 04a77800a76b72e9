// The archive is SQL: what clients archived is there after the node stops and starts again, the
// rows still queued when it stopped included; and it goes with its account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startParley, type Parley } from '../support/harness.js';
import { connect, type TestClient } from '../support/client.js';
import { chat, mamQuery } from '../support/mam.js';
import { Server } from '../../src/server.js';

let parley: Parley;
let again: Server | undefined;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
});

after(async () => {
  await again?.stop();
  await parley?.close();
});

test('the archive survives a restart, with what was queued at the stop; unacknowledged messages routed again are not archived twice', async () => {
  const alice = await parley.login('alice', 'a');
  const bob = await parley.login('bob', 'b');
  for (let i = 0; i < 20; i++) await alice.send(chat('bob@localhost', `before-${i}`));
  await bob.waitFor((el) => el.getChildText('body') === 'before-19', 5000);
  const sid = (await bob.waitFor((el) => el.getChildText('body') === 'before-19')).getChild('stanza-id', 'urn:xmpp:sid:0')!.attrs.id;
  // No query first: the last rows may still be queued when the node stops.
  await parley.server.stop();
  again = new Server({ config: parley.server.config, logger: pino({ level: 'silent' }) });
  await again.start();
  const login = (user: string, resource: string): Promise<TestClient> =>
    connect({ service: `xmpp://127.0.0.1:${again!.addresses.c2s!.port}`, username: user, password: `${user}pw`, resource });
  const bob2 = await login('bob', 'b2');
  const page = await mamQuery(bob2, { max: 50 });
  assert.deepEqual(page.items.map((i) => i.body), Array.from({ length: 20 }, (_, i) => `before-${i}`));
  assert.equal(page.items.at(-1)!.id, sid);
  const alice2 = await login('alice', 'a2');
  assert.equal((await mamQuery(alice2, { max: 0 })).count, 20);
  // Ids given after the restart still come after the ones before it.
  await alice2.send(chat('bob@localhost', 'after'));
  await bob2.waitFor((el) => el.getChildText('body') === 'after', 5000);
  const last = await mamQuery(bob2, { max: 1, before: '' });
  assert.equal(last.items[0]!.body, 'after');
  assert.ok(BigInt(last.items[0]!.id) > BigInt(sid));

  // Removing an account removes its archive (account-removing), not its peers' copies.
  const r = await fetch(`http://127.0.0.1:${again.addresses.http!.port}/api/unregister`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64') },
    body: JSON.stringify({ user: 'bob', host: 'localhost' }),
  });
  assert.equal(r.status, 200);
  const reborn = await fetch(`http://127.0.0.1:${again.addresses.http!.port}/api/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64') },
    body: JSON.stringify({ user: 'bob', host: 'localhost', password: 'bobpw' }),
  });
  assert.equal(reborn.status, 200);
  const bob3 = await login('bob', 'b3');
  assert.equal((await mamQuery(bob3, { max: 0 })).count, 0, 'a new account of the same name starts with an empty archive');
  assert.equal((await mamQuery(alice2, { max: 0 })).count, 21);
  for (const c of [alice2, bob2, bob3]) await c.stop();
});
