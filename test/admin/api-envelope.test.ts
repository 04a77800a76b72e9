// The ejabberd-style HTTP envelope of /api/<command>: status codes, bodies and headers of every
// error path, over real HTTP against a running server (docs/reference/ejabberd-observed.md §0-§1, §5.1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startParley, type Parley } from '../support/harness.js';
import { connect, type TestClient } from '../support/client.js';

const NOT_AUTHORIZED = { status: 'error', code: 10, message: 'You are not authorized to call this command.' };
const FORBIDDEN = { status: 'error', code: 32, message: 'AccessRules: Account does not have the right to perform the operation.' };
const NOT_FOUND = { status: 'error', code: 40, message: 'Endpoint not found.' };
const NO_COMMAND = { status: 'error', code: 40, message: 'Missing command name.' };
const MAX_BODY = 2048;

let parley: Parley;
let carol: TestClient;
let ADMIN: string;
/** Failed basic-auth attempts this file made from 127.0.0.1 (they count against limits.authFailuresPerMinute). */
let failedAuths = 0;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

/** One HTTP request with full control over method, path, headers and raw body bytes. */
function raw(
  method: string,
  path: string,
  opts: { body?: string | Buffer; auth?: string | null; authorization?: string; headers?: Record<string, string>; port?: number } = {},
): Promise<RawResponse> {
  const headers: Record<string, string | number> = { ...opts.headers };
  const auth = opts.auth === undefined ? ADMIN : opts.auth;
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  else if (auth !== null) headers.authorization = 'Basic ' + Buffer.from(auth).toString('base64');
  if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: opts.port ?? parley.ports.http, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const post = (command: string, body: string | Buffer, opts: Parameters<typeof raw>[2] = {}) =>
  raw('POST', `/api/${command}`, { ...opts, body, headers: { 'content-type': 'application/json', ...opts.headers } });

/** Asserts status, exact JSON body, and ejabberd's constant headers on a mod_http_api answer. */
function expectJson(r: RawResponse, status: number, body: unknown, what = ''): void {
  assert.equal(r.status, status, `${what} status (body ${r.text})`);
  assert.deepEqual(r.body, body, `${what} body`);
  assert.equal(r.headers['content-type'], 'application/json', `${what} content-type`);
  assert.equal(r.headers['access-control-allow-origin'], '*', `${what} CORS origin`);
  assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, Authorization, X-Admin', `${what} CORS headers`);
  assert.ok(!r.text.endsWith('\n'), `${what} body has no trailing newline`);
}

async function wrongAuth(command: string, body: string, auth: string): Promise<RawResponse> {
  failedAuths++;
  return post(command, body, { auth });
}

before(async () => {
  parley = await startParley({ limits: { maxHttpBodySize: MAX_BODY } });
  ADMIN = `admin@localhost:${parley.adminPassword}`;
  const r = await parley.api('register', { user: 'carol', host: 'localhost', password: 'carolpass' });
  assert.equal(r.status, 200);
  carol = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'carol', password: 'carolpass', resource: 'desk' });
});

after(async () => {
  await carol?.stop();
  await parley?.close();
});

test('a valid admin call answers 200 application/json with ejabberd CORS headers and compact JSON', async () => {
  const r = await post('registered_users', '{"host":"localhost"}');
  expectJson(r, 200, ['admin', 'carol']);
  assert.equal(r.text, '["admin","carol"]');
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.text));
  assert.equal(r.headers['www-authenticate'], undefined);
});

test('no Authorization header on an admin command → 403 code 32 (POST and GET)', async () => {
  expectJson(await post('registered_users', '{"host":"localhost"}', { auth: null }), 403, FORBIDDEN, 'POST');
  expectJson(await raw('GET', '/api/registered_users?host=localhost', { auth: null }), 403, FORBIDDEN, 'GET');
  // …and nothing was done: an anonymous register does not create the account.
  expectJson(await post('register', '{"user":"anon1","host":"localhost","password":"x"}', { auth: null }), 403, FORBIDDEN);
  expectJson(await post('check_account', '{"user":"anon1","host":"localhost"}'), 200, 1, 'anon1 does not exist');
});

