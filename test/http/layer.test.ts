// The HTTP admin layer on its own: a test dialect mounted on a real http.Server, called over real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync, gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Readable } from 'node:stream';
import { HttpLayer, Reply, StreamBody, reply, type Dialect } from '../../src/http/layer.js';
import { apiKey, bearer, sharedSecret, type Principal } from '../../src/http/auth.js';
import { json, xml, negotiate } from '../../src/http/codecs.js';
import { notFound } from '../../src/errors.js';

const LIMIT = 4096;
const users = new Map<string, { username: string; name: string }>([['alice', { username: 'alice', name: 'Alice' }]]);
const principal = (name: string): Principal => ({ scheme: 'test', name });

const errors: Dialect['errors'] = {
  noRoute: () => reply(404, { error: 'no route' }),
  methodNotAllowed: (m) => reply(405, { error: `no ${m}` }),
  badParameter: () => reply(400, { error: 'bad parameter' }),
  bodyTooLarge: (limit) => reply(413, { error: `over ${limit}` }),
  badBody: (err) => reply(400, { error: `bad body: ${err.message}` }),
  unsupportedMediaType: (t) => reply(415, { error: `unsupported ${t}` }),
  notAcceptable: () => reply(406, { error: 'not acceptable' }, json),
  unauthorized: (r) => reply(401, { error: `unauthorized (${r?.scheme ?? 'none'})` }),
  domain: (err) => reply(err.kind === 'not-found' ? 404 : 400, { exception: err.kind, message: err.message }),
  internal: () => reply(500, { error: 'internal' }),
};

const users_: Dialect = {
  name: 'test-users',
  prefix: '/plugins/restapi/v1',
  codecs: [xml, json],
  gzip: { request: true, response: true },
  auth: [sharedSecret(() => 's3cret')],
  routes: [
    { method: 'GET', path: '/plugins/restapi/v1/users/:username', auth: 'required', handle: ({ params }) => getUser(params.username!) },
    {
      method: 'POST',
      path: '/plugins/restapi/v1/users',
      auth: 'required',
      body: 'negotiated',
      status: 201,
      handle: ({ body }) => {
        const u = body as { username: string; name: string };
        users.set(u.username, u);
        return undefined;
      },
    },
    { method: 'GET', path: '/plugins/restapi/v1/big', auth: 'required', handle: () => ({ items: { item: Array.from({ length: 200 }, (_, i) => `item number ${i}`) } }) },
    {
      method: 'POST',
      path: '/plugins/restapi/v1/echo',
      body: json,
      handle: ({ body }) => reply(200, { echo: body }, json),
    },
    { method: 'GET', path: '/plugins/restapi/v1/crash', handle: () => Promise.reject(new Error('boom')) },
  ],
  errors,
};

function getUser(name: string) {
  const u = users.get(name);
  if (!u) throw notFound(`User ${name} not found`);
  return { user: u };
}

const tokens: Dialect = {
  name: 'test-tokens',
  prefix: '/tokens',
  cors: { headers: { 'access-control-allow-origin': 'https://panel.example' }, preflight: { 'access-control-allow-methods': 'GET', 'content-length': 0 } },
  auth: [bearer(async (t) => (t === 'good-token' ? principal('token-holder') : undefined)), apiKey('key', async (k) => (k === 'k1' ? principal('key-holder') : undefined))],
  routes: [
    {
      method: 'GET',
      path: '/tokens/whoami',
      auth: 'optional',
      handle: async (ctx) => {
        const r = await ctx.authenticate();
        if (r === undefined) return { who: 'anonymous' };
        return r.ok ? { who: r.principal.name, scheme: r.principal.scheme } : reply(401, { failed: r.scheme });
      },
    },
  ],
  errors,
};

