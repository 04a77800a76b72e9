import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type Parley } from '../support/harness.js';
import { connect } from '../support/client.js';
import { of, startOpenfire } from './openfire-support.js';

// Users, their properties, groups and lockouts over the Openfire REST API, checked through XMPP and /api.

describe('openfire api users', () => {
  let p: Parley;
  before(async () => {
    p = await startOpenfire();
  });
  after(() => p.close());

  test('create in XML (properties as attributes), read in both media types; seen by registered_users', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><user><username>testuser</username><password>p4ssword</password>' +
      '<name>Test User</name><email>test@localhost</email><properties><property key="keyname" value="value"/><property key="team" value="blue"/></properties></user>';
    assert.equal((await of(p, 'POST', '/users', { body: xml })).status, 201);
    const x = await of(p, 'GET', '/users/testuser');
    assert.equal(x.status, 200);
    assert.equal(x.xml!.name, 'user');
    assert.equal(x.xml!.getChildText('name'), 'Test User');
    const props = x.xml!.getChild('properties')!.getChildren('property').map((e) => [e.attrs.key, e.attrs.value]);
    assert.deepEqual(props, [['keyname', 'value'], ['team', 'blue']]);
    const j = await of(p, 'GET', '/users/testuser', { json: true });
    assert.deepEqual(j.json, { username: 'testuser', name: 'Test User', email: 'test@localhost', properties: [{ key: 'keyname', value: 'value' }, { key: 'team', value: 'blue' }] });
    const reg = await p.api('registered_users', { host: 'localhost' });
    assert.ok((reg.body as string[]).includes('testuser'));
    // The password works over XMPP.
    const c = await connect({ service: `xmpp://127.0.0.1:${p.ports.c2s}`, username: 'testuser', password: 'p4ssword' });
    await c.stop();
  });

  test('both JSON dialects on input; 409 on an existing user; 400 without a password', async () => {
    const old = { username: 'olddialect', password: 'pw', name: 'Old', properties: { property: { '@key': 'team', '@value': 'red' } } };
    assert.equal((await of(p, 'POST', '/users', { body: old })).status, 201);
    const neu = { users: [{ username: 'newdialect', password: 'pw', properties: [{ key: 'team', value: 'red' }, { key: 'x', value: '1' }] }] };
    assert.equal((await of(p, 'POST', '/users', { body: neu })).status, 201);
    const dup = await of(p, 'POST', '/users', { body: { username: 'olddialect', password: 'pw' }, json: true });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.exception, 'UserAlreadyExistsException');
    const nopw = await of(p, 'POST', '/users', { body: { username: 'nopw' }, json: true });
    assert.equal(nopw.status, 400);
    assert.equal(nopw.json.exception, 'IllegalArgumentException');
    // Filters.
    const red = await of(p, 'GET', '/users?propertyKey=team&propertyValue=red', { json: true });
    assert.deepEqual(red.json.users.map((u: any) => u.username).sort(), ['newdialect', 'olddialect']);
    const search = await of(p, 'GET', '/users?search=DIALECT', { json: true });
    assert.equal(search.json.users.length, 2);
    const onlyKey = await of(p, 'GET', '/users?propertyKey=x', { json: true });
    assert.deepEqual(onlyKey.json.users.map((u: any) => u.username), ['newdialect']);
    assert.equal((await of(p, 'GET', '/users?propertyValue=red')).status, 400);
  });

  test('update, rename, delete', async () => {
    assert.equal((await of(p, 'PUT', '/users/olddialect', { body: '<user><username>olddialect</username><name>Renamed Soon</name><email>o@x</email></user>' })).status, 200);
    assert.equal((await of(p, 'GET', '/users/olddialect', { json: true })).json.email, 'o@x');
    assert.equal((await of(p, 'POST', '/users/olddialect/roster', { body: { jid: 'friend@localhost', nickname: 'Friend', subscriptionType: 3 } })).status, 201);
    assert.equal((await of(p, 'PUT', '/users/olddialect', { body: { username: 'renamed' } })).status, 200);
    // The roster moved with the account.
    const roster = await of(p, 'GET', '/users/renamed/roster', { json: true });
    assert.equal(roster.status, 200);
    assert.deepEqual(JSON.stringify(roster.json).includes('friend@localhost'), true, JSON.stringify(roster.json));
    assert.equal((await of(p, 'GET', '/users/olddialect')).status, 404);
    const r = await of(p, 'GET', '/users/renamed', { json: true });
    assert.equal(r.json.name, 'Renamed Soon');
    // The password came along.
    const c = await connect({ service: `xmpp://127.0.0.1:${p.ports.c2s}`, username: 'renamed', password: 'pw' });
    await c.stop();
    assert.equal((await of(p, 'DELETE', '/users/renamed')).status, 200);
    assert.equal((await of(p, 'DELETE', '/users/renamed')).status, 404);
    assert.equal((await of(p, 'PUT', '/users/renamed', { body: { name: 'x' } })).status, 404);
  });

  test("a user's groups", async () => {
    await p.register('grouper');
    for (const g of ['Admins', 'Support']) assert.equal((await of(p, 'POST', '/groups', { body: { name: g, description: g } })).status, 201);
    assert.equal((await of(p, 'POST', '/users/grouper/groups', { body: '<groups><groupname>Admins</groupname><groupname>Support</groupname></groups>' })).status, 201);
    const x = await of(p, 'GET', '/users/grouper/groups');
    assert.deepEqual(x.xml!.getChildren('groupname').map((e) => e.text()), ['Admins', 'Support']);
    assert.equal((await of(p, 'DELETE', '/users/grouper/groups/Admins')).status, 200);
    assert.deepEqual((await of(p, 'GET', '/users/grouper/groups', { json: true })).json, { groupname: ['Support'] });
    assert.equal((await of(p, 'DELETE', '/users/grouper/groups', { body: { groupname: ['Support'] } })).status, 200);
    assert.deepEqual((await of(p, 'GET', '/users/grouper/groups', { json: true })).json, { groupname: [] });
    assert.equal((await of(p, 'POST', '/users/grouper/groups/Support')).status, 201);
    const missing = await of(p, 'POST', '/users/grouper/groups/Nope', { json: true });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.exception, 'GroupNotFoundException');
    // The group service is the shared roster groups' one.
    const members = await p.api('srg_get_members', { group: 'Support', host: 'localhost' });
    assert.deepEqual(members.body, ['grouper@localhost']);
  });

  test('a lockout kicks the user and refuses the next login; lifting it lets them in', async () => {
    await p.register('locky');
    const c = await p.login('locky', 'r1');
    let closed = false;
    c.xmpp.on('offline', () => (closed = true));
    assert.equal((await of(p, 'POST', '/lockouts/locky')).status, 201);
    await eventually(() => closed || c.xmpp.status === 'offline' || c.xmpp.status === 'disconnect', 3000, 'kicked');
    await assert.rejects(connect({ service: `xmpp://127.0.0.1:${p.ports.c2s}`, username: 'locky', password: 'lockypw', resource: 'again' }));
    assert.equal((await of(p, 'DELETE', '/lockouts/locky')).status, 200);
    const again = await connect({ service: `xmpp://127.0.0.1:${p.ports.c2s}`, username: 'locky', password: 'lockypw', resource: 'again' });
    await again.stop();
    assert.equal((await of(p, 'POST', '/lockouts/nobody')).status, 404);
  });
});
