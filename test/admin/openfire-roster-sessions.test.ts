import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type Parley } from '../support/harness.js';
import { of, startOpenfire } from './openfire-support.js';
import { xml as el } from '../support/client.js';
import type { Element } from '../../src/xmpp/xml/element.js';

// Roster items, sessions, broadcast, groups, system properties and statistics over the Openfire
// REST API, with their effects seen by real clients.

describe('openfire api roster, sessions, groups, system', () => {
  let p: Parley;
  before(async () => {
    p = await startOpenfire();
    await p.register('alice', 'bob', 'carol');
  });
  after(() => p.close());

  test('a roster item added by REST is pushed to the client; numeric subscription types', async () => {
    const alice = await p.login('alice', 'desk');
    // Pushes go to interested resources: those that asked for the roster (RFC 6121 §2.1.6).
    await alice.iq(el('iq', { type: 'get', id: 'r0' }, el('query', { xmlns: 'jabber:iq:roster' })));
    const xml = '<rosterItem><jid>bob@localhost</jid><nickname>Bobby</nickname><subscriptionType>3</subscriptionType><groups><group>Friends</group></groups></rosterItem>';
    assert.equal((await of(p, 'POST', '/users/alice/roster', { body: xml })).status, 201);
    const push = await alice.waitFor((el) => el.name === 'iq' && el.attrs.type === 'set' && !!el.getChild('query', 'jabber:iq:roster'), 3000, 'roster push');
    const item = push.getChild('query')!.getChild('item')!;
    assert.equal(item.attrs.jid, 'bob@localhost');
    assert.equal(item.attrs.subscription, 'both');
    assert.equal(item.attrs.name, 'Bobby');
    const dup = await of(p, 'POST', '/users/alice/roster', { body: xml, json: true });
    assert.equal(dup.status, 409);
    const x = await of(p, 'GET', '/users/alice/roster');
    assert.equal(x.xml!.name, 'roster');
    const ri = x.xml!.getChild('rosterItem')!;
    assert.equal(ri.getChildText('subscriptionType'), '3');
    assert.deepEqual(ri.getChild('groups')!.getChildren('group').map((g) => g.text()), ['Friends']);
    const j = await of(p, 'GET', '/users/alice/roster', { json: true });
    assert.deepEqual(j.json, { rosterItem: [{ jid: 'bob@localhost', nickname: 'Bobby', subscriptionType: 3, groups: ['Friends'] }] });
    // Update to none (pre-1.3 JSON: strings), then remove.
    assert.equal((await of(p, 'PUT', '/users/alice/roster/bob@localhost', { body: { jid: 'bob@localhost', subscriptionType: '0', nickname: 'B' } })).status, 200);
    await alice.waitFor((el) => el.name === 'iq' && el.getChild('query')?.getChild('item')?.attrs.name === 'B', 3000, 'update push');
    assert.equal((await of(p, 'GET', '/users/alice/roster', { json: true })).json.rosterItem[0].subscriptionType, 0);
    assert.equal((await of(p, 'DELETE', '/users/alice/roster/bob@localhost')).status, 200);
    await alice.waitFor((el) => el.name === 'iq' && el.getChild('query')?.getChild('item')?.attrs.subscription === 'remove', 3000, 'remove push');
    assert.equal((await of(p, 'DELETE', '/users/alice/roster/bob@localhost', { json: true })).status, 404);
    assert.equal((await of(p, 'POST', '/users/nobody/roster', { body: xml })).status, 404);
    assert.equal((await of(p, 'POST', '/users/alice/roster', { body: { jid: 'x@y', subscriptionType: 7 } })).status, 400);
    await alice.stop();
  });

  test('sessions: all, per user (resource, and the old ressource), statistics, close', async () => {
    const b1 = await p.login('bob', 'phone');
    const b2 = await p.login('bob', 'laptop');
    const x = await of(p, 'GET', '/sessions/bob');
    const sessions = x.xml!.getChildren('session');
    assert.deepEqual(sessions.map((s) => s.getChildText('resource')).sort(), ['laptop', 'phone']);
    assert.deepEqual(sessions.map((s) => s.getChildText('ressource')).sort(), ['laptop', 'phone']);
    assert.equal(sessions[0]!.getChildText('username'), 'bob');
    const all = await of(p, 'GET', '/sessions', { json: true });
    assert.ok(all.json.sessions.some((s: any) => s.sessionId === 'bob@localhost/phone' && s.node === 'Local'));
    const stats = await of(p, 'GET', '/system/statistics/sessions', { json: true });
    assert.ok(stats.json.localSessions >= 2);
    assert.equal(stats.json.clusterSessions, stats.json.localSessions);
    let down = 0;
    for (const c of [b1, b2]) c.xmpp.once('disconnect', () => down++);
    assert.equal((await of(p, 'DELETE', '/sessions/bob')).status, 200);
    await eventually(() => down === 2, 3000, 'both sessions closed');
    await eventually(async () => (await of(p, 'GET', '/sessions/bob', { json: true })).json.sessions.length === 0);
    assert.equal((await of(p, 'GET', '/sessions/nobody')).status, 404);
  });

  test('a broadcast reaches every online client', async () => {
    const a = await p.login('alice', 'one');
    const c = await p.login('carol', 'two');
    assert.equal((await of(p, 'POST', '/messages/users', { body: '<message><body>Server going down</body></message>' })).status, 201);
    for (const cl of [a, c]) await cl.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'Server going down', 3000, 'broadcast');
    assert.equal((await of(p, 'POST', '/messages/users', { body: { body: '' } })).status, 400);
    await a.stop();
    await c.stop();
  });

  test('groups: create (shared), read, update, delete', async () => {
    const xml = '<group><name>staff</name><description>The staff</description><shared>true</shared><members><member>alice</member><member>carol@localhost</member></members></group>';
    assert.equal((await of(p, 'POST', '/groups', { body: xml })).status, 201);
    const dup = await of(p, 'POST', '/groups', { body: xml, json: true });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.exception, 'GroupAlreadyExistsException');
    const g = await of(p, 'GET', '/groups/staff', { json: true });
    assert.equal(g.json.description, 'The staff');
    assert.equal(g.json.shared, true);
    assert.deepEqual(g.json.members.sort(), ['alice@localhost', 'carol@localhost']);
    // Shared: alice sees carol in her roster.
    const alice = await p.login('alice', 'srg');
    const roster: Element = await alice.iq(el('iq', { type: 'get', id: 'r1' }, el('query', { xmlns: 'jabber:iq:roster' })));
    assert.ok(roster.getChild('query')!.getChildren('item').some((i) => i.attrs.jid === 'carol@localhost'));
    await alice.stop();
    assert.equal((await of(p, 'PUT', '/groups/staff', { body: { name: 'staff', description: 'Changed', members: ['bob'] } })).status, 200);
    const g2 = await of(p, 'GET', '/groups/staff');
    assert.equal(g2.xml!.getChildText('description'), 'Changed');
    assert.deepEqual(g2.xml!.getChild('members')!.getChildren('member').map((m) => m.text()), ['bob@localhost']);
    const list = await of(p, 'GET', '/groups', { json: true });
    assert.ok(list.json.groups.some((x: any) => x.name === 'staff'));
    assert.equal((await of(p, 'DELETE', '/groups/staff')).status, 200);
    const gone = await of(p, 'GET', '/groups/staff', { json: true });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.exception, 'GroupNotFoundException');
  });

  test('system properties: stored, derived ones read from the configuration', async () => {
    assert.equal((await of(p, 'POST', '/system/properties', { body: '<property key="my.prop" value="one"/>' })).status, 201);
    const x = await of(p, 'GET', '/system/properties/my.prop');
    assert.equal(x.xml!.attrs.key, 'my.prop');
    assert.equal(x.xml!.attrs.value, 'one');
    assert.equal((await of(p, 'PUT', '/system/properties/my.prop', { body: { key: 'my.prop', value: 'two' } })).status, 200);
    assert.deepEqual((await of(p, 'GET', '/system/properties/my.prop', { json: true })).json, { key: 'my.prop', value: 'two' });
    const d = await of(p, 'GET', '/system/properties/xmpp.domain', { json: true });
    assert.equal(d.json.value, 'localhost');
    const all = await of(p, 'GET', '/system/properties');
    assert.ok(all.xml!.getChildren('property').some((e) => e.attrs.key === 'my.prop' && e.attrs.value === 'two'));
    assert.equal((await of(p, 'DELETE', '/system/properties/my.prop')).status, 200);
    const gone = await of(p, 'GET', '/system/properties/my.prop', { json: true });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.exception, 'PropertyNotFoundException');
    assert.equal((await of(p, 'DELETE', '/system/properties/xmpp.domain')).status, 403);
    assert.equal((await of(p, 'PUT', '/system/properties/xmpp.domain', { body: { key: 'xmpp.domain', value: 'other' } })).status, 403);
    // A property that is a setting takes effect: the log level.
    assert.equal((await of(p, 'PUT', '/system/properties/log.debug.enabled', { body: '<property key="log.debug.enabled" value="true"/>' })).status, 200);
    assert.equal((await p.api('get_loglevel')).body.levelatom, 'debug');
    assert.equal((await of(p, 'GET', '/system/properties/log.debug.enabled', { json: true })).json.value, 'true');
    assert.equal((await of(p, 'POST', '/system/properties', { body: { key: 'log.debug.enabled', value: 'false' } })).status, 201);
    assert.notEqual((await p.api('get_loglevel')).body.levelatom, 'debug');
  });

  test('cluster, chat services, unread messages', async () => {
    assert.deepEqual((await of(p, 'GET', '/clustering/status', { json: true })).json, { status: 'Disabled' });
    assert.equal((await of(p, 'GET', '/clustering/nodes', { json: true })).json.clusterNodes.length, 1);
    const svc = await of(p, 'GET', '/chatservices', { json: true });
    assert.deepEqual(svc.json.chatServices.map((s: any) => s.serviceName), ['conference']);
    await p.api('send_message', { type: 'chat', from: 'alice@localhost', to: 'carol@localhost', subject: '', body: 'while you were out' });
    const unread = await of(p, 'GET', '/archive/messages/unread/carol@localhost', { json: true });
    assert.equal(unread.json.count, 1);
  });
});