test('wrong password, unknown account, bare username, unserved domain, garbage header, unknown scheme → 401 code 10', async () => {
  expectJson(await wrongAuth('registered_users', '{"host":"localhost"}', 'admin@localhost:wrong'), 401, NOT_AUTHORIZED, 'wrong password');
  expectJson(await wrongAuth('registered_users', '{"host":"localhost"}', 'nobody@localhost:x'), 401, NOT_AUTHORIZED, 'unknown account');
  expectJson(await wrongAuth('registered_users', '{"host":"localhost"}', 'carol@localhost:bad'), 401, NOT_AUTHORIZED, 'non-admin wrong password');
  // These never reach a password check, so they do not count as failures.
  expectJson(await post('registered_users', '{"host":"localhost"}', { auth: `admin:${parley.adminPassword}` }), 401, NOT_AUTHORIZED, 'no domain');
  expectJson(await post('registered_users', '{"host":"localhost"}', { auth: `admin@example.org:${parley.adminPassword}` }), 401, NOT_AUTHORIZED, 'unserved domain');
  expectJson(await post('registered_users', '{"host":"localhost"}', { authorization: 'Basic !!!' }), 401, NOT_AUTHORIZED, 'garbage');
  expectJson(await post('registered_users', '{"host":"localhost"}', { authorization: 'Basic YWRtaW5AbG9jYWxob3N0' }), 401, NOT_AUTHORIZED, 'no colon');
  expectJson(await post('registered_users', '{"host":"localhost"}', { authorization: 'Digest abc' }), 401, NOT_AUTHORIZED, 'Digest');
  // A wrong password is refused even for a public command (ejabberd §5.1).
  expectJson(await wrongAuth('status', '{}', 'carol@localhost:bad'), 401, NOT_AUTHORIZED, 'public command, wrong password');
});

test('Bearer token → 401 code 10 "Oauth Token is invalid or expired."', async () => {
  const expected = { status: 'error', code: 10, message: 'Oauth Token is invalid or expired.' };
  expectJson(await post('registered_users', '{"host":"localhost"}', { authorization: 'Bearer abc' }), 401, expected);
  expectJson(await raw('GET', '/api/status', { authorization: 'Bearer ' + 'x'.repeat(40) }), 401, expected, 'GET');
});

test('a valid non-admin account → 403 code 32 on admin commands, but may read its own roster (user policy)', async () => {
  const carolAuth = 'carol@localhost:carolpass';
  expectJson(await post('registered_users', '{"host":"localhost"}', { auth: carolAuth }), 403, FORBIDDEN, 'registered_users');
  expectJson(await post('register', '{"user":"evil","host":"localhost","password":"x"}', { auth: carolAuth }), 403, FORBIDDEN, 'register');
  expectJson(await post('check_account', '{"user":"evil","host":"localhost"}'), 200, 1, 'evil was not created');
  expectJson(await post('get_roster', '{"user":"admin","host":"localhost"}', { auth: carolAuth }), 403, FORBIDDEN, "someone else's roster");
  expectJson(await post('get_roster', '{"user":"carol","host":"localhost"}', { auth: carolAuth }), 200, [], 'own roster');
  // Public commands are open to her too.
  expectJson(await post('connected_users_number', '{}', { auth: carolAuth }), 200, { num_sessions: 1 });
});

test('unknown command → 404 code 40 "Endpoint not found." whatever the credentials and method; names are case-sensitive', async () => {
  expectJson(await post('no_such_command', '{}'), 404, NOT_FOUND, 'admin');
  expectJson(await post('no_such_command', '{}', { auth: null }), 404, NOT_FOUND, 'no auth');
  // The command lookup comes before the credentials: not a 401, and not counted as a failure.
  expectJson(await post('no_such_command', '{}', { auth: 'admin@localhost:wrong' }), 404, NOT_FOUND, 'wrong password');
  expectJson(await raw('GET', '/api/no_such_command'), 404, NOT_FOUND, 'GET');
  expectJson(await post('STATUS', '{}'), 404, NOT_FOUND, 'STATUS');
  expectJson(await post('Registered_Users', '{"host":"localhost"}'), 404, NOT_FOUND, 'mixed case');
});

