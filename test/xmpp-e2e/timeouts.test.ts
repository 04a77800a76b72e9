import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { RawConn, expectStreamError } from './raw.js';

let parley: Parley;
before(async () => {
  parley = await startParley({ c2s: { negotiationTimeout: 1 } });
  await parley.api('register', { user: 'tim', host: 'localhost', password: 'timpw' });
});
after(async () => {
  await parley.close();
});

test('a connection that never authenticates is closed with connection-timeout', async () => {
  const idle = await RawConn.tcp(parley.ports.c2s);
  await idle.open();
  await expectStreamError(idle, 'connection-timeout');
});

test('a session that bound in time is not affected by the negotiation timeout', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('tim', 'timpw', 'stays');
  await new Promise((r) => setTimeout(r, 1500)); // time passing beyond the 1 s negotiation timeout is what is tested
  const { body } = await parley.api('connected_users');
  assert.deepEqual(body, ['tim@localhost/stays']);
  c.destroy();
});
