// The hosting API's changes as XMPP users see them: a deactivated account is disconnected and
// refused, keeps its data, and logs in again with its roster once reactivated; an added account
// logs in with SCRAM too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, type TestClient } from '../support/client.js';
import { hosting, hostingConfig, tokenOf, usersOf, PANEL_KEY } from './hosting-support.js';

let parley: Parley;
const call = (params: Record<string, string>) => hosting(parley.ports.http, { key: PANEL_KEY, ...params }, 'POST');
const statusOf = async (user: string) =>
  usersOf(await call({ cmd: 'jabber-list_users_no_pw' }))
    .find((l) => l.startsWith(`${user}@localhost `))
    ?.split(' ')[2];

before(async () => {
  parley = await startParley(hostingConfig());
  await parley.register('dora', 'eve');
});

after(async () => {
  await parley?.close();
});

async function loginRefused(user: string, password: string): Promise<void> {
  await assert.rejects(connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: user, password, resource: 'x' }), (err: any) => {
    assert.match(String(err?.condition ?? err?.message), /not-authorized/);
    return true;
  });
}

async function rosterOf(c: TestClient): Promise<string[]> {
  const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  return res.getChild('query')!.getChildren('item').map((i: any) => `${i.attrs.jid} ${i.attrs.subscription}`).sort();
}

test('deactivation disconnects the online client and refuses its next login; reactivation lets it in with its roster intact', async () => {
  const r = await parley.api('add_rosteritem', { localuser: 'dora', localhost: 'localhost', user: 'eve', host: 'localhost', nick: 'Eve', group: 'friends', subs: 'both' });
  assert.equal(r.status, 200);
  const dora = await parley.login('dora', 'phone');
  const before = await rosterOf(dora);
  assert.deepEqual(before, ['eve@localhost both']);
  const errors: string[] = [];
  dora.xmpp.on('error', (err: any) => err?.name === 'StreamError' && errors.push(err.condition));

  tokenOf(await call({ cmd: 'jabber-deactivate_user', username: 'dora', domain: 'localhost' }));
  assert.equal(await statusOf('dora'), 'pending-inactive');
  // Still online until the token is applied.
  await dora.sync();
  await eventually(() => errors.length === 1, 5000, 'the session closed');
  assert.deepEqual(errors, ['not-authorized']);
  // The sessions close as the change is applied, the change leaves the queue right after.
  await eventually(async () => (await statusOf('dora')) === 'inactive', 5000, 'dora inactive');
  assert.deepEqual((await parley.api('connected_users_vhost', { host: 'localhost' })).body, []);
  await loginRefused('dora', 'dorapw');
  // SCRAM as well as PLAIN; and the admin API's basic auth.
  await assert.rejects(connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'dora', password: 'dorapw', resource: 'y', mechanism: 'SCRAM-SHA-1' }));
  assert.equal((await parley.api('get_roster', { user: 'dora', server: 'localhost' }, 'dora@localhost:dorapw')).status, 401);
  // The account and its data stay.
  assert.ok((await parley.api('registered_users', { host: 'localhost' })).body.includes('dora'));
  assert.equal((await parley.api('get_roster', { user: 'dora', server: 'localhost' })).body.length, 1);

  tokenOf(await call({ cmd: 'jabber-reactivate_user', username: 'dora', domain: 'localhost' }));
  assert.equal(await statusOf('dora'), 'pending-active');
  await eventually(async () => (await statusOf('dora')) === 'active', 5000, 'dora active');
  assert.notEqual((await parley.api('get_roster', { user: 'dora', server: 'localhost' }, 'dora@localhost:dorapw')).status, 401);
  const back = await parley.login('dora', 'laptop');
  assert.deepEqual(await rosterOf(back), before);
});

test('an account added by the API logs in with SCRAM, and is removed with its sessions', async () => {
  tokenOf(await call({ cmd: 'jabber-add_user', username: 'fay', domain: 'localhost', password: 'fay-secret' }));
  await eventually(async () => (await statusOf('fay')) === 'active', 5000, 'fay active');
  const fay = await parley.login('fay', 'r', { password: 'fay-secret', mechanism: 'SCRAM-SHA-1' });
  const errors: string[] = [];
  fay.xmpp.on('error', (err: any) => err?.name === 'StreamError' && errors.push(err.condition));
  tokenOf(await call({ cmd: 'jabber-remove_user', username: 'fay', domain: 'localhost' }));
  await eventually(() => errors.length === 1, 5000, 'the session closed');
  await eventually(async () => (await statusOf('fay')) === undefined, 5000, 'fay gone');
  await loginRefused('fay', 'fay-secret');
});
