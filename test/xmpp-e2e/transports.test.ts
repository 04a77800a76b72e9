import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import { WebSocket as WsWebSocket } from 'ws';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect as rawConnect, xml, bodyOf, type ClientOptions, type TestClient } from '../support/client.js';
import { RawConn, NS_TLS, NS_SASL, NS_BIND, within } from './raw.js';

/** A logged-in @xmpp/client, or a failure after 5 s (instead of hanging when the server answers wrongly). */
const connect = (opts: ClientOptions): Promise<TestClient> => within(rawConnect(opts), 5000, `login of ${opts.username} over ${opts.service}`);

// @xmpp/client's WebSocket transport uses the global WebSocket, which Node 20 does not have.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

const require = createRequire(import.meta.url);

let parley: Parley;
before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
});
after(async () => {
  await parley.close();
});

interface SessionInfo {
  jid: string;
  connection: string;
  ip: string;
}

async function sessionOf(jid: string): Promise<SessionInfo> {
  return eventually<SessionInfo | undefined>(async () => {
    const r = await parley.api('connected_users_info');
    assert.equal(r.status, 200, r.text);
    return (r.body as SessionInfo[]).find((s) => s.jid === jid);
  }, 3000, `session ${jid}`) as Promise<SessionInfo>;
}

function mechanismsOf(features: string): string[] {
  const m = new RegExp(`<mechanisms xmlns="${NS_SASL}">([\\s\\S]*?)</mechanisms>`).exec(features);
  if (!m) return [];
  return [...m[1]!.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((x) => x[1]!);
}

/** Records the SASL mechanism an @xmpp/client connection picks. */
function recordMechanism(c: { xmpp: any }): string[] {
  const used: string[] = [];
  c.xmpp.on('send', (el: any) => {
    if (el.name === 'auth' && el.attrs.xmlns === NS_SASL) used.push(el.attrs.mechanism);
  });
  return used;
}

test('plain TCP offers STARTTLS and SASL mechanisms on loopback; the stream continues over TLS after <proceed/>', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  try {
    const features = await c.open();
    assert.match(features, new RegExp(`<starttls xmlns="${NS_TLS}"`), 'STARTTLS offered');
    const mechs = mechanismsOf(features);
    assert.ok(mechs.includes('SCRAM-SHA-256'), `SCRAM-SHA-256 offered: ${mechs}`);
    assert.ok(mechs.includes('SCRAM-SHA-1'), `SCRAM-SHA-1 offered: ${mechs}`);
    assert.ok(mechs.includes('PLAIN'), `PLAIN offered on loopback: ${mechs}`);
    assert.ok(mechs.indexOf('SCRAM-SHA-256') < mechs.indexOf('PLAIN'), 'stronger mechanisms first');

    c.write(`<starttls xmlns='${NS_TLS}'/>`);
    await c.expect(`<proceed xmlns="${NS_TLS}"/>`);
    const secure = await c.startTls();
    assert.equal(secure.encrypted, true);
    assert.ok(secure.getProtocol(), 'a TLS protocol was negotiated');

    const after = await c.open();
    assert.doesNotMatch(after, /starttls/, 'no STARTTLS offered once the stream is encrypted');
    assert.ok(mechanismsOf(after).includes('PLAIN'), 'PLAIN is offered over TLS');
    c.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from('\0carol\0carolpw').toString('base64')}</auth>`);
    await c.expect(/<success /);
    const bindFeatures = await c.open();
    assert.match(bindFeatures, new RegExp(NS_BIND));
    const jid = await c.bind('tls-raw');
    assert.equal(jid, 'carol@localhost/tls-raw');
    assert.equal((await sessionOf('carol@localhost/tls-raw')).connection, 'c2s');
  } finally {
    c.destroy();
  }
});

test('@xmpp/client over xmpp:// negotiates STARTTLS', async () => {
  // One login over each transport end to end; this one with SCRAM, as @xmpp/client picks it by itself.
  const alice = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'alice', password: 'alicepw', resource: 'starttls', mechanism: 'SCRAM-SHA-1' });
  try {
    assert.equal(alice.jid, 'alice@localhost/starttls');
    const sock = alice.xmpp.socket?.socket;
    assert.ok(sock instanceof tls.TLSSocket, 'the client upgraded its socket to TLS');
    assert.equal(sock.encrypted, true);
    assert.equal((await sessionOf('alice@localhost/starttls')).connection, 'c2s');
    const pong = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
  } finally {
    await alice.stop();
  }
});

test('direct TLS (xmpps://) login', async () => {
  const alice = await connect({ service: `xmpps://127.0.0.1:${parley.ports.c2sTls}`, username: 'alice', password: 'alicepw', resource: 'direct-tls' });
  try {
    assert.equal(alice.jid, 'alice@localhost/direct-tls');
    assert.ok(alice.xmpp.socket?.socket instanceof tls.TLSSocket);
    assert.equal((await sessionOf('alice@localhost/direct-tls')).connection, 'c2s_tls');
  } finally {
    await alice.stop();
  }
  // Direct TLS offers no STARTTLS and allows PLAIN.
  const c = await RawConn.tls(parley.ports.c2sTls);
  try {
    const features = await c.open();
    assert.doesNotMatch(features, /starttls/);
    assert.ok(mechanismsOf(features).includes('PLAIN'));
    assert.ok(mechanismsOf(features).includes('SCRAM-SHA-256'));
  } finally {
    c.destroy();
  }
});

