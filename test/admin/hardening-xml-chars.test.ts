// Issue 5 item 8: characters that XML 1.0 does not allow never pass through the admin API.
// Before the fix, send_message with "a\u0000b" answered 200 and wrote a NUL into the recipient's
// stream, and a NUL in a roster nickname broke every later roster fetch of that user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn } from '../xmpp-e2e/raw.js';
import { callCtl } from '../../src/admin/ctl/client.js';
import { bindNamedArgs, ArgumentError } from '../../src/admin/ejabberd/args.js';
import type { CommandDef } from '../../src/admin/registry.js';

let parley: Parley;
let bob: RawConn;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob');
  bob = await RawConn.tcp(parley.ports.c2s);
  await bob.login('bob', 'bobpw', 'desk');
  bob.write('<presence/>');
  await bob.expect(/<presence[^>]*from="bob@localhost\/desk"/, 3000, 'own presence');
});

after(async () => {
  bob?.destroy();
  await parley?.close();
});

const ctl = (...args: string[]) => callCtl(parley.server.addresses.ctl!, args, 'parley@localhost');

/** JSON's \u escapes carry the characters exactly as an attacker would send them. */
async function postRaw(command: string, json: string): Promise<{ status: number; body: unknown }> {
  const auth = 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64');
  const res = await fetch(`http://127.0.0.1:${parley.ports.http}/api/${command}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: json,
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

test('send_message with a NUL in the body: 400 over HTTP (POST and GET), bad_argument over ctl; the recipient gets nothing broken', async () => {
  const before = bob.buf.length;
  const r = await postRaw(
    'send_message',
    '{"type":"chat","from":"alice@localhost","to":"bob@localhost/desk","subject":"","body":"a\\u0000b"}',
  );
  assert.deepEqual(r, { status: 400, body: 'Arg body holds a character that XML does not allow (U+0000)' });

  const q = new URLSearchParams({ type: 'chat', from: 'alice@localhost', to: 'bob@localhost/desk', subject: 'x\u0001', body: 'b' });
  const auth = 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64');
  const g = await fetch(`http://127.0.0.1:${parley.ports.http}/api/send_message?${q}`, { headers: { authorization: auth } });
  assert.equal(g.status, 400);
  assert.equal(await g.json(), 'Arg subject holds a character that XML does not allow (U+0001)');

  assert.deepEqual(await ctl('send_message', 'chat', 'alice@localhost', 'bob@localhost/desk', '', 'a\u0000b'), {
    stdout: 'Error: bad_argument: Arg body holds a character that XML does not allow (U+0000)\n',
    exitCode: 1,
  });

  // U+FFFE and U+FFFF are not XML characters either; tab, newline, CR and astral characters are.
  for (const [escaped, code] of [['\\uFFFE', 'FFFE'], ['\\uFFFF', 'FFFF'], ['\\u001b', '001B'], ['\\udfff', 'DFFF']]) {
    const bad = await postRaw('send_message', `{"type":"chat","from":"alice@localhost","to":"bob@localhost/desk","subject":"","body":"x${escaped}"}`);
    assert.deepEqual(bad, { status: 400, body: `Arg body holds a character that XML does not allow (U+${code})` }, escaped);
  }

  // The connection is still served, and what it received since is only the good message.
  const good = await postRaw(
    'send_message',
    '{"type":"chat","from":"alice@localhost","to":"bob@localhost/desk","subject":"","body":"ok\\t\\n\\u00e9\\ud83d\\ude00"}',
  );
  assert.deepEqual(good, { status: 200, body: 0 });
  await bob.expect(/<message [^>]*>[\s\S]*?<body>ok\t\n\u00e9\u{1F600}<\/body>[\s\S]*?<\/message>/u, 3000, 'the good message');
  const since = bob.buf.slice(before);
  assert.equal((since.match(/<message /g) ?? []).length, 1, 'only the good message arrived');
  assert.doesNotMatch(since, /[\u0000\u0001\u001b\uFFFE\uFFFF]/, 'no forbidden character reached the stream');
  assert.equal(bob.closed, false);
});