/** Bodies the handler streams itself (`body: 'raw'`, past limits.maxHttpBodySize) and answers streamed back (StreamBody, HEAD). */
const stored = new Map<string, Buffer>();
const files: Dialect = {
  name: 'test-files',
  prefix: '/files',
  auth: [],
  routes: [
    {
      method: 'PUT',
      path: '/files/:name',
      body: 'raw',
      handle: async ({ req, params }) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        stored.set(params.name!, Buffer.concat(chunks));
        return reply(201, { stored: Buffer.concat(chunks).length }, json);
      },
    },
    ...(['GET', 'HEAD'] as const).map((method) => ({
      method,
      path: '/files/:name',
      handle: ({ params }: { params: Record<string, string> }) => {
        const b = stored.get(params.name!);
        if (!b) return reply(404, { error: 'none' });
        return new Reply(200, new StreamBody(() => Readable.from([b.subarray(0, 10), b.subarray(10)]), b.length, 'application/octet-stream'), undefined, { 'x-kind': 'file' });
      },
    })),
  ],
  errors,
};

let server: http.Server;
let base: string;
let port: number;

before(async () => {
  const layer = new HttpLayer({ log: pino({ level: 'silent' }), bodyLimit: () => LIMIT, clientIp: (req) => req.socket.remoteAddress ?? '' });
  layer.mount(users_);
  layer.mount(tokens);
  layer.mount(files);
  server = http.createServer((req, res) => layer.handle(req, res, false));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function raw(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a path parameter is matched and percent-decoded; XML is the default answer, JSON when accepted', async () => {
  const x = await raw('GET', '/plugins/restapi/v1/users/alice', { authorization: 's3cret' });
  assert.equal(x.status, 200);
  assert.equal(x.headers['content-type'], 'application/xml');
  assert.equal(x.body.toString(), '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><user><username>alice</username><name>Alice</name></user>');
  users.set('a b', { username: 'a b', name: 'Space' });
  const j = await raw('GET', '/plugins/restapi/v1/users/a%20b', { authorization: 's3cret', accept: 'application/json' });
  assert.equal(j.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(j.body.toString()), { user: { username: 'a b', name: 'Space' } });
  const bad = await raw('GET', '/plugins/restapi/v1/users/%zz', { authorization: 's3cret' });
  assert.equal(bad.status, 400);
});

test('an unknown path, a wrong method and an Accept nothing satisfies get the dialect\'s answers; outside every mount, 404 text', async () => {
  assert.equal((await raw('GET', '/plugins/restapi/v1/nothing/here', { authorization: 's3cret' })).status, 404);
  const m = await raw('DELETE', '/plugins/restapi/v1/users', { authorization: 's3cret', accept: 'application/json' });
  assert.equal(m.status, 405);
  assert.deepEqual(JSON.parse(m.body.toString()), { error: 'no DELETE' });
  const n = await raw('GET', '/plugins/restapi/v1/users/alice', { authorization: 's3cret', accept: 'text/html' });
  assert.equal(n.status, 406);
  const outside = await raw('GET', '/plugins/restapi/v1x');
  assert.equal(outside.status, 404);
  assert.equal(outside.headers['content-type'], 'text/plain');
  assert.equal(outside.body.toString(), 'Not Found');
});

test('a domain error goes through the dialect\'s mapping; an unexpected one is its internal answer', async () => {
  const r = await raw('GET', '/plugins/restapi/v1/users/nobody', { authorization: 's3cret', accept: 'application/json' });
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.body.toString()), { exception: 'not-found', message: 'User nobody not found' });
  const c = await raw('GET', '/plugins/restapi/v1/crash', { accept: 'application/json' });
  assert.equal(c.status, 500);
  assert.deepEqual(JSON.parse(c.body.toString()), { error: 'internal' });
});

test('shared secret header: the exact secret passes, anything else or nothing is refused before the body is read', async () => {
  const body = '<user><username>bob</username><name>Bob</name></user>';
  const none = await raw('POST', '/plugins/restapi/v1/users', { 'content-type': 'application/xml' }, body);
  assert.equal(none.status, 401);
  const wrong = await raw('POST', '/plugins/restapi/v1/users', { authorization: 's3cret2', 'content-type': 'application/xml' }, body);
  assert.equal(wrong.status, 401);
  assert.equal(users.has('bob'), false);
  const ok = await raw('POST', '/plugins/restapi/v1/users', { authorization: 's3cret', 'content-type': 'application/xml' }, `<?xml version="1.0" encoding="UTF-8"?>${body}`);
  assert.equal(ok.status, 201);
  assert.deepEqual(users.get('bob'), { username: 'bob', name: 'Bob' });
});

