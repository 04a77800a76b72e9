// The coverage listing (`npm run commands:coverage`): each command of ejabberd 20.07's API reference
// as implemented or missing, computed from the registry's declarations; every implemented command is
// documented, has the reference's signature, and is not a placeholder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES } from '../../src/server.js';
import { commandsOf } from '../../src/modules/module.js';
import { commandsIn, rescode, str } from '../../src/admin/define.js';
import { unavailable } from '../../src/errors.js';
import { EJABBERD_001_EXTRA, EJABBERD_COMMANDS } from '../../src/admin/docs/ejabberd-commands.js';
import { coverage, coverageText, differences, isPlaceholder, olderCoverage } from '../../src/admin/docs/coverage.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const commands = commandsOf(MODULES);

function printCoverage(): Promise<{ stdout: string; code: number }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'dist/src/admin/docs/print-coverage.js')], (err, stdout) => done({ stdout, code: err ? Number(err.code) : 0 }));
  });
}

test("the reference data: seed 000's 152 commands, each once, in the seed's (alphabetical) order", () => {
  assert.equal(EJABBERD_COMMANDS.length, 152);
  const names = EJABBERD_COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, 152);
  assert.deepEqual(names, [...names].sort());
  for (const c of EJABBERD_COMMANDS) assert.match(c.name, /^[a-z0-9_]+$/);
  // Spot checks against the seed's text.
  assert.deepEqual(
    EJABBERD_COMMANDS.find((c) => c.name === 'private_get'),
    { name: 'private_get', line: 3031, args: [['user', 'string'], ['host', 'string'], ['element', 'string'], ['ns', 'string']], result: ['res', 'string'] },
  );
  assert.deepEqual(EJABBERD_COMMANDS.find((c) => c.name === 'private_set')?.result, ['res', 'rescode']);
  assert.deepEqual(EJABBERD_COMMANDS.find((c) => c.name === 'status')?.result, ['res', 'restuple']);
});

test('npm run commands:coverage prints one line per reference command, computed from the registry, and the totals', async () => {
  const { stdout, code } = await printCoverage();
  assert.equal(code, 0, 'no placeholder, so the listing succeeds');
  assert.equal(stdout, coverageText(coverage(commands), olderCoverage(commands)));
  const [first, second] = stdout.split("Commands of ejabberd's older API reference");
  const rows = first!.split('\n').filter((l) => /^(implemented|missing|placeholder) /.test(l));
  const olderRows = second!.split('\n').filter((l) => /^(implemented|missing|placeholder) /.test(l));
  assert.deepEqual(olderRows.map((l) => l.split(/\s+/)[1]), EJABBERD_001_EXTRA.map((c) => c.name));
  assert.deepEqual(
    rows.map((l) => l.split(/\s+/)[1]),
    EJABBERD_COMMANDS.map((c) => c.name),
  );
  const registered = new Set(commands.map((c) => c.name));
  for (const row of rows) {
    const [status, name] = row.split(/\s+/);
    assert.equal(status, registered.has(name!) ? 'implemented' : 'missing', row);
  }
  const implemented = EJABBERD_COMMANDS.filter((c) => registered.has(c.name)).length;
  assert.ok(implemented >= 32, 'at least the commands of steps 1 to 3 and private storage');
  assert.match(stdout, new RegExp(`^152 commands in ejabberd 20.07's API reference: ${implemented} implemented, ${152 - implemented} missing, 0 placeholders$`, 'm'));
  for (const name of ['register', 'private_get', 'private_set', 'send_stanza']) assert.match(stdout, new RegExp(`^implemented ${name}\\s*$`, 'm'));
});

test('every implemented command is documented and has the signature of the reference', () => {
  const reference = new Map(EJABBERD_COMMANDS.map((c) => [c.name, c]));
  const implemented = commands.filter((c) => reference.has(c.name));
  assert.ok(implemented.length >= 32);
  for (const def of implemented) {
    assert.ok(def.desc, `${def.name}: description`);
    assert.ok(def.tags.length > 0, `${def.name}: tags`);
    assert.notEqual(def.resultExample, undefined, `${def.name}: result example`);
    for (const a of def.args) {
      assert.ok(a.desc, `${def.name} ${a.name}: description`);
      assert.notEqual(a.example, undefined, `${def.name} ${a.name}: example`);
    }
    assert.deepEqual(differences(def, reference.get(def.name)!), [], `${def.name}: signature`);
  }
});

