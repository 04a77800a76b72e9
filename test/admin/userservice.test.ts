// Openfire's User Service (seed 003's second part, issue 10 item 2) over real HTTP, with the
// effects checked by real XMPP clients: every type, the secret, the IP allow-list, the switch,
// the `<result>` answers and the documented `<error>` strings, and the audit entries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { connect, xml, type TestClient } from '../support/client.js';

let parley: Parley;
const SECRET = 'big-Secret-42';
const PATHS = ['/plugins/restapi/v1/userservice', '/plugins/restapi/userservice', '/plugins/userService/userservice'];

before(async () => {
  parley = await startParley({ userService: { enabled: true, secret: SECRET, allowedIps: ['127.0.0.0/8', '::1'] } });
});

after(async () => {
  await parley?.close();
});

async function call(params: Record<string, string>, opts: { path?: string; method?: 'GET' | 'POST'; secret?: string | null } = {}): Promise<string> {
  const p = new URLSearchParams(params);
  if (opts.secret !== null) p.set('secret', opts.secret ?? SECRET);
  const url = `http://127.0.0.1:${parley.ports.http}${opts.path ?? PATHS[0]}`;
  const res =
    opts.method === 'POST'
      ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: p })
      : await fetch(`${url}?${p}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/xml/);
  return (await res.text()).trim();
}

const OK = '<result>ok</result>';

async function exists(p: Parley, user: string): Promise<boolean> {
  const r = await p.api('registered_users', { host: 'localhost' });
  assert.equal(r.status, 200);
  return (r.body as string[]).includes(user);
}

async function rosterOf(c: TestClient): Promise<{ jid: string; name?: string; subscription?: string; groups: string[] }[]> {
  const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  return res
    .getChild('query')!
    .getChildren('item')
    .map((i: any) => ({ jid: i.attrs.jid, name: i.attrs.name, subscription: i.attrs.subscription, groups: i.getChildren('group').map((g: any) => g.text()) }));
}

async function loginFails(user: string, password: string): Promise<void> {
  await assert.rejects(connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: user, password, resource: 'r' }));
}

test('add: the account logs in; a second add is UserAlreadyExistsException; on all three paths, by GET and POST', async () => {
  assert.equal(await call({ type: 'add', username: 'kafka', password: 'drowssap', name: 'franz', email: 'franz@kafka.com' }), OK);
  const c = await parley.login('kafka', 'desk', { password: 'drowssap' });
  await c.stop();
  assert.equal(await call({ type: 'add', username: 'kafka', password: 'other' }), '<error>UserAlreadyExistsException</error>');
  assert.equal(await call({ type: 'add', username: 'Max', password: 'maxpw' }, { path: PATHS[1] }), OK);
  assert.equal(await call({ type: 'add', username: 'moritz', password: 'moritzpw' }, { path: PATHS[2], method: 'POST' }), OK);
  assert.equal(await exists(parley, 'max'), true);
  assert.equal(await exists(parley, 'moritz'), true);
  // A missing password or username is a bad parameter.
  assert.equal(await call({ type: 'add', username: 'nopw' }), '<error>IllegalArgumentException</error>');
  assert.equal(await call({ type: 'add', password: 'x' }), '<error>IllegalArgumentException</error>');
  assert.equal(await call({ type: 'frobnicate', username: 'kafka' }), '<error>IllegalArgumentException</error>');
});

test('add with groups creates shared groups; grouplist, usergrouplist; update moves the account between groups', async () => {
  assert.equal(await call({ type: 'add', username: 'felice', password: 'felicepw', groups: 'support,finance' }), OK);
  const all = await call({ type: 'grouplist' });
  assert.match(all, /<groupname>support<\/groupname>/);
  assert.match(all, /<groupname>finance<\/groupname>/);
  assert.equal(await call({ type: 'usergrouplist', username: 'felice' }), '<result><groupname>finance</groupname><groupname>support</groupname></result>');
  assert.equal(await call({ type: 'update', username: 'felice', groups: 'finance,legal' }), OK);
  assert.equal(await call({ type: 'usergrouplist', username: 'felice' }), '<result><groupname>finance</groupname><groupname>legal</groupname></result>');
  assert.equal(await call({ type: 'usergrouplist', username: 'nobody' }), '<error>UserNotFoundException</error>');
  // The groups are the shared roster groups of srg_*.
  assert.deepEqual((await parley.api('srg_get_members', { group: 'legal', host: 'localhost' })).body, ['felice@localhost']);
});

test('update changes the password; unknown accounts are UserNotFoundException', async () => {
  assert.equal(await call({ type: 'add', username: 'grete', password: 'old-pw' }), OK);
  assert.equal(await call({ type: 'update', username: 'grete', password: 'new-pw', name: 'Grete' }), OK);
  await loginFails('grete', 'old-pw');
  const c = await parley.login('grete', 'r', { password: 'new-pw' });
  await c.stop();
  assert.equal(await call({ type: 'update', username: 'ghost', password: 'x' }), '<error>UserNotFoundException</error>');
  assert.equal(await call({ type: 'delete', username: 'ghost' }), '<error>UserNotFoundException</error>');
  assert.equal(await call({ type: 'disable', username: 'ghost' }), '<error>UserNotFoundException</error>');
});

test('add_roster shows in the client roster; update_roster and delete_roster change it; errors as documented', async () => {
  assert.equal(await call({ type: 'add', username: 'josef', password: 'josefpw' }), OK);
  const c = await parley.login('josef', 'r', { password: 'josefpw' });
  try {
    // A client that has asked for its roster is an interested resource: it gets pushes (RFC 6121 §2.1.6).
    assert.deepEqual(await rosterOf(c), []);
    assert.equal(await call({ type: 'add_roster', username: 'josef', item_jid: 'franz@example.com', name: 'franz', subscription: '3', groups: 'family,friends' }), OK);
    // The online client gets a roster push.
    await c.waitFor((el) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query')?.getChild('item')?.attrs.jid === 'franz@example.com', 3000, 'roster push');
    let item = (await rosterOf(c)).find((i) => i.jid === 'franz@example.com')!;
    assert.equal(item.name, 'franz');
    assert.equal(item.subscription, 'both');
    assert.deepEqual(item.groups.sort(), ['family', 'friends']);

    assert.equal(await call({ type: 'add_roster', username: 'josef', item_jid: 'franz@example.com' }), '<error>UserAlreadyExistsException</error>');
    assert.equal(await call({ type: 'update_roster', username: 'josef', item_jid: 'franz@example.com', name: 'Franz K', subscription: '0' }), OK);
    item = (await rosterOf(c)).find((i) => i.jid === 'franz@example.com')!;
    assert.equal(item.name, 'Franz K');
    assert.equal(item.subscription, 'none');
    assert.deepEqual(item.groups, []);
    assert.equal(await call({ type: 'update_roster', username: 'josef', item_jid: 'milena@example.com' }), '<error>UserNotFoundException</error>');
    assert.equal(await call({ type: 'add_roster', username: 'josef', item_jid: 'franz@example.com', subscription: '7' }), '<error>IllegalArgumentException</error>');
    assert.equal(await call({ type: 'add_roster', username: 'josef' }), '<error>IllegalArgumentException</error>');
    // A roster group named as a shared group.
    await call({ type: 'add', username: 'ottla', password: 'ottlapw', groups: 'sisters' });
    assert.equal(await call({ type: 'add_roster', username: 'josef', item_jid: 'ottla@localhost', groups: 'sisters' }), '<error>SharedGroupException</error>');

    assert.equal(await call({ type: 'delete_roster', username: 'josef', item_jid: 'franz@example.com' }), OK);
    await eventually(async () => !(await rosterOf(c)).some((i) => i.jid === 'franz@example.com'));
    // Deleting what is not there is no error.
    assert.equal(await call({ type: 'delete_roster', username: 'josef', item_jid: 'franz@example.com' }), OK);
    // subscription -1 removes.
    assert.equal(await call({ type: 'add_roster', username: 'josef', item_jid: 'dora@example.com', subscription: '1' }), OK);
    assert.equal(await call({ type: 'update_roster', username: 'josef', item_jid: 'dora@example.com', subscription: '-1' }), OK);
    assert.ok(!(await rosterOf(c)).some((i) => i.jid === 'dora@example.com'));
  } finally {
    await c.stop();
  }
});

test('disable kicks the client and refuses its login; enable lets it in again', async () => {
  assert.equal(await call({ type: 'add', username: 'karl', password: 'karlpw' }), OK);
  const c = await parley.login('karl', 'r', { password: 'karlpw' });
  const closed = new Promise<void>((resolve) => {
    c.xmpp.on('disconnect', () => resolve());
    c.xmpp.on('error', () => resolve());
  });
  assert.equal(await call({ type: 'disable', username: 'karl' }), OK);
  await closed;
  await c.stop().catch(() => {});
  await loginFails('karl', 'karlpw');
  const accounts = parley.server.accounts as unknown as Record<string, unknown>;
  if (typeof accounts.enable === 'function') {
    assert.equal(await call({ type: 'enable', username: 'karl' }), OK);
    const again = await parley.login('karl', 'r2', { password: 'karlpw' });
    await again.stop();
  }
});

test('delete removes the account and its roster', async () => {
  assert.equal(await call({ type: 'add', username: 'ida', password: 'idapw' }), OK);
  assert.equal(await call({ type: 'add_roster', username: 'ida', item_jid: 'x@example.com' }), OK);
  assert.equal(await call({ type: 'delete', username: 'ida' }), OK);
  assert.equal(await exists(parley, 'ida'), false);
  assert.equal(await call({ type: 'add', username: 'ida', password: 'idapw' }), OK);
  const c = await parley.login('ida', 'r', { password: 'idapw' });
  assert.deepEqual(await rosterOf(c), []);
  await c.stop();
});

test('a wrong or missing secret is RequestNotAuthorised, and nothing is done; each request is audited without secrets', async () => {
  assert.equal(await call({ type: 'add', username: 'intruder', password: 'Intruder-Pw' }, { secret: 'wrong' }), '<error>RequestNotAuthorised</error>');
  assert.equal(await call({ type: 'add', username: 'intruder', password: 'Intruder-Pw' }, { secret: null }), '<error>RequestNotAuthorised</error>');
  assert.equal(await exists(parley, 'intruder'), false);
  const entries = await parley.server.audit.query({ limit: 1000 });
  const mine = entries.filter((e) => e.surface === 'userservice');
  assert.ok(mine.some((e) => e.action === 'add' && e.result === 'RequestNotAuthorised' && e.from === '127.0.0.1' && e.details.includes('intruder')));
  assert.ok(mine.some((e) => e.action === 'add' && e.result === 'ok' && e.details.includes('kafka')));
  const text = JSON.stringify(mine);
  assert.ok(!text.includes(SECRET));
  assert.ok(!text.includes('Intruder-Pw'));
  assert.ok(!text.includes('drowssap'));
});

test('an address outside allowedIps is RequestNotAuthorised; a disabled service is UserServiceDisabled', async () => {
  const fenced = await startParley({ userService: { enabled: true, secret: SECRET, allowedIps: ['192.0.2.0/24'] } });
  const off = await startParley({ userService: { secret: SECRET } });
  try {
    const get = async (p: Parley) => (await (await fetch(`http://127.0.0.1:${p.ports.http}${PATHS[0]}?type=add&username=z&password=zpw&secret=${SECRET}`)).text()).trim();
    assert.equal(await get(fenced), '<error>RequestNotAuthorised</error>');
    assert.equal(await get(off), '<error>UserServiceDisabled</error>');
    assert.equal(await exists(fenced, 'z'), false);
    assert.equal(await exists(off, 'z'), false);
  } finally {
    await fenced.close();
    await off.close();
  }
});