test('request bodies by Content-Type: JSON and XML read, another type is 415, a broken body 400', async () => {
  const h = { authorization: 's3cret' };
  const j = await raw('POST', '/plugins/restapi/v1/users', { ...h, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ username: 'carol', name: 'Carol' }));
  assert.equal(j.status, 201);
  assert.deepEqual(users.get('carol'), { username: 'carol', name: 'Carol' });
  assert.equal((await raw('POST', '/plugins/restapi/v1/users', { ...h, 'content-type': 'text/plain' }, 'carol')).status, 415);
  const broken = await raw('POST', '/plugins/restapi/v1/users', { ...h, 'content-type': 'application/xml', accept: 'application/json' }, '<user><username>x</user>');
  assert.equal(broken.status, 400);
  assert.match(JSON.parse(broken.body.toString()).error, /^bad body: /);
});

test('the body limit applies to the bytes after gunzip; a gzip body within it is read', async () => {
  const doc = { username: 'dave', name: 'D'.repeat(LIMIT - 100) };
  const h = { authorization: 's3cret', 'content-type': 'application/json', 'content-encoding': 'gzip', accept: 'application/json' };
  const ok = await raw('POST', '/plugins/restapi/v1/users', h, gzipSync(JSON.stringify(doc)));
  assert.equal(ok.status, 201);
  assert.equal(users.get('dave')?.name.length, LIMIT - 100);
  // 100 kB of one letter compresses to a few hundred bytes: small on the wire, over the limit once read.
  const bomb = gzipSync(JSON.stringify({ username: 'eve', name: 'E'.repeat(100_000) }));
  assert.ok(bomb.length < LIMIT);
  const big = await raw('POST', '/plugins/restapi/v1/users', h, bomb);
  assert.equal(big.status, 413);
  assert.deepEqual(JSON.parse(big.body.toString()), { error: `over ${LIMIT}` });
  const plainBig = await raw('POST', '/plugins/restapi/v1/echo', { 'content-type': 'application/json' }, JSON.stringify('x'.repeat(LIMIT)));
  assert.equal(plainBig.status, 413);
  const notGzip = await raw('POST', '/plugins/restapi/v1/users', h, 'not gzip at all');
  assert.equal(notGzip.status, 400);
  const br = await raw('POST', '/plugins/restapi/v1/users', { ...h, 'content-encoding': 'br' }, 'x');
  assert.equal(br.status, 400);
});

test('answers are gzipped for clients that accept it, when large enough', async () => {
  const h = { authorization: 's3cret', accept: 'application/json' };
  const z = await raw('GET', '/plugins/restapi/v1/big', { ...h, 'accept-encoding': 'gzip, deflate' });
  assert.equal(z.headers['content-encoding'], 'gzip');
  assert.equal(z.headers.vary, 'Accept-Encoding');
  assert.equal(Number(z.headers['content-length']), z.body.length);
  const plain = await raw('GET', '/plugins/restapi/v1/big', h);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(gunzipSync(z.body), plain.body);
  const small = await raw('GET', '/plugins/restapi/v1/users/alice', { ...h, 'accept-encoding': 'gzip' });
  assert.equal(small.headers['content-encoding'], undefined);
});

test('bearer token: a known token names its holder, an unknown one fails as bearer', async () => {
  const ok = await fetch(`${base}/tokens/whoami`, { headers: { authorization: 'Bearer good-token' } });
  assert.deepEqual(await ok.json(), { who: 'token-holder', scheme: 'test' });
  const bad = await fetch(`${base}/tokens/whoami`, { headers: { authorization: 'Bearer bad-token' } });
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { failed: 'bearer' });
  const anon = await fetch(`${base}/tokens/whoami`);
  assert.deepEqual(await anon.json(), { who: 'anonymous' });
  const other = await fetch(`${base}/tokens/whoami`, { headers: { authorization: 'Digest x' } });
  assert.deepEqual(await other.json(), { failed: 'unknown' });
});

test('API key parameter: a known key names its holder, an unknown or empty one fails', async () => {
  const ok = await fetch(`${base}/tokens/whoami?key=k1`);
  assert.deepEqual(await ok.json(), { who: 'key-holder', scheme: 'test' });
  for (const q of ['?key=k2', '?key=']) {
    const bad = await fetch(`${base}/tokens/whoami${q}`);
    assert.equal(bad.status, 401);
    assert.deepEqual(await bad.json(), { failed: 'api-key' });
  }
});