test('WebSocket (ws://) and secure WebSocket (wss://) logins', async () => {
  const ws = await connect({ service: `ws://127.0.0.1:${parley.ports.http}/ws`, username: 'alice', password: 'alicepw', resource: 'ws' });
  const wss = await connect({ service: `wss://127.0.0.1:${parley.ports.https}/ws`, username: 'alice', password: 'alicepw', resource: 'wss' });
  try {
    assert.equal(ws.jid, 'alice@localhost/ws');
    assert.equal(wss.jid, 'alice@localhost/wss');
    assert.equal((await sessionOf('alice@localhost/ws')).connection, 'websocket');
    assert.equal((await sessionOf('alice@localhost/wss')).connection, 'websocket');
    // Both work: one pings the server, the other its sibling resource.
    const pong = await ws.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
    await wss.send(xml('message', { to: 'alice@localhost/ws', type: 'chat' }, xml('body', {}, 'over wss')));
    const got = await ws.waitFor((m) => m.is('message') && bodyOf(m) === 'over wss', 3000, 'wss → ws');
    assert.equal(got.attrs.from, 'alice@localhost/wss');
  } finally {
    await ws.stop();
    await wss.stop();
  }
});

test('raw RFC 7395 framing: <open/> answered with <open/> and features; no xmpp subprotocol is refused', async () => {
  const c = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  try {
    assert.equal(c.wsProtocol(), 'xmpp');
    const features = await c.open('localhost', true);
    // RFC 7395 §3.3.3: every frame is a standalone document, so the stream prefix is declared in it.
    assert.match(features, /^<stream:features xmlns:stream="http:\/\/etherx.jabber.org\/streams"/);
    c.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from('\0bob\0bobpw').toString('base64')}</auth>`);
    await c.expect(/<success /);
    await c.open('localhost', true);
    c.write(`<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='${NS_BIND}'><resource>rawws</resource></bind></iq>`);
    // ... and stanzas carry the jabber:client namespace, the bind result included.
    const bound = await c.expect(/<iq [^>]*>/);
    assert.match(bound[0], /^<iq xmlns="jabber:client"/);
    await c.expect('<jid>bob@localhost/rawws</jid>');
    c.write(`<iq xmlns='jabber:client' type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const pong = await c.expect(/<iq [^>]*id="p1"[^>]*>/);
    assert.match(pong[0], /^<iq xmlns="jabber:client"/);
    assert.match(pong[0], /type="result"/);
    c.write(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`);
    await c.expect('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
    await c.waitClosed();
  } finally {
    c.destroy();
  }
  const bad = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`, '');
  await bad.waitClosed();
  assert.equal(bad.buf, '', 'nothing is spoken without the xmpp subprotocol');
  // A TCP-style stream header over WebSocket is not RFC 7395 framing.
  const wrong = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  wrong.write(`<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>`);
  await wrong.expect(/<stream:error/);
  await wrong.waitClosed();
});

