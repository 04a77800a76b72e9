// The hosting API's envelope: format=json and format=xml for every command on success and error,
// the errors of the key and the command, and keys scoped by domain and by command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { hosting, hostingConfig, tokenOf, usersOf, PANEL_KEY, LIST_KEY, OTHER_KEY } from './hosting-support.js';

let parley: Parley;
const call = (params: Record<string, string>, method?: 'GET' | 'POST' | 'POST-query') => hosting(parley.ports.http, params, method);
const json = async (params: Record<string, string>, method?: 'GET' | 'POST') => {
  const r = await call({ ...params, format: 'json' }, method);
  assert.match(r.type ?? '', /^application\/json/);
  return JSON.parse(r.text);
};
const xml = async (params: Record<string, string>, method?: 'GET' | 'POST') => {
  const r = await call({ ...params, format: 'xml' }, method);
  assert.match(r.type ?? '', /^application\/xml/);
  return r.text;
};

before(async () => {
  // SCRAM storage (the default): no password is recoverable.
  // A delay long enough for the batch assertions below on a loaded machine.
  parley = await startParley(hostingConfig({ applyDelay: 1.5 }));
  await parley.register('alice');
  const r = await parley.api('register', { user: 'zed', host: 'example.net', password: 'zedpw' });
  assert.equal(r.status, 200);
});

after(async () => {
  await parley?.close();
});

test('JSON: data rows and result; errors carry the code as data', async () => {
  const k = { key: PANEL_KEY };
  assert.deepEqual(await json({ ...k, cmd: 'jabber-list_valid_domains' }), { data: [{ domain: 'localhost' }], result: 'success' });
  // Stored as SCRAM: list_users shows the mask where no password can be told.
  assert.deepEqual(await json({ ...k, cmd: 'jabber-list_users' }, 'POST'), {
    data: [
      { username: 'admin', domain: 'localhost', password: '********', status: 'active' },
      { username: 'alice', domain: 'localhost', password: '********', status: 'active' },
    ],
    result: 'success',
  });
  assert.deepEqual(await json({ ...k, cmd: 'jabber-list_users_no_pw' }), {
    data: [
      { username: 'admin', domain: 'localhost', password: '********', status: 'active' },
      { username: 'alice', domain: 'localhost', password: '********', status: 'active' },
    ],
    result: 'success',
  });
  const added = await json({ ...k, cmd: 'jabber-add_user', username: 'jay', domain: 'localhost', password: 'jaypw' }, 'POST');
  assert.equal(added.result, 'success');
  assert.match(added.data[0].token, /^[A-Za-z0-9]{19}$/);
  assert.deepEqual(await json({ ...k, cmd: 'jabber-add_user', username: 'jay', domain: 'localhost', password: 'jaypw' }), { data: 'user_exists', result: 'error' });
  for (const cmd of ['jabber-remove_user', 'jabber-deactivate_user', 'jabber-reactivate_user']) {
    assert.deepEqual(await json({ ...k, cmd, username: 'jay', domain: 'localhost' }), { data: 'change_already_pending', result: 'error' }, cmd);
    assert.deepEqual(await json({ ...k, cmd, domain: 'localhost' }), { data: 'no_username', result: 'error' }, cmd);
  }
  const deact = await json({ ...k, cmd: 'jabber-deactivate_user', username: 'alice', domain: 'localhost' });
  assert.equal(deact.result, 'success');
  // The same open batch: the same token.
  assert.equal(deact.data[0].token, added.data[0].token);
  await eventually(async () => (await json({ ...k, cmd: 'jabber-list_users_no_pw' })).data.some((u: any) => u.username === 'alice' && u.status === 'inactive'), 8000);
  assert.deepEqual(await json({ ...k, cmd: 'jabber-deactivate_user', username: 'alice', domain: 'localhost' }), { data: 'user_already_inactive', result: 'error' });
  const react = await json({ ...k, cmd: 'jabber-reactivate_user', username: 'alice', domain: 'localhost' }, 'POST');
  assert.equal(react.result, 'success');
  assert.notEqual(react.data[0].token, added.data[0].token, 'an applied token is not reused');
  const removed = await json({ ...k, cmd: 'jabber-remove_user', username: 'jay', domain: 'localhost' });
  assert.equal(removed.data[0].token, react.data[0].token);
});

test('XML: <dreamhost> with a <data> per row and <result>; errors as <data>code</data>', async () => {
  const k = { key: PANEL_KEY };
  assert.equal(
    await xml({ ...k, cmd: 'jabber-list_valid_domains' }),
    '<?xml version="1.0" encoding="UTF-8"?>\n<dreamhost>\n  <data>\n    <domain>localhost</domain>\n  </data>\n  <result>success</result>\n</dreamhost>\n',
  );
  const list = await xml({ ...k, cmd: 'jabber-list_users' });
  assert.match(list, /<data>\n    <username>alice<\/username>\n    <domain>localhost<\/domain>\n    <password>\*{8}<\/password>\n    <status>[a-z-]+<\/status>\n  <\/data>/);
  assert.match(await xml({ ...k, cmd: 'jabber-list_users_no_pw' }, 'POST'), /<password>\*{8}<\/password>/);
  const token = /<token>([A-Za-z0-9]{19})<\/token>/.exec(await xml({ ...k, cmd: 'jabber-add_user', username: 'x<y', domain: 'localhost', password: 'p' }));
  assert.equal(token, null);
  assert.equal(
    await xml({ ...k, cmd: 'jabber-add_user', username: 'x<y', domain: 'localhost', password: 'p' }),
    '<?xml version="1.0" encoding="UTF-8"?>\n<dreamhost>\n  <data>invalid_username</data>\n  <result>error</result>\n</dreamhost>\n',
  );
  assert.match(await xml({ ...k, cmd: 'jabber-add_user', username: 'kay', domain: 'localhost', password: 'p' }, 'POST'), /<data>\n    <token>[A-Za-z0-9]{19}<\/token>\n  <\/data>\n  <result>success<\/result>/);
  for (const cmd of ['jabber-remove_user', 'jabber-deactivate_user', 'jabber-reactivate_user']) {
    assert.match(await xml({ ...k, cmd, username: 'nobody', domain: 'localhost' }), /<data>user_does_not_exist<\/data>\n  <result>error<\/result>/, cmd);
  }
});