test('CORS: the dialect\'s headers on every answer and a preflight answer; none for a dialect without a policy', async () => {
  const pre = await raw('OPTIONS', '/tokens/whoami', { origin: 'https://panel.example', 'access-control-request-method': 'GET' });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers['access-control-allow-origin'], 'https://panel.example');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET');
  const get = await raw('GET', '/tokens/whoami');
  assert.equal(get.headers['access-control-allow-origin'], 'https://panel.example');
  const noCors = await raw('GET', '/plugins/restapi/v1/users/alice', { authorization: 's3cret', origin: 'https://panel.example' });
  assert.equal(noCors.headers['access-control-allow-origin'], undefined);
  const options = await raw('OPTIONS', '/plugins/restapi/v1/users/alice', { origin: 'https://panel.example' });
  assert.equal(options.status, 405);
});

test('content negotiation picks by q value, then specificity, then the dialect\'s order', () => {
  const offered = [xml, json];
  assert.equal(negotiate(undefined, offered), xml);
  assert.equal(negotiate('*/*', offered), xml);
  assert.equal(negotiate('application/json', offered), json);
  assert.equal(negotiate('application/xml;q=0.5, application/json', offered), json);
  assert.equal(negotiate('application/*, application/json;q=0.1', offered), xml);
  assert.equal(negotiate('text/html, application/json;q=0', offered), undefined);
});

test('the XML codec reads repeated elements as arrays and writes arrays as repeated elements', () => {
  const doc = xml.decode(Buffer.from('<users><user><username>a</username></user><user><username>b</username></user></users>'));
  assert.deepEqual(doc, { user: [{ username: 'a' }, { username: 'b' }] });
  assert.equal(xml.encode({ users: doc }), '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><users><user><username>a</username></user><user><username>b</username></user></users>');
  assert.equal(xml.encode({ user: { name: 'a<b & "c"' } }).endsWith('<user><name>a&lt;b &amp; "c"</name></user>'), true);
});

test('request targets split without a URL object give what URL parsing gives', async () => {
  const { splitPath } = await import('../../src/http/router.js');
  const viaUrl = (t: string) => {
    const u = new URL(t, 'http://localhost');
    return { segments: u.pathname.split('/').filter((s) => s !== ''), query: [...u.searchParams] };
  };
  for (const t of [
    '/api/status',
    '/api//status/',
    '/api/status?',
    '/api/user_resources?user=alice&host=localhost',
    '/api/x?a=%41&b=c+d&a=2',
    "/p/a:b@c!$&'()*+,;=~_-/z",
    '/api/./status',
    '/api/x/../status',
    '/api/a%2Fb',
    '/api/status#frag',
    '/api/s?x=1#frag',
    '/api/\u00e9?q=\u00e9',
    '/api/a b?c d',
    '/api/{x}?"y"',
    '/api\\status',
  ]) {
    const got = splitPath(t)!;
    assert.deepEqual({ segments: got.segments, query: [...got.query] }, viaUrl(t), t);
  }
});

test('a raw body is the handler\'s to stream (no body limit of the layer); a StreamBody is streamed with its length and type, HEAD without it', async () => {
  const big = Buffer.alloc(LIMIT * 3, 7);
  const put = await raw('PUT', '/files/big', { 'content-type': 'application/x-anything' }, big);
  assert.equal(put.status, 201, put.body.toString());
  assert.deepEqual(JSON.parse(put.body.toString()), { stored: LIMIT * 3 });
  const get = await raw('GET', '/files/big');
  assert.equal(get.status, 200);
  assert.equal(get.headers['content-type'], 'application/octet-stream');
  assert.equal(get.headers['content-length'], String(LIMIT * 3));
  assert.equal(get.headers['x-kind'], 'file');
  assert.deepEqual(get.body, big);
  const head = await raw('HEAD', '/files/big');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(LIMIT * 3));
  assert.equal(head.body.length, 0);
  assert.equal((await raw('GET', '/files/none', { accept: 'application/json' })).status, 404);
});