test('/api, /api/, /api/x/y, versioned paths, PUT and DELETE → 400 code 40 "Missing command name."', async () => {
  expectJson(await raw('POST', '/api', { body: '{}' }), 400, NO_COMMAND, '/api');
  expectJson(await raw('POST', '/api/', { body: '{}' }), 400, NO_COMMAND, '/api/');
  expectJson(await raw('POST', '/api/x/y', { body: '{}' }), 400, NO_COMMAND, '/api/x/y');
  expectJson(await raw('POST', '/api/status/extra', { body: '{}' }), 400, NO_COMMAND, '/api/status/extra');
  expectJson(await raw('POST', '/api/v1/status', { body: '{}' }), 400, NO_COMMAND, '/api/v1/status');
  expectJson(await raw('GET', '/api/status/1'), 400, NO_COMMAND, 'GET /api/status/1');
  expectJson(await raw('PUT', '/api/registered_users', { body: '{"host":"localhost"}' }), 400, NO_COMMAND, 'PUT');
  expectJson(await raw('DELETE', '/api/registered_vhosts'), 400, NO_COMMAND, 'DELETE');
  const head = await raw('HEAD', '/api/registered_vhosts');
  assert.equal(head.status, 400, 'HEAD');
  assert.equal(head.text, '', 'HEAD has no body');
});

test('OPTIONS → 200, empty body, text/plain, CORS headers; for any command, known or not, without auth', async () => {
  for (const path of ['/api/status', '/api/no_such_command', '/api/registered_users']) {
    const r = await raw('OPTIONS', path, { auth: null });
    assert.equal(r.status, 200, path);
    assert.equal(r.text, '', path);
    assert.equal(r.headers['content-type'], 'text/plain', path);
    assert.equal(r.headers['content-length'], '0', path);
    assert.equal(r.headers['access-control-allow-origin'], '*', path);
    assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, Authorization, X-Admin', path);
    assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, OPTIONS', path);
    assert.equal(r.headers['access-control-max-age'], '86400', path);
  }
});

test('POST with an empty body → 400 "Missing POST data" (a JSON string), before the command lookup and auth', async () => {
  expectJson(await raw('POST', '/api/registered_vhosts'), 400, 'Missing POST data', 'no body at all');
  expectJson(await post('registered_vhosts', ''), 400, 'Missing POST data', 'Content-Length: 0');
  expectJson(await post('registered_users', ''), 400, 'Missing POST data', 'command with args');
  expectJson(await post('no_such_command', ''), 400, 'Missing POST data', 'unknown command');
  expectJson(await post('registered_vhosts', '', { auth: null }), 400, 'Missing POST data', 'no auth');
});

test('invalid JSON → 400 "Invalid JSON input", before the command lookup and the credentials', async () => {
  expectJson(await post('registered_users', '{"host":'), 400, 'Invalid JSON input', 'truncated');
  expectJson(await post('registered_vhosts', 'xyz'), 400, 'Invalid JSON input', 'not JSON');
  expectJson(await post('registered_users', '{"host":"localhost"} x'), 400, 'Invalid JSON input', 'trailing garbage');
  expectJson(await post('registered_users', Buffer.from('{"host":"local\xffhost"}', 'latin1')), 400, 'Invalid JSON input', 'invalid UTF-8');
  expectJson(await post('no_such_command', '{x'), 400, 'Invalid JSON input', 'unknown command');
  expectJson(await post('registered_users', '{x', { auth: null }), 400, 'Invalid JSON input', 'no auth');
  expectJson(await post('registered_users', '{x', { auth: 'admin@localhost:wrong' }), 400, 'Invalid JSON input', 'wrong password');
});

test('bodies that carry no arguments run a zero-argument command: {}, { }, a lone newline, "\\n", [], null, 5', async () => {
  for (const body of ['{}', '{ }', '\n', '"\\n"', '[]', 'null', '5', ' {}\r\n']) {
    expectJson(await post('registered_vhosts', body), 200, ['localhost'], JSON.stringify(body));
  }
  // …and a command that needs arguments reports the first missing one.
  for (const body of ['{}', '\n', '[]', '["localhost"]', '"localhost"']) {
    expectJson(await post('registered_users', body), 400, 'Request have missing argument: host', JSON.stringify(body));
  }
});

