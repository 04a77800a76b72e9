// The room commands that make, configure, list and destroy rooms, over real HTTP, with real
// clients joining what they made and seeing what they change (seed 000, H22).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { runCtl } from '../support/ctl.js';
import { settle, xml, type TestClient } from '../support/client.js';
import { call, createByClient, itemOf, join, joinRefused, MUC_USER, refused, SERVICE, statusCodes } from './muc-commands-support.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'] });
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b'), parley.login('carol', 'c')]);
});

after(async () => {
  await parley?.close();
});

const options = (name: string, service = SERVICE) => call(parley, 'get_room_options', { name, service });

test('create_room: an open room with the default options, listed and joinable at once; a second one of that name, a bad name, service or host are refused', async () => {
  assert.equal(await call(parley, 'create_room', { name: 'plain', service: SERVICE, host: 'localhost' }), 0);
  assert.ok((await call(parley, 'muc_online_rooms', { service: SERVICE })).includes(`plain@${SERVICE}`));
  // Names are prepared as ejabberd's nodeprep does.
  assert.equal(await call(parley, 'create_room', { name: 'MixedCase', service: SERVICE, host: 'localhost' }), 0);
  assert.ok((await call(parley, 'muc_online_rooms', { service: SERVICE })).includes(`mixedcase@${SERVICE}`));

  // Not locked: the first client in gets no 201 and need not configure it.
  const self = await join(alice, `plain@${SERVICE}`, 'Alice');
  assert.ok(!statusCodes(self).includes('201'), self.toString());
  const opts = await options('plain');
  assert.equal(opts.members_only, 'false');
  assert.equal(opts.title, '');

  await refused(parley, 'create_room', { name: 'plain', service: SERVICE, host: 'localhost' }, 'Room already exists');
  await refused(parley, 'create_room', { name: 'a@b', service: SERVICE, host: 'localhost' }, "Invalid 'name'");
  await refused(parley, 'create_room', { name: 'x', service: 'conference.nowhere.test', host: 'localhost' }, "Invalid 'service'");
  await refused(parley, 'create_room', { name: 'x', service: 'bad service', host: 'localhost' }, "Invalid 'host'");
  await refused(parley, 'create_room', { name: 'x', service: SERVICE, host: 'nowhere.test' }, "Invalid 'serverhost'");
  assert.deepEqual(await call(parley, 'create_room', { name: 'x', service: SERVICE }, 400), 'Request have missing argument: host');
});

test('create_room_with_opts: the options hold for clients (members-only refuses a stranger, a password is asked) and read back under ejabberd\'s names', async () => {
  const room = `club@${SERVICE}`;
  assert.equal(
    await call(parley, 'create_room_with_opts', {
      name: 'club', service: SERVICE, host: 'localhost',
      options: [
        { name: 'members_only', value: 'true' },
        { name: 'title', value: 'The Club' },
        { name: 'description', value: 'Members meet here' },
        { name: 'persistent', value: 'true' },
        { name: 'max_users', value: '25' },
        { name: 'anonymous', value: 'false' },
        { name: 'presence_broadcast', value: '[moderator,participant]' },
        { name: 'allow_private_messages_from_visitors', value: 'nobody' },
        { name: 'affiliations', value: 'owner:alice@localhost;member=bob@localhost' },
      ],
    }),
    0,
  );
  const opts = await options('club');
  assert.equal(opts.members_only, 'true');
  assert.equal(opts.title, 'The Club');
  assert.equal(opts.description, 'Members meet here');
  assert.equal(opts.persistent, 'true');
  assert.equal(opts.max_users, '25');
  assert.equal(opts.anonymous, 'false');
  assert.equal(opts.presence_broadcast, '[moderator,participant]');
  assert.equal(opts.allow_private_messages_from_visitors, 'nobody');
  assert.equal(opts.password_protected, 'false');
  for (const v of Object.values(opts)) assert.equal(typeof v, 'string');

  // The affiliations given are the room's: alice owns it, bob is a member, carol is nobody.
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'club', service: SERVICE, jid: 'alice@localhost' }), { affiliation: 'owner' });
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'club', service: SERVICE, jid: 'bob@localhost' }), { affiliation: 'member' });

  assert.equal(await joinRefused(carol, room, 'Carol'), 'registration-required');
  const bobIn = await join(bob, room, 'Bob');
  assert.equal(itemOf(bobIn)?.affiliation, 'member');
  const aliceIn = await join(alice, room, 'Alice');
  assert.equal(itemOf(aliceIn)?.affiliation, 'owner');
  assert.equal(itemOf(aliceIn)?.role, 'moderator');

  // A password-protected room.
  assert.equal(
    await call(parley, 'create_room_with_opts', {
      name: 'vault', service: SERVICE, host: 'localhost',
      options: [{ name: 'password_protected', value: 'true' }, { name: 'password', value: 's3cret' }],
    }),
    0,
  );
  assert.equal((await options('vault')).password_protected, 'true');
  assert.equal((await options('vault')).password, 's3cret');
  assert.equal(await joinRefused(carol, `vault@${SERVICE}`, 'Carol'), 'not-authorized');
  await join(carol, `vault@${SERVICE}`, 'Carol', 's3cret');

  // No options is a room with the defaults (ejabberd: a list argument may be left out).
  assert.equal(await call(parley, 'create_room_with_opts', { name: 'bare', service: SERVICE, host: 'localhost' }), 0);
});

