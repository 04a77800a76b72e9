// Push notifications (XEP-0357): a client enables an app server (here another local client, which
// receives the publish IQ and answers it), goes offline or hibernates under stream management, and
// a message from a contact becomes a summary notification at the app server. Disabling stops them,
// an error answer disables the registration, registrations per account are limited, and
// delete_old_push_sessions purges old ones over the real HTTP API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, iqError, settle, type TestClient } from '../support/client.js';
import { RawConn, NS_SM } from '../xmpp-e2e/raw.js';

const NS_PUSH = 'urn:xmpp:push:0';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const DAY = 86_400_000;

let parley: Parley;
/** The app server: a local client that answers each publish with `answer`. */
let apps: TestClient;
let answer: 'ok' | 'item-not-found' = 'ok';
let friend: TestClient;

before(async () => {
  parley = await startParley({
    c2s: { resumeTimeout: 60 },
    push: { maxSessionsPerAccount: 3, includeSender: true, includeBody: true, notificationsPerMinute: 3 },
  });
  await parley.register('apps', 'friend', 'phone', 'hib', 'quiet', 'refuser', 'many', 'limited', 'old', 'remote', 'gone', 'sentinel', 'drop');
  apps = await parley.login('apps', 'server');
  apps.xmpp.iqCallee.set(NS_PUBSUB, 'pubsub', () => (answer === 'ok' ? true : xml('error', { type: 'cancel' }, xml(answer, NS_STANZAS))));
  friend = await parley.login('friend', 'desk');
});
after(async () => {
  await parley.close();
});

