import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, expectStreamError } from './raw.js';

const ADDR = '127.0.0.3';
let parley: Parley;
before(async () => {
  parley = await startParley({ limits: { maxConnectionsPerIp: 2 } });
  await parley.api('register', { user: 'lim', host: 'localhost', password: 'limpw' });
});
after(async () => {
  await parley.close();
});

test('limits.maxConnectionsPerIp: the connection over the limit gets policy-violation; others are unaffected', async () => {
  // Not 127.0.0.1: the harness's HTTP API calls (kept alive) count against that address too.
  const a = await RawConn.tcp(parley.ports.c2s, ADDR);
  const b = await RawConn.tcp(parley.ports.c2s, ADDR);
  await a.login('lim', 'limpw', 'a');
  await b.open();
  const third = await RawConn.tcp(parley.ports.c2s, ADDR);
  await expectStreamError(third, 'policy-violation');
  // The two admitted connections still work.
  a.write(`<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await a.expect('id="p"');
  // Another loopback address has its own count.
  const other = await RawConn.tcp(parley.ports.c2s, '127.0.0.2');
  await other.open();
  // A closed connection frees its place.
  b.destroy();
  await b.waitClosed();
  await eventually(() => (parley.server.listenerStats!.perIp[ADDR] ?? 0) < 2, 3000, 'the server noticed the close');
  const again = await RawConn.tcp(parley.ports.c2s, ADDR);
  const features = await again.open();
  assert.match(features, /mechanisms/);
  for (const c of [a, other, again]) c.destroy();
});

test('over WebSocket, a stanza before <open/> is refused', async () => {
  const ws = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  ws.write(`<message xmlns='jabber:client' to='lim@localhost'><body>early</body></message>`);
  await ws.expect(/not-authorized/);
  await ws.waitClosed();
});