test('create_room_with_opts: an unknown option or a bad value is a 400 that says which, and no room is made', async () => {
  const attempt = (name: string, value: string) =>
    parley.api('create_room_with_opts', { name: 'never', service: SERVICE, host: 'localhost', options: [{ name: 'title', value: 'x' }, { name, value }] });
  const cases: [string, string, RegExp][] = [
    ['colour', 'blue', /Unknown room option: colour/],
    ['members_only', 'maybe', /members_only.*"maybe".*true or false/],
    ['max_users', 'lots', /max_users.*"lots"/],
    ['max_users', '-3', /max_users/],
    ['allow_private_messages_from_visitors', 'everyone', /allow_private_messages_from_visitors/],
    ['presence_broadcast', '[moderator,king]', /presence_broadcast/],
    ['password_protected', 'true', /needs a password/],
    ['affiliations', 'king:bob@localhost', /Invalid 'affiliation'/],
    ['affiliations', 'member:@@', /Malformed JID in affiliation/],
    ['subscribers', 'bob@localhost', /missing nick/],
    ['subscribers', 'bob@localhost=Bob=gossip', /unknown node name/],
    // Well formed, but the room would not allow subscriptions: refused, and the room is not left behind.
    ['subscribers', 'bob@localhost=Bob=messages', /subscriptions are not allowed/i],
  ];
  for (const [name, value, message] of cases) {
    const r = await attempt(name, value);
    assert.equal(r.status, 400, `${name}=${value}: ${r.status} ${r.text}`);
    assert.match(r.body, message, `${name}=${value}`);
  }
  assert.ok(!(await call(parley, 'muc_online_rooms', { service: 'global' })).includes(`never@${SERVICE}`));
  assert.deepEqual(await options('never'), {});
  // A malformed options argument is ejabberd's argument error.
  const r = await parley.api('create_room_with_opts', { name: 'never', service: SERVICE, host: 'localhost', options: 'members_only' });
  assert.equal(r.status, 400);
});