test('missing, unknown and duplicate arguments: ejabberd texts and precedence', async () => {
  expectJson(await post('check_account', '{"user":"carol"}'), 400, 'Request have missing argument: host');
  expectJson(await post('check_password', '{}'), 400, 'Request have missing argument: user');
  expectJson(await post('registered_users', '{"host":"localhost","foo":"bar"}'), 400, 'Request have unknown arguments: [foo]');
  expectJson(await post('registered_users', '{"host":"localhost","foo":"bar","baz":2}'), 400, 'Request have unknown arguments: [foo,baz]');
  expectJson(await post('registered_vhosts', '{"foo":"bar"}'), 400, 'Request have unknown arguments: [foo]');
  expectJson(await post('registered_users', '{"foo":"bar"}'), 400, 'Request have missing argument: host', 'missing before unknown');
  expectJson(await post('registered_users', '{"HOST":"localhost"}'), 400, 'Request have missing argument: host', 'names are case-sensitive');
  // JSON.parse would hide a repeated key: the raw text must be inspected.
  expectJson(await post('registered_users', '{"host":"localhost","host":"localhost"}'), 400, 'Request have duplicate argument: host');
  expectJson(await post('registered_users', '{"host":"example.org","host":"localhost"}'), 400, 'Request have duplicate argument: host');
  expectJson(await post('registered_users', '{"host":"localhost" , "host" : "localhost"}'), 400, 'Request have duplicate argument: host', 'spaced');
  expectJson(await post('check_account', '{"user":"a","user":"b"}'), 400, 'Request have duplicate argument: user', 'duplicate before missing');
  expectJson(await post('registered_users', '{"host":"localhost","host":"localhost","x":1}'), 400, 'Request have duplicate argument: host', 'duplicate before unknown');
  // A key inside a nested value is not an argument.
  expectJson(await post('check_account', '{"user":["carol"],"host":"localhost","x":{"host":1}}'), 400, 'Request have unknown arguments: [x]');
  // Argument errors come before the permission check (anonymous and non-admin callers see them)…
  expectJson(await post('registered_users', '{}', { auth: null }), 400, 'Request have missing argument: host', 'anonymous');
  expectJson(await post('registered_users', '{"host":"localhost","x":1}', { auth: 'carol@localhost:carolpass' }), 400, 'Request have unknown arguments: [x]', 'non-admin');
  // …but after the credentials.
  expectJson(await wrongAuth('registered_users', '{}', 'admin@localhost:wrong'), 401, NOT_AUTHORIZED, 'wrong password + missing');
});

test('argument types: "Arg … is not in format …" in Erlang term syntax', async () => {
  const rn = (num: string) => post('resource_num', `{"user":"carol","host":"localhost","num":${num}}`);
  expectJson(await rn('"1"'), 400, 'Arg <<49>> is not in format integer', 'integer as string');
  expectJson(await rn('"abc"'), 400, 'Arg <<97,98,99>> is not in format integer');
  expectJson(await rn('1.5'), 400, 'Arg 1.5 is not in format integer');
  expectJson(await rn('true'), 400, 'Arg true is not in format integer');
  expectJson(await rn('null'), 400, 'Arg null is not in format integer');
  expectJson(await rn('"é"'), 400, 'Arg <<195,169>> is not in format integer', 'UTF-8 bytes');
  const ca = (user: string) => post('check_account', `{"user":${user},"host":"localhost"}`);
  expectJson(await ca('123'), 400, 'Arg 123 is not in format binary', 'string as number');
  expectJson(await ca('1.5'), 400, 'Arg 1.5 is not in format binary');
  expectJson(await ca('true'), 400, 'Arg true is not in format binary');
  expectJson(await ca('null'), 400, 'Arg null is not in format binary', 'string as null');
  expectJson(await ca('{"a":1}'), 400, 'Arg {[{<<97>>,1}]} is not in format binary', 'string as object');
  // A list of strings is an iolist: accepted and concatenated.
  expectJson(await ca('["carol"]'), 200, 0, 'string as [string]');
  expectJson(await ca('["ca","rol"]'), 200, 0, 'string as iolist');
  // The first bad argument in declared order; a type error before unknown arguments.
  expectJson(await post('check_account', '{"user":1,"host":2}'), 400, 'Arg 1 is not in format binary');
  expectJson(await post('resource_num', '{"user":"carol","host":"localhost","num":"1","x":1}'), 400, 'Arg <<49>> is not in format integer');
  // Type errors reach anonymous callers before the permission check, like ejabberd.
  expectJson(await post('resource_num', '{"user":"carol","host":"localhost","num":"1"}', { auth: null }), 400, 'Arg <<49>> is not in format integer');
  // A JSON integer is accepted, and the command really runs.
  expectJson(await rn('1'), 200, { resource: 'desk' });
});

