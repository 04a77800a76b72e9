/**
 * Per-address admission and TLS handshakes (issue 5, items 3, 6 and 7): STARTTLS keeps the address's
 * bookkeeping, refused connections release their descriptors, and admission happens at accept time with
 * a deadline for the whole TLS handshake.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readdirSync } from 'node:fs';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_TLS, plainAuth, NS_BIND } from './raw.js';

const LIMIT = 3;
let parley: Parley;
before(async () => {
  parley = await startParley({ limits: { maxConnectionsPerIp: LIMIT, tlsHandshakeTimeout: 2 } });
  await parley.register('tlsuser');
});
after(async () => {
  await parley.close();
});

const stats = () => parley.server.listenerStats!;
const openFds = () => readdirSync('/proc/self/fd').length;

/** A TCP connection that never closes its side (allowHalfOpen) and records what the server does. */
function stubborn(port: number, localAddress: string, send?: string): Promise<{ socket: net.Socket; text: () => string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    const ended = new Promise<void>((r) => {
      socket.once('end', r);
      socket.once('close', r);
    });
    socket.once('connect', () => {
      if (send) socket.write(send);
      resolve({ socket, text: () => text, ended });
    });
    socket.once('error', reject);
  });
}

test('STARTTLS keeps the per-address bookkeeping: 60 sequential STARTTLS logins from one address with a limit of 3', async () => {
  const addr = '127.0.0.5';
  const socketsBefore = stats().sockets;
  for (let i = 0; i < 60; i++) {
    const c = await RawConn.tcp(parley.ports.c2s, addr);
    await c.open();
    c.write(`<starttls xmlns='${NS_TLS}'/>`);
    await c.expect(`<proceed xmlns="${NS_TLS}"/>`, 3000, `proceed on login ${i}`);
    await c.startTls();
    await c.open();
    c.write(plainAuth('tlsuser', 'tlsuserpw'));
    await c.expect(/<success /, 3000, `success on login ${i}`);
    assert.match(await c.open(), new RegExp(NS_BIND));
    await c.bind(`r${i}`);
    c.destroy();
    // Each closed connection gives its place back (before the fix: the count stayed, login 4 was refused).
    await eventually(() => stats().perIp[addr] === undefined, 3000, `address released after login ${i}`);
  }
  await eventually(() => stats().sockets <= socketsBefore, 3000, 'every socket forgotten');
  assert.equal(stats().perIp[addr], undefined);
});

test('refused connections that never close are fully closed within seconds: no descriptor kept (c2s and direct TLS)', async () => {
  const addr = '127.0.0.6';
  const held = await Promise.all(Array.from({ length: LIMIT }, () => stubborn(parley.ports.c2s, addr)));
  await eventually(() => stats().perIp[addr] === LIMIT, 3000, 'the held connections counted');
  const socketsBefore = stats().sockets;
  const fdsBefore = openFds();
  const N = 40;
  const refused = await Promise.all(
    Array.from({ length: N }, () => stubborn(parley.ports.c2s, addr, `<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`)),
  );
  await Promise.all(refused.map((r) => r.ended));
  for (const r of refused) assert.match(r.text(), /<policy-violation /, 'the refused client is told why');
  // The server's sides are destroyed after the grace period although the clients never close theirs.
  await eventually(() => stats().sockets <= socketsBefore, 5000, 'refused sockets destroyed');
  // Only the clients' own N descriptors remain in this process (before the fix: 2N).
  await eventually(() => openFds() <= fdsBefore + N + 4, 3000, `descriptors back near the baseline (${fdsBefore} + ${N} client sides)`);
  for (const r of refused) r.socket.destroy();
  await eventually(() => openFds() <= fdsBefore + 4, 3000, 'descriptors back to the baseline');

  // Direct TLS: over the limit, closed at accept time without a handshake.
  const tlsAddr = '127.0.0.7';
  const tlsHeld = await Promise.all(Array.from({ length: LIMIT }, () => stubborn(parley.ports.c2sTls, tlsAddr)));
  const tlsRefused = await Promise.all(Array.from({ length: 20 }, () => stubborn(parley.ports.c2sTls, tlsAddr)));
  await Promise.all(tlsRefused.map((r) => r.ended));
  assert.ok(tlsHeld.every((h) => !h.socket.readableEnded), 'the admitted ones are still open');
  for (const r of [...tlsRefused, ...tlsHeld, ...held]) r.socket.destroy();
  await eventually(() => stats().sockets < socketsBefore - LIMIT + 1 && stats().perIp[tlsAddr] === undefined, 3000, 'all closed');
});

