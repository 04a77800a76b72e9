// Basic-auth credentials on /api: a repeated check is answered from the verified-password cache without a
// storage read, and a password change or an unregister ends the old credentials at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startParley, type Parley } from '../support/harness.js';

let parley: Parley;
/** Account reads made by the server since the last reset (the real store, counted). */
let reads = 0;

before(async () => {
  parley = await startParley();
  const store = parley.server.storage.accounts;
  const get = store.get.bind(store);
  store.get = (...a: Parameters<typeof get>) => {
    reads++;
    return get(...a);
  };
  await parley.register('alice');
});

after(() => parley.close());

/** alice's own offline count: 200 with valid credentials (policy user), 401 without. */
const asAlice = (password: string) => parley.api('get_offline_count', { user: 'alice', host: 'localhost' }, `alice@localhost:${password}`);

test('a repeated basic-auth check reads no account from storage', async () => {
  assert.equal((await asAlice('alicepw')).status, 200);
  reads = 0;
  for (let i = 0; i < 5; i++) assert.equal((await asAlice('alicepw')).status, 200);
  assert.equal(reads, 0);
  // A wrong password is still checked against storage, and refused.
  assert.equal((await asAlice('wrong')).status, 401);
  assert.equal(reads, 1);
});

test('after change_password the old password is refused at once and the new one accepted', async () => {
  assert.equal((await asAlice('alicepw')).status, 200);
  const r = await parley.api('change_password', { user: 'alice', host: 'localhost', newpass: 'second' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await asAlice('alicepw')).status, 401);
  assert.equal((await asAlice('second')).status, 200);
  assert.equal((await asAlice('second')).status, 200);
});

test('after unregister the cached credentials are refused', async () => {
  assert.equal((await asAlice('second')).status, 200);
  assert.equal((await parley.api('unregister', { user: 'alice', host: 'localhost' })).status, 200);
  assert.equal((await asAlice('second')).status, 401);
  // Registered again with the same password: accepted again (the new account's credentials).
  assert.equal((await parley.api('register', { user: 'alice', host: 'localhost', password: 'second' })).status, 200);
  assert.equal((await asAlice('second')).status, 200);
});

test('/api answers stay JSON and uncompressed whatever the client accepts', async () => {
  const auth = 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64');
  const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const body = JSON.stringify({ host: 'localhost' });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: parley.ports.http,
        method: 'POST',
        path: '/api/registered_users',
        agent: false,
        headers: { authorization: auth, accept: 'application/xml', 'accept-encoding': 'gzip', 'content-length': Buffer.byteLength(body) },
      },
      (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.headers['content-encoding'], undefined);
  assert.deepEqual(JSON.parse(res.body), ['admin', 'alice']);
});

test('an address blocked by failed logins is refused even with credentials verified a moment before', async () => {
  const p = await startParley({ limits: { authFailuresPerMinute: 3 } });
  try {
    await p.register('bob');
    const asBob = (password: string) => p.api('get_offline_count', { user: 'bob', host: 'localhost' }, `bob@localhost:${password}`);
    assert.equal((await asBob('bobpw')).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await asBob('guess')).status, 401);
    assert.equal((await asBob('bobpw')).status, 401);
  } finally {
    await p.close();
  }
});
