// Issue 5 item 10 (admin parts): malformed percent-encodings and deeply nested JSON got a 500
// without credentials; a ctl request followed by more bytes on its connection ran twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { callCtl } from '../../src/admin/ctl/client.js';
import { nestedDeeperThan } from '../../src/admin/ejabberd/json-keys.js';

let parley: Parley;
let base: string;

before(async () => {
  parley = await startParley();
  base = `http://127.0.0.1:${parley.ports.http}`;
  await parley.register('carol');
});

after(async () => parley?.close());

/** One raw HTTP/1.1 request over a socket (no client library normalizing the target); returns status and body. */
function rawHttp(requestLine: string, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(parley.ports.http, '127.0.0.1');
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(data);
      if (!m) return reject(new Error(`no HTTP answer: ${JSON.stringify(data)}`));
      resolve({ status: Number(m[1]), body: m[2]! });
    });
    sock.write(
      `${requestLine} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

const NOT_FOUND = JSON.stringify({ status: 'error', code: 40, message: 'Endpoint not found.' });

test('malformed percent-encodings in the command name: 404 envelope, no 500', async () => {
  for (const target of ['/api/%', '/api/%zz', '/api/%E0%A4%A', '/api/st%atus', '/api/%C0%AF']) {
    for (const method of ['GET', 'POST']) {
      const r = await rawHttp(`${method} ${target}`, method === 'POST' ? '{}' : '');
      assert.deepEqual(r, { status: 404, body: NOT_FOUND }, `${method} ${target}`);
    }
  }
  // Same through fetch, and well-formed encodings still name commands.
  const f = await fetch(`${base}/api/%`);
  assert.equal(f.status, 404);
  assert.equal(await f.text(), NOT_FOUND);
  const ok = await fetch(`${base}/api/st%61tus`);
  assert.equal(ok.status, 200, 'a well-formed escape still names the command');
});

test('JSON nested 100,000 deep: 400 without credentials, and the server keeps serving', async () => {
  const depth = 100_000;
  const bodies = [
    '{"user":' + '['.repeat(depth) + ']'.repeat(depth) + ',"host":"localhost"}',
    '{"user":"x","host":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + '}',
    '['.repeat(depth) + ']'.repeat(depth),
    '['.repeat(depth), // not even closed
  ];
  for (const body of bodies) {
    const r = await rawHttp('POST /api/check_account', body);
    assert.deepEqual(r, { status: 400, body: '"Invalid JSON input: nested deeper than 64 levels"' }, body.slice(0, 30));
  }
  // 64 levels are fine: the ordinary type error, in Erlang notation, comes back.
  const nested64 = '{"user":' + '['.repeat(63) + '1' + ']'.repeat(63) + ',"host":"localhost"}';
  const r = await rawHttp('POST /api/check_account', nested64);
  assert.equal(r.status, 400);
  assert.match(r.body, /^"Arg (\[){63}1(\]){63} is not in format binary"$/);
  // Brackets inside strings do not count.
  assert.equal(nestedDeeperThan('{"a":"' + '['.repeat(1000) + '\\"[["}', 64), false);
  assert.equal((await parley.api('check_account', { user: 'carol', host: 'localhost' })).body, 0, 'still serving');
});

test('a ctl request followed by more bytes on the same connection runs once', async () => {
  const path = parley.server.addresses.ctl!;
  const offline = async () => (await callCtl(path, ['get_offline_count', 'carol', 'localhost'], 'parley@localhost')).stdout;
  assert.equal(await offline(), '0\n');

  const sock = net.connect(path);
  let answer = '';
  let answered = false;
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (answer += d));
  sock.on('end', () => (answered = true));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r) => sock.on('connect', () => r()));
  const line = JSON.stringify({ args: ['send_message', 'chat', 'admin@localhost', 'carol@localhost', '', 'once'] }) + '\n';
  sock.write(line);
  // More bytes follow on the same connection, in separate writes, until the answer comes:
  // another copy of the request, another request, and bytes that are no request at all.
  const extra = [line, '{"args":["register","mallory","localhost","pw"]}\n', 'trailing garbage'];
  for (let i = 0; !answered && i < 2000; i++) {
    sock.write(extra[i % extra.length]!);
    await new Promise((r) => setImmediate(r));
  }
  sock.end();
  await closed;

  assert.deepEqual(JSON.parse(answer), { stdout: '', exitCode: 0 }, 'one answer');
  // A later request on a new connection is served after anything the first connection started.
  await eventually(async () => Number(await offline()) >= 1, 3000, 'the message stored');
  assert.equal(await offline(), '1\n', 'the message was stored once');
  assert.equal((await parley.api('check_account', { user: 'mallory', host: 'localhost' })).body, 1, 'the trailing request did not run');
});
