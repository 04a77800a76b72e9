import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { executeCtl } from '../../src/admin/ctl/server.js';

// A deployment that replaces the default rules: an operator account may use the session commands
// except kick_user, monitoring from loopback may read two counters, the console may do anything,
// and nobody — not even the admin — may call other commands over HTTP.
let parley: Parley;
const FORBIDDEN = { status: 'error', code: 32, message: 'AccessRules: Account does not have the right to perform the operation.' };

before(async () => {
  parley = await startParley({
    apiPermissions: {
      ops: { who: { user: ['ops@localhost'] }, what: ['[tag:session]', '!kick_user'] },
      monitoring: { from: ['http'], who: { ip: ['127.0.0.1/32'] }, what: ['connected_users_number', 'stats'] },
      console: { from: ['ctl'], who: 'all', what: ['*'] },
    },
  });
  const made = await executeCtl(parley.server, ['register', 'ops', 'localhost', 'opspw']);
  assert.equal(made.exitCode, 0, made.stdout);
  assert.equal((await executeCtl(parley.server, ['register', 'eve', 'localhost', 'evepw'])).exitCode, 0);
});
after(async () => {
  await parley.close();
});

test('a rule by user and tag, with an exclusion', async () => {
  const ops = 'ops@localhost:opspw';
  const sessions = await parley.api('connected_users', {}, ops);
  assert.equal(sessions.status, 200);
  assert.deepEqual(sessions.body, []);
  assert.equal((await parley.api('user_resources', { user: 'eve', host: 'localhost' }, ops)).status, 200);
  const kick = await parley.api('kick_user', { user: 'eve', host: 'localhost' }, ops);
  assert.equal(kick.status, 403);
  assert.deepEqual(kick.body, FORBIDDEN);
  assert.equal((await parley.api('register', { user: 'x', host: 'localhost', password: 'y' }, ops)).status, 403);
  assert.equal((await executeCtl(parley.server, ['check_account', 'x', 'localhost'])).exitCode, 1, 'nothing was created');
});

test('a rule by address: loopback callers without credentials may read the listed counters only', async () => {
  const n = await parley.api('connected_users_number', {}, null);
  assert.deepEqual(n.body, { num_sessions: 0 });
  const stat = await parley.api('stats', { name: 'registeredusers' }, null);
  assert.deepEqual(stat.body, { stat: 3 });
  assert.equal((await parley.api('registered_users', { host: 'localhost' }, null)).status, 403);
});

test('without an admin rule, the admin has no HTTP rights; the console keeps them', async () => {
  const r = await parley.api('registered_users', { host: 'localhost' });
  assert.equal(r.status, 403);
  const ctl = await executeCtl(parley.server, ['registered_users', 'localhost']);
  assert.equal(ctl.exitCode, 0);
  assert.equal(ctl.stdout, 'admin\neve\nops\n');
});

test('user policy: any account may read its own roster, not somebody else’s', async () => {
  const eve = 'eve@localhost:evepw';
  const own = await parley.api('get_roster', { user: 'eve', server: 'localhost' }, eve);
  assert.equal(own.status, 200);
  assert.deepEqual(own.body, []);
  assert.equal((await parley.api('get_offline_count', { user: 'eve', server: 'localhost' }, eve)).status, 200);
  assert.equal((await parley.api('get_roster', { user: 'ops', server: 'localhost' }, eve)).status, 403);
});

test('user policy: the account is compared as prepared names, whatever its arguments are called', async () => {
  const eve = 'eve@localhost:evepw';
  // get_roster names the host `server`, user_resources `host`: both are the account's own when prepared.
  assert.equal((await parley.api('get_roster', { user: 'EVE', server: 'LocalHost' }, eve)).status, 200);
  assert.equal((await parley.api('user_resources', { user: 'Eve', host: 'localhost' }, eve)).status, 200);
  assert.equal((await parley.api('user_resources', { user: 'ops', host: 'localhost' }, eve)).status, 403);
  // A name that does not prepare is nobody's.
  assert.equal((await parley.api('user_resources', { user: 'eve@x', host: 'localhost' }, eve)).status, 403);
});

test('a user-policy command must say which arguments name the account', () => {
  assert.throws(
    () =>
      parley.server.commands.add(
        { name: 'whose_is_it', tags: [], desc: 'x', policy: 'user', args: [], result: { name: 'res', type: 'rescode' }, exec: () => true },
        () => undefined,
      ),
    /does not say which arguments name the account/,
  );
});