/** The first flight of a real TLS client: a ClientHello. */
async function clientHello(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => srv.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const c = tls.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
  c.on('error', () => undefined);
  const hello = await got;
  c.destroy();
  srv.close();
  return hello;
}

/** Sends the ClientHello one byte every 50 ms; resolves with the ms until the server closed the connection. */
async function trickle(socket: net.Socket, hello: Buffer, maxMs: number): Promise<number> {
  const t0 = Date.now();
  let closed = false;
  socket.on('error', () => undefined);
  const done = new Promise<void>((r) => socket.once('close', () => ((closed = true), r())));
  for (let i = 0; i < hello.length - 1 && !closed && Date.now() - t0 < maxMs; i++) {
    socket.write(hello.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!closed) socket.destroy();
  await done;
  return Date.now() - t0;
}

test('TLS handshake slowloris: a ClientHello trickled a byte at a time is cut at limits.tlsHandshakeTimeout (direct TLS, HTTPS, STARTTLS)', async () => {
  const hello = await clientHello();
  assert.ok(hello.length > 100, 'a ClientHello was captured');
  const open = (port: number) =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.8' }, () => resolve(s));
    });
  const starttls = async () => {
    const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.8');
    await c.open();
    c.write(`<starttls xmlns='${NS_TLS}'/>`);
    await c.expect('proceed');
    const raw = c.socket!;
    raw.removeAllListeners('data');
    return raw;
  };
  const [direct, https, upgrade] = await Promise.all([
    open(parley.ports.c2sTls).then((s) => trickle(s, hello, 8000)),
    open(parley.ports.https).then((s) => trickle(s, hello, 8000)),
    starttls().then((s) => trickle(s, hello, 8000)),
  ]);
  for (const [name, ms] of Object.entries({ direct, https, upgrade })) {
    // Each byte restarts Node's own handshake timer: without the deadline these stayed open for the 8 s.
    assert.ok(ms >= 1800 && ms < 5000, `${name}: closed after ${ms} ms, expected about 2000`);
  }
  // A normal client is not affected by the deadline.
  const c = await RawConn.tls(parley.ports.c2sTls);
  await c.login('tlsuser', 'tlsuserpw', 'direct');
  c.write(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await c.expect('id="p1"');
  c.destroy();
});

test('admission at accept time: over the limit, TLS and HTTP connections are refused before any handshake or request', async () => {
  const addr = '127.0.0.9';
  for (const [name, port] of [
    ['c2sTls', parley.ports.c2sTls],
    ['https', parley.ports.https],
    ['http', parley.ports.http],
  ] as const) {
    // LIMIT connections that never even start a handshake or a request hold the address's places ...
    const held = await Promise.all(Array.from({ length: LIMIT }, () => stubborn(port, addr)));
    await eventually(() => stats().perIp[addr] === LIMIT, 3000, `${name}: held connections counted`);
    // ... so the next one is closed at once (HTTP: with a 503), while the held ones are still open.
    const over = await stubborn(port, addr);
    await over.ended;
    assert.ok(held.every((h) => !h.socket.readableEnded && !h.socket.destroyed), `${name}: held connections still open`);
    if (name === 'http') assert.match(over.text(), /^HTTP\/1\.1 503 /);
    for (const h of [...held, over]) h.socket.destroy();
    await eventually(() => stats().perIp[addr] === undefined, 3000, `${name}: places released`);
  }
});
