// The commands of ejabberd's older API reference (seed 001) that the current one dropped, its
// older argument names and its caller-scoped argument-less forms (H8), over real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';

let parley: Parley;

async function ok(command: string, args: Record<string, unknown> = {}, auth?: string): Promise<any> {
  const r = await parley.api(command, args, auth);
  assert.equal(r.status, 200, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob', 'carol');
});

after(async () => {
  await parley?.close();
});

test('echo_*, take_* and tell_* answer in the shapes of the reference', async () => {
  assert.deepEqual(await ok('echo_integer', { thisinteger: 5 }), { thatinteger: 5 });
  assert.deepEqual(await ok('echo_string', { thisstring: 'abcd' }), { thatstring: 'abcd' });
  assert.deepEqual(await ok('echo_integer_string', { thisinteger: 55, thisstring: 'abc' }), { thisinteger: 55, thisstring: 'abc' });
  assert.deepEqual(await ok('echo_list_integer', { thislist: [55, 4567] }), [55, 4567]);
  assert.deepEqual(await ok('echo_list_string', { thislist: ['abc', 'bobo baba'] }), ['abc', 'bobo baba']);
  assert.deepEqual(await ok('echo_integer_list_string', { thisinteger: 123456, thislist: ['abc', 'bobo baba'] }), { thatinteger: 123456, thatlist: ['abc', 'bobo baba'] });
  assert.deepEqual(
    await ok('echo_isatils', { thisinteger: 123456990, thisstring: 'This is ISATILS', thisatom: 'test_isatils', thistuple: { listlen: 2, thislist: ['word1', 'word 2'] } }),
    { thatinteger: 123456990, thatstring: 'This is ISATILS', thatatom: 'test_isatils', thattuple: { listlen: 2, thatlist: ['word1', 'word 2'] } },
  );
  for (const [command, args] of [
    ['take_integer', { thisinteger: 5 }],
    ['take_string', { thisstring: 'x' }],
    ['take_integer_string', { thisinteger: 1, thisstring: 'x' }],
    ['take_list_integer', { thislist: [1, 2] }],
    ['take_list_string', { thislist: ['a'] }],
    ['take_tuple_2integer', { thistuple: { thisinteger1: 55, thisinteger2: 4567 } }],
    ['take_tuple_2string', { thistuple: { thisstring1: 'a', thisstring2: 'b' } }],
  ] as const) {
    assert.deepEqual(await ok(command, args), { zero: 0 }, command);
  }
  assert.equal((await parley.api('take_integer', { thisinteger: 'five' })).status, 400, 'types are checked');
  assert.deepEqual(await ok('tell_atom', { thisinteger: 0 }), { thisatom: 'zero' });
  assert.deepEqual(await ok('tell_list_3integer'), [123, 456, 789]);
  assert.deepEqual(await ok('tell_list_3atom'), ['first', 'second', 'third']);
  assert.deepEqual(await ok('tell_list_3string'), ['one', 'two', 'three']);
  assert.deepEqual((await ok('tell_list_3tuple'))[0], { thisinteger: 1, thistring: 'one', thisatom: 'first' });
  assert.deepEqual(await ok('tell_tuple_3integer'), { first: 123, second: 456, third: 789 });
  assert.deepEqual(await ok('tell_tuple_3atom'), { first: 'first', second: 'second', third: 'third' });
  assert.deepEqual(await ok('tell_tuple_3string'), { first: 'one', second: 'two', third: 'three' });
  assert.deepEqual(await ok('tell_tuple_3list'), { first: [1, 2], second: ['one', 'two'], third: ['first', 'second'] });
  assert.equal(await ok('tell_rescode', { thisinteger: 0 }), 0);
  assert.equal(await ok('tell_rescode', { thisinteger: 3 }), 1);
  assert.equal(await ok('tell_restuple', { thisinteger: 0 }), 'Success');
  assert.equal((await parley.api('tell_restuple', { thisinteger: 2 })).status, 400);
});

test('the three broken commands give the internal error, and the node keeps serving', async () => {
  for (const [command, args] of [['this_crashes', { aninteger: 5 }], ['this_wrong_args', { a: 1, b: 2 }], ['this_wrong_return', {}]] as const) {
    const r = await parley.api(command, args);
    assert.deepEqual({ status: r.status, body: r.body }, { status: 500, body: 'internal_error' }, command);
    assert.ok(!r.text.includes('at '), 'no stack trace');
  }
  assert.equal((await parley.api('status')).status, 200);
});