test('change_room_option: the occupants are told (status 104), the option reads back, and a client sees it hold', async () => {
  const room = `lounge@${SERVICE}`;
  await createByClient(alice, room, 'Alice');
  await join(bob, room, 'Bob');
  assert.equal(await call(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'title', value: 'Evening lounge' }), 0);
  for (const c of [alice, bob]) {
    await c.waitFor((el) => el.is('message') && el.attrs.from === room && statusCodes(el).includes('104'), 5000, `status 104 at ${c.jid}`);
  }
  assert.equal((await options('lounge')).title, 'Evening lounge');

  // members_only now keeps carol out; then public_list, max_users as ejabberd writes them.
  assert.equal(await call(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'members_only', value: 'true' }), 0);
  assert.equal(await joinRefused(carol, room, 'Carol'), 'registration-required');
  assert.equal(await call(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'max_users', value: '40' }), 0);
  assert.equal((await options('lounge')).max_users, '40');
  assert.equal(await call(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'password', value: 'pw' }), 0);
  assert.equal((await options('lounge')).password_protected, 'true');
  assert.equal(await call(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'password_protected', value: 'false' }), 0);
  assert.equal((await options('lounge')).password_protected, 'false');
  assert.equal((await options('lounge')).password, '');

  const moderated = (await options('lounge')).moderated;
  await refused(parley, 'change_room_option', { name: 'nope', service: SERVICE, option: 'title', value: 'x' }, 'Room not found');
  await refused(parley, 'change_room_option', { name: 'lounge', service: 'conference.nowhere.test', option: 'title', value: 'x' }, "Invalid 'service'");
  await refused(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'colour', value: 'x' }, /Unknown room option: colour/);
  await refused(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'moderated', value: 'yes' }, /moderated.*true or false/);
  await refused(parley, 'change_room_option', { name: 'lounge', service: SERVICE, option: 'affiliations', value: 'owner:bob@localhost' }, /only taken by create_room_with_opts/);
  assert.equal((await options('lounge')).moderated, moderated, 'a refused value changes nothing');
});

test('get_room_options: every option as ejabberd names it, strings only; a room that does not exist has none', async () => {
  await call(parley, 'create_room_with_opts', { name: 'opts', service: SERVICE, host: 'localhost', options: [{ name: 'persistent', value: 'true' }] });
  const opts = await options('opts');
  assert.deepEqual(Object.keys(opts), [
    'title', 'description', 'allow_change_subj', 'allow_query_users', 'allow_private_messages', 'allow_private_messages_from_visitors',
    'allow_visitor_status', 'allow_visitor_nickchange', 'public', 'public_list', 'persistent', 'moderated', 'members_by_default',
    'members_only', 'allow_user_invites', 'allow_subscription', 'password_protected', 'password', 'anonymous', 'presence_broadcast',
    'allow_voice_requests', 'voice_request_min_interval', 'max_users', 'logging', 'mam', 'lang',
  ]);
  for (const [k, v] of Object.entries(opts)) assert.equal(typeof v, 'string', k);
  assert.match(opts.presence_broadcast, /^\[[a-z,]*\]$/);
  // Every option read can be written back as it reads.
  for (const [option, value] of Object.entries(opts)) {
    if (option === 'password_protected') continue; // true needs a password; false is what it is
    assert.equal(await call(parley, 'change_room_option', { name: 'opts', service: SERVICE, option, value }), 0, option);
  }
  assert.deepEqual(await options('opts'), opts);
  assert.deepEqual(await options('nope'), {});
  assert.deepEqual(await options('opts', 'conference.nowhere.test'), {});
});

test('destroy_room: occupants get the destruction presence, the room is gone, and destroying it again is refused', async () => {
  const room = `doomed@${SERVICE}`;
  await createByClient(alice, room, 'Alice');
  await join(bob, room, 'Bob');
  assert.equal(await call(parley, 'destroy_room', { name: 'doomed', service: SERVICE }), 0);
  for (const [c, nick] of [[alice, 'Alice'], [bob, 'Bob']] as const) {
    const p = await c.waitFor((el) => el.is('presence') && el.attrs.from === `${room}/${nick}` && el.attrs.type === 'unavailable', 5000, 'destroy presence');
    assert.ok(p.getChild('x', MUC_USER)?.getChild('destroy'), p.toString());
  }
  assert.ok(!(await call(parley, 'muc_online_rooms', { service: SERVICE })).includes(room));
  assert.deepEqual(await call(parley, 'get_room_occupants_number', { name: 'doomed', service: SERVICE }, 400), 'room_not_found');
  await refused(parley, 'destroy_room', { name: 'doomed', service: SERVICE }, "Room doesn't exists");
  await refused(parley, 'destroy_room', { name: 'doomed', service: 'conference.nowhere.test' }, "Invalid 'service'");
  await refused(parley, 'destroy_room', { name: 'a@b', service: SERVICE }, "Invalid 'name'");
});

