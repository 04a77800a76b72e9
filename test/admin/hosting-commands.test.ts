// The jabber-* commands of the hosting API (seed 004) over real HTTP: each on its success and error
// paths, in the tab format, by GET and POST; and their effect seen by the ejabberd API and XMPP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { hosting, hostingConfig, tokenOf, usersOf, PANEL_KEY } from './hosting-support.js';

let parley: Parley;
const call = (params: Record<string, string>, method?: 'GET' | 'POST' | 'POST-query') => hosting(parley.ports.http, { key: PANEL_KEY, ...params }, method);
const listed = async () => usersOf(await call({ cmd: 'jabber-list_users_no_pw' }));

before(async () => {
  parley = await startParley({ ...hostingConfig(), auth: { passwordFormat: 'plain' } });
  await parley.register('alice');
});

after(async () => {
  await parley?.close();
});

test('the tab format: success, a tab-separated header row, then rows', async () => {
  const r = await call({ cmd: 'jabber-list_valid_domains' });
  assert.equal(r.status, 200);
  assert.match(r.type ?? '', /^text\/plain/);
  assert.equal(r.text, 'success\ndomain\nlocalhost\n');
  const users = await call({ cmd: 'jabber-list_users' }, 'POST');
  assert.equal(users.text.split('\n')[1], 'username\tdomain\tpassword\tstatus');
  assert.ok(users.text.includes('alice\tlocalhost\talicepw\tactive\n'), users.text);
  const nopw = await call({ cmd: 'jabber-list_users_no_pw' }, 'POST-query');
  assert.ok(nopw.text.includes('alice\tlocalhost\t********\tactive\n'), nopw.text);
});

test('add_user: pending-active until its token is applied, then registered, listed active and able to log in', async () => {
  const token = tokenOf(await call({ cmd: 'jabber-add_user', username: 'Newbie', domain: 'localhost', password: 's3cret pw' }, 'POST'));
  assert.match(token, /^[A-Za-z0-9]{19}$/);
  const users = usersOf(await call({ cmd: 'jabber-list_users' }));
  assert.ok(users.includes('newbie@localhost s3cret pw pending-active'), users.join('\n'));
  // Not an account yet.
  assert.ok(!(await parley.api('registered_users', { host: 'localhost' })).body.includes('newbie'));
  await eventually(async () => (await parley.api('registered_users', { host: 'localhost' })).body.includes('newbie'), 5000, 'the add applied');
  assert.ok((await listed()).includes('newbie@localhost ******** active'));
  const c = await parley.login('newbie', 'r', { password: 's3cret pw' });
  await c.sync();
});

test('add_user errors, in the seed order: presence, form, existence', async () => {
  const add = (p: Record<string, string>) => call({ cmd: 'jabber-add_user', ...p }).then((r) => r.text);
  assert.equal(await add({ domain: 'localhost', password: 'x' }), 'error\nno_username\n');
  assert.equal(await add({ username: '', domain: 'localhost', password: 'x' }), 'error\nno_username\n');
  assert.equal(await add({ username: 'u', password: 'x' }), 'error\nno_domain\n');
  assert.equal(await add({ username: 'u', domain: 'localhost' }), 'error\nno_password\n');
  assert.equal(await add({ username: 'a@b', domain: 'localhost', password: 'x' }), 'error\ninvalid_username\n');
  assert.equal(await add({ username: 'x'.repeat(1100), domain: 'localhost', password: 'x' }), 'error\ninvalid_username\n');
  assert.equal(await add({ username: 'u', domain: 'nowhere.example', password: 'x' }), 'error\ninvalid_domain\n');
  // A served host, but not one of this key's.
  assert.equal(await add({ username: 'u', domain: 'example.net', password: 'x' }), 'error\ninvalid_domain\n');
  assert.equal(await add({ username: 'u', domain: 'localhost', password: 'tab\there' }), 'error\ninvalid_password\n');
  assert.equal(await add({ username: 'u', domain: 'localhost', password: 'p'.repeat(2000) }), 'error\ninvalid_password\n');
  assert.equal(await add({ username: 'alice', domain: 'localhost', password: 'x' }), 'error\nuser_exists\n');
  // A pending add of the same name: the user is there already (pending-active).
  tokenOf(await call({ cmd: 'jabber-add_user', username: 'twice', domain: 'localhost', password: 'x' }));
  assert.equal(await add({ username: 'TWICE', domain: 'localhost', password: 'y' }), 'error\nuser_exists\n');
});

test('remove, deactivate and reactivate: errors of each, then change_already_pending while one is queued', async () => {
  for (const cmd of ['jabber-remove_user', 'jabber-deactivate_user', 'jabber-reactivate_user']) {
    const r = (p: Record<string, string>) => call({ cmd, ...p }).then((a) => a.text);
    assert.equal(await r({ domain: 'localhost' }), 'error\nno_username\n', cmd);
    assert.equal(await r({ username: 'alice' }), 'error\nno_domain\n', cmd);
    assert.equal(await r({ username: 'alice', domain: 'example.net' }), 'error\ninvalid_domain\n', cmd);
    assert.equal(await r({ username: 'ghost', domain: 'localhost' }), 'error\nuser_does_not_exist\n', cmd);
    assert.equal(await r({ username: 'a@b', domain: 'localhost' }), 'error\nuser_does_not_exist\n', cmd);
  }
  assert.equal((await call({ cmd: 'jabber-reactivate_user', username: 'alice', domain: 'localhost' })).text, 'error\nuser_already_active\n');
  await parley.register('carol');
  const t = tokenOf(await call({ cmd: 'jabber-deactivate_user', username: 'carol', domain: 'localhost' }));
  assert.ok((await listed()).includes('carol@localhost ******** pending-inactive'));
  for (const cmd of ['jabber-remove_user', 'jabber-deactivate_user', 'jabber-reactivate_user']) {
    assert.equal((await call({ cmd, username: 'carol', domain: 'localhost' })).text, 'error\nchange_already_pending\n', cmd);
  }
  await eventually(async () => (await listed()).includes('carol@localhost ******** inactive'), 5000, 'carol inactive');
  assert.equal((await call({ cmd: 'jabber-deactivate_user', username: 'carol', domain: 'localhost' })).text, 'error\nuser_already_inactive\n');
  assert.match(t, /^[A-Za-z0-9]{19}$/);
  // Remove: pending-delete, then gone everywhere.
  tokenOf(await call({ cmd: 'jabber-remove_user', username: 'carol', domain: 'localhost' }, 'POST'));
  assert.ok((await listed()).includes('carol@localhost ******** pending-delete'));
  assert.equal((await call({ cmd: 'jabber-reactivate_user', username: 'carol', domain: 'localhost' })).text, 'error\nchange_already_pending\n');
  await eventually(async () => !(await listed()).some((l) => l.startsWith('carol@')), 5000, 'carol removed');
  assert.ok(!(await parley.api('registered_users', { host: 'localhost' })).body.includes('carol'));
});
