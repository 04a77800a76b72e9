/**
 * PLAIN without TLS: with c2s.allowPlainWithoutTlsOnLoopback off, loopback behaves as any other
 * address does by default — PLAIN is neither offered nor accepted until the stream is encrypted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { WebSocket as WsWebSocket } from 'ws';
import { connect } from '../support/client.js';
import { RawConn, NS_SASL, NS_TLS, plainAuth, within } from './raw.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

let parley: Parley;
before(async () => {
  parley = await startParley({ c2s: { allowPlainWithoutTlsOnLoopback: false } });
  const r = await parley.api('register', { user: 'alice', host: 'localhost', password: 'alicepw' });
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  await parley.close();
});

function mechanismsOf(features: string): string[] {
  return [...features.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]!);
}

test('plain TCP: PLAIN is not offered and is refused with encryption-required', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  try {
    const features = await c.open();
    assert.deepEqual(mechanismsOf(features), ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
    c.write(plainAuth('alice', 'alicepw'));
    await c.expect(`<failure xmlns="${NS_SASL}"><encryption-required/>`);
    assert.doesNotMatch(c.buf, /<success/);
  } finally {
    c.destroy();
  }
});

test('after STARTTLS, and on direct TLS, PLAIN is offered and works', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  try {
    await c.open();
    c.write(`<starttls xmlns='${NS_TLS}'/>`);
    await c.expect('<proceed');
    await c.startTls();
    assert.ok(mechanismsOf(await c.open()).includes('PLAIN'));
    c.write(plainAuth('alice', 'alicepw'));
    await c.expect(/<success /);
    await c.open();
    assert.equal(await c.bind('starttls'), 'alice@localhost/starttls');
  } finally {
    c.destroy();
  }
  const d = await RawConn.tls(parley.ports.c2sTls);
  try {
    assert.ok(mechanismsOf(await d.open()).includes('PLAIN'));
    d.write(plainAuth('alice', 'alicepw'));
    await d.expect(/<success /);
  } finally {
    d.destroy();
  }
});

test('WebSocket: PLAIN only over wss://; SCRAM works without TLS', async () => {
  const ws = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  try {
    assert.deepEqual(mechanismsOf(await ws.open('localhost', true)), ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
    ws.write(plainAuth('alice', 'alicepw'));
    await ws.expect('<encryption-required/>');
  } finally {
    ws.destroy();
  }
  const scram = await within(connect({ service: `ws://127.0.0.1:${parley.ports.http}/ws`, username: 'alice', password: 'alicepw', resource: 'scram', mechanism: 'SCRAM-SHA-1' }), 5000, 'SCRAM login over ws://');
  assert.equal(scram.jid, 'alice@localhost/scram');
  await scram.stop();
  const wss = await RawConn.ws(`wss://127.0.0.1:${parley.ports.https}/ws`);
  try {
    assert.ok(mechanismsOf(await wss.open('localhost', true)).includes('PLAIN'));
    wss.write(plainAuth('alice', 'alicepw'));
    await wss.expect(/<success /);
  } finally {
    wss.destroy();
  }
});
