// The srg_* commands (shared roster groups) over real HTTP: each answer, and its effect seen by real
// XMPP clients; errors in ejabberd's formats; the configured limits; a call through `parley ctl`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, type Parley } from '../support/harness.js';
import { xml, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';

const NS_ROSTER = 'jabber:iq:roster';
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'], limits: { maxSharedRosterGroups: 6, maxSharedRosterGroupMembers: 3 } });
  await parley.register('amy', 'bob', 'cat', 'dan');
});
after(async () => {
  await parley?.close();
});

/** Calls a command as admin and checks the HTTP status; returns the parsed body. */
async function call(command: string, args: Record<string, unknown>, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

async function rosterItems(c: TestClient): Promise<Record<string, string[]>> {
  const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  const out: Record<string, string[]> = {};
  for (const i of res.getChild('query', NS_ROSTER)!.getChildren('item')) out[i.attrs.jid] = i.getChildren('group').map((g: Element) => g.text()).sort();
  return out;
}

const isPush = (jid: string, subscription: string) => (el: Element) =>
  el.is('iq') && el.attrs.type === 'set' && el.getChild('query', NS_ROSTER)?.getChild('item')?.attrs.jid === jid && el.getChild('query', NS_ROSTER)?.getChild('item')?.attrs.subscription === subscription;

test('srg_create, srg_list, srg_get_info: created groups, their information, and create over an existing id', async () => {
  assert.equal(await call('srg_create', { group: 'g1', host: 'localhost', name: 'Group 1', description: 'first', display: 'g1' }), 0);
  // The seed's example: the identifiers separated by the two characters \n.
  assert.equal(await call('srg_create', { group: 'g3', host: 'localhost', name: 'Group3', description: 'Third group', display: 'g1\\ng2' }), 0);
  assert.equal(await call('srg_create', { group: 'g2', host: 'localhost', name: 'Group 2', description: '', display: '' }), 0);
  assert.deepEqual(await call('srg_list', { host: 'localhost' }), ['g1', 'g2', 'g3']);
  assert.deepEqual(await call('srg_list', { host: 'other.test' }), []);
  assert.deepEqual(await call('srg_get_info', { group: 'g3', host: 'localhost' }), [
    { key: 'name', value: 'Group3' },
    { key: 'displayed_groups', value: 'g1\ng2' },
    { key: 'description', value: 'Third group' },
  ]);
  // ejabberd 21.07's name of the argument is accepted too.
  assert.equal(await call('srg_create', { group: 'g2', host: 'localhost', label: 'Group two', description: 'second', display: 'g2' }), 0);
  assert.deepEqual(await call('srg_get_info', { group: 'g2', host: 'localhost' }), [
    { key: 'name', value: 'Group two' },
    { key: 'displayed_groups', value: 'g2' },
    { key: 'description', value: 'second' },
  ]);
  assert.deepEqual(await call('srg_list', { host: 'localhost' }), ['g1', 'g2', 'g3']);
});

test('srg_user_add, srg_get_members, srg_user_del: members see each other at once; srg_create keeps members; srg_delete', async () => {
  assert.equal(await call('srg_create', { group: 'team', host: 'localhost', name: 'Team', description: '', display: 'team' }), 0);
  const amy = await parley.login('amy', 'a');
  const bob = await parley.login('bob', 'b');
  assert.deepEqual(await rosterItems(amy), {});
  await rosterItems(bob);

  assert.equal(await call('srg_user_add', { user: 'amy', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  assert.equal(await call('srg_user_add', { user: 'Bob', host: 'LOCALHOST', group: 'team', grouphost: 'localhost' }), 0, 'names are prepared');
  assert.equal(await call('srg_user_add', { user: 'bob', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0, 'again: nothing changes');
  assert.deepEqual(await call('srg_get_members', { group: 'team', host: 'localhost' }), ['amy@localhost', 'bob@localhost']);
  await amy.waitFor(isPush('bob@localhost', 'both'), 3000, 'bob pushed to amy');
  await bob.waitFor(isPush('amy@localhost', 'both'), 3000, 'amy pushed to bob');
  await amy.waitFor((el) => el.is('presence') && String(el.attrs.from).startsWith('bob@localhost/'), 3000, "bob's presence at amy");
  assert.deepEqual(await rosterItems(amy), { 'bob@localhost': ['Team'] });

  // Re-creating the group renames it for its members and keeps them.
  assert.equal(await call('srg_create', { group: 'team', host: 'localhost', name: 'Crew', description: 'renamed', display: 'team' }), 0);
  await amy.waitFor((el) => isPush('bob@localhost', 'both')(el) && el.getChild('query', NS_ROSTER)!.getChild('item')!.getChildText('group') === 'Crew', 3000, 'renamed');
  assert.deepEqual(await call('srg_get_members', { group: 'team', host: 'localhost' }), ['amy@localhost', 'bob@localhost']);

  // A member of another served host.
  await call('register', { user: 'zoe', host: 'other.test', password: 'zoepw' });
  assert.equal(await call('srg_user_add', { user: 'zoe', host: 'other.test', group: 'team', grouphost: 'localhost' }), 0);
  await amy.waitFor(isPush('zoe@other.test', 'both'), 3000, 'zoe pushed to amy');
  assert.deepEqual(await call('srg_get_members', { group: 'team', host: 'localhost' }), ['amy@localhost', 'bob@localhost', 'zoe@other.test']);

  assert.equal(await call('srg_user_del', { user: 'bob', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  await amy.waitFor(isPush('bob@localhost', 'remove'), 3000, 'bob removed at amy');
  await bob.waitFor(isPush('amy@localhost', 'remove'), 3000, 'amy removed at bob');
  assert.deepEqual(await rosterItems(bob), {});
  assert.deepEqual(await call('srg_get_members', { group: 'team', host: 'localhost' }), ['amy@localhost', 'zoe@other.test']);

  // @all@ and @online@ are shown by srg_get_info.
  assert.equal(await call('srg_user_add', { user: '@all@', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  await amy.waitFor(isPush('cat@localhost', 'both'), 3000, 'cat (an account of the host) pushed to amy');
  assert.equal(await call('srg_user_add', { user: '@online@', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  assert.deepEqual((await call('srg_get_info', { group: 'team', host: 'localhost' })).slice(3), [
    { key: 'all_users', value: 'true' },
    { key: 'online_users', value: 'true' },
  ]);
  assert.deepEqual(await call('srg_get_members', { group: 'team', host: 'localhost' }), ['amy@localhost', 'zoe@other.test']);
  assert.equal(await call('srg_user_del', { user: '@all@', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  await amy.waitFor(isPush('cat@localhost', 'remove'), 3000, 'cat no longer shown');
  assert.equal(await call('srg_user_del', { user: '@online@', host: 'localhost', group: 'team', grouphost: 'localhost' }), 0);
  assert.equal((await call('srg_get_info', { group: 'team', host: 'localhost' })).length, 3);

  assert.equal(await call('srg_delete', { group: 'team', host: 'localhost' }), 0);
  await amy.waitFor(isPush('zoe@other.test', 'remove'), 3000, 'zoe removed after the delete');
  assert.deepEqual(await rosterItems(amy), {});
  assert.ok(!(await call('srg_list', { host: 'localhost' })).includes('team'));
});

test('errors: unknown host, unknown group, unknown user, wrong types and missing arguments, in ejabberd formats', async () => {
  const g = { group: 'g1', host: 'localhost' };
  assert.equal(await call('srg_create', { ...g, host: 'nowhere.test', name: '', description: '', display: '' }, 404), 'Unknown host: nowhere.test');
  assert.equal(await call('srg_list', { host: 'nowhere.test' }, 404), 'Unknown host: nowhere.test');
  assert.equal(await call('srg_get_info', { group: 'nope', host: 'localhost' }, 404), 'Group nope does not exist on localhost');
  assert.equal(await call('srg_get_members', { group: 'nope', host: 'localhost' }, 404), 'Group nope does not exist on localhost');
  assert.equal(await call('srg_delete', { group: 'nope', host: 'localhost' }, 404), 'Group nope does not exist on localhost');
  assert.equal(await call('srg_get_info', { group: 'g1', host: 'other.test' }, 404), 'Group g1 does not exist on other.test');
  const add = { user: 'cat', host: 'localhost', group: 'g1', grouphost: 'localhost' };
  assert.equal(await call('srg_user_add', { ...add, group: 'nope' }, 404), 'Group nope does not exist on localhost');
  assert.equal(await call('srg_user_add', { ...add, grouphost: 'nowhere.test' }, 404), 'Unknown host: nowhere.test');
  assert.equal(await call('srg_user_add', { ...add, host: 'nowhere.test' }, 404), 'Unknown host: nowhere.test');
  assert.equal(await call('srg_user_add', { ...add, user: 'nobody' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await call('srg_user_add', { ...add, user: 'a b' }, 400), 'Invalid user name: invalid localpart: prohibited character U+0020');
  assert.equal(await call('srg_user_del', add, 404), 'cat@localhost is not a member of group g1 on localhost');
  assert.equal(await call('srg_user_del', { ...add, user: '@all@' }, 404), '@all@ is not a member of group g1 on localhost');
  assert.equal(await call('srg_create', { ...g, name: 1, description: '', display: '' }, 400), 'Arg 1 is not in format binary');
  assert.equal(await call('srg_user_add', { ...add, group: ['x', 1] }, 400), 'Arg [<<120>>,1] is not in format binary');
  assert.equal(await call('srg_create', { ...g, name: 'x', description: '' }, 400), 'Request have missing argument: display');
  assert.equal(await call('srg_create', { ...g, group: '', name: 'x', description: '', display: '' }, 400), 'Invalid group identifier: empty');
  assert.equal(await call('srg_create', { ...g, name: 'x'.repeat(1025), description: '', display: '' }, 400), 'Group name longer than 1024 characters');
  assert.equal(await call('srg_get_info', { ...g, extra: 1 }, 400), 'Request have unknown arguments: [extra]');
  // Nothing changed.
  assert.deepEqual((await call('srg_get_info', g))[0], { key: 'name', value: 'Group 1' });
  assert.deepEqual(await call('srg_get_members', g), []);
});

test('limits: groups per host and members per group', async () => {
  // Six groups at most on a host (g1, g2, g3 and those of this test); members of other hosts' groups do not count.
  for (const id of ['l1', 'l2', 'l3']) assert.equal(await call('srg_create', { group: id, host: 'localhost', name: '', description: '', display: '' }), 0);
  assert.equal(
    await call('srg_create', { group: 'l4', host: 'localhost', name: '', description: '', display: '' }, 403),
    'Too many shared roster groups on localhost (limits.maxSharedRosterGroups: 6)',
  );
  assert.equal(await call('srg_create', { group: 'l1', host: 'localhost', name: 'changed', description: '', display: '' }), 0, 'an existing group can change');
  assert.equal(await call('srg_create', { group: 'l4', host: 'other.test', name: '', description: '', display: '' }), 0, 'another host has its own');
  for (const user of ['amy', 'bob', 'cat']) assert.equal(await call('srg_user_add', { user, host: 'localhost', group: 'l1', grouphost: 'localhost' }), 0);
  const add = { user: 'dan', host: 'localhost', group: 'l1', grouphost: 'localhost' };
  assert.equal(await call('srg_user_add', add, 403), 'Group l1 on localhost is full (limits.maxSharedRosterGroupMembers: 3)');
  assert.equal(await call('srg_user_add', { ...add, user: '@all@' }), 0, 'the special members are not counted');
  assert.deepEqual(await call('srg_get_members', { group: 'l1', host: 'localhost' }), ['amy@localhost', 'bob@localhost', 'cat@localhost']);
  assert.equal(await call('srg_delete', { group: 'l2', host: 'localhost' }), 0);
  assert.equal(await call('srg_create', { group: 'l4', host: 'localhost', name: '', description: '', display: '' }), 0, 'room again after a delete');
});

test('parley ctl: srg_create with a \\n-separated display, srg_get_info and srg_list print like ejabberdctl', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'parley-srg-ctl-'));
  try {
    const configFile = join(workDir, 'parley.yml');
    writeFileSync(configFile, `hosts: [localhost, other.test]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
    const ctl = (...args: string[]) =>
      new Promise<{ stdout: string; code: number | null }>((done, reject) => {
        const env = { ...process.env };
        delete env.PARLEY_CONFIG;
        const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', configFile, ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.on('error', reject);
        child.on('close', (code) => done({ stdout, code }));
      });
    // What the shell gives for ejabberdctl's example \"group1\\ngroup2\": the two characters \n between the ids.
    assert.deepEqual(await ctl('srg_create', 'ctlgroup', 'other.test', 'Ctl group', 'made by ctl', 'l4\\nctlgroup'), { stdout: '', code: 0 });
    assert.deepEqual(await ctl('srg_get_info', 'ctlgroup', 'other.test'), { stdout: 'name\tCtl group\ndisplayed_groups\tl4\nctlgroup\ndescription\tmade by ctl\n', code: 0 });
    assert.deepEqual(await ctl('srg_list', 'other.test'), { stdout: 'ctlgroup\nl4\n', code: 0 });
    assert.deepEqual(await ctl('srg_get_members', 'nope', 'other.test'), { stdout: 'Error: not_found: Group nope does not exist on other.test\n', code: 1 });
    // The same group over HTTP.
    assert.deepEqual((await call('srg_get_info', { group: 'ctlgroup', host: 'other.test' }))[1], { key: 'displayed_groups', value: 'l4\nctlgroup' });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
