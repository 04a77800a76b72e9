/** Service discovery, ping, version, carbons (XEP-0280), stream management (XEP-0198), XEP-0077 — default config. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, bodyOf, iqError, settle, sleep, type TestClient } from '../support/client.js';
import { RawConn, NS_SM, NS_SASL, plainAuth, expectStreamError } from './raw.js';
import { VERSION } from '../../src/version.js';

const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NS_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_REGISTER = 'jabber:iq:register';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let parley: Parley;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol', 'dave', 'pwuser', 'smuser');
});
after(async () => {
  await parley.close();
});

function login(user: string, resource: string, password = `${user}pw`): Promise<TestClient> {
  return parley.login(user, resource, { password });
}



async function connected(): Promise<string[]> {
  return (await parley.api('connected_users')).body as string[];
}

// ---- discovery, ping, version --------------------------------------------------------

test('disco#info of the server: identity server/im and the features it implements', async () => {
  const alice = await login('alice', 'disco');
  const res = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS_INFO })));
  assert.equal(res.attrs.from, 'localhost');
  const q = res.getChild('query', NS_INFO);
  const identities = q.getChildren('identity').map((i: any) => `${i.attrs.category}/${i.attrs.type}`);
  assert.ok(identities.includes('server/im'), `identities: ${identities}`);
  const features: string[] = q.getChildren('feature').map((f: any) => f.attrs.var);
  for (const f of ['urn:xmpp:ping', NS_CARBONS, 'jabber:iq:version', NS_INFO, NS_ITEMS]) assert.ok(features.includes(f), `feature ${f} in ${features}`);
  assert.ok(!features.includes(NS_REGISTER), 'in-band registration is off by default');
  assert.equal(new Set(features).size, features.length, 'no duplicate features');

  const items = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS_ITEMS })));
  assert.ok(items.getChild('query', NS_ITEMS), 'disco#items answered');

  const node = await iqError(alice, xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS_INFO, node: 'no-such-node' })));
  assert.equal(node.condition, 'item-not-found');
});

test('disco#info of an account: own account answered by the server; a stranger\'s is not disclosed', async () => {
  const alice = await login('alice', 'disco-acct');
  const own = await alice.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: NS_INFO })));
  assert.equal(own.attrs.from, 'alice@localhost');
  const q = own.getChild('query', NS_INFO);
  assert.ok(q.getChildren('identity').some((i: any) => i.attrs.category === 'account' && i.attrs.type === 'registered'));
  assert.ok(q.getChildren('feature').some((f: any) => f.attrs.var === NS_INFO));
  const stranger = await iqError(alice, xml('iq', { type: 'get', to: 'carol@localhost' }, xml('query', { xmlns: NS_INFO })));
  assert.equal(stranger.condition, 'service-unavailable');
  // With a subscription it is answered.
  await parley.api('add_rosteritem', { localuser: 'carol', localhost: 'localhost', user: 'alice', host: 'localhost', nick: '', group: '', subs: 'from' });
  const friend = await alice.iq(xml('iq', { type: 'get', to: 'carol@localhost' }, xml('query', { xmlns: NS_INFO })));
  assert.ok(friend.getChild('query', NS_INFO).getChildren('identity').some((i: any) => i.attrs.category === 'account'));
  const items = await alice.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: NS_ITEMS })));
  assert.ok(items.getChild('query', NS_ITEMS));
});

test('ping (XEP-0199) to the server and through it to another client; software version (XEP-0092)', async () => {
  const alice = await login('alice', 'ping');
  const bob = await login('bob', 'ping');
  const pong = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
  assert.equal(pong.attrs.from, 'localhost');
  assert.equal(pong.children.length, 0, 'an empty result');
  // Routed to bob's client, which answers (@xmpp/client answers pings).
  const viaBob = await alice.iq(xml('iq', { type: 'get', to: 'bob@localhost/ping' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(viaBob.attrs.from, 'bob@localhost/ping');
  void bob;
  // A ping with no 'to' is answered for the account.
  const self = await alice.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(self.attrs.type, 'result');

  const v = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
  const q = v.getChild('query', 'jabber:iq:version');
  assert.equal(q.getChildText('name'), 'Parley');
  assert.equal(q.getChildText('version'), VERSION);
  // An IQ the server does not know: service-unavailable; a set of a get-only namespace: an error too.
  const unknown = await iqError(alice, xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'urn:example:nothing' })));
  assert.equal(unknown.condition, 'service-unavailable');
  const setVersion = await iqError(alice, xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
  assert.ok(setVersion.condition, 'a set of jabber:iq:version is refused');
});

// ---- carbons -------------------------------------------------------------------------

function carbon(kind: 'sent' | 'received', body: string) {
  return (el: any) => {
    if (!el.is('message')) return false;
    const fwd = el.getChild(kind, NS_CARBONS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
    return fwd !== undefined && fwd.getChildText('body') === body;
  };
}
const anyCarbon = (body: string) => (el: any) => carbon('sent', body)(el) || carbon('received', body)(el);

test('message carbons (XEP-0280): received and sent copies to the other resources that enabled them', async () => {
  const r1 = await login('dave', 'r1');
  const r2 = await login('dave', 'r2');
  const r3 = await login('dave', 'r3'); // carbons not enabled
  const bob = await login('bob', 'carbons');
  for (const c of [r1, r2]) {
    const res = await c.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_CARBONS })));
    assert.equal(res.attrs.type, 'result');
  }

  await bob.send(xml('message', { to: 'dave@localhost/r1', type: 'chat', id: 'c1' }, xml('body', {}, 'to r1')));
  await r1.waitFor((m) => bodyOf(m) === 'to r1', 3000, 'original at r1');
  const rc = await r2.waitFor(carbon('received', 'to r1'), 3000, 'received carbon at r2');
  assert.equal(rc.attrs.from, 'dave@localhost', 'a carbon comes from the bare JID of the account');
  assert.equal(rc.attrs.to, 'dave@localhost/r2');
  const inner = rc.getChild('received', NS_CARBONS).getChild('forwarded', NS_FORWARD).getChild('message');
  assert.equal(inner.attrs.from, 'bob@localhost/carbons');
  assert.equal(inner.attrs.to, 'dave@localhost/r1');
  assert.equal(inner.attrs.id, 'c1');

  await r1.send(xml('message', { to: 'bob@localhost/carbons', type: 'chat', id: 'c2' }, xml('body', {}, 'from r1')));
  await bob.waitFor((m) => bodyOf(m) === 'from r1', 3000, 'original at bob');
  const sc = await r2.waitFor(carbon('sent', 'from r1'), 3000, 'sent carbon at r2');
  const sentInner = sc.getChild('sent', NS_CARBONS).getChild('forwarded', NS_FORWARD).getChild('message');
  assert.equal(sentInner.attrs.from, 'dave@localhost/r1');
  assert.equal(sentInner.attrs.to, 'bob@localhost/carbons');

  // <private/> suppresses copies, in both directions.
  await r1.send(xml('message', { to: 'bob@localhost/carbons', type: 'chat' }, xml('body', {}, 'private out'), xml('private', { xmlns: NS_CARBONS }), xml('no-copy', { xmlns: 'urn:xmpp:hints' })));
  await bob.send(xml('message', { to: 'dave@localhost/r1', type: 'chat' }, xml('body', {}, 'private in'), xml('private', { xmlns: NS_CARBONS })));
  await bob.waitFor((m) => bodyOf(m) === 'private out', 3000, 'private message delivered');
  await r1.waitFor((m) => bodyOf(m) === 'private in', 3000, 'private message delivered');
  // Other message types are not copied.
  await bob.send(xml('message', { to: 'dave@localhost/r1', type: 'normal' }, xml('body', {}, 'normal type')));
  await r1.waitFor((m) => bodyOf(m) === 'normal type', 3000, 'normal message delivered');
  await settle(bob, r1, r2, r3);
  for (const b of ['private out', 'private in', 'normal type']) assert.equal(r2.received.filter(anyCarbon(b)).length, 0, `no carbon of "${b}"`);
  assert.equal(r3.received.filter((m) => m.getChild('received', NS_CARBONS) || m.getChild('sent', NS_CARBONS)).length, 0, 'no carbons without enabling');

  // A message to the bare JID reaches r1, r2, r3 (same priority) directly, without duplicate carbons.
  await bob.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'to all')));
  for (const c of [r1, r2, r3]) await c.waitFor((m) => bodyOf(m) === 'to all' && !m.getChild('received', NS_CARBONS), 3000, `bare message at ${c.jid}`);
  await settle(bob, r2);
  assert.equal(r2.received.filter(anyCarbon('to all')).length, 0, 'no carbon of a message r2 got itself');

  // After disable, no more copies.
  await r2.iq(xml('iq', { type: 'set' }, xml('disable', { xmlns: NS_CARBONS })));
  await bob.send(xml('message', { to: 'dave@localhost/r1', type: 'chat' }, xml('body', {}, 'after disable')));
  await r1.waitFor((m) => bodyOf(m) === 'after disable', 3000, 'delivered');
  await settle(bob, r2);
  assert.equal(r2.received.filter(anyCarbon('after disable')).length, 0);
});

test('carbons cannot be enabled for another account', async () => {
  const bob = await login('bob', 'carbons-other');
  const e = await iqError(bob, xml('iq', { type: 'set', to: 'dave@localhost' }, xml('enable', { xmlns: NS_CARBONS })));
  assert.ok(e.condition === 'not-allowed' || e.condition === 'forbidden', `condition ${e.condition}`);
});

// ---- stream management ---------------------------------------------------------------

async function smLogin(resource: string): Promise<{ c: RawConn; id: string }> {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(plainAuth('smuser', 'smuserpw'));
  await c.expect(/<success /);
  const features = await c.open();
  assert.match(features, new RegExp(`<sm xmlns="${NS_SM}"/>`), 'stream management is offered after authentication');
  assert.equal(await c.bind(resource), `smuser@localhost/${resource}`);
  c.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  const en = await c.expect(/<enabled [^>]*\/>/);
  assert.match(en[0], /resume="true"/);
  const id = /id="([^"]+)"/.exec(en[0])?.[1];
  assert.ok(id, 'an id to resume with');
  return { c, id };
}

test('XEP-0198: enable, <r/> counts handled stanzas, resumption after a dropped connection retransmits', async () => {
  const bob = await login('bob', 'sm');
  const { c, id } = await smLogin('phone');
  c.write(`<r xmlns='${NS_SM}'/>`);
  await c.expect(`<a xmlns="${NS_SM}" h="0"/>`);
  c.write(`<iq type='get' id='sm1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  c.write(`<iq type='get' id='sm2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  c.write(`<r xmlns='${NS_SM}'/>`);
  await c.expect(`<a xmlns="${NS_SM}" h="2"/>`);
  assert.match(c.buf, /<iq [^>]*id="sm1"/);
  assert.match(c.buf, /<iq [^>]*id="sm2"/);
  // The server asks for acks of what it sent.
  await eventually(() => c.buf.includes(`<r xmlns="${NS_SM}"/>`), 3000, 'server <r/>');
  c.write(`<a xmlns='${NS_SM}' h='2'/>`);
  c.pos = c.buf.length;

  await bob.send(xml('message', { to: 'smuser@localhost/phone', type: 'chat' }, xml('body', {}, 'before the drop')));
  await c.expect('before the drop');
  // Not acknowledged: the client loses its connection without closing the stream.
  c.destroy();
  await eventually(() => parley.server.sessions.get('smuser@localhost', 'phone')?.flags.hibernating === true, 3000, 'the server noticed the drop');
  assert.ok((await connected()).includes('smuser@localhost/phone'), 'the session hibernates instead of ending');
  await bob.send(xml('message', { to: 'smuser@localhost/phone', type: 'chat' }, xml('body', {}, 'while away')));
  await bob.sync(); // routed to the hibernating session

  const d = await RawConn.tcp(parley.ports.c2s);
  await d.open();
  d.write(plainAuth('smuser', 'smuserpw'));
  await d.expect(/<success /);
  await d.open();
  d.write(`<resume xmlns='${NS_SM}' previd='${id}' h='2'/>`);
  const resumed = await d.expect(/<resumed [^>]*\/>/);
  assert.match(resumed[0], new RegExp(`previd="${id}"`));
  assert.match(resumed[0], /h="2"/, 'the server handled two stanzas from us');
  await d.expect('before the drop', 3000, 'unacknowledged message retransmitted');
  await d.expect('while away', 3000, 'message sent while hibernating');
  assert.doesNotMatch(d.rest() + d.buf.slice(0, d.pos), /id="sm1"/, 'acknowledged stanzas are not sent again');

  // The resumed session is the same session and keeps working both ways.
  assert.deepEqual((await connected()).filter((j) => j.startsWith('smuser@')), ['smuser@localhost/phone']);
  await bob.send(xml('message', { to: 'smuser@localhost/phone', type: 'chat' }, xml('body', {}, 'after resume')));
  await d.expect('after resume');
  d.write(`<message to='bob@localhost/sm' type='chat'><body>back again</body></message>`);
  await bob.waitFor((m) => bodyOf(m) === 'back again', 3000, 'message from the resumed session');
  d.write(`<r xmlns='${NS_SM}'/>`);
  await d.expect(`<a xmlns="${NS_SM}" h="3"/>`, 3000, 'the inbound count continues across the resumption');
  d.write(`<a xmlns='${NS_SM}' h='5'/></stream:stream>`);
  await d.waitClosed();
  await eventually(async () => !(await connected()).includes('smuser@localhost/phone'), 3000, 'closed for good');
  assert.equal((await parley.api('get_offline_count', { user: 'smuser', server: 'localhost' })).body.value, 0, 'everything was acknowledged');
});

test('XEP-0198: resuming while the old connection is still open moves the session to the new one for good', async () => {
  const bob = await login('bob', 'sm-stale');
  const { c: stale, id } = await smLogin('tablet');
  await bob.send(xml('message', { to: 'smuser@localhost/tablet', type: 'chat' }, xml('body', {}, 'to the old connection')));
  await stale.expect('to the old connection');
  // The client lost the connection but the server has not noticed yet: it resumes from a new one.
  const d = await RawConn.tcp(parley.ports.c2s);
  await d.open();
  d.write(plainAuth('smuser', 'smuserpw'));
  await d.expect(/<success /);
  await d.open();
  d.write(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  await d.expect(/<resumed [^>]*\/>/);
  await d.expect('to the old connection', 3000, 'retransmitted');
  // The server closes the stale connection; that must not take the resumed session down with it.
  await stale.waitClosed();
  // The server's own handling of that close has no outside effect to wait for (none is the point):
  // give it a short, bounded moment before checking that the session is still there.
  await sleep(200);
  assert.ok((await connected()).includes('smuser@localhost/tablet'));
  await bob.send(xml('message', { to: 'smuser@localhost/tablet', type: 'chat' }, xml('body', {}, 'after the stale close')));
  await d.expect('after the stale close', 3000, 'delivery to the resumed connection');
  d.write(`<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await d.expect(/<iq [^>]*id="alive"/);
  d.write('</stream:stream>');
  await d.waitClosed();
});

test('XEP-0198: resuming an unknown or finished session fails with item-not-found, and the stream can still bind', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(plainAuth('smuser', 'smuserpw'));
  await c.expect(/<success /);
  await c.open();
  c.write(`<resume xmlns='${NS_SM}' previd='bogus-id' h='0'/>`);
  await c.expect(`<failed xmlns="${NS_SM}"><item-not-found xmlns="${NS_STANZAS}"/></failed>`);
  assert.equal(await c.bind('after-failed'), 'smuser@localhost/after-failed');
  // Enabling twice is refused.
  c.write(`<enable xmlns='${NS_SM}'/>`);
  await c.expect(/<enabled /);
  c.write(`<enable xmlns='${NS_SM}'/>`);
  await c.expect(/<failed xmlns="urn:xmpp:sm:3">/);
  c.write('</stream:stream>');
  await c.waitClosed();

  // Another account cannot take over a session by its id.
  const { c: victim, id } = await smLogin('victim');
  victim.destroy();
  const thief = await RawConn.tcp(parley.ports.c2s);
  await thief.open();
  thief.write(plainAuth('bob', 'bobpw'));
  await thief.expect(/<success /);
  await thief.open();
  thief.write(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  await thief.expect(/<failed xmlns="urn:xmpp:sm:3"><item-not-found/);
  thief.destroy();
  // Resumption before authentication is not possible either.
  const anon = await RawConn.tcp(parley.ports.c2s);
  await anon.open();
  anon.write(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  await expectStreamError(anon, 'not-authorized');
});

test('stanzas written together with </stream:stream> (or just before a drop) are still handled', async () => {
  const bob = await login('bob', 'last');
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('carol', 'carolpw', 'leaving');
  c.write(`<message to='bob@localhost/last' type='chat'><body>last words</body></message></stream:stream>`);
  await bob.waitFor((m) => bodyOf(m) === 'last words', 3000, 'the message sent with the closing tag');
  await c.waitClosed();
  const d = await RawConn.tcp(parley.ports.c2s);
  await d.login('carol', 'carolpw', 'dropping');
  d.socket!.end(`<message to='bob@localhost/last' type='chat'><body>before the FIN</body></message>`);
  await bob.waitFor((m) => bodyOf(m) === 'before the FIN', 3000, 'the message sent before the connection closed');
});

// ---- XEP-0077 ------------------------------------------------------------------------

test('in-band registration is off by default: no feature, and account creation is refused', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  const features = await c.open();
  assert.doesNotMatch(features, /iq-register/);
  c.write(`<iq type='set' id='reg1'><query xmlns='${NS_REGISTER}'><username>intruder</username><password>pw</password></query></iq>`);
  // Either an IQ error or a stream error; never a result.
  await c.expect(/<stream:error>|<iq [^>]*type="error"/);
  assert.doesNotMatch(c.buf, /<iq [^>]*type="result"/);
  c.destroy();
  assert.equal((await parley.api('check_account', { user: 'intruder', host: 'localhost' })).body, 1, 'no account was created');
});

test('password change with jabber:iq:register after login', async () => {
  const c = await login('pwuser', 'pw');
  const form = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS_REGISTER })));
  const q = form.getChild('query', NS_REGISTER);
  assert.ok(q.getChild('registered'), 'the account is registered');
  assert.equal(q.getChildText('username'), 'pwuser');

  // Someone else's username is refused, and changes nothing.
  const other = await iqError(c, xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: NS_REGISTER }, xml('username', {}, 'bob'), xml('password', {}, 'hijacked'))));
  assert.ok(other.condition, 'refused');
  assert.equal((await parley.api('check_password', { user: 'bob', host: 'localhost', password: 'bobpw' })).body, 0);

  const res = await c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: NS_REGISTER }, xml('username', {}, 'pwuser'), xml('password', {}, 'n3w-secret'))));
  assert.equal(res.attrs.type, 'result');
  assert.equal((await parley.api('check_password', { user: 'pwuser', host: 'localhost', password: 'n3w-secret' })).body, 0);
  assert.equal((await parley.api('check_password', { user: 'pwuser', host: 'localhost', password: 'pwuserpw' })).body, 1);

  // Logins use the new password (SCRAM credentials were recomputed), not the old one.
  const again = await parley.login('pwuser', 'again', { password: 'n3w-secret', mechanism: 'SCRAM-SHA-1' });
  assert.equal(again.jid, 'pwuser@localhost/again');
  const raw = await RawConn.tcp(parley.ports.c2s, '127.0.0.20');
  await raw.open();
  raw.write(plainAuth('pwuser', 'pwuserpw'));
  await raw.expect(`<failure xmlns="${NS_SASL}"><not-authorized/></failure>`);
  raw.destroy();
});
