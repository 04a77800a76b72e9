/**
 * Hostile and broken input on raw sockets (no client library): every case must end in the
 * right stream error or SASL failure, and must not disturb a well-behaved session.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, bodyOf, type TestClient } from '../support/client.js';
import { RawConn, NS_SASL, NS_CLIENT, NS_STREAM, plainAuth, streamHeader, expectStreamError } from './raw.js';

const MAX_STANZA = 4096;

let parley: Parley;
let bob: TestClient; // the well-behaved recipient, connected throughout
let carol: TestClient; // the well-behaved sender
let seq = 0;

before(async () => {
  parley = await startParley({ limits: { maxStanzaSize: MAX_STANZA } });
  await parley.register('alice', 'bob', 'carol', 'mallory');
  const service = `xmpp://127.0.0.1:${parley.ports.c2s}`;
  bob = await connect({ service, username: 'bob', password: 'bobpw', resource: 'steady' });
  carol = await connect({ service, username: 'carol', password: 'carolpw', resource: 'steady' });
});
after(async () => {
  await bob?.stop();
  await carol?.stop();
  await parley.close();
});

/** The well-behaved pair still chats, and the server still counts both sessions. */
async function stillWorks(): Promise<void> {
  const body = `still here ${++seq}`;
  await carol.send(xml('message', { to: 'bob@localhost/steady', type: 'chat' }, xml('body', {}, body)));
  const m = await bob.waitFor((el) => el.is('message') && bodyOf(el) === body, 3000, `message "${body}"`);
  assert.equal(m.attrs.from, 'carol@localhost/steady');
  assert.equal(bob.xmpp.status, 'online');
  const sessions = (await parley.api('connected_users')).body as string[];
  assert.ok(sessions.includes('bob@localhost/steady') && sessions.includes('carol@localhost/steady'), `sessions: ${sessions}`);
}


test('malformed XML: not-well-formed, then </stream:stream>, then the socket closes', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(`<message to='bob@localhost'><body>unclosed</message>`);
  await expectStreamError(c, 'not-well-formed');
  assert.equal(bob.received.some((m) => bodyOf(m) === 'unclosed'), false);
  await stillWorks();

  // Broken inside the stream header itself: the server still answers with a header and the error.
  const h = await RawConn.tcp(parley.ports.c2s);
  h.write(`<?xml version='1.0'?><stream:stream to='localhost' version='1.0' <<<>`);
  await h.expect(/<stream:stream [^>]*>/);
  await expectStreamError(h, 'not-well-formed');

  // Control characters are not allowed in XML 1.0.
  const ctl = await RawConn.tcp(parley.ports.c2s);
  await ctl.login('mallory', 'mallorypw', 'ctl');
  ctl.write(`<message to='bob@localhost/steady' type='chat'><body>bell\u0007</body></message>`);
  await expectStreamError(ctl, 'not-well-formed');

  // Over WebSocket: the error, then <close/>.
  const ws = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  await ws.open('localhost', true);
  ws.write(`<message xmlns='jabber:client'><body>broken</bod></message>`);
  await expectStreamError(ws, 'not-well-formed', true);

  // Undefined entities are not-well-formed (there is no DTD to define them).
  const ent = await RawConn.tcp(parley.ports.c2s);
  await ent.login('mallory', 'mallorypw', 'ent');
  ent.write(`<message to='bob@localhost/steady' type='chat'><body>&bogus;</body></message>`);
  await expectStreamError(ent, 'not-well-formed');
  await stillWorks();
});

test('wrong stream namespace or wrong default namespace: invalid-namespace', async () => {
  const a = await RawConn.tcp(parley.ports.c2s);
  a.write(`<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='${NS_CLIENT}' xmlns:stream='http://example.com/streams'>`);
  await a.expect(/<stream:stream [^>]*>/);
  await expectStreamError(a, 'invalid-namespace');

  const b = await RawConn.tcp(parley.ports.c2s);
  b.write(`<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:server' xmlns:stream='${NS_STREAM}'>`);
  await expectStreamError(b, 'invalid-namespace');

  const none = await RawConn.tcp(parley.ports.c2s);
  none.write(`<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns:stream='${NS_STREAM}'>`);
  await expectStreamError(none, 'invalid-namespace');

  // Over WebSocket, <open/> must be in the framing namespace.
  const ws = await RawConn.ws(`ws://127.0.0.1:${parley.ports.http}/ws`);
  ws.write(`<open xmlns='jabber:client' to='localhost' version='1.0'/>`);
  await expectStreamError(ws, 'invalid-namespace', true);
  await stillWorks();
});

test("unknown host in 'to': host-unknown; unsupported version: unsupported-version", async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  c.write(streamHeader('example.org'));
  const hdr = await c.expect(/<stream:stream [^>]*>/);
  assert.match(hdr[0], /xmlns="jabber:client"/);
  await expectStreamError(c, 'host-unknown');

  const v = await RawConn.tcp(parley.ports.c2s);
  v.write(`<?xml version='1.0'?><stream:stream to='localhost' version='2.0' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}'>`);
  await expectStreamError(v, 'unsupported-version');
  await stillWorks();
});

