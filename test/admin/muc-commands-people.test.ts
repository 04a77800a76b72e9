// The room commands about the people of a room — occupants, affiliations, a user's rooms — over
// real HTTP, reading what real clients did and changing what they see (seed 000, H23).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { settle, type TestClient } from '../support/client.js';
import { call, createByClient, itemOf, join, joinRefused, refused, SERVICE, statusCodes } from './muc-commands-support.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
const ROOM = `team@${SERVICE}`;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
  [alice, bob, carol] = await Promise.all([parley.login('alice', 'laptop'), parley.login('bob', 'phone'), parley.login('carol', 'desk')]);
  await createByClient(alice, ROOM, 'Alice');
  await join(bob, ROOM, 'Bob');
});

after(async () => {
  await parley?.close();
});

test('get_room_occupants and get_room_occupants_number: the real full JIDs, nicks and roles of the clients in the room', async () => {
  assert.deepEqual(await call(parley, 'get_room_occupants', { name: 'team', service: SERVICE }), [
    { jid: 'alice@localhost/laptop', nick: 'Alice', role: 'moderator' },
    { jid: 'bob@localhost/phone', nick: 'Bob', role: 'participant' },
  ]);
  assert.deepEqual(await call(parley, 'get_room_occupants_number', { name: 'team', service: SERVICE }), { occupants: 2 });
  await refused(parley, 'get_room_occupants', { name: 'nope', service: SERVICE }, 'room_not_found');
  await refused(parley, 'get_room_occupants', { name: 'team', service: 'conference.nowhere.test' }, 'room_not_found');
  await refused(parley, 'get_room_occupants_number', { name: 'nope', service: SERVICE }, 'room_not_found');
});

test('get_user_rooms: the rooms where the account has an occupant now', async () => {
  await call(parley, 'create_room', { name: 'side', service: SERVICE, host: 'localhost' });
  await join(bob, `side@${SERVICE}`, 'Bobby');
  assert.deepEqual(await call(parley, 'get_user_rooms', { user: 'bob', host: 'localhost' }), [`side@${SERVICE}`, ROOM]);
  assert.deepEqual(await call(parley, 'get_user_rooms', { user: 'alice', host: 'localhost' }), [ROOM]);
  assert.deepEqual(await call(parley, 'get_user_rooms', { user: 'carol', host: 'localhost' }), []);
  assert.deepEqual(await call(parley, 'get_user_rooms', { user: 'nobody', host: 'localhost' }), []);
});

test('get_room_affiliations and get_room_affiliation: the owner who made the room over XMPP, as username, domain, affiliation and reason', async () => {
  assert.deepEqual(await call(parley, 'get_room_affiliations', { name: 'team', service: SERVICE }), [
    { username: 'alice', domain: 'localhost', affiliation: 'owner', reason: '' },
  ]);
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: 'alice@localhost' }), { affiliation: 'owner' });
  // A full JID is the account's.
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: 'alice@localhost/laptop' }), { affiliation: 'owner' });
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost' }), { affiliation: 'none' });
  await refused(parley, 'get_room_affiliations', { name: 'nope', service: SERVICE }, 'The room does not exist.');
  await refused(parley, 'get_room_affiliation', { name: 'nope', service: SERVICE, jid: 'bob@localhost' }, 'The room does not exist.');
  await refused(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: '@@' }, "Invalid 'jid'");
});

test('set_room_affiliation: occupants see the change as an owner\'s; an outcast present is kicked with 301 and kept out', async () => {
  assert.equal(await call(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost', affiliation: 'member' }), 0);
  // Both occupants get bob's presence with his new affiliation.
  for (const c of [alice, bob]) {
    await c.waitFor((el) => el.is('presence') && el.attrs.from === `${ROOM}/Bob` && itemOf(el)?.affiliation === 'member', 5000, `bob as member at ${c.jid}`);
  }
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost' }), { affiliation: 'member' });
  const affs = await call(parley, 'get_room_affiliations', { name: 'team', service: SERVICE });
  assert.deepEqual(
    affs.map((a: any) => `${a.username}@${a.domain}=${a.affiliation}`).sort(),
    ['alice@localhost=owner', 'bob@localhost=member'],
  );

  // A member made admin becomes a moderator.
  assert.equal(await call(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost', affiliation: 'admin' }), 0);
  await alice.waitFor((el) => el.is('presence') && el.attrs.from === `${ROOM}/Bob` && itemOf(el)?.role === 'moderator', 5000, 'bob as moderator');

  // Outcast: bob is banned (301) and his client can no longer get in.
  assert.equal(await call(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost', affiliation: 'outcast' }), 0);
  const kicked = await bob.waitFor((el) => el.is('presence') && el.attrs.from === `${ROOM}/Bob` && el.attrs.type === 'unavailable', 5000, 'bob banned');
  assert.ok(statusCodes(kicked).includes('301'), kicked.toString());
  assert.equal(itemOf(kicked)?.affiliation, 'outcast');
  await alice.waitFor((el) => el.is('presence') && el.attrs.from === `${ROOM}/Bob` && el.attrs.type === 'unavailable' && statusCodes(el).includes('301'), 5000, 'alice sees the ban');
  await eventually(async () => (await call(parley, 'get_room_occupants_number', { name: 'team', service: SERVICE })).occupants === 1, 3000, 'one occupant left');
  assert.equal(await joinRefused(bob, ROOM, 'Bob'), 'forbidden');

  // none lifts the ban.
  assert.equal(await call(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'bob@localhost', affiliation: 'none' }), 0);
  assert.deepEqual(await call(parley, 'get_room_affiliations', { name: 'team', service: SERVICE }), [
    { username: 'alice', domain: 'localhost', affiliation: 'owner', reason: '' },
  ]);
  await join(bob, ROOM, 'Bob');

  // An account not present gets its affiliation all the same.
  assert.equal(await call(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'carol@localhost', affiliation: 'member' }), 0);
  assert.deepEqual(await call(parley, 'get_room_affiliation', { name: 'team', service: SERVICE, jid: 'carol@localhost' }), { affiliation: 'member' });
  await settle(alice, bob, carol);
});

test('set_room_affiliation: ejabberd\'s errors, affiliation checked first', async () => {
  await refused(parley, 'set_room_affiliation', { name: 'nope', service: SERVICE, jid: 'bob@localhost', affiliation: 'king' }, 'Invalid affiliation');
  await refused(parley, 'set_room_affiliation', { name: 'nope', service: SERVICE, jid: 'bob@localhost', affiliation: 'member' }, "Room doesn't exists");
  await refused(parley, 'set_room_affiliation', { name: 'team', service: 'conference.nowhere.test', jid: 'bob@localhost', affiliation: 'member' }, "Invalid 'service'");
  await refused(parley, 'set_room_affiliation', { name: 'team', service: SERVICE, jid: 'not a jid@', affiliation: 'member' }, "Invalid 'jid'");
});
