// HTTP File Upload (XEP-0363): a real client asks upload.localhost for a slot, PUTs the file with
// fetch to the URL it got (Parley's own HTTPS listener), and GETs it back byte for byte. Sizes,
// quotas (also under concurrent requests), file names, one PUT per slot, expiry and account removal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, iqError, type TestClient } from '../support/client.js';

const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const DAY = 86_400_000;

let parley: Parley;
let alice: TestClient;

before(async () => {
  parley = await startParley({ upload: { enabled: true, maxFileSize: 1000, quotaPerAccount: 2500 } });
  await parley.register('alice', 'quota', 'leaver');
  alice = await parley.login('alice', 'phone');
});
after(async () => {
  await parley.close();
});

const request = (filename: string, size: number | string, contentType?: string) =>
  xml('iq', { type: 'get', to: 'upload.localhost' }, xml('request', { xmlns: NS_UPLOAD, filename, size: String(size), ...(contentType ? { 'content-type': contentType } : {}) }));

async function slot(c: TestClient, filename: string, size: number, contentType?: string) {
  const reply = await c.iq(request(filename, size, contentType));
  const s = reply.getChild('slot', NS_UPLOAD)!;
  const put = s.getChild('put')!;
  const headers: Record<string, string> = {};
  for (const h of put.getChildren('header')) headers[h.attrs.name] = h.text();
  return { put: put.attrs.url as string, get: s.getChild('get')!.attrs.url as string, headers };
}

const put = (url: string, body: Uint8Array, headers: Record<string, string> = {}) => fetch(url, { method: 'PUT', body, headers });

function uploadDir(): string {
  return join(parley.dataDir, 'upload');
}

