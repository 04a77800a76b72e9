// The room commands that make and clear rooms in bulk — from files in the data directory, and the
// empty and unused ones (seed 000, H25) — over real HTTP, with clients in the rooms they touch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { startParley, type Parley } from '../support/harness.js';
import { type TestClient } from '../support/client.js';
import { call, createByClient, heard, join, MUC_USER, refused, say, SERVICE } from './muc-commands-support.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
const DAY_MS = 24 * 60 * 60 * 1000;

before(async () => {
  parley = await startParley({ hosts: ['localhost', 'other.test'] });
  await parley.register('alice', 'bob');
  [alice, bob] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b')]);
});

after(async () => {
  await parley?.close();
});

const online = (service = 'global') => call(parley, 'muc_online_rooms', { service });

/** Runs `fn` with the clock `days` days ahead (the server runs in this process and reads Date.now). */
async function daysLater<T>(days: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = () => real() + days * DAY_MS;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

test('create_rooms_file: one room JID per line in a file of the data directory; each room made persistent, existing ones left alone', async () => {
  await call(parley, 'create_room_with_opts', { name: 'kept', service: SERVICE, host: 'localhost', options: [{ name: 'title', value: 'Kept' }, { name: 'persistent', value: 'true' }] });
  writeFileSync(
    joinPath(parley.dataDir, 'rooms.txt'),
    [`filed1@${SERVICE}`, '', '# rooms for the other host', 'filed2@conference.other.test  trailing words', `kept@${SERVICE}`, `filed1@${SERVICE}`, ''].join('\n'),
  );
  assert.equal(await call(parley, 'create_rooms_file', { file: 'rooms.txt' }), 0);
  const rooms = await online();
  for (const r of [`filed1@${SERVICE}`, 'filed2@conference.other.test', `kept@${SERVICE}`]) assert.ok(rooms.includes(r), r);
  assert.equal((await call(parley, 'get_room_options', { name: 'filed1', service: SERVICE })).persistent, 'true');
  assert.equal((await call(parley, 'get_room_options', { name: 'kept', service: SERVICE })).title, 'Kept');
  // A client joins a filed room: it is open (not locked).
  await join(alice, `filed1@${SERVICE}`, 'Alice');

  // A bad line refuses the whole file, before anything is made.
  writeFileSync(joinPath(parley.dataDir, 'bad.txt'), `filed3@${SERVICE}\nfiled4@conference.nowhere.test\n`);
  await refused(parley, 'create_rooms_file', { file: 'bad.txt' }, /Invalid 'service' on line 2/);
  assert.ok(!(await online()).includes(`filed3@${SERVICE}`));
  writeFileSync(joinPath(parley.dataDir, 'bad2.txt'), `a b@${SERVICE}\n`);
  // "a" has no @: skipped; but "b@.." after it is not the first word either — a line's first word only.
  assert.equal(await call(parley, 'create_rooms_file', { file: 'bad2.txt' }), 0);
  assert.ok(!(await online()).includes(`b@${SERVICE}`));

  // Files are confined to the data directory.
  assert.equal((await parley.api('create_rooms_file', { file: '/etc/passwd' })).status, 403);
  assert.equal((await parley.api('create_rooms_file', { file: '../x.txt' })).status, 403);
  assert.equal((await parley.api('create_rooms_file', { file: 'missing.txt' })).status, 404);
});

test('destroy_rooms_file: the rooms of the file go, their occupants told; a room that does not exist refuses the file and none goes', async () => {
  for (const n of ['del1', 'del2', 'stay']) {
    await call(parley, 'create_room_with_opts', { name: n, service: SERVICE, host: 'localhost', options: [{ name: 'persistent', value: 'true' }] });
  }
  await join(bob, `del1@${SERVICE}`, 'Bob');
  writeFileSync(joinPath(parley.dataDir, 'gone.txt'), `del1@${SERVICE}\ndel2@${SERVICE}\nnothere@${SERVICE}\n`);
  await refused(parley, 'destroy_rooms_file', { file: 'gone.txt' }, `Room doesn't exists: nothere@${SERVICE}`);
  assert.ok((await online()).includes(`del1@${SERVICE}`) && (await online()).includes(`del2@${SERVICE}`));

  writeFileSync(joinPath(parley.dataDir, 'gone.txt'), `del1@${SERVICE}\ndel2@${SERVICE}\n`);
  assert.equal(await call(parley, 'destroy_rooms_file', { file: 'gone.txt' }), 0);
  const rooms = await online();
  assert.ok(!rooms.includes(`del1@${SERVICE}`) && !rooms.includes(`del2@${SERVICE}`) && rooms.includes(`stay@${SERVICE}`));
  const p = await bob.waitFor((el) => el.is('presence') && el.attrs.from === `del1@${SERVICE}/Bob` && el.attrs.type === 'unavailable', 5000, 'destroy presence');
  assert.ok(p.getChild('x', MUC_USER)?.getChild('destroy'));
});

test('rooms_empty_list and rooms_empty_destroy: archived rooms where nobody ever wrote; a message makes a room not empty', async () => {
  for (const n of ['quiet', 'spoken']) {
    await call(parley, 'create_room_with_opts', { name: n, service: SERVICE, host: 'localhost', options: [{ name: 'persistent', value: 'true' }, { name: 'mam', value: 'true' }] });
  }
  // Not archived: never counted empty (as in ejabberd).
  await call(parley, 'create_room_with_opts', { name: 'unarchived', service: SERVICE, host: 'localhost', options: [{ name: 'persistent', value: 'true' }, { name: 'mam', value: 'false' }] });
  await join(alice, `spoken@${SERVICE}`, 'Alice');
  await join(bob, `spoken@${SERVICE}`, 'Bob');
  await join(bob, `quiet@${SERVICE}`, 'Bob');
  await say(alice, `spoken@${SERVICE}`, 'hello');
  await heard(bob, `spoken@${SERVICE}`, 'hello');

  const empty = await call(parley, 'rooms_empty_list', { service: SERVICE });
  assert.ok(empty.includes(`quiet@${SERVICE}`), JSON.stringify(empty));
  assert.ok(!empty.includes(`spoken@${SERVICE}`) && !empty.includes(`unarchived@${SERVICE}`), JSON.stringify(empty));
  assert.deepEqual(await call(parley, 'rooms_empty_list', { service: 'conference.other.test' }), []);
  assert.ok((await call(parley, 'rooms_empty_list', { service: 'global' })).includes(`quiet@${SERVICE}`));
  await refused(parley, 'rooms_empty_list', { service: 'conference.nowhere.test' }, "Invalid 'service'");

  const destroyed = await call(parley, 'rooms_empty_destroy', { service: SERVICE });
  assert.deepEqual(destroyed, empty);
  const p = await bob.waitFor((el) => el.is('presence') && el.attrs.from === `quiet@${SERVICE}/Bob` && el.attrs.type === 'unavailable', 5000, 'destroy presence');
  assert.equal(p.getChild('x', MUC_USER)?.getChild('destroy')?.getChildText('reason'), 'Room destroyed by rooms_empty_destroy.');
  const rooms = await online();
  assert.ok(!rooms.includes(`quiet@${SERVICE}`) && rooms.includes(`spoken@${SERVICE}`) && rooms.includes(`unarchived@${SERVICE}`));
  assert.deepEqual(await call(parley, 'rooms_empty_list', { service: SERVICE }), []);
});

test('rooms_unused_list and rooms_unused_destroy: rooms nobody is in whose last message is DAYS days old', async () => {
  // The other host's service to this test alone.
  for (const r of await online('conference.other.test')) await call(parley, 'destroy_room', { name: r.split('@')[0], service: 'conference.other.test' });
  await call(parley, 'create_room_with_opts', { name: 'idle', service: 'conference.other.test', host: 'other.test', options: [{ name: 'persistent', value: 'true' }] });
  await createByClient(alice, `busy@${SERVICE}`, 'Alice');
  await call(parley, 'change_room_option', { name: 'busy', service: SERVICE, option: 'persistent', value: 'true' });

  // Nothing is a day old yet; with 0 days, every room nobody is in.
  assert.deepEqual(await call(parley, 'rooms_unused_list', { service: 'global', days: 1 }), []);
  const now = await call(parley, 'rooms_unused_list', { service: 'global', days: 0 });
  assert.ok(now.includes('idle@conference.other.test') && !now.includes(`busy@${SERVICE}`), JSON.stringify(now));

  await daysLater(3, async () => {
    assert.deepEqual(await call(parley, 'rooms_unused_list', { service: 'conference.other.test', days: 2 }), ['idle@conference.other.test']);
    assert.deepEqual(await call(parley, 'rooms_unused_list', { service: 'conference.other.test', days: 4 }), []);
    // An occupant makes a room used, however old its last message.
    assert.ok(!(await call(parley, 'rooms_unused_list', { service: SERVICE, days: 2 })).includes(`busy@${SERVICE}`));
    assert.deepEqual(await call(parley, 'rooms_unused_destroy', { service: 'conference.other.test', days: 2 }), ['idle@conference.other.test']);
  });
  assert.ok(!(await online()).includes('idle@conference.other.test'));
  assert.ok((await online()).includes(`busy@${SERVICE}`));
  await refused(parley, 'rooms_unused_list', { service: SERVICE, days: -1 }, /Invalid number of days/);
  await refused(parley, 'rooms_unused_destroy', { service: 'nowhere', days: 1 }, "Invalid 'service'");
});
