/**
 * What a client sends (issue 5, items 10 and 12): nothing may follow <starttls/>, WebSocket frames are text
 * only, and the shaper limits each connection's inbound rate, slower before authentication. Also the
 * Transport contract the output limits rely on: buffered bytes and the drain callback, over STARTTLS and
 * WebSocket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_TLS, NS_FRAMING, NS_SASL, NS_BIND, plainAuth } from './raw.js';
import type { Transport } from '../../src/c2s/stream.js';
import { streamOf } from '../support/streams.js';

const RATE = 2000;
let parley: Parley;
before(async () => {
  parley = await startParley({
    c2s: { negotiationTimeout: 30 },
    limits: { tlsHandshakeTimeout: 20 },
    shaper: { unauthenticated: { rate: RATE, burst: RATE }, authenticated: { rate: 1_000_000, burst: 1_000_000 } },
  });
  await parley.register('shaped', 'other', 'slowreader');
});
after(async () => {
  await parley.close();
});

const ping = (id: string) => `<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`;

test('data right after <starttls/> closes the connection at once, not at the negotiation or handshake timeout', async () => {
  // In the same write as <starttls/> ...
  const same = await RawConn.tcp(parley.ports.c2s);
  await same.open();
  let t0 = Date.now();
  same.write(`<starttls xmlns='${NS_TLS}'/>GARBAGE GARBAGE\r\n`);
  await same.waitClosed(5000);
  assert.ok(Date.now() - t0 < 2000, `closed after ${Date.now() - t0} ms`);
  // ... and after <proceed/>: clear text where the ClientHello belongs fails the handshake, and the socket is closed.
  const after = await RawConn.tcp(parley.ports.c2s);
  await after.open();
  after.write(`<starttls xmlns='${NS_TLS}'/>`);
  await after.expect('<proceed ');
  t0 = Date.now();
  after.write('GARBAGE GARBAGE\r\n');
  await after.waitClosed(5000);
  assert.ok(Date.now() - t0 < 2000, `closed after ${Date.now() - t0} ms`);
});

/** A framed (RFC 7395) client on the ws library, which can send binary frames and pause its socket. */
class WsClient {
  text = '';
  closed = false;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => (this.text += d.toString()));
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }
  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url, ['xmpp']);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new WsClient(ws);
  }
  async expect(re: RegExp, what: string): Promise<void> {
    await eventually(() => re.test(this.text), 5000, what);
    this.text = '';
  }
  async login(user: string, resource: string): Promise<void> {
    this.ws.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
    await this.expect(/<stream:features[\s\S]*<\/stream:features>/, 'features');
    this.ws.send(plainAuth(user, `${user}pw`));
    await this.expect(new RegExp(`<success xmlns="${NS_SASL}"`), 'success');
    this.ws.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
    await this.expect(new RegExp(NS_BIND), 'bind feature');
    this.ws.send(`<iq type='set' id='b'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`);
    await this.expect(/<jid>/, 'bound');
  }
}