test('upload.localhost is listed in the host items and describes itself: store/file, the feature, max-file-size', async () => {
  const items = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(items.getChild('query')!.getChildren('item').some((i: any) => i.attrs.jid === 'upload.localhost'));
  const info = (await alice.iq(xml('iq', { type: 'get', to: 'upload.localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })))).getChild('query')!;
  assert.deepEqual(info.getChild('identity')!.attrs, { category: 'store', type: 'file', name: 'HTTP File Upload' });
  assert.ok(info.getChildren('feature').some((f: any) => f.attrs.var === NS_UPLOAD));
  const form = info.getChild('x', 'jabber:x:data')!;
  const fields = Object.fromEntries(form.getChildren('field').map((f: any) => [f.attrs.var, f.getChildText('value')]));
  assert.deepEqual(fields, { FORM_TYPE: NS_UPLOAD, 'max-file-size': '1000' });
  const ownItems = await alice.iq(xml('iq', { type: 'get', to: 'upload.localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.equal(ownItems.getChild('query')!.getChildren('item').length, 0);
  assert.equal((await iqError(alice, xml('iq', { type: 'get', to: 'upload.localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping:x' })))).condition, 'service-unavailable');
  assert.equal((await iqError(alice, xml('iq', { type: 'set', to: 'upload.localhost' }, xml('request', { xmlns: NS_UPLOAD, filename: 'a', size: '1' })))).condition, 'service-unavailable', 'a slot is requested with get');
});

test('a slot, a PUT with fetch, and the same bytes back with GET; HEAD; one PUT per slot', async () => {
  const bytes = randomBytes(777);
  const s = await slot(alice, 'photo.png', bytes.length, 'image/png');
  assert.equal(s.put, s.get);
  assert.match(s.get, /^https:\/\/127\.0\.0\.1:\d+\/upload\/[A-Za-z0-9_-]+\/photo\.png$/);
  assert.match(s.headers.Authorization ?? '', /^Bearer \S+$/);

  assert.equal((await fetch(s.get)).status, 404, 'nothing to GET before the PUT');
  assert.equal((await put(s.put, bytes)).status, 403, 'the PUT needs the Authorization header of the slot');
  assert.equal((await put(s.put, bytes, { authorization: 'Bearer wrong' })).status, 403);
  const created = await put(s.put, bytes, { ...s.headers, 'content-type': 'image/png' });
  assert.equal(created.status, 201, await created.text());

  const got = await fetch(s.get);
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(got.headers.get('content-disposition'), `inline; filename="photo.png"; filename*=UTF-8''photo.png`);
  const head = await fetch(s.get, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '777');
  assert.equal((await head.arrayBuffer()).byteLength, 0);

  const again = await put(s.put, randomBytes(777), s.headers);
  assert.equal(again.status, 409, 'a slot takes one file');
  assert.deepEqual(Buffer.from(await (await fetch(s.get)).arrayBuffer()), bytes, 'the first file stays');
  const id = new URL(s.get).pathname.split('/')[2]!;
  assert.equal((await fetch(s.get.replace('photo.png', 'other.png'))).status, 404, 'the slot is for its own file name');
  assert.equal((await fetch(s.get.replace(id, 'x'.repeat(id.length)))).status, 404, 'unknown slot');
});

test('a file over upload.maxFileSize is refused with file-too-large and the limit; bad sizes and types are bad requests', async () => {
  try {
    await alice.iq(request('big.bin', 1001));
    assert.fail('accepted');
  } catch (err: any) {
    assert.equal(err.condition, 'not-acceptable');
    const error = err.element as any;
    assert.equal(error.getChild('file-too-large', NS_UPLOAD)?.getChildText('max-file-size'), '1000');
  }
  for (const size of ['0', '-5', 'ten', '1.5', '']) assert.equal((await iqError(alice, request('f.bin', size))).condition, 'bad-request', `size ${size}`);
  assert.equal((await iqError(alice, request('f.bin', 10, 'not a type'))).condition, 'bad-request');
});

test('file names never become paths: separators, dot names and control characters are refused; any other name round-trips', async () => {
  for (const name of ['../../admin-password', 'a/b.txt', '..\\x', '..', '.', '/etc/passwd', '', 'x'.repeat(256)]) {
    assert.equal((await iqError(alice, request(name, 10))).condition, 'bad-request', JSON.stringify(name));
  }
  const bytes = Buffer.from('hello, world');
  const name = 'my notes ü #1?.txt';
  const s = await slot(alice, name, bytes.length, 'text/plain');
  assert.ok(s.get.endsWith(`/${encodeURIComponent(name)}`), s.get);
  assert.equal((await put(s.put, bytes, s.headers)).status, 201);
  const got = await fetch(s.get);
  assert.equal(await got.text(), 'hello, world');
  assert.equal(got.headers.get('content-disposition'), `inline; filename="my notes _ #1?.txt"; filename*=UTF-8''${encodeURIComponent(name)}`);
  // Only slot ids under the upload directory are served: traversal in the URL finds no route or no slot.
  const base = new URL(s.get).origin;
  for (const path of ['/upload/../admin-password', '/upload/%2e%2e/admin-password', '/upload/..%2F..%2Fadmin-password/x', '/upload/x/..%2Fadmin-password']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(await r.text(), new RegExp(parley.adminPassword));
  }
  // What is on disk is named by slot ids only.
  for (const f of readdirSync(uploadDir())) assert.match(f, /^[A-Za-z0-9_-]+$/);
});

test('the PUT must be exactly the size of the slot: shorter is a bad request, longer is 413; the slot stays usable', async () => {
  const s = await slot(alice, 'exact.bin', 100);
  const short = await put(s.put, randomBytes(99), s.headers);
  assert.equal(short.status, 400);
  const long = await put(s.put, randomBytes(101), s.headers);
  assert.equal(long.status, 413);
  assert.equal((await fetch(s.get)).status, 404);
  const bytes = randomBytes(100);
  assert.equal((await put(s.put, bytes, s.headers)).status, 201);
  assert.deepEqual(Buffer.from(await (await fetch(s.get)).arrayBuffer()), bytes);
});

test('two PUTs to one slot at once: one file is stored, the other PUT is refused', async () => {
  const s = await slot(alice, 'race.bin', 1000);
  const [a, b] = [randomBytes(1000), randomBytes(1000)];
  const statuses = (await Promise.all([put(s.put, a, s.headers), put(s.put, b, s.headers)])).map((r) => r.status);
  assert.deepEqual([...statuses].sort(), [201, 409]);
  const got = Buffer.from(await (await fetch(s.get)).arrayBuffer());
  assert.deepEqual(got, statuses[0] === 201 ? a : b, 'the file of the PUT that was answered 201');
});

test('the quota holds under concurrent slot requests, and counts open slots', async () => {
  const quota = await parley.login('quota', 'phone');
  // 2500 bytes: two slots of 1000 fit, a third does not, whichever requests win.
  const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => quota.iq(request(`f${i}.bin`, 1000))));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(ok.length, 2);
  for (const r of refused) assert.equal(r.reason.condition, 'resource-constraint');
  assert.equal(await parley.server.service('upload').usage('quota@localhost'), 2000);
  // 500 bytes are left.
  await quota.iq(request('small.bin', 500));
  assert.equal((await iqError(quota, request('one-more.bin', 1))).condition, 'resource-constraint');
  await quota.stop();
});

test('expiry: files older than expireAfterDays and slots never filled are purged, files and rows', async () => {
  const bytes = randomBytes(10);
  const kept = await slot(alice, 'kept.bin', 10);
  assert.equal((await put(kept.put, bytes, kept.headers)).status, 201);
  const unfilled = await slot(alice, 'unfilled.bin', 10);
  const upload = parley.server.service('upload');
  // An hour later only the unfilled slot has expired (slotTimeout: 300 s).
  assert.ok((await upload.purge(Date.now() + 3_600_000)) >= 1);
  assert.equal((await fetch(kept.get)).status, 200);
  assert.equal((await put(unfilled.put, bytes, unfilled.headers)).status, 404, 'the expired slot is gone');
  // 31 days later the file has expired too (expireAfterDays: 30).
  await upload.purge(Date.now() + 31 * DAY);
  assert.equal((await fetch(kept.get)).status, 404);
  const id = new URL(kept.get).pathname.split('/')[2]!;
  assert.equal(existsSync(join(uploadDir(), id)), false);
});

test('removing an account deletes its files', async () => {
  const leaver = await parley.login('leaver', 'phone');
  const bytes = randomBytes(50);
  const s = await slot(leaver, 'bye.bin', 50);
  assert.equal((await put(s.put, bytes, s.headers)).status, 201);
  const id = new URL(s.get).pathname.split('/')[2]!;
  assert.ok(existsSync(join(uploadDir(), id)));
  await leaver.stop();
  const r = await parley.api('unregister', { user: 'leaver', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  await eventually(() => !existsSync(join(uploadDir(), id)), 3000, 'file deleted');
  assert.equal((await fetch(s.get)).status, 404);
});
