/**
 * XEP-0198 resumption re-attaches a new stream to the session the dropped connection carried: the
 * same record in the session directory, with its presence, priority and roster-request flag, and
 * the stanzas queued while it hibernated.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_SM } from './raw.js';

let parley: Parley;

before(async () => {
  parley = await startParley({ c2s: { resumeTimeout: 60 } });
  await parley.register('resumer', 'friend');
});
after(async () => {
  await parley.close();
});

test('resumption re-attaches a new stream to the same session, presence and roster interest kept, queued stanzas delivered', async () => {
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('resumer', 'resumerpw', 'phone');
  c.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  const id = /id="([^"]+)"/.exec((await c.expect(/<enabled [^>]*\/>/))[0])![1]!;
  c.write(`<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>`);
  await c.expect(/<iq [^>]*id="roster1"/);
  c.write(`<presence><show>dnd</show><status>in a meeting</status><priority>5</priority></presence>`);
  await c.expect(/<presence [^>]*from="resumer@localhost\/phone"[\s\S]*?<\/presence>/, 3000, 'own presence');
  c.write(`<a xmlns='${NS_SM}' h='2'/>`);

  const directory = parley.server.sessions;
  const before = directory.get('resumer@localhost', 'phone');
  assert.ok(before, 'bound');
  assert.equal(before.flags.rosterRequested, true);
  assert.equal(before.priority, 5);

  c.destroy();
  await eventually(() => directory.get('resumer@localhost', 'phone')?.flags.hibernating === true, 3000, 'hibernating');
  // While it hibernates the session is still available: messages to the bare JID and roster pushes are queued for it.
  let r = await parley.api('send_message', { type: 'chat', from: 'friend@localhost', to: 'resumer@localhost', subject: '', body: 'sent while away' });
  assert.equal(r.status, 200, r.text);
  r = await parley.api('add_rosteritem', { localuser: 'resumer', localhost: 'localhost', user: 'newfriend', host: 'localhost', nick: 'New', group: 'Friends', subs: 'none' });
  assert.equal(r.status, 200, r.text);
  r = await parley.api('get_presence', { user: 'resumer', host: 'localhost' });
  assert.deepEqual(r.body, { jid: 'resumer@localhost/phone', show: 'dnd', status: 'in a meeting' }, 'presence kept while hibernating');

  const d = await RawConn.tcp(parley.ports.c2s);
  await d.authenticate('resumer', 'resumerpw');
  d.write(`<resume xmlns='${NS_SM}' previd='${id}' h='2'/>`);
  await d.expect(new RegExp(`<resumed [^>]*previd="${id}"`), 3000, 'resumed');
  await d.expect('sent while away', 3000, 'the message queued while hibernating');
  await d.expect(/<iq [^>]*type="set"[^>]*>\s*<query xmlns="jabber:iq:roster"[^>]*>\s*<item [^>]*jid="newfriend@localhost"/, 3000, 'the roster push queued while hibernating');

  const after = directory.get('resumer@localhost', 'phone');
  assert.ok(after);
  assert.equal(after.id, before.id, 'the same session');
  assert.equal(after.flags.hibernating, false);
  assert.equal(after.flags.rosterRequested, true, 'roster interest kept');
  assert.equal(after.priority, 5);
  assert.match(after.presence ?? '', /in a meeting/);
  assert.equal(directory.resources('resumer@localhost').length, 1);
  assert.equal(after.startedAt, before.startedAt);

  // The session keeps working over the new stream, both ways, and a later roster change still pushes.
  r = await parley.api('add_rosteritem', { localuser: 'resumer', localhost: 'localhost', user: 'later', host: 'localhost', nick: 'Later', group: 'Friends', subs: 'none' });
  assert.equal(r.status, 200, r.text);
  await d.expect(/<item [^>]*jid="later@localhost"/, 3000, 'a roster push after the resumption');
  d.write(`<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await d.expect(/<iq [^>]*id="alive"/);
  r = await parley.api('user_sessions_info', { user: 'resumer', host: 'localhost' });
  assert.equal(r.body.length, 1);
  assert.equal(r.body[0].priority, 5);
  assert.equal(r.body[0].status, 'dnd');
  assert.equal(r.body[0].statustext, 'in a meeting');

  d.write(`<a xmlns='${NS_SM}' h='10'/></stream:stream>`);
  await d.waitClosed();
  await eventually(() => directory.get('resumer@localhost', 'phone') === undefined, 3000, 'closed for good');
});