test('messages between a TCP user and a WebSocket user, both ways', async () => {
  const alice = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'alice', password: 'alicepw', resource: 'tcp' });
  const bob = await connect({ service: `ws://127.0.0.1:${parley.ports.http}/ws`, username: 'bob', password: 'bobpw', resource: 'web' });
  try {
    await alice.send(xml('message', { to: 'bob@localhost/web', type: 'chat', id: 't1' }, xml('body', {}, 'tcp to ws')));
    const m1 = await bob.waitFor((m) => m.is('message') && bodyOf(m) === 'tcp to ws', 3000, 'tcp → ws');
    assert.equal(m1.attrs.from, 'alice@localhost/tcp');
    assert.equal(m1.attrs.to, 'bob@localhost/web');
    assert.equal(m1.attrs.id, 't1');

    await bob.send(xml('message', { to: 'alice@localhost/tcp', type: 'chat', id: 'w1' }, xml('body', {}, 'ws to tcp & <back>')));
    const m2 = await alice.waitFor((m) => m.is('message') && bodyOf(m) === 'ws to tcp & <back>', 3000, 'ws → tcp');
    assert.equal(m2.attrs.from, 'bob@localhost/web');
    assert.equal(m2.attrs.id, 'w1');
  } finally {
    await alice.stop();
    await bob.stop();
  }
});

test('SCRAM-SHA-256 with the stanza library over WebSocket', async () => {
  const { createClient } = require('stanza') as typeof import('stanza');
  const client = createClient({
    jid: 'bob@localhost',
    password: 'bobpw',
    resource: 'stanza',
    transports: { websocket: `ws://127.0.0.1:${parley.ports.http}/ws`, bosh: false },
  });
  const mechanisms: string[] = [];
  client.on('raw:outgoing', (data: string) => {
    const m = /<auth [^>]*mechanism="([^"]+)"/.exec(data);
    if (m) mechanisms.push(m[1]!);
  });
  let authOk = false;
  client.on('auth:success', () => (authOk = true));
  const started = new Promise<string>((resolve, reject) => {
    client.on('session:started', (jid: string | void) => resolve(String(jid || client.jid)));
    client.on('auth:failed', () => reject(new Error('auth failed')));
    setTimeout(() => reject(new Error('stanza client did not start a session')), 5000);
  });
  client.connect();
  try {
    const jid = await started;
    assert.equal(jid, 'bob@localhost/stanza');
    assert.equal(authOk, true);
    assert.deepEqual(mechanisms, ['SCRAM-SHA-256']);
    assert.equal((await sessionOf('bob@localhost/stanza')).connection, 'websocket');
  } finally {
    client.disconnect();
  }
});

test('SCRAM-SHA-1 is what @xmpp/client picks; a wrong password fails with not-authorized', async () => {
  const { client: xmppClient } = await import('@xmpp/client');
  const x = xmppClient({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, domain: 'localhost', username: 'bob', password: 'bobpw', resource: 'sha1' });
  x.reconnect.stop();
  x.on('error', () => undefined);
  const used = recordMechanism({ xmpp: x });
  try {
    await x.start();
    assert.deepEqual(used, ['SCRAM-SHA-1']);
  } finally {
    await x.stop().catch(() => undefined);
  }
  const bad = xmppClient({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, domain: 'localhost', username: 'bob', password: 'wrong' });
  bad.reconnect.stop();
  bad.on('error', () => undefined);
  await assert.rejects(bad.start(), (err: any) => err.condition === 'not-authorized');
  await bad.stop().catch(() => undefined);
});

test('login is case-insensitive: Alice@LocalHost is alice@localhost', async () => {
  const c: TestClient = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, domain: 'LocalHost', username: 'Alice', password: 'alicepw', resource: 'Caps' });
  try {
    assert.equal(c.jid, 'alice@localhost/Caps');
    await sessionOf('alice@localhost/Caps');
  } finally {
    await c.stop();
  }
  // Same with PLAIN on a raw stream whose 'to' is in capitals.
  const raw = await RawConn.tcp(parley.ports.c2s);
  try {
    await raw.open('LOCALHOST');
    raw.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from('\0ALICE\0alicepw').toString('base64')}</auth>`);
    await raw.expect(/<success /);
    await raw.open('LocalHost');
    assert.equal(await raw.bind('raw'), 'alice@localhost/raw');
  } finally {
    raw.destroy();
  }
});

test('a second STARTTLS or STARTTLS on direct TLS is refused with <failure/>', async () => {
  const c = await RawConn.tls(parley.ports.c2sTls);
  try {
    await c.open();
    c.write(`<starttls xmlns='${NS_TLS}'/>`);
    await c.expect(`<failure xmlns="${NS_TLS}"/>`);
    await c.waitClosed();
  } finally {
    c.destroy();
  }
});