test('a binary WebSocket frame is not-well-formed (RFC 7395 allows text frames only) and the connection closes', async () => {
  const c = await WsClient.open(`ws://127.0.0.1:${parley.ports.http}/ws`);
  c.ws.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
  await c.expect(/<stream:features/, 'features');
  c.ws.send(Buffer.from(`<iq type='get' id='bin'><ping xmlns='urn:xmpp:ping'/></iq>`), { binary: true });
  await eventually(() => c.closed, 3000, 'closed');
  assert.match(c.text, /<not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  assert.doesNotMatch(c.text, /id="bin"/, 'the binary frame was not handled');
});

test('shaper: before authentication a connection is held to its rate, others are served meanwhile; after it, the faster rate applies', async () => {
  const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.20');
  await c.open();
  // 10 kB at 2,000 B/s with a 2,000 B burst: the bytes after it take about 4 s to be read.
  const t0 = Date.now();
  c.write(' '.repeat(10_000));
  await new Promise((r) => setTimeout(r, 200));
  c.write(plainAuth('shaped', 'shapedpw'));
  const success = c.expect(/<success /, 10_000, 'success after the shaped bytes');
  // While it is paused, another connection logs in and is answered at once.
  const o = await RawConn.tcp(parley.ports.c2s, '127.0.0.21');
  await o.login('other', 'otherpw', 'meanwhile');
  o.write(ping('o1'));
  await o.expect('id="o1"');
  const otherDone = Date.now() - t0;
  await success;
  const shapedMs = Date.now() - t0;
  assert.ok(shapedMs >= 2500, `the shaped client's auth was read after ${shapedMs} ms (expected about 4000)`);
  assert.ok(otherDone < shapedMs, `the other client was served (${otherDone} ms) while the shaped one waited`);

  // Authenticated: 20 kB (about 9 s at the rate before authentication) pass without waiting.
  await c.open();
  await c.bind('shaped');
  const t1 = Date.now();
  c.write(' '.repeat(20_000));
  await new Promise((r) => setTimeout(r, 200));
  c.write(ping('s1'));
  await c.expect('id="s1"', 10_000);
  const fastMs = Date.now() - t1;
  assert.ok(fastMs < 4000, `authenticated: 20 kB read in ${fastMs} ms`);
  for (const x of [c, o]) x.destroy();
});

test('shaper over WebSocket: before authentication frames are read at the configured rate', async () => {
  const c = await WsClient.open(`ws://127.0.0.1:${parley.ports.http}/ws`);
  c.ws.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
  await c.expect(/<stream:features/, 'features');
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) c.ws.send(' '.repeat(2000));
  await new Promise((r) => setTimeout(r, 200));
  c.ws.send(plainAuth('shaped', 'shapedpw'));
  await eventually(() => /<success /.test(c.text), 10_000, 'success');
  const ms = Date.now() - t0;
  assert.ok(ms >= 2500, `auth read after ${ms} ms (expected about 4000)`);
  c.ws.terminate();
});

/** The server side transport of a bound session (white box: the contract the output limit relies on). */
function transportOf(resource: string): Transport {
  const s = streamOf(parley.server, 'slowreader@localhost', resource) as { transport: Transport };
  assert.ok(s?.transport, `session ${resource}`);
  return s.transport;
}

async function fillUntilBuffered(t: Transport): Promise<void> {
  // The client does not read: once the kernel buffers are full, writes stay in the (TLS) socket's queue.
  const chunk = ' '.repeat(1 << 20);
  for (let i = 0; i < 64 && t.buffered < 4 << 20; i++) {
    t.write(chunk);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(t.buffered >= 1 << 20, `buffered ${t.buffered}`);
}

test('Transport.buffered and onDrain: after STARTTLS they follow the TLS socket; over WebSocket the socket under it', async () => {
  const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.22');
  await c.open();
  c.write(`<starttls xmlns='${NS_TLS}'/>`);
  await c.expect('<proceed ');
  const secure = await c.startTls();
  await c.login('slowreader', 'slowreaderpw', 'tls');
  secure.pause();
  const t = transportOf('tls');
  await fillUntilBuffered(t);
  let drained = false;
  t.onDrain(() => (drained = true));
  await new Promise((r) => setTimeout(r, 100)); // a bounded window for a wrong drain: nothing happens when it is right
  assert.equal(drained, false, 'no drain while the client does not read');
  secure.resume();
  await eventually(() => drained, 10_000, 'drain after the client reads');
  assert.equal(t.buffered, 0);
  c.destroy();

  const w = await WsClient.open(`ws://127.0.0.1:${parley.ports.http}/ws`);
  await w.login('slowreader', 'ws');
  const raw = (w.ws as unknown as { _socket: import('node:net').Socket })._socket;
  raw.pause();
  const wt = transportOf('ws');
  await fillUntilBuffered(wt);
  let wsDrained = false;
  wt.onDrain(() => (wsDrained = true));
  await new Promise((r) => setTimeout(r, 100)); // as above
  assert.equal(wsDrained, false, 'no drain while the client does not read');
  raw.resume();
  await eventually(() => wsDrained, 10_000, 'drain after the client reads');
  assert.equal(wt.buffered, 0);
  // A drain callback is also called when the connection closes first (nobody waits for ever).
  raw.pause();
  await fillUntilBuffered(wt);
  let calledOnClose = false;
  wt.onDrain(() => (calledOnClose = true));
  w.ws.terminate();
  await eventually(() => calledOnClose, 3000, 'callback on close');
});

