// The operations commands (issue 8 item 2) over real HTTP on a harness server: logging, modules,
// cluster and Mnesia answers, caches, configuration dump, conversion and reload. Stopping and
// restarting a whole process is in operations-process.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startParley, type Parley } from '../support/harness.js';

let parley: Parley;
let configFile: string;

function configText(extra = ''): string {
  return `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n` +
    `listen:\n  c2s: { address: 127.0.0.1, port: 0 }\n  c2sTls: { address: 127.0.0.1, port: 0 }\n  http: { address: 127.0.0.1, port: 0 }\n  https: { address: 127.0.0.1, port: 0 }\n${extra}`;
}

async function call(command: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: any; text: string }> {
  return parley.api(command, args);
}

async function ok(command: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await call(command, args);
  assert.equal(r.status, 200, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

before(async () => {
  // SQLite whatever PARLEY_TEST_STORAGE says: the configuration file below must match this server's.
  const dir = `${process.env.TMPDIR ?? '/tmp'}`;
  configFile = join(dir, `parley-ops-${process.pid}.yml`);
  parley = await startParley({ storage: { backend: 'sqlite' } }, { configFile });
  writeFileSync(configFile, configText());
});

after(async () => {
  await parley?.close();
});

test('get_loglevel and set_loglevel speak ejabberd\'s level words', async () => {
  assert.deepEqual(await ok('get_loglevel'), { levelatom: 'none' }, 'the test server is silent');
  assert.equal(await ok('set_loglevel', { loglevel: 'warning' }), 0);
  assert.deepEqual(await ok('get_loglevel'), { levelatom: 'warning' });
  assert.equal(parley.server.log.level, 'warn');
  assert.equal(await ok('set_loglevel', { loglevel: 'debug' }), 0);
  assert.deepEqual(await ok('get_loglevel'), { levelatom: 'debug' });
  const bad = await call('set_loglevel', { loglevel: 'loud' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Invalid loglevel: loud/);
  assert.equal(await ok('set_loglevel', { loglevel: 'none' }), 0);
  assert.equal(parley.server.log.level, 'silent');
});

test('modules_installed and modules_available: one name→summary object of Parley\'s modules', async () => {
  const installed = await ok('modules_installed');
  assert.equal(typeof installed, 'object');
  assert.ok(!Array.isArray(installed));
  for (const name of ['accounts', 'roster', 'vcard', 'privacy', 'operations']) assert.equal(typeof installed[name], 'string', name);
  assert.match(installed.vcard, /XEP-0054/);
  const available = await ok('modules_available');
  assert.deepEqual(Object.keys(available).sort(), Object.keys(installed).sort());
});

test('restart_module: 2 for a running module (its caches dropped), 1 for an unknown one, 400 for an unknown host', async () => {
  let cleared: string | undefined;
  parley.server.hooks.on('caches-clear', ({ module }) => {
    cleared = module ?? '*';
  });
  assert.deepEqual(await ok('restart_module', { host: 'localhost', module: 'mod_vcard' }), { res: 2 });
  assert.equal(cleared, 'vcard');
  assert.deepEqual(await ok('restart_module', { host: 'localhost', module: 'mod_nothing' }), { res: 1 });
  assert.equal((await call('restart_module', { host: 'nowhere.test', module: 'vcard' })).status, 400);
  assert.equal(await ok('clear_cache'), 0);
  assert.equal(cleared, '*', 'clear_cache tells every module');
});

test('clear_cache keeps logins working: the password caches are refilled from storage', async () => {
  await parley.register('carol');
  const c1 = await parley.login('carol', 'a');
  await c1.stop();
  assert.equal(await ok('clear_cache'), 0);
  const c2 = await parley.login('carol', 'b');
  await c2.stop();
  // A wrong password is still wrong after the caches went.
  assert.equal((await parley.api('connected_users_number', {}, 'carol@localhost:wrong')).status, 401);
});

test('gc runs a full collection; update_list is empty; list_cluster is this node', async () => {
  assert.equal(await ok('gc'), 0);
  assert.deepEqual(await ok('update_list'), []);
  assert.deepEqual(await ok('list_cluster'), [parley.server.nodeName]);
});

test('what has no Parley counterpart answers 503 with a reason, never a silent success', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['get_cookie', {}, /not an Erlang node/],
    ['module_install', { module: 'mod_rest' }, /contributed-module repository/],
    ['module_check', { module: 'mod_rest' }, /contributed-module repository/],
    ['module_uninstall', { module: 'mod_rest' }, /contributed-module repository/],
    ['module_upgrade', { module: 'mod_rest' }, /contributed-module repository/],
    ['modules_update_specs', {}, /contributed-module repository/],
    ['update', { module: 'all' }, /compile code at run time/],
    ['compile', { file: 'x.erl' }, /compile code at run time/],
    ['mnesia_info', {}, /no Mnesia/],
    ['mnesia_table_info', { table: 'roster' }, /no Mnesia/],
    ['delete_mnesia', { host: 'localhost' }, /no Mnesia/],
    ['install_fallback', { file: 'f' }, /no Mnesia/],
    ['set_master', { nodename: 'self' }, /no Mnesia/],
    ['mnesia_change_nodename', { oldnodename: 'a@b', newnodename: 'c@d', oldbackup: 'o', newbackup: 'n' }, /no Mnesia/],
    ['remove_node', { node: 'other@node' }, /Clustering is not available/],
  ];
  for (const [command, args, message] of cases) {
    const r = await call(command, args);
    assert.equal(r.status, 503, `${command} → ${r.status} ${r.text}`);
    assert.match(r.text, message, command);
  }
});

test('join_cluster and leave_cluster refuse HTTP (ctl only, as ejabberd)', async () => {
  for (const command of ['join_cluster', 'leave_cluster']) {
    const r = await call(command, { node: 'parley@other' });
    assert.equal(r.status, 403, command);
    assert.match(r.text, /only with parley ctl/);
  }
});

test('reopen_log and rotate_log without a log file say so', async () => {
  for (const command of ['reopen_log', 'rotate_log']) {
    const r = await call(command);
    assert.equal(r.status, 503);
    assert.match(r.text, /standard output/);
  }
});

test('dump_config writes the configuration in effect as YAML inside the data directory, not outside', async () => {
  assert.equal(await ok('dump_config', { out: 'dumped.yml' }), 0);
  const dumped = parse(readFileSync(join(parley.dataDir, 'dumped.yml'), 'utf8'));
  assert.deepEqual(dumped.hosts, ['localhost']);
  assert.equal(dumped.limits.maxRosterItems, parley.server.config.limits.maxRosterItems);
  const out = await call('dump_config', { out: '/tmp/parley-escape.yml' });
  assert.equal(out.status, 403);
  assert.match(out.text, /outside the data directory/);
});

test('convert_to_yaml turns an Erlang-term ejabberd.cfg into a Parley configuration', async () => {
  mkdirSync(join(parley.dataDir, 'old'), { recursive: true });
  writeFileSync(join(parley.dataDir, 'old', 'ejabberd.cfg'), `%% ejabberd 2.1 configuration
{hosts, ["example.org", "chat.example.org"]}.
{loglevel, 4}.
{listen, [
  {5222, ejabberd_c2s, [{access, c2s}, {shaper, c2s_shaper}, starttls, {certfile, "/etc/ejabberd/ejabberd.pem"}]},
  {{5280, {127,0,0,1}}, ejabberd_http, [http_bind, web_admin]},
  {5269, ejabberd_s2s_in, []}
]}.
{acl, admin, {user, "aleksey", "example.org"}}.
{access, register, [{allow, all}]}.
{auth_password_format, scram}.
{modules, [{mod_roster, []}, {mod_vcard, []}]}.
`);
  assert.equal(await ok('convert_to_yaml', { in: 'old/ejabberd.cfg', out: 'old/parley.yml' }), 0);
  const text = readFileSync(join(parley.dataDir, 'old', 'parley.yml'), 'utf8');
  const doc = parse(text);
  assert.deepEqual(doc.hosts, ['example.org', 'chat.example.org']);
  assert.deepEqual(doc.admins, ['aleksey@example.org']);
  assert.equal(doc.logLevel, 'info');
  assert.deepEqual(doc.listen.c2s, { address: '0.0.0.0', port: 5222 });
  assert.deepEqual(doc.listen.http, { address: '127.0.0.1', port: 5280 });
  assert.deepEqual(doc.c2s, { inBandRegistration: true });
  assert.deepEqual(doc.auth, { passwordFormat: 'scram' });
  assert.match(text, /# Not carried over[\s\S]*5269 \(ejabberd_s2s_in\)[\s\S]*modules/);

  writeFileSync(join(parley.dataDir, 'old', 'ejabberd.yml'), 'hosts:\n  - example.net\nloglevel: warning\nlisten:\n  - port: 5223\n    module: ejabberd_c2s\n    tls: true\nacl:\n  admin:\n    user:\n      - root@example.net\n');
  assert.equal(await ok('convert_to_yaml', { in: 'old/ejabberd.yml', out: 'old/parley2.yml' }), 0);
  const doc2 = parse(readFileSync(join(parley.dataDir, 'old', 'parley2.yml'), 'utf8'));
  assert.deepEqual(doc2, { hosts: ['example.net'], admins: ['root@example.net'], logLevel: 'warn', listen: { c2sTls: { address: '0.0.0.0', port: 5223 } } });

  writeFileSync(join(parley.dataDir, 'old', 'broken.cfg'), '{hosts, ["a"]\n');
  const bad = await call('convert_to_yaml', { in: 'old/broken.cfg', out: 'old/x.yml' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Cannot convert old\/broken.cfg: line \d+/);
  assert.equal((await call('convert_to_yaml', { in: '../../etc/passwd', out: 'old/y.yml' })).status, 403);
});

test('reload_config applies what can change at run time and names what needs a restart', async () => {
  const before = parley.server.config.limits.maxRosterItems;
  writeFileSync(configFile, configText(`limits:\n  maxRosterItems: ${before + 7}\n`));
  assert.equal(await ok('reload_config'), 0);
  assert.equal(parley.server.config.limits.maxRosterItems, before + 7);

  // A listener change is refused by name; the limit in the same file is still applied.
  writeFileSync(configFile, configText(`limits:\n  maxRosterItems: ${before + 9}\n`).replace('c2s: { address: 127.0.0.1, port: 0 }', 'c2s: { address: 127.0.0.1, port: 15222 }'));
  const r = await call('reload_config');
  assert.equal(r.status, 409, r.text);
  assert.match(r.text, /Applied: limits.maxRosterItems\. Changed but needing a restart: listen.c2s/);
  assert.equal(parley.server.config.limits.maxRosterItems, before + 9);
  assert.equal(parley.server.config.listen.c2s?.port, 0);

  // An invalid file changes nothing.
  writeFileSync(configFile, configText('limits:\n  maxRosterItems: -1\n'));
  const bad = await call('reload_config');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /maxRosterItems/);
  assert.equal(parley.server.config.limits.maxRosterItems, before + 9);

  // admins take effect at once: a new admin may call admin commands.
  await parley.register('dave');
  assert.equal((await parley.api('registered_users', { host: 'localhost' }, 'dave@localhost:davepw')).status, 403);
  writeFileSync(configFile, configText('admins: [admin@localhost, dave@localhost]\n'));
  assert.equal(await ok('reload_config'), 0);
  assert.equal((await parley.api('registered_users', { host: 'localhost' }, 'dave@localhost:davepw')).status, 200);
});
