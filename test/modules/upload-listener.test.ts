// The public upload listener (upload.listen): /upload on a port of its own, reachable by phones,
// while the admin API stays on the loopback http/https listeners; and upload.publicUrl for a proxy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startParley, type Parley } from '../support/harness.js';
import { xml } from '../support/client.js';

const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const running: Parley[] = [];
after(async () => {
  for (const p of running) await p.close();
});

async function slotOf(parley: Parley, user: string) {
  const c = await parley.login(user, 'phone');
  const reply = await c.iq(xml('iq', { type: 'get', to: 'upload.localhost' }, xml('request', { xmlns: NS_UPLOAD, filename: 'a.txt', size: '5', 'content-type': 'text/plain' })));
  const slot = reply.getChild('slot', NS_UPLOAD)!;
  return { put: slot.getChild('put')!.attrs.url as string, auth: slot.getChild('put')!.getChild('header')!.text(), get: slot.getChild('get')!.attrs.url as string };
}

test('upload.listen serves /upload alone; the slot URLs point at it; /api is not there', async () => {
  const parley = await startParley({ upload: { enabled: true, listen: { address: '127.0.0.1', port: 0, tls: false } } });
  running.push(parley);
  await parley.register('pat');
  const port = parley.server.addresses.upload!.port;
  assert.ok(port > 0);
  const s = await slotOf(parley, 'pat');
  assert.ok(s.put.startsWith(`http://127.0.0.1:${port}/upload/`), s.put);
  const r = await fetch(s.put, { method: 'PUT', body: Buffer.from('hello'), headers: { authorization: s.auth } });
  assert.equal(r.status, 201);
  assert.equal(await (await fetch(s.get)).text(), 'hello');
  // The admin API is not served on the public listener...
  const api = await fetch(`http://127.0.0.1:${port}/api/status`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(api.status, 404);
  // ...while the loopback listeners serve both.
  assert.equal((await parley.api('status', {})).status, 200);
  const https = new URL(s.get);
  https.protocol = 'https:';
  https.port = String(parley.ports.https);
  assert.equal(await (await fetch(https)).text(), 'hello');
});

test('upload.listen with TLS (the default) serves HTTPS with the server certificate', async () => {
  const parley = await startParley({ upload: { enabled: true, listen: { address: '127.0.0.1', port: 0 } } });
  running.push(parley);
  await parley.register('tia');
  const port = parley.server.addresses.upload!.port;
  const s = await slotOf(parley, 'tia');
  assert.ok(s.put.startsWith(`https://127.0.0.1:${port}/upload/`), s.put);
  assert.equal((await fetch(s.put, { method: 'PUT', body: Buffer.from('hello'), headers: { authorization: s.auth } })).status, 201);
  assert.equal(await (await fetch(s.get)).text(), 'hello');
});

test('upload.publicUrl is the base of the slot URLs (a reverse proxy in front)', async () => {
  const parley = await startParley({ upload: { enabled: true, publicUrl: 'https://files.example.org/' } });
  running.push(parley);
  await parley.register('pru');
  const s = await slotOf(parley, 'pru');
  assert.match(s.put, /^https:\/\/files\.example\.org\/upload\/[A-Za-z0-9_-]+\/a\.txt$/);
  // The path behind the proxy is the one this node serves.
  const local = new URL(s.put);
  const r = await fetch(`http://127.0.0.1:${parley.ports.http}${local.pathname}`, { method: 'PUT', body: Buffer.from(randomBytes(5)), headers: { authorization: s.auth } });
  assert.equal(r.status, 201);
});

test('upload disabled (the default): no upload domain, no /upload', async () => {
  const parley = await startParley();
  running.push(parley);
  await parley.register('nod');
  const c = await parley.login('nod', 'phone');
  const items = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(!items.getChild('query')!.getChildren('item').some((i: any) => i.attrs.jid === 'upload.localhost'));
  assert.equal((await fetch(`http://127.0.0.1:${parley.ports.http}/upload/x/y`)).status, 404);
});