function enableIq(node: string, opts: { jid?: string; secret?: string } = {}) {
  const enable = xml('enable', { xmlns: NS_PUSH, jid: opts.jid ?? apps.jid, node });
  if (opts.secret !== undefined) {
    enable.append(
      xml(
        'x',
        { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
        xml('field', { var: 'secret' }, xml('value', {}, opts.secret)),
      ),
    );
  }
  return xml('iq', { type: 'set' }, enable);
}

/** The publish IQs the app server received for a node. */
function notificationsFor(node: string) {
  return apps.received.filter((el) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('pubsub', NS_PUBSUB)?.getChild('publish')?.attrs.node === node);
}

function fieldsOf(iq: any, form = 'notification'): Record<string, string[]> {
  const publish = iq.getChild('pubsub', NS_PUBSUB);
  const x = form === 'notification' ? publish.getChild('publish').getChild('item').getChild('notification', NS_PUSH).getChild('x', 'jabber:x:data') : publish.getChild('publish-options').getChild('x', 'jabber:x:data');
  return Object.fromEntries(x.getChildren('field').map((f: any) => [f.attrs.var, f.getChildren('value').map((v: any) => v.text())]));
}

async function sessionsOf(user: string) {
  return parley.server.service('push').sessionsOf({ user, host: 'localhost' });
}

const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

test('the account and the server advertise urn:xmpp:push:0', async () => {
  const phone = await parley.login('phone', 'disco');
  const info = await phone.iq(xml('iq', { type: 'get', to: 'phone@localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === NS_PUSH));
  const host = await phone.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(host.getChild('query')!.getChildren('feature').some((f: any) => f.attrs.var === NS_PUSH));
  await phone.stop();
});

test('enabled, then offline: each message from a contact is a notification at the app server, from the bare JID, with the publish options', async () => {
  const phone = await parley.login('phone', 'mobile');
  await phone.iq(enableIq('node-phone', { secret: 's3cret' }));
  const [session] = await sessionsOf('phone');
  assert.equal(session?.service, apps.jid);
  assert.equal(session?.resource, 'mobile');
  assert.deepEqual(session?.options, [{ var: 'secret', values: ['s3cret'] }]);
  await phone.stop();
  await eventually(() => !parley.server.sessions.hasSessions('phone@localhost'), 3000, 'phone offline');

  await friend.send(chat('phone@localhost', 'hello there'));
  const first = await apps.waitFor((el) => notificationsFor('node-phone').includes(el), 3000, 'first notification');
  assert.equal(first.attrs.from, 'phone@localhost');
  assert.deepEqual(fieldsOf(first), {
    FORM_TYPE: ['urn:xmpp:push:summary'],
    'message-count': ['1'],
    'last-message-sender': ['friend@localhost'],
    'last-message-body': ['hello there'],
  });
  assert.deepEqual(fieldsOf(first, 'options'), { FORM_TYPE: ['http://jabber.org/protocol/pubsub#publish-options'], secret: ['s3cret'] });

  await friend.send(chat('phone@localhost', 'are you there?'));
  await eventually(() => notificationsFor('node-phone').length === 2, 3000, 'second notification');
  assert.deepEqual(fieldsOf(notificationsFor('node-phone')[1])['message-count'], ['2']);
  assert.deepEqual(fieldsOf(notificationsFor('node-phone')[1])['last-message-body'], ['are you there?']);
  // Presence, and messages without a body, are no news.
  await friend.send(xml('message', { to: 'phone@localhost', type: 'chat' }, xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await eventually(async () => (await sessionsOf('phone'))[0]!.lastUsed > 0, 3000, 'last use recorded');
  assert.equal((await sessionsOf('phone')).length, 1, 'an answered notification keeps the registration');

  // Coming online resets the count.
  const back = await parley.login('phone', 'mobile');
  await back.stop();
  await eventually(() => !parley.server.sessions.hasSessions('phone@localhost'), 3000, 'phone offline again');
  await friend.send(chat('phone@localhost', 'welcome back'));
  await eventually(() => notificationsFor('node-phone').length === 3, 3000, 'third notification');
  assert.deepEqual(fieldsOf(notificationsFor('node-phone')[2])['message-count'], ['1']);
});

test('a session hibernating under stream management: messages queued for it are notified to the registration it made', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('hib', 'hibpw', 'phone');
  c.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  await c.expect(/<enabled [^>]*\/>/);
  c.write(`<iq type='set' id='push1'><enable xmlns='${NS_PUSH}' jid='${apps.jid}' node='node-hib'/></iq>`);
  await c.expect(/<iq [^>]*id="push1"[^>]*type="result"|<iq [^>]*type="result"[^>]*id="push1"/);
  c.write(`<presence/>`);
  await c.expect(/<presence [^>]*from="hib@localhost\/phone"/);
  c.destroy();
  await eventually(() => parley.server.sessions.get('hib@localhost', 'phone')?.flags.hibernating === true, 3000, 'hibernating');

  await friend.send(chat('hib@localhost', 'while you sleep'));
  const n = await apps.waitFor((el) => notificationsFor('node-hib').includes(el), 3000, 'notification for the hibernating session');
  assert.deepEqual(fieldsOf(n)['last-message-body'], ['while you sleep']);
  assert.equal(await parley.server.offline.count({ user: 'hib', host: 'localhost' }), 0, 'queued in the session, not stored offline');
  // To the full JID too.
  await friend.send(chat('hib@localhost/phone', 'to the resource'));
  await eventually(() => notificationsFor('node-hib').length === 2, 3000, 'second notification');
});

test('a connection that drops with messages the client never acknowledged: the hibernation itself is notified', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('drop', 'droppw', 'phone');
  c.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  await c.expect(/<enabled [^>]*\/>/);
  c.write(`<iq type='set' id='push2'><enable xmlns='${NS_PUSH}' jid='${apps.jid}' node='node-drop'/></iq>`);
  await c.expect(/id="push2"/);
  c.write(`<presence/>`);
  await c.expect(/<presence [^>]*from="drop@localhost\/phone"/);
  await friend.send(chat('drop@localhost', 'did you get this?'));
  await c.expect('did you get this?', 3000, 'the message, written but not acknowledged');
  await settle(friend, apps);
  assert.equal(notificationsFor('node-drop').length, 0, 'a live session needs no notification');
  c.destroy();
  const n = await apps.waitFor((el) => notificationsFor('node-drop').includes(el), 3000, 'notification on hibernation');
  assert.deepEqual(fieldsOf(n)['last-message-body'], ['did you get this?']);
  assert.deepEqual(fieldsOf(n)['message-count'], ['1']);
  assert.deepEqual(fieldsOf(n)['last-message-sender'], ['friend@localhost']);
});

test('disable stops the notifications of that registration; the others go on', async () => {
  const quiet = await parley.login('quiet', 'mobile');
  await quiet.iq(enableIq('node-quiet-a'));
  await quiet.iq(enableIq('node-quiet-b'));
  assert.equal((await sessionsOf('quiet')).length, 2);
  await quiet.iq(xml('iq', { type: 'set' }, xml('disable', { xmlns: NS_PUSH, jid: apps.jid, node: 'node-quiet-a' })));
  assert.deepEqual((await sessionsOf('quiet')).map((s) => s.node), ['node-quiet-b']);
  await quiet.stop();
  await eventually(() => !parley.server.sessions.hasSessions('quiet@localhost'), 3000, 'offline');

  await friend.send(chat('quiet@localhost', 'shh'));
  await apps.waitFor((el) => notificationsFor('node-quiet-b').includes(el), 3000, 'the enabled one');
  await settle(apps, friend);
  assert.equal(notificationsFor('node-quiet-a').length, 0, 'nothing for the disabled one');

  // Disabling without a node removes every registration with that app server.
  const again = await parley.login('quiet', 'mobile');
  await again.iq(xml('iq', { type: 'set' }, xml('disable', { xmlns: NS_PUSH, jid: apps.jid })));
  assert.equal((await sessionsOf('quiet')).length, 0);
  await again.stop();
});

test('an app server that answers with an error loses the registration', async () => {
  const refuser = await parley.login('refuser', 'mobile');
  await refuser.iq(enableIq('node-refused'));
  await refuser.stop();
  await eventually(() => !parley.server.sessions.hasSessions('refuser@localhost'), 3000, 'offline');
  answer = 'item-not-found';
  try {
    await friend.send(chat('refuser@localhost', 'knock knock'));
    await apps.waitFor((el) => notificationsFor('node-refused').includes(el), 3000, 'the refused notification');
    await eventually(async () => (await sessionsOf('refuser')).length === 0, 3000, 'registration removed');
  } finally {
    answer = 'ok';
  }
  await friend.send(chat('refuser@localhost', 'anyone?'));
  await friend.send(chat('sentinel@localhost', 'ping'));
  await settle(friend, apps);
  assert.equal(notificationsFor('node-refused').length, 1, 'no notification after the error');
});

test('a remote app server cannot be reached yet: the registration is kept', async () => {
  const remote = await parley.login('remote', 'mobile');
  await remote.iq(enableIq('node-remote', { jid: 'push.example.net' }));
  await remote.stop();
  await eventually(() => !parley.server.sessions.hasSessions('remote@localhost'), 3000, 'offline');
  await friend.send(chat('remote@localhost', 'far away'));
  await eventually(async () => (await sessionsOf('remote'))[0]?.lastUsed !== 0, 3000, 'notification attempted');
  await friend.sync();
  assert.equal((await sessionsOf('remote')).length, 1);
});

test('notifications per registration are rate limited', async () => {
  const many = await parley.login('many', 'mobile');
  await many.iq(enableIq('node-many'));
  const sentinel = await parley.login('sentinel', 'mobile');
  await sentinel.iq(enableIq('node-sentinel'));
  await many.stop();
  await sentinel.stop();
  await eventually(() => !parley.server.sessions.hasSessions('many@localhost') && !parley.server.sessions.hasSessions('sentinel@localhost'), 3000, 'offline');
  for (let i = 1; i <= 5; i++) await friend.send(chat('many@localhost', `message ${i}`));
  await eventually(() => notificationsFor('node-many').length === 3, 3000, 'three notifications');
  await friend.send(chat('sentinel@localhost', 'after them'));
  await apps.waitFor((el) => notificationsFor('node-sentinel').includes(el), 3000, 'the sentinel notification');
  await settle(apps, friend);
  assert.equal(notificationsFor('node-many').length, 3, 'notificationsPerMinute: 3');
  assert.equal(await parley.server.offline.count({ user: 'many', host: 'localhost' }), 5, 'every message is still stored');
});

test('enable: limited per account, re-enabling renews, bad requests refused', async () => {
  const limited = await parley.login('limited', 'mobile');
  for (const node of ['l1', 'l2', 'l3']) await limited.iq(enableIq(node));
  assert.deepEqual(await iqError(limited, enableIq('l4')), { condition: 'resource-constraint', type: 'wait' });
  await limited.iq(enableIq('l2', { secret: 'new' }));
  const l2 = (await sessionsOf('limited')).find((s) => s.node === 'l2');
  assert.deepEqual(l2?.options, [{ var: 'secret', values: ['new'] }], 'the same app server and node is updated, not added');
  assert.equal((await sessionsOf('limited')).length, 3);

  assert.equal((await iqError(limited, xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_PUSH, jid: apps.jid })))).condition, 'feature-not-implemented');
  assert.equal((await iqError(limited, xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_PUSH, jid: 'bad@@jid', node: 'x' })))).condition, 'jid-malformed');
  const badForm = xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_PUSH, jid: apps.jid, node: 'x' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'urn:other')))));
  assert.equal((await iqError(limited, badForm)).condition, 'bad-request');
  // Only for one's own account.
  const other = xml('iq', { type: 'set', to: 'friend@localhost' }, xml('enable', { xmlns: NS_PUSH, jid: apps.jid, node: 'x' }));
  assert.equal((await iqError(limited, other)).condition, 'not-allowed');
  assert.equal((await sessionsOf('friend')).length, 0);
  await limited.stop();
});