test('DOCTYPE, comments and processing instructions: restricted-xml', async () => {
  // An entity-expansion bomb must be refused before anything is expanded.
  const dtd = await RawConn.tcp(parley.ports.c2s);
  dtd.write(`<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>`);
  await expectStreamError(dtd, 'restricted-xml');

  const comment = await RawConn.tcp(parley.ports.c2s);
  await comment.open();
  comment.write(`<!-- a comment -->`);
  await expectStreamError(comment, 'restricted-xml');

  const inStanza = await RawConn.tcp(parley.ports.c2s);
  await inStanza.login('mallory', 'mallorypw', 'comment');
  inStanza.write(`<message to='bob@localhost/steady' type='chat'><body>x<!-- hidden --></body></message>`);
  await expectStreamError(inStanza, 'restricted-xml');

  const pi = await RawConn.tcp(parley.ports.c2s);
  await pi.open();
  pi.write(`<?evil instruction?>`);
  await expectStreamError(pi, 'restricted-xml');
  assert.equal(bob.received.some((m) => bodyOf(m)?.startsWith('x')), false);
  await stillWorks();
});

test(`a stanza over limits.maxStanzaSize (${MAX_STANZA}): policy-violation`, async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('mallory', 'mallorypw', 'big');
  // Just under the limit is fine ...
  const fits = 'f'.repeat(MAX_STANZA - 200);
  c.write(`<message to='bob@localhost/steady' type='chat'><body>${fits}</body></message>`);
  await bob.waitFor((m) => bodyOf(m) === fits, 3000, 'a message under the limit');
  // ... 8 KB is not.
  const big = 'b'.repeat(8192);
  c.write(`<message to='bob@localhost/steady' type='chat'><body>${big}</body></message>`);
  await expectStreamError(c, 'policy-violation');
  assert.equal(bob.received.some((m) => bodyOf(m) === big), false, 'the oversized message was not delivered');
  await stillWorks();

  // A stanza that never ends is cut off once it passes the limit, without waiting for its end.
  const slow = await RawConn.tcp(parley.ports.c2s);
  await slow.login('mallory', 'mallorypw', 'slow');
  slow.write(`<message to='bob@localhost/steady' type='chat'><body>`);
  for (let i = 0; i < 8; i++) slow.write('s'.repeat(1024));
  await expectStreamError(slow, 'policy-violation');
  await stillWorks();
});

test('the size limit also counts the start tag: a huge attribute is policy-violation', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('mallory', 'mallorypw', 'attr');
  const big = 'a'.repeat(8192);
  c.write(`<message to='bob@localhost/steady' type='chat' id='${big}'><body>attr</body></message>`);
  await expectStreamError(c, 'policy-violation');
  assert.equal(bob.received.some((m) => bodyOf(m) === 'attr'), false, 'the oversized message was not delivered');

  // Self-closing, and a start tag that never ends.
  const sc = await RawConn.tcp(parley.ports.c2s);
  await sc.login('mallory', 'mallorypw', 'attr2');
  sc.write(`<presence to='bob@localhost/steady' id='${big}'/>`);
  await expectStreamError(sc, 'policy-violation');

  const open = await RawConn.tcp(parley.ports.c2s);
  await open.login('mallory', 'mallorypw', 'attr3');
  open.write(`<message to='bob@localhost/steady' id='`);
  for (let i = 0; i < 8; i++) open.write('o'.repeat(1024));
  await expectStreamError(open, 'policy-violation');

  // Nor can the stream header, or text between stanzas (buffered until the next '<'), grow without bound,
  // even before authentication.
  const hdr = await RawConn.tcp(parley.ports.c2s);
  hdr.write(`<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='${NS_STREAM}' x='`);
  for (let i = 0; i < 8; i++) hdr.write('h'.repeat(1024));
  await expectStreamError(hdr, 'policy-violation');
  // White space between stanzas is discarded as it arrives (nothing is buffered), so any amount of
  // keepalive white space is harmless: the stream still answers afterwards.
  const ws = await RawConn.tcp(parley.ports.c2s);
  await ws.login('mallory', 'mallorypw', 'spaces');
  for (let i = 0; i < 64; i++) ws.write(' '.repeat(1024));
  ws.write(`<iq type='get' id='after-spaces' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await ws.expect('id="after-spaces"');
  ws.destroy();
  // Whitespace keepalives between stanzas are fine as long as stanzas keep coming.
  const ka = await RawConn.tcp(parley.ports.c2s);
  await ka.login('mallory', 'mallorypw', 'keepalive');
  for (let i = 0; i < 8; i++) {
    ka.write(' '.repeat(1000));
    ka.write(`<iq type='get' id='ka${i}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await ka.expect(`id="ka${i}"`);
  }
  ka.destroy();
  await stillWorks();
});

