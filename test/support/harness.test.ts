// The test harness itself: how its clients log in, its barrier, and the backend switch the CI uses
// to run the whole suite on PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import tls from 'node:tls';
import { WebSocket as WsWebSocket } from 'ws';
import { startParley, TEST_PG_URL, type Parley } from './harness.js';
import { connect, settle, xml, bodyOf } from './client.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket; // Node.js 20 has none

let parley: Parley;
before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob');
});
after(async () => {
  await parley.close();
});

test('clients log in with PLAIN by default and with SCRAM when asked; both go through the server', async () => {
  const plain = await parley.login('alice', 'plain');
  const scram = await parley.login('alice', 'scram', { mechanism: 'SCRAM-SHA-1' });
  assert.equal(plain.mechanism, 'PLAIN');
  assert.equal(scram.mechanism, 'SCRAM-SHA-1');
  assert.deepEqual((await parley.api('connected_users')).body, ['alice@localhost/plain', 'alice@localhost/scram']);
  await plain.stop();
  await scram.stop();
  // A wrong password is refused with either mechanism.
  for (const mechanism of [undefined, 'SCRAM-SHA-1'] as const) {
    await assert.rejects(
      connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'alice', password: 'wrong', resource: 'x', mechanism }),
      (err: any) => err.condition === 'not-authorized',
    );
  }
});

test('where PLAIN is not offered, the default is SCRAM and asking for PLAIN fails', async () => {
  const strict = await startParley({ c2s: { allowPlainWithoutTlsOnLoopback: false } });
  try {
    await strict.register('alice');
    const service = `ws://127.0.0.1:${strict.ports.http}/ws`; // no TLS at all: PLAIN is never offered
    const c = await connect({ service, username: 'alice', password: 'alicepw' });
    assert.equal(c.mechanism, 'SCRAM-SHA-1');
    await c.stop();
    await assert.rejects(connect({ service, username: 'alice', password: 'alicepw', mechanism: 'PLAIN' }), /SASL mechanism PLAIN not offered/);
  } finally {
    await strict.close();
  }
});

test('settle(): what a client sent has been delivered to the others when it returns', async () => {
  const a = await parley.login('alice', 'a');
  const b = await parley.login('bob', 'b');
  for (let i = 0; i < 20; i++) await a.send(xml('message', { to: 'bob@localhost/b', type: 'chat' }, xml('body', {}, `m${i}`)));
  await settle(a, b);
  assert.deepEqual(b.received.map(bodyOf).filter(Boolean), Array.from({ length: 20 }, (_, i) => `m${i}`));
});

test('PARLEY_TEST_STORAGE=postgres: a server that names no backend gets a fresh PostgreSQL schema, dropped by close()', async () => {
  const saved = process.env.PARLEY_TEST_STORAGE;
  process.env.PARLEY_TEST_STORAGE = 'postgres';
  let p: Parley;
  try {
    p = await startParley();
    // A test that names its backend keeps it.
    const named = await startParley({ storage: { backend: 'sqlite' } });
    assert.equal(named.server.storage.backend, 'sqlite');
    await named.close();
  } finally {
    if (saved === undefined) delete process.env.PARLEY_TEST_STORAGE;
    else process.env.PARLEY_TEST_STORAGE = saved;
  }
  const schema = p.server.config.storage.schema!;
  assert.equal(p.server.storage.backend, 'postgres');
  assert.match(schema, /^parley_test_/);
  const schemaExists = async () => {
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    try {
      return (await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount === 1;
    } finally {
      await c.end();
    }
  };
  try {
    await p.register('carol');
    const carol = await p.login('carol', 'r');
    assert.equal(carol.jid, 'carol@localhost/r');
    assert.equal(await schemaExists(), true);
  } finally {
    await p.close();
  }
  assert.equal(await schemaExists(), false);
});

test('servers share one ready certificate; with `tls: {}` a server generates its own, as on a first start', async () => {
  const fingerprint = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.destroy();
      });
      s.once('error', reject);
    });
  const other = await startParley();
  const own = await startParley({ tls: {} });
  try {
    const shared = await fingerprint(parley.ports.c2sTls);
    assert.equal(await fingerprint(other.ports.c2sTls), shared);
    assert.notEqual(await fingerprint(own.ports.c2sTls), shared);
  } finally {
    await other.close();
    await own.close();
  }
});
