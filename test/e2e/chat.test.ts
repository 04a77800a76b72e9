import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, bodyOf, type TestClient } from '../support/client.js';

const PG_URL = process.env.PARLEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// The same scenario on the embedded default and on PostgreSQL (in a schema of its own, dropped after).
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`chat on ${backend}`, () => {
    let parley: Parley;
    const schema = `parley_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
    before(async () => {
      parley = await startParley(backend === 'postgres' ? { storage: { backend, url: PG_URL, schema } } : { storage: { backend } });
      assert.equal(parley.server.storage.backend, backend);
    });
    after(async () => {
      await parley.close();
      if (backend === 'postgres') {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    });
    test('two users registered over the API chat, subscribe, and get messages sent while offline', () => scenario(parley));
  });
}

async function scenario(parley: Parley): Promise<void> {
  for (const [user, password] of [['alice', 'alicepw'], ['bob', 'bobpw']]) {
    const r = await parley.api('register', { user, host: 'localhost', password });
    assert.equal(r.status, 200);
    assert.equal(r.body, `User ${user}@localhost successfully registered`);
  }
  const service = `xmpp://127.0.0.1:${parley.ports.c2s}`;
  // The end-to-end scenario logs in as @xmpp/client does by itself, with SCRAM.
  const mechanism = 'SCRAM-SHA-1';
  const alice = await connect({ service, username: 'alice', password: 'alicepw', resource: 'laptop', mechanism });
  let bob: TestClient = await connect({ service, username: 'bob', password: 'bobpw', resource: 'phone', mechanism });
  try {
    assert.equal(alice.jid, 'alice@localhost/laptop');

    // Subscription handshake both ways (RFC 6121 §3).
    await alice.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
    await bob.waitFor((p) => p.is('presence') && p.attrs.type === 'subscribe' && p.attrs.from === 'alice@localhost', 3000, 'subscribe');
    await bob.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));
    await bob.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
    await alice.waitFor((p) => p.is('presence') && p.attrs.type === 'subscribe', 3000, 'subscribe back');
    await alice.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
    await alice.waitFor((p) => p.is('presence') && !p.attrs.type && p.attrs.from === 'bob@localhost/phone', 3000, "bob's presence");
    // Alice's last `subscribed` is processed asynchronously (storage may be PostgreSQL): wait for its effect.
    const expected = [{ jid: 'bob@localhost', nick: '', subscription: 'both', ask: 'none', group: '' }];
    const rosterNow = async () => (await parley.api('get_roster', { user: 'alice', server: 'localhost' })).body;
    await eventually(async () => JSON.stringify(await rosterNow()) === JSON.stringify(expected), 3000, 'mutual subscription');
    assert.deepEqual(await rosterNow(), expected);

    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'm1' }, xml('body', {}, 'hello bob')));
    const got = await bob.waitFor((m) => m.is('message') && bodyOf(m) === 'hello bob', 3000, 'message');
    assert.equal(got.attrs.from, 'alice@localhost/laptop');

    // Bob goes offline; Alice writes; Bob gets it when he comes back.
    await bob.stop();
    await eventually(async () => (await parley.api('connected_users_number')).body.num_sessions === 1, 3000, 'bob offline');
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'while you were away')));
    await eventually(async () => (await parley.api('get_offline_count', { user: 'bob', server: 'localhost' })).body.value === 1, 3000, 'stored');
    bob = await connect({ service, username: 'bob', password: 'bobpw', resource: 'phone', mechanism });
    const offline = await bob.waitFor((m) => m.is('message') && bodyOf(m) === 'while you were away', 3000, 'offline message');
    assert.ok(offline.getChild('delay', 'urn:xmpp:delay'), 'offline message carries a delay stamp');
    // It leaves storage once delivered (written, or acknowledged with stream management): shortly after it arrives.
    await eventually(async () => (await parley.api('get_offline_count', { user: 'bob', server: 'localhost' })).body.value === 0, 3000, 'removed from storage');
  } finally {
    await alice.stop();
    await bob.stop();
  }
}