test('a wrong password five times on one stream: five not-authorized failures, then policy-violation', async () => {
  // From another loopback address, so that the per-address failure count of 127.0.0.1 is not touched.
  const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.2');
  await c.open();
  for (let i = 1; i <= 5; i++) {
    c.write(plainAuth('alice', `wrong${i}`));
    await c.expect(`<failure xmlns="${NS_SASL}"><not-authorized/></failure>`, 5000, `failure #${i}`);
  }
  await expectStreamError(c, 'policy-violation');
  assert.equal(c.buf.match(/<not-authorized\/>/g)?.length, 5);
  await stillWorks();

  // Four failures do not close the stream, and the right password still works afterwards.
  const d = await RawConn.tcp(parley.ports.c2s, '127.0.0.5');
  await d.open();
  for (let i = 1; i <= 4; i++) {
    d.write(plainAuth('alice', `wrong${i}`));
    await d.expect(`<not-authorized/>`);
  }
  d.write(plainAuth('alice', 'alicepw'));
  await d.expect(/<success /);
  d.destroy();
});

test('SASL errors: invalid-mechanism, incorrect-encoding, malformed PLAIN; the stream may retry', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(`<auth xmlns='${NS_SASL}' mechanism='DIGEST-MD5'/>`);
  await c.expect(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><invalid-mechanism\/>/);
  c.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>!!not*base64!!</auth>`);
  await c.expect(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><incorrect-encoding\/>/);
  c.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from('no nul separators').toString('base64')}</auth>`);
  await c.expect(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><malformed-request\/>/);
  c.write(`<response xmlns='${NS_SASL}'/>`);
  await c.expect(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><malformed-request\/>/);
  // Right password, but asking to act as someone else.
  c.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from('bob@localhost\0alice\0alicepw').toString('base64')}</auth>`);
  await c.expect(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><invalid-authzid\/>/);
  // None of that closed the stream; a correct exchange still succeeds on it.
  c.write(plainAuth('alice', 'alicepw'));
  await c.expect(/<success /);
  await c.open();
  assert.equal(await c.bind('after-errors'), 'alice@localhost/after-errors');
  c.destroy();
  await stillWorks();
});

test('a stanza before authentication: not-authorized stream error, and nothing is delivered', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(`<message to='bob@localhost/steady' type='chat' from='carol@localhost/steady'><body>spoofed before auth</body></message>`);
  await expectStreamError(c, 'not-authorized');

  // Authenticated but not bound yet: still not allowed to send stanzas.
  const u = await RawConn.tcp(parley.ports.c2s);
  await u.open();
  u.write(plainAuth('mallory', 'mallorypw'));
  await u.expect(/<success /);
  await u.open();
  u.write(`<message to='bob@localhost/steady' type='chat'><body>spoofed before bind</body></message>`);
  await expectStreamError(u, 'not-authorized');
  await bob.sync(); // the stanza was handled (refused) before the stream error: a delivery would be here by now
  assert.equal(bob.received.some((m) => /spoofed/.test(bodyOf(m) ?? '')), false);
  await stillWorks();
});

test("after binding: a forged 'from' is invalid-from, an unknown top-level element unsupported-stanza-type", async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('mallory', 'mallorypw', 'forge');
  c.write(`<message to='bob@localhost/steady' type='chat' from='carol@localhost/steady'><body>forged</body></message>`);
  await expectStreamError(c, 'invalid-from');

  const d = await RawConn.tcp(parley.ports.c2s);
  await d.login('mallory', 'mallorypw', 'odd');
  d.write(`<banana xmlns='jabber:client'/>`);
  await expectStreamError(d, 'unsupported-stanza-type');
  await bob.sync(); // c's forged message was handled before its stream error: a delivery would be here by now
  assert.equal(bob.received.some((m) => bodyOf(m) === 'forged'), false);

  // A malformed 'to' is a stanza error, not a stream error: the stream stays usable.
  const e = await RawConn.tcp(parley.ports.c2s);
  await e.login('mallory', 'mallorypw', 'badto');
  e.write(`<message to='a@b@c' id='j1' type='chat'><body>x</body></message>`);
  await e.expect(/<message [^>]*type="error"[^>]*>[\s\S]*?<jid-malformed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  e.write(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await e.expect(/<iq [^>]*id="p1"/);
  e.destroy();
  await stillWorks();
});

// RFC 6120 §11.6: invalid UTF-8 ends the stream; it is never turned into U+FFFD and delivered.
test('invalid UTF-8 is not accepted as text', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('mallory', 'mallorypw', 'utf8');
  c.socket!.write(Buffer.concat([Buffer.from(`<message to='bob@localhost/steady' type='chat'><body>bad `), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`</body></message>`)]));
  await c.expect(/<stream:error>/);
  assert.match(c.rest(), /<(not-well-formed|unsupported-encoding) /);
  await c.waitClosed();
  await stillWorks();
});

test('an abrupt disconnect mid-stanza leaves no session behind', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('mallory', 'mallorypw', 'abrupt');
  await eventually(async () => ((await parley.api('connected_users')).body as string[]).includes('mallory@localhost/abrupt'));
  c.write(`<message to='bob@localhost/steady'><bo`);
  c.destroy();
  await eventually(async () => !((await parley.api('connected_users')).body as string[]).includes('mallory@localhost/abrupt'), 3000, 'session gone');
  await stillWorks();
});