test('add_rosteritem with a NUL or a lone surrogate in the nick is refused; get_roster keeps working', async () => {
  const item = (nick: string) =>
    `{"localuser":"alice","localhost":"localhost","user":"bob","host":"localhost","nick":"${nick}","group":"","subs":"both"}`;
  assert.deepEqual(await postRaw('add_rosteritem', item('B\\u0000ob')), {
    status: 400,
    body: 'Arg nick holds a character that XML does not allow (U+0000)',
  });
  assert.deepEqual(await postRaw('add_rosteritem', item('B\\ud800ob')), {
    status: 400,
    body: 'Arg nick holds a character that XML does not allow (U+D800)',
  });
  // Strings in a list argument (ejabberd's iolist form of a string) are checked too.
  const asList = await postRaw(
    'add_rosteritem',
    '{"localuser":"alice","localhost":"localhost","user":"bob","host":"localhost","nick":"ok","group":["g","\\u0000"],"subs":"both"}',
  );
  assert.deepEqual(asList, { status: 400, body: 'Arg group holds a character that XML does not allow (U+0000)' });
  assert.deepEqual(await ctl('add_rosteritem', 'alice', 'localhost', 'bob', 'localhost', 'B\u0000ob', '', 'both'), {
    stdout: 'Error: bad_argument: Arg nick holds a character that XML does not allow (U+0000)\n',
    exitCode: 1,
  });
  assert.deepEqual(await ctl('add_rosteritem', 'alice', 'localhost', 'bob', 'localhost', 'B\ud800ob', '', 'both'), {
    stdout: 'Error: bad_argument: Arg nick holds a character that XML does not allow (U+D800)\n',
    exitCode: 1,
  });

  // Nothing was stored: the roster is empty and fetchable, over HTTP and over XMPP.
  assert.deepEqual(await parley.api('get_roster', { user: 'alice', host: 'localhost' }), { status: 200, body: [], text: '[]' });
  assert.deepEqual(await postRaw('add_rosteritem', item('Bob')), { status: 200, body: 0 });
  const roster = await parley.api('get_roster', { user: 'alice', host: 'localhost' });
  assert.equal(roster.status, 200);
  assert.deepEqual(roster.body.map((r: any) => [r.jid, r.nick]), [['bob@localhost', 'Bob']]);

  const alice = await RawConn.tcp(parley.ports.c2s);
  try {
    await alice.login('alice', 'alicepw', 'phone');
    alice.write(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`);
    const m = await alice.expect(/<iq [^>]*id="r1"[^>]*>[\s\S]*?<\/iq>/, 3000, 'roster');
    assert.match(m[0], /type="result"/);
    assert.match(m[0], /<item [^>]*jid="bob@localhost"[^>]*name="Bob"/);
  } finally {
    alice.destroy();
  }
});

test('strings nested in list and tuple arguments are checked, under the argument or field name', () => {
  const def: CommandDef = {
    name: 'nested',
    tags: [],
    desc: '',
    args: [
      { name: 'names', type: { list: { name: 'name', type: 'string' } } },
      { name: 'pair', type: { tuple: [{ name: 'left', type: 'string' }, { name: 'right', type: 'string' }] } },
    ],
    result: { name: 'res', type: 'rescode' },
    policy: 'admin',
    exec: () => true,
  };
  assert.deepEqual(bindNamedArgs(def, [['names', ['a', 'b']], ['pair', { left: 'l', right: 'r' }]], 'json'), {
    names: ['a', 'b'],
    pair: { left: 'l', right: 'r' },
  });
  assert.throws(
    () => bindNamedArgs(def, [['names', ['a', 'b\uFFFF']], ['pair', { left: 'l', right: 'r' }]], 'json'),
    (e: unknown) => e instanceof ArgumentError && e.message === 'Arg names holds a character that XML does not allow (U+FFFF)',
  );
  assert.throws(
    () => bindNamedArgs(def, [['names', []], ['pair', { left: 'l', right: '\u0008' }]], 'json'),
    (e: unknown) => e instanceof ArgumentError && e.message === 'Arg right holds a character that XML does not allow (U+0008)',
  );
});

test('the offline path: a refused message is not stored', async () => {
  const count = async () => (await parley.api('get_offline_count', { user: 'alice', host: 'localhost' })).body.value;
  const r = await postRaw('send_message', '{"type":"chat","from":"bob@localhost","to":"alice@localhost","subject":"","body":"\\u0000"}');
  assert.equal(r.status, 400);
  assert.deepEqual(await postRaw('send_message', '{"type":"chat","from":"bob@localhost","to":"alice@localhost","subject":"","body":"kept"}'), {
    status: 200,
    body: 0,
  });
  await eventually(async () => (await count()) === 1, 3000, 'one offline message');
});