test('no registered command is a placeholder (and the check does recognise one)', () => {
  for (const def of commands) assert.equal(isPlaceholder(def), false, `${def.name} is a placeholder`);

  // The detector itself, on made-up declarations.
  const command = commandsIn<unknown>();
  const fake = (exec: () => boolean) =>
    command({ name: 'stop', tags: ['server'], policy: 'admin', desc: 'Stop', args: [str('x', 'X', 'x')], result: rescode, resultExample: true, exec });
  assert.equal(isPlaceholder(fake(() => { throw unavailable('stop is not implemented'); })), true);
  assert.equal(isPlaceholder(fake(() => { throw new Error('Not yet implemented'); })), true);
  assert.equal(isPlaceholder(fake(() => { /* TODO */ return true; })), true);
  assert.equal(isPlaceholder(fake(() => true)), false);
  const listed = coverage([fake(() => { throw new Error('not_implemented'); })]);
  assert.equal(listed.lines.find((l) => l.name === 'stop')?.status, 'placeholder');
  assert.match(coverageText(listed), /^placeholder stop/m);
  assert.match(coverageText(listed), /1 placeholders$/m);
  // A signature that departs from the reference is reported.
  assert.deepEqual(differences(fake(() => true), EJABBERD_COMMANDS.find((c) => c.name === 'stop')!), [
    'arguments (x :: string), the reference has ()',
  ]);
});

test("issue 8: every command of the reference outside group chat, archives and PEP is implemented, and the older reference's 37 extra commands", () => {
  const registered = new Set(commands.map((c) => c.name));
  const missing = EJABBERD_COMMANDS.map((c) => c.name).filter((n) => !registered.has(n));
  const later = /room|muc_|mam|subscribers|subscribe_room|direct_invitation|bookmarks_to_pep/;
  assert.deepEqual(missing.filter((n) => !later.test(n)), [], 'only MUC, MAM and PEP commands may be missing');
  assert.ok(registered.has('delete_old_push_sessions'), 'issue 9: push sessions');
  assert.equal(EJABBERD_001_EXTRA.length, 37);
  assert.deepEqual(olderCoverage(commands).filter((l) => l.status !== 'implemented').map((l) => l.name), []);
});

test('issue 9: the message archive commands of the reference are implemented', () => {
  const registered = new Set(commands.map((c) => c.name));
  const mam = EJABBERD_COMMANDS.map((c) => c.name).filter((n) => /mam/.test(n));
  assert.deepEqual(mam, ['delete_old_mam_messages', 'remove_mam_for_user', 'remove_mam_for_user_with_peer']);
  assert.deepEqual(mam.filter((n) => !registered.has(n)), []);
});

test('issue 9: every group chat command of the reference is implemented, with its signature', () => {
  const registered = new Set(commands.map((c) => c.name));
  const groupChat = [
    'change_room_option', 'create_room', 'create_room_with_opts', 'create_rooms_file', 'destroy_room', 'destroy_rooms_file',
    'get_room_affiliation', 'get_room_affiliations', 'get_room_occupants', 'get_room_occupants_number', 'get_room_options',
    'get_subscribers', 'get_user_rooms', 'muc_online_rooms', 'muc_online_rooms_by_regex', 'muc_register_nick', 'muc_unregister_nick',
    'rooms_empty_destroy', 'rooms_empty_list', 'rooms_unused_destroy', 'rooms_unused_list', 'send_direct_invitation',
    'set_room_affiliation', 'subscribe_room', 'unsubscribe_room',
  ];
  for (const name of groupChat) assert.ok(EJABBERD_COMMANDS.some((c) => c.name === name), `${name} is in the reference`);
  assert.deepEqual(groupChat.filter((n) => !registered.has(n)), []);
  // Nothing of the reference is missing any more.
  const missing = EJABBERD_COMMANDS.map((c) => c.name).filter((n) => !registered.has(n));
  assert.deepEqual(missing, []);
  const lines = coverage(commands).lines.filter((l) => groupChat.includes(l.name));
  assert.ok(lines.every((l) => l.status === 'implemented' && l.differences.length === 0), JSON.stringify(lines.filter((l) => l.differences.length)));
});

test('issue 9: bookmarks_to_pep (PEP) is implemented with the signature of the reference', () => {
  const def = commands.find((c) => c.name === 'bookmarks_to_pep');
  assert.ok(def, 'bookmarks_to_pep is registered');
  assert.deepEqual(differences(def, EJABBERD_COMMANDS.find((c) => c.name === 'bookmarks_to_pep')!), []);
  assert.equal(coverage(commands).lines.find((l) => l.name === 'bookmarks_to_pep')?.status, 'implemented');
  // With it, every command of the reference is implemented.
  const registered = new Set(commands.map((c) => c.name));
  assert.deepEqual(EJABBERD_COMMANDS.map((c) => c.name).filter((n) => !registered.has(n)), []);
});
