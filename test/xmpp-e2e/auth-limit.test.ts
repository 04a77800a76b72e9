/** limits.authFailuresPerMinute: failed logins are counted per remote address across streams. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { connect, xml, bodyOf, type TestClient } from '../support/client.js';
import { RawConn, NS_SASL, plainAuth } from './raw.js';

let parley: Parley;
let bob: TestClient;
before(async () => {
  parley = await startParley({ limits: { authFailuresPerMinute: 3 } });
  await parley.register('alice', 'bob');
  bob = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'bob', password: 'bobpw', resource: 'steady' });
});
after(async () => {
  await bob?.stop();
  await parley.close();
});

const TEMP_FAILURE = new RegExp(`<failure xmlns="${NS_SASL}"><temporary-auth-failure/>`);

test('after 3 failed logins from an address, even the right password gets temporary-auth-failure', async () => {
  // The attacker connects from 127.0.0.7; bob and the admin API use 127.0.0.1.
  const a = await RawConn.tcp(parley.ports.c2s, '127.0.0.7');
  await a.open();
  for (let i = 1; i <= 3; i++) {
    a.write(plainAuth('alice', `guess${i}`));
    await a.expect(`<failure xmlns="${NS_SASL}"><not-authorized/></failure>`, 5000, `failure #${i}`);
  }
  // Same stream, right password: refused without checking it.
  a.write(plainAuth('alice', 'alicepw'));
  await a.expect(TEMP_FAILURE);
  a.destroy();

  // A new stream from the same address is refused too, for SCRAM as well as PLAIN.
  const b = await RawConn.tcp(parley.ports.c2s, '127.0.0.7');
  await b.open();
  b.write(plainAuth('alice', 'alicepw'));
  await b.expect(TEMP_FAILURE);
  b.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${Buffer.from('n,,n=alice,r=abcdefghijklmnop').toString('base64')}</auth>`);
  await b.expect(TEMP_FAILURE);
  assert.doesNotMatch(b.buf, /<success|<challenge/);
  b.destroy();

  // Another address is not affected: alice logs in from 127.0.0.8, and a fresh client from 127.0.0.1.
  const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.8');
  assert.equal(await c.login('alice', 'alicepw', 'elsewhere'), 'alice@localhost/elsewhere');
  const alice = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'alice', password: 'alicepw', resource: 'home' });
  try {
    await alice.send(xml('message', { to: 'bob@localhost/steady', type: 'chat' }, xml('body', {}, 'unaffected')));
    await bob.waitFor((m) => bodyOf(m) === 'unaffected', 3000, 'message from alice');
    const info = await parley.api('connected_users');
    assert.equal(info.status, 200);
    assert.ok((info.body as string[]).includes('alice@localhost/elsewhere'));
  } finally {
    await alice.stop();
    c.destroy();
  }
});

test('failures that are not wrong credentials do not count', async () => {
  const a = await RawConn.tcp(parley.ports.c2s, '127.0.0.9');
  await a.open();
  for (let i = 0; i < 5; i++) {
    a.write(`<auth xmlns='${NS_SASL}' mechanism='X-NOPE'/>`);
    await a.expect('<invalid-mechanism/>');
    a.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>@@@</auth>`);
    await a.expect('<incorrect-encoding/>');
  }
  a.write(plainAuth('alice', 'alicepw'));
  await a.expect(/<success /);
  a.destroy();
});