test('delete_old_push_sessions(days) over HTTP removes the registrations older than DAYS and keeps the newer ones', async () => {
  const now = Date.now();
  const put = (node: string, createdAt: number) =>
    parley.server.storage.push.put({ owner: 'old@localhost', service: apps.jid, node, options: [], resource: 'r', sessionId: 's', createdAt, lastUsed: 0 }, 10);
  assert.equal(await put('ten-days', now - 10 * DAY), 'created');
  assert.equal(await put('two-days', now - 2 * DAY), 'created');
  assert.equal(await put('today', now), 'created');

  const r = await parley.api('delete_old_push_sessions', { days: 5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body, 0);
  assert.deepEqual((await sessionsOf('old')).map((s) => s.node).sort(), ['today', 'two-days']);

  const bad = await parley.api('delete_old_push_sessions', { days: -1 });
  assert.equal(bad.status, 400, bad.text);
  const missing = await parley.api('delete_old_push_sessions', {});
  assert.equal(missing.status, 400);
  const user = await parley.api('delete_old_push_sessions', { days: 0 }, 'friend@localhost:friendpw');
  assert.ok(user.status === 401 || user.status === 403, `admins only: ${user.status}`);
  assert.equal((await sessionsOf('old')).length, 2);

  assert.equal((await parley.api('delete_old_push_sessions', { days: 1 })).status, 200);
  assert.deepEqual((await sessionsOf('old')).map((s) => s.node), ['today']);
});

test('removing an account removes its push registrations', async () => {
  const gone = await parley.login('gone', 'mobile');
  await gone.iq(enableIq('node-gone'));
  await gone.stop();
  assert.equal((await sessionsOf('gone')).length, 1);
  const r = await parley.api('unregister', { user: 'gone', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await parley.server.storage.push.list('gone@localhost')).length, 0);
});
