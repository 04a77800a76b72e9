// One server, three dialects (issue 10): an account made through the Openfire REST API is seen by the
// ejabberd API and the hosting API, and one made by jabber-add_user (once its token is applied) by the
// Openfire API — they are one account service, not three copies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { hosting, hostingConfig, tokenOf, usersOf, PANEL_KEY } from './hosting-support.js';
import { of, SECRET } from './openfire-support.js';

let parley: Parley;
const panel = (params: Record<string, string>) => hosting(parley.ports.http, { key: PANEL_KEY, ...params });
const openfireUsers = async (): Promise<string[]> => (await of(parley, 'GET', '/users', { json: true })).json.users.map((u: { username: string }) => u.username);

before(async () => {
  parley = await startParley({ ...hostingConfig(), openfire: { enabled: true, secret: SECRET } });
});

after(() => parley?.close());

test('a user created by the Openfire API is seen by registered_users and jabber-list_users_no_pw', async () => {
  const created = await of(parley, 'POST', '/users', { body: { username: 'fromopenfire', password: 'pw-of', name: 'From Openfire' } });
  assert.equal(created.status, 201);
  assert.ok((await parley.api('registered_users', { host: 'localhost' })).body.includes('fromopenfire'));
  assert.ok(usersOf(await panel({ cmd: 'jabber-list_users_no_pw' })).includes('fromopenfire@localhost ******** active'));
  const c = await parley.login('fromopenfire', 'r', { password: 'pw-of' });
  await c.sync();
});

test('a user added by jabber-add_user is seen by GET /users once its token is applied, and not before', async () => {
  tokenOf(await panel({ cmd: 'jabber-add_user', username: 'frompanel', domain: 'localhost', password: 'pw-panel' }));
  assert.ok(!(await openfireUsers()).includes('frompanel'), 'pending, not an account yet');
  await eventually(async () => (await openfireUsers()).includes('frompanel'), 5000, 'the add applied');
  const one = await of(parley, 'GET', '/users/frompanel', { json: true });
  assert.equal(one.status, 200);
  assert.equal(one.json.username, 'frompanel');
  // Deactivated by the panel: Openfire's lockout view of the same flag.
  tokenOf(await panel({ cmd: 'jabber-deactivate_user', username: 'frompanel', domain: 'localhost' }));
  await eventually(async () => usersOf(await panel({ cmd: 'jabber-list_users_no_pw' })).includes('frompanel@localhost ******** inactive'), 5000, 'the deactivation applied');
  await assert.rejects(parley.login('frompanel', 'r', { password: 'pw-panel' }));
});