test('pow, seq, substrs, splitjid, splitjids', async () => {
  assert.deepEqual(await ok('pow', { base: 5, exponent: 7 }), { power: 78125 });
  assert.equal((await parley.api('pow', { base: 10, exponent: 400 })).status, 400, 'no rounded giant');
  assert.deepEqual(await ok('seq', { from: 3, to: 7 }), [3, 4, 5, 6, 7]);
  assert.deepEqual(await ok('seq', { from: 7, to: 3 }), []);
  assert.equal((await parley.api('seq', { from: 0, to: 1e9 })).status, 400);
  assert.deepEqual(await ok('substrs', { word: 'abcd' }), ['a', 'ab', 'abc', 'abcd']);
  assert.deepEqual(await ok('substrs', { word: 'ñé' }), ['ñ', 'ñé']);
  assert.deepEqual(await ok('splitjid', { jid: 'Abcd@LocalHost/work' }), { user: 'abcd', server: 'localhost', resource: 'work' });
  assert.deepEqual(await ok('splitjids', { jids: ['a@b/c', 'example.com'] }), [{ user: 'a', server: 'b', resource: 'c' }, { user: '', server: 'example.com', resource: '' }]);
  const bad = await parley.api('splitjid', { jid: 'a@b@c' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Invalid JID/);
});

test('num_active_users counts accounts connected now or active within the days', async () => {
  // Registration counts as activity, as ejabberd records it ("Registered but didn't login").
  assert.deepEqual(await ok('num_active_users', { host: 'localhost', days: 3 }), { users: 4 });
  const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 86_400;
  for (const user of ['admin', 'alice']) await ok('set_last', { user, host: 'localhost', timestamp: twoDaysAgo - 100 * 86_400, status: 'ancient' });
  const c = await parley.login('alice', 'phone');
  await ok('set_last', { user: 'bob', host: 'localhost', timestamp: twoDaysAgo, status: 'gone' });
  await ok('set_last', { user: 'carol', host: 'localhost', timestamp: twoDaysAgo - 10 * 86_400, status: 'long gone' });
  assert.deepEqual(await ok('num_active_users', { host: 'localhost', days: 3 }), { users: 2 });
  assert.deepEqual(await ok('num_active_users', { host: 'localhost', days: 30 }), { users: 3 }, 'not the admin');
  assert.deepEqual(await ok('num_active_users', { host: 'localhost', days: 1 }), { users: 1 });
  assert.equal((await parley.api('num_active_users', { host: 'nowhere.test', days: 1 })).status, 404);
  await c.stop();
});

test("the older reference's argument names are accepted (add_rosteritem localserver/server)", async () => {
  assert.equal(await ok('add_rosteritem', { localuser: 'alice', localserver: 'localhost', user: 'bob', server: 'localhost', nick: 'Bob', group: 'Friends', subs: 'both' }), 0);
  const roster = await ok('get_roster', { user: 'alice', server: 'localhost' });
  assert.ok(roster.some((i: any) => i.jid === 'bob@localhost' && i.nick === 'Bob'), JSON.stringify(roster));
  assert.equal(await ok('delete_rosteritem', { localuser: 'alice', localserver: 'localhost', user: 'bob', server: 'localhost' }), 0);
});

test('H8: get_roster, get_offline_count and user_resources without arguments act on the authenticated account', async () => {
  await ok('add_rosteritem', { localuser: 'carol', localhost: 'localhost', user: 'alice', host: 'localhost', nick: 'Al', group: 'G', subs: 'to' });
  await ok('send_message', { type: 'chat', from: 'alice@localhost', to: 'carol@localhost', subject: '', body: 'hi' });
  const carol = 'carol@localhost:carolpw';
  const roster = await ok('get_roster', {}, carol);
  assert.deepEqual(roster.map((i: any) => i.jid), ['alice@localhost']);
  assert.deepEqual(await ok('get_offline_count', {}, carol), { value: 1 });
  const c = await parley.login('bob', 'laptop');
  assert.deepEqual(await ok('user_resources', {}, 'bob@localhost:bobpw'), ['laptop']);
  await c.stop();
  // Without credentials there is no account to act on; another account's data stays out of reach.
  assert.equal((await parley.api('get_roster', {}, null)).status, 400, 'missing arguments, as ejabberd checks them first');
  assert.equal((await parley.api('get_roster', { user: 'carol', server: 'localhost' }, 'bob@localhost:bobpw')).status, 403);
  // Other user commands still need their arguments.
  assert.equal((await parley.api('registered_users', {}, carol)).status, 400);
});
