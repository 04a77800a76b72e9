/** Features that depend on configuration: in-band registration on, a short XEP-0198 resumption timeout. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, bodyOf, type TestClient } from '../support/client.js';
import { RawConn, NS_SM, plainAuth, expectStreamError } from './raw.js';

const NS_REGISTER = 'jabber:iq:register';

let parley: Parley;

before(async () => {
  parley = await startParley({ c2s: { inBandRegistration: true, resumeTimeout: 1 } });
  await parley.register('bob', 'smuser');
});
after(async () => {
  await parley.close();
});

function login(user: string, resource: string, password = `${user}pw`): Promise<TestClient> {
  return parley.login(user, resource, { password });
}

const accountExists = async (user: string) => (await parley.api('check_account', { user, host: 'localhost' })).body === 0;

function registerIq(id: string, user: string, password: string | undefined): string {
  return `<iq type='set' id='${id}'><query xmlns='${NS_REGISTER}'><username>${user}</username>${password === undefined ? '' : `<password>${password}</password>`}</query></iq>`;
}

test('in-band registration (XEP-0077): feature offered, form, account created before auth, then it logs in', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  const features = await c.open();
  assert.match(features, /<register xmlns="http:\/\/jabber.org\/features\/iq-register"\/>/);
  c.write(`<iq type='get' id='form'><query xmlns='${NS_REGISTER}'/></iq>`);
  const form = await c.expect(/<iq [^>]*id="form"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(form[0], /type="result"/);
  assert.match(form[0], /<username\/>/);
  assert.match(form[0], /<password\/>/);

  c.write(registerIq('reg1', 'newbie', 'fresh-pw'));
  const ok = await c.expect(/<iq [^>]*id="reg1"[^>]*\/?>/);
  assert.match(ok[0], /type="result"/);
  assert.equal(await accountExists('newbie'), true);

  // Same username again, also in other case: conflict. No password: not-acceptable. (From another address:
  // this one just registered, and c2s.registrationTimeout is checked first, as ejabberd does.)
  const c2 = await RawConn.tcp(parley.ports.c2s, '127.0.0.5');
  await c2.open();
  c2.write(registerIq('reg2', 'newbie', 'other'));
  const dup = await c2.expect(/<iq [^>]*id="reg2"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(dup[0], /type="error"/);
  assert.match(dup[0], /<conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  c2.write(registerIq('reg3', 'NewBie', 'other'));
  const dup2 = await c2.expect(/<iq [^>]*id="reg3"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(dup2[0], /<conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  c2.write(registerIq('reg4', 'nopass', undefined));
  const nopw = await c2.expect(/<iq [^>]*id="reg4"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(nopw[0], /type="error"/);
  assert.equal(await accountExists('nopass'), false);
  c2.write(registerIq('reg5', 'bad user', 'pw'));
  const bad = await c2.expect(/<iq [^>]*id="reg5"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(bad[0], /type="error"/);
  assert.equal(await accountExists('bad user'), false);
  c2.destroy();

  // The new account authenticates on the same stream, with the password it chose.
  c.write(plainAuth('newbie', 'fresh-pw'));
  await c.expect(/<success /);
  await c.open();
  assert.equal(await c.bind('first'), 'newbie@localhost/first');
  c.destroy();
  const client = await login('newbie', 'second', 'fresh-pw');
  assert.equal(client.jid, 'newbie@localhost/second');
  // Now the server advertises the feature too.
  const info = await client.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query').getChildren('feature').some((f: any) => f.attrs.var === NS_REGISTER));
});

test('c2s.registrationTimeout: one in-band registration per address per 10 minutes by default', async () => {
  // 127.0.0.1 created 'newbie' above: a second account from it is refused, from another address it is not.
  const again = await RawConn.tcp(parley.ports.c2s);
  await again.open();
  again.write(registerIq('quick', 'quickly', 'quickpw'));
  const refused = await again.expect(/<iq [^>]*id="quick"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(refused[0], /<resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  assert.equal(await accountExists('quickly'), false);
  again.destroy();
  const other = await RawConn.tcp(parley.ports.c2s, '127.0.0.3');
  await other.open();
  other.write(registerIq('quick2', 'quickly', 'quickpw'));
  assert.match((await other.expect(/<iq [^>]*id="quick2"[^>]*\/?>/))[0], /type="result"/);
  assert.equal(await accountExists('quickly'), true);
  other.destroy();
});

test('in-band account removal: the account is gone and its sessions end', async () => {
  const c = await RawConn.tcp(parley.ports.c2s, '127.0.0.4');
  await c.open();
  c.write(registerIq('r', 'goner', 'gonerpw'));
  await c.expect(/id="r"/);
  c.destroy();
  const goner = await RawConn.tcp(parley.ports.c2s);
  await goner.login('goner', 'gonerpw', 'g');
  goner.write(`<iq type='set' id='rm'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
  await goner.waitClosed();
  assert.equal(await accountExists('goner'), false);
  // XEP-0077 §3.2: the removal is confirmed with a result before the stream is closed.
  const result = goner.buf.search(/<iq [^>]*type="result"[^>]*id="rm"|<iq [^>]*id="rm"[^>]*type="result"/);
  const closed = goner.buf.indexOf('<stream:error>');
  assert.ok(result >= 0, `a result for the removal; received: ${goner.buf.slice(-600)}`);
  assert.ok(closed < 0 || result < closed, 'the result comes before the stream is closed');
});

test('XEP-0198 with resumeTimeout 1: unacknowledged messages go to offline storage when the session expires', async () => {
  const bob = await login('bob', 'sender');
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('smuser', 'smuserpw', 'flaky');
  c.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  const en = await c.expect(/<enabled [^>]*\/>/);
  assert.match(en[0], /max="1"/);
  const id = /id="([^"]+)"/.exec(en[0])![1]!;

  await bob.send(xml('message', { to: 'smuser@localhost/flaky', type: 'chat' }, xml('body', {}, 'never acked')));
  await c.expect('never acked');
  c.destroy();
  await eventually(() => parley.server.sessions.get('smuser@localhost', 'flaky')?.flags.hibernating === true, 3000, 'the server noticed the drop');
  await bob.send(xml('message', { to: 'smuser@localhost/flaky', type: 'chat' }, xml('body', {}, 'sent while hibernating')));
  // Still there during the timeout ...
  assert.ok(((await parley.api('connected_users')).body as string[]).includes('smuser@localhost/flaky'));
  // ... gone after it, with both messages in offline storage.
  await eventually(async () => !((await parley.api('connected_users')).body as string[]).includes('smuser@localhost/flaky'), 4000, 'session expired');
  await eventually(async () => (await parley.api('get_offline_count', { user: 'smuser', server: 'localhost' })).body.value === 2, 3000, 'two offline messages');

  // Too late to resume.
  const late = await RawConn.tcp(parley.ports.c2s);
  await late.open();
  late.write(plainAuth('smuser', 'smuserpw'));
  await late.expect(/<success /);
  await late.open();
  late.write(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  await late.expect(/<failed xmlns="urn:xmpp:sm:3"><item-not-found/);
  late.destroy();

  const back = await login('smuser', 'back');
  const first = await back.waitFor((m) => bodyOf(m) === 'never acked', 3000, 'first offline message');
  await back.waitFor((m) => bodyOf(m) === 'sent while hibernating', 3000, 'second offline message');
  assert.ok(first.getChild('delay', 'urn:xmpp:delay'));
  const bodies = back.received.map(bodyOf).filter((b) => b === 'never acked' || b === 'sent while hibernating');
  assert.deepEqual(bodies, ['never acked', 'sent while hibernating'], 'in order, once each');
});

test('pre-auth stanzas other than registration are still refused when registration is on', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(`<iq type='get' id='v' to='localhost'><query xmlns='jabber:iq:version'/></iq>`);
  await expectStreamError(c, 'not-authorized');
});