test('GET takes arguments from the query string; integers may be decimal strings there (Parley deviation)', async () => {
  expectJson(await raw('GET', '/api/registered_vhosts'), 200, ['localhost']);
  expectJson(await raw('GET', '/api/registered_users?host=localhost'), 200, ['admin', 'carol']);
  expectJson(await raw('GET', '/api/check_account?user=carol&host=localhost'), 200, 0);
  expectJson(await raw('GET', '/api/check_password?user=carol&host=localhost&password=carol%70ass'), 200, 0, 'url-encoded');
  expectJson(await raw('GET', '/api/check_password?user=carol&host=localhost&password=nope'), 200, 1);
  expectJson(await raw('GET', '/api/resource_num?user=carol&host=localhost&num=1'), 200, { resource: 'desk' }, 'integer from the query string');
  expectJson(await raw('GET', '/api/resource_num?user=carol&host=localhost&num=2'), 400, 'Wrong resource number: 2');
  expectJson(await raw('GET', '/api/resource_num?user=carol&host=localhost&num=one'), 400, 'Arg <<111,110,101>> is not in format integer');
  expectJson(await raw('GET', '/api/registered_users'), 400, 'Request have missing argument: host');
  expectJson(await raw('GET', '/api/registered_users?host=localhost&foo=bar'), 400, 'Request have unknown arguments: [foo]');
  expectJson(await raw('GET', '/api/registered_users?host=localhost&host=localhost'), 400, 'Request have duplicate argument: host');
  // GET ignores a body; POST ignores the query string.
  expectJson(await raw('GET', '/api/registered_users', { body: '{"host":"localhost"}' }), 400, 'Request have missing argument: host');
  expectJson(await post('registered_users?host=example.org', '{"host":"localhost"}'), 200, ['admin', 'carol']);
  // The request Content-Type does not matter.
  expectJson(await post('registered_users', '{"host":"localhost"}', { headers: { 'content-type': 'text/plain' } }), 200, ['admin', 'carol']);
  expectJson(await post('registered_users', '{"host":"localhost"}', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 200, ['admin', 'carol']);
});

test('status and connected_users_number are public from loopback; nothing else is', async () => {
  const status = await post('status', '{}', { auth: null });
  assert.equal(status.status, 200);
  assert.match(status.body, /^The node parley@localhost is started/);
  expectJson(await post('connected_users_number', '{}', { auth: null }), 200, { num_sessions: 1 }, 'counts carol');
  expectJson(await raw('GET', '/api/connected_users_number', { auth: null }), 200, { num_sessions: 1 }, 'GET');
  expectJson(await post('connected_users', '{}', { auth: null }), 403, FORBIDDEN);
  expectJson(await post('registered_vhosts', '{}', { auth: null }), 403, FORBIDDEN);
});

test(`a body larger than limits.maxHttpBodySize (${MAX_BODY}) → 413; exactly at the limit is read`, async () => {
  const big = JSON.stringify({ host: 'localhost', pad: 'x'.repeat(MAX_BODY) });
  const r = await post('registered_users', big);
  assert.equal(r.status, 413, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(typeof r.body, 'string');
  const huge = await post('registered_users', 'x'.repeat(200_000));
  assert.equal(huge.status, 413, 'a much larger body is refused too');
  // At the limit the body is parsed: the pad argument is reported as unknown, not as too large.
  const atLimit = '{"host":"localhost","pad":"' + 'x'.repeat(MAX_BODY - 29) + '"}';
  assert.equal(Buffer.byteLength(atLimit), MAX_BODY);
  expectJson(await post('registered_users', atLimit), 400, 'Request have unknown arguments: [pad]');
});

test('after all that bad input the server still answers valid calls and XMPP still works', async () => {
  expectJson(await post('registered_users', '{"host":"localhost"}'), 200, ['admin', 'carol']);
  expectJson(await post('connected_users', '{}'), 200, ['carol@localhost/desk']);
  const r = await parley.api('register', { user: 'dave', host: 'localhost', password: 'davepw' });
  assert.deepEqual([r.status, r.body], [200, 'User dave@localhost successfully registered']);
  const dave = await connect({ service: `xmpp://127.0.0.1:${parley.ports.c2s}`, username: 'dave', password: 'davepw', resource: 'r' });
  try {
    expectJson(await post('connected_users', '{}'), 200, ['carol@localhost/desk', 'dave@localhost/r']);
  } finally {
    await dave.stop();
  }
});

test('a handful of failed basic-auth attempts does not lock the admin out (limit: 20 per minute per address)', async () => {
  for (let i = 0; i < 5; i++) expectJson(await wrongAuth('registered_vhosts', '{}', `admin@localhost:wrong${i}`), 401, NOT_AUTHORIZED);
  assert.ok(failedAuths < 20, `this file has failed ${failedAuths} times so far`);
  expectJson(await post('registered_vhosts', '{}'), 200, ['localhost'], 'admin still accepted');
});

test('the 21st failure within a minute is refused, and then even the right password gets 401 (default limit 20)', async () => {
  while (failedAuths < 20) {
    expectJson(await wrongAuth('registered_vhosts', '{}', 'admin@localhost:nope'), 401, NOT_AUTHORIZED);
    // Until the limit is reached, the right password is still accepted.
    if (failedAuths < 20) expectJson(await post('registered_vhosts', '{}'), 200, ['localhost'], `after ${failedAuths} failures`);
  }
  expectJson(await post('registered_vhosts', '{}'), 401, NOT_AUTHORIZED, 'locked out after 20 failures');
  expectJson(await wrongAuth('registered_vhosts', '{}', 'admin@localhost:nope'), 401, NOT_AUTHORIZED, '21st failure');
  // Anonymous public commands and XMPP-independent answers are unaffected by the lockout.
  expectJson(await post('connected_users_number', '{}', { auth: null }), 200, { num_sessions: 1 });
});

test('with limits.authFailuresPerMinute: 3, after 3 failures even the correct admin password gets 401', async () => {
  const other = await startParley({ limits: { authFailuresPerMinute: 3 } });
  try {
    const good = `admin@localhost:${other.adminPassword}`;
    const call = (auth: string) => raw('POST', '/api/registered_vhosts', { port: other.ports.http, auth, body: '{}' });
    expectJson(await call(good), 200, ['localhost'], 'before any failure');
    for (let i = 1; i <= 3; i++) {
      expectJson(await call('admin@localhost:bad'), 401, NOT_AUTHORIZED, `failure ${i}`);
      if (i < 3) expectJson(await call(good), 200, ['localhost'], `after ${i} failures`);
    }
    // Also the password that was just accepted a moment ago: a cached success must not bypass the lockout.
    expectJson(await call(good), 401, NOT_AUTHORIZED, 'correct password after 3 failures');
    expectJson(await call(`carol@localhost:x`), 401, NOT_AUTHORIZED, 'any account');
    // Callers without credentials are not affected.
    const anon = await raw('POST', '/api/connected_users_number', { port: other.ports.http, auth: null, body: '{}' });
    expectJson(anon, 200, { num_sessions: 0 });
  } finally {
    await other.close();
  }
});