test('the key and the command: no_key, invalid_key, no_cmd, invalid_cmd, invalid_format, this_key_cannot_access_this_cmd', async () => {
  assert.equal((await call({ cmd: 'jabber-list_users' })).text, 'error\nno_key\n');
  assert.equal((await call({ cmd: 'jabber-list_users', key: '' })).text, 'error\nno_key\n');
  assert.equal((await call({ cmd: 'jabber-list_users', key: 'wrong-key-0123456789abcdef' }, 'POST')).text, 'error\ninvalid_key\n');
  assert.deepEqual(JSON.parse((await call({ cmd: 'jabber-list_users', key: 'nope', format: 'json' })).text), { data: 'invalid_key', result: 'error' });
  assert.equal((await call({ key: PANEL_KEY })).text, 'error\nno_cmd\n');
  assert.equal((await call({ key: PANEL_KEY, cmd: 'dns-list_records' })).text, 'error\ninvalid_cmd\n');
  assert.equal((await call({ key: PANEL_KEY, cmd: 'jabber-list_users', format: 'perl' })).text, 'error\ninvalid_format\tone of tab, json, xml\n');
  // Scoped by command: the lister key lists, and may not change anything.
  assert.equal((await call({ key: LIST_KEY, cmd: 'jabber-add_user', username: 'u', domain: 'localhost', password: 'p' })).text, 'error\nthis_key_cannot_access_this_cmd\n');
  assert.equal((await call({ key: LIST_KEY, cmd: 'jabber-list_users' })).text, 'error\nthis_key_cannot_access_this_cmd\n');
  // No domain list: every served host.
  assert.equal((await call({ key: LIST_KEY, cmd: 'jabber-list_valid_domains' })).text, 'success\ndomain\nlocalhost\nexample.net\n');
  const all = usersOf(await call({ key: LIST_KEY, cmd: 'jabber-list_users_no_pw' }));
  assert.ok(all.includes('zed@example.net ******** active') && all.some((l) => l.startsWith('alice@localhost')), all.join('\n'));
  // Other methods and paths.
  const put = await fetch(`http://127.0.0.1:${parley.ports.http}/hosting/api?key=${PANEL_KEY}&cmd=jabber-list_users`, { method: 'PUT' });
  assert.equal(put.status, 405);
  assert.equal(await put.text(), 'error\ninvalid_method\tGET or POST\n');
});

test('scoped by domain: a key sees and changes only its domains', async () => {
  const other = (p: Record<string, string>) => call({ key: OTHER_KEY, ...p });
  assert.equal((await other({ cmd: 'jabber-list_valid_domains' })).text, 'success\ndomain\nexample.net\n');
  assert.deepEqual(usersOf(await other({ cmd: 'jabber-list_users' })), ['zed@example.net ******** active']);
  assert.equal((await other({ cmd: 'jabber-deactivate_user', username: 'alice', domain: 'localhost' })).text, 'error\ninvalid_domain\n');
  assert.equal((await other({ cmd: 'jabber-add_user', username: 'amy', domain: 'localhost', password: 'p' })).text, 'error\ninvalid_domain\n');
  // A domain is matched as a host name (case-insensitive).
  const t = tokenOf(await other({ cmd: 'jabber-add_user', username: 'amy', domain: 'EXAMPLE.net', password: 'p' }));
  assert.ok(usersOf(await other({ cmd: 'jabber-list_users_no_pw' })).includes('amy@example.net ******** pending-active'));
  // Another key's batch: another token.
  const mine = tokenOf(await call({ key: PANEL_KEY, cmd: 'jabber-add_user', username: 'bea', domain: 'localhost', password: 'p' }));
  assert.notEqual(t, mine);
  assert.ok(!usersOf(await call({ key: PANEL_KEY, cmd: 'jabber-list_users_no_pw' })).some((l) => l.includes('example.net')));
});

test('every hosting request is audited: the key, the address, the command and its account, the outcome; never the password', async () => {
  await call({ key: PANEL_KEY, cmd: 'jabber-add_user', username: 'audited', domain: 'localhost', password: 'very-secret-pw' }, 'POST');
  await call({ key: PANEL_KEY, cmd: 'jabber-remove_user', username: 'ghost', domain: 'localhost' });
  await call({ key: 'bad-key-0123456789abcdef', cmd: 'jabber-list_users' });
  const entries = (await eventually(async () => {
    const all = (await parley.server.audit.query({ limit: 1000 })).filter((e) => e.surface === 'hosting');
    return all.some((e) => e.result === 'invalid_key') && all.some((e) => e.details === 'ghost@localhost') ? all : undefined;
  }, 5000, 'hosting entries'))!;
  const add = entries.find((e) => e.action === 'jabber-add_user' && e.details === 'audited@localhost')!;
  assert.deepEqual({ who: add.who, from: add.from, result: add.result }, { who: 'panel', from: '127.0.0.1', result: 'ok' });
  assert.equal(entries.find((e) => e.details === 'ghost@localhost')!.result, 'user_does_not_exist');
  assert.equal(entries.find((e) => e.result === 'invalid_key')!.who, '-');
  assert.ok(!JSON.stringify(entries).includes('very-secret-pw'));
});