test("muc_online_rooms and muc_online_rooms_by_regex: one service or 'global', rooms made by clients and by commands, with their summary", async () => {
  await createByClient(carol, `chatter@${SERVICE}`, 'Carol');
  await join(bob, `chatter@${SERVICE}`, 'Bob');
  await call(parley, 'create_room_with_opts', { name: 'chapel', service: SERVICE, host: 'localhost', options: [{ name: 'public', value: 'false' }, { name: 'persistent', value: 'true' }] });
  await call(parley, 'create_room_with_opts', { name: 'chess', service: 'conference.other.test', host: 'other.test', options: [{ name: 'persistent', value: 'true' }] });

  const here = await call(parley, 'muc_online_rooms', { service: SERVICE });
  assert.ok(here.includes(`chatter@${SERVICE}`) && here.includes(`chapel@${SERVICE}`));
  assert.ok(!here.includes('chess@conference.other.test'));
  assert.deepEqual(here, [...here].sort());
  const all = await call(parley, 'muc_online_rooms', { service: 'global' });
  assert.ok(all.includes('chess@conference.other.test') && all.includes(`chatter@${SERVICE}`));
  await refused(parley, 'muc_online_rooms', { service: 'conference.nowhere.test' }, "Invalid 'service'");

  assert.deepEqual(await call(parley, 'muc_online_rooms_by_regex', { service: SERVICE, regex: '^ch' }), [
    { jid: `chapel@${SERVICE}`, public: 'false', participants: 0 },
    { jid: `chatter@${SERVICE}`, public: 'true', participants: 2 },
  ]);
  assert.deepEqual(
    (await call(parley, 'muc_online_rooms_by_regex', { service: 'global', regex: '^ch(e|att)' })).map((r: any) => r.jid),
    [`chatter@${SERVICE}`, 'chess@conference.other.test'],
  );
  assert.deepEqual(await call(parley, 'muc_online_rooms_by_regex', { service: SERVICE, regex: '^zz' }), []);
  await refused(parley, 'muc_online_rooms_by_regex', { service: SERVICE, regex: '(' }, /Invalid regex/);
  await refused(parley, 'muc_online_rooms_by_regex', { service: SERVICE, regex: 'a'.repeat(257) }, /longer than 256/);
  await refused(parley, 'muc_online_rooms_by_regex', { service: 'nowhere', regex: '.' }, "Invalid 'service'");

  // Leaving a temporary room empties it: it is no longer listed.
  await call(parley, 'create_room', { name: 'brief', service: SERVICE, host: 'localhost' });
  await join(alice, `brief@${SERVICE}`, 'Alice');
  await alice.send(xml('presence', { to: `brief@${SERVICE}/Alice`, type: 'unavailable' }));
  await settle(alice);
  await eventually(async () => !(await call(parley, 'muc_online_rooms', { service: SERVICE })).includes(`brief@${SERVICE}`), 3000, 'the emptied room to go');
});

test('parley ctl create_room_with_opts takes the options as one word of JSON, as ejabberd 23.01\'s ctl does', async () => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'parley-ctl-muc-'));
  try {
    const config = joinPath(dir, 'parley.yml');
    writeFileSync(config, `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
    const ok = await runCtl(config, ['create_room_with_opts', 'cli', SERVICE, 'localhost', '[{"name":"title","value":"From the shell"},{"name":"members_only","value":"true"}]']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await options('cli')).title, 'From the shell');
    assert.equal((await options('cli')).members_only, 'true');
    const bad = await runCtl(config, ['create_room_with_opts', 'cli2', SERVICE, 'localhost', 'title=x']);
    assert.notEqual(bad.code, 0);
    assert.deepEqual(await options('cli2'), {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
