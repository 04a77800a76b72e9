/**
 * Behind a load balancer (issue 5, item 11): PROXY protocol headers and X-Forwarded-For from configured
 * trusted proxies give the client address that every per-address limit uses; from anyone else they are not
 * believed. And a warning when the HTTP listener is reachable from other machines without TLS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_TLS, NS_FRAMING, NS_SASL, plainAuth, expectStreamError, streamHeader } from './raw.js';
import { Server } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';

const PROXY = '127.0.0.30';
const STRANGER = '127.0.0.31';
let parley: Parley;
before(async () => {
  const listen = { address: '127.0.0.1', port: 0 };
  parley = await startParley({
    trustedProxies: [PROXY, '10.0.0.0/8'],
    listen: { c2s: { ...listen, proxyProtocol: true }, c2sTls: { ...listen, proxyProtocol: true }, http: listen, https: listen },
    limits: { maxConnectionsPerIp: 2, authFailuresPerMinute: 2, proxyHeaderTimeout: 1 },
    apiPermissions: {
      admins: { who: 'admin', what: ['*'] },
      forwarded: { who: { ip: ['198.51.100.9/32'] }, what: ['connected_users_info'] },
    },
  });
  await parley.register('alice', 'bob');
});
after(async () => {
  await parley.close();
});

function v1(src: string, sport = 40000): string {
  return `PROXY TCP4 ${src} 10.0.0.1 ${sport} 5222\r\n`;
}

function v2(src: string, sport = 40000): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(b);
  b[12] = 0x21; // version 2, PROXY
  b[13] = 0x11; // TCP over IPv4
  b.writeUInt16BE(12, 14);
  src.split('.').forEach((x, i) => (b[16 + i] = Number(x)));
  b.set([10, 0, 0, 1], 20);
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(5223, 26);
  return b;
}

/** A plain connection from `from` that first writes `header` (a load balancer's connection). */
async function viaProxy(header: string | Buffer, from = PROXY): Promise<RawConn> {
  const c = await RawConn.tcp(parley.ports.c2s, from);
  c.socket!.write(header);
  return c;
}

/** Clients at other addresses than loopback must use TLS: STARTTLS, then the stream over TLS is open. */
async function secured(c: RawConn): Promise<RawConn> {
  await c.open();
  c.write(`<starttls xmlns='${NS_TLS}'/>`);
  await c.expect('<proceed ');
  await c.startTls();
  return c;
}

async function sessionIp(jid: string): Promise<string> {
  const r = await eventually(async () => {
    const res = await parley.api('connected_users_info');
    return (res.body as { jid: string; ip: string }[]).find((s) => s.jid === jid);
  }, 3000, `session ${jid}`);
  return r!.ip;
}

test('PROXY v1 and v2 from a trusted proxy: the session has the forwarded address (c2s and direct TLS)', async () => {
  const a = await secured(await viaProxy(v1('192.0.2.10')));
  const jid = await a.login('alice', 'alicepw', 'v1');
  assert.equal(await sessionIp(jid), '192.0.2.10');

  // v2 in front of a TLS handshake, in the same write as nothing else: the ClientHello follows.
  const raw = net.connect({ port: parley.ports.c2sTls, host: '127.0.0.1', localAddress: PROXY });
  await new Promise((r) => raw.once('connect', r));
  raw.write(v2('192.0.2.11'));
  const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
  await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  let text = '';
  secure.setEncoding('utf8').on('data', (d: string) => (text += d));
  secure.write(streamHeader());
  await eventually(() => text.includes('</stream:features>'), 3000, 'features over TLS');
  secure.write(plainAuth('bob', 'bobpw'));
  await eventually(() => text.includes('<success'), 3000, 'success');
  secure.write(streamHeader());
  secure.write(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>v2</resource></bind></iq>`);
  await eventually(() => text.includes('</jid>'), 3000, 'bound');
  assert.equal(await sessionIp('bob@localhost/v2'), '192.0.2.11');
  a.destroy();
  secure.destroy();
});

test('auth failures are counted per forwarded address: one address is locked out, another behind the same proxy logs in', async () => {
  for (let i = 0; i < 2; i++) {
    const c = await secured(await viaProxy(v1('203.0.113.66')));
    await c.open();
    c.write(plainAuth('alice', 'wrong'));
    await c.expect(/<failure /);
    c.destroy();
  }
  // The right password from the locked-out address is refused ...
  const locked = await secured(await viaProxy(v2('203.0.113.66')));
  await locked.open();
  locked.write(plainAuth('alice', 'alicepw'));
  await locked.expect(new RegExp(`<failure xmlns="${NS_SASL}"`));
  assert.doesNotMatch(locked.buf, /<success/);
  locked.destroy();
  // ... while another client of the same proxy is not affected.
  const fine = await secured(await viaProxy(v1('203.0.113.77')));
  assert.match(await fine.login('alice', 'alicepw', 'fine'), /alice@localhost\/fine/);
  fine.destroy();
});

test("connections are counted per forwarded address; the proxy's own address is not limited", async () => {
  // Five connections from the proxy (limit 2 per address) for five clients: all admitted.
  const many = await Promise.all([1, 2, 3, 4, 5].map((i) => viaProxy(v1(`198.51.100.${i}`))));
  for (const c of many) await c.open();
  // A third one for the same client address is refused.
  const same = await Promise.all([1, 2].map(() => viaProxy(v1('198.51.100.50'))));
  for (const c of same) await c.open();
  const third = await viaProxy(v1('198.51.100.50'));
  await expectStreamError(third, 'policy-violation');
  for (const c of [...many, ...same]) c.destroy();
});

test('a PROXY header is only believed from a trusted proxy; malformed or late headers close the connection', async () => {
  // From anyone else the header is stream data: not XML.
  const spoof = await viaProxy(v1('192.0.2.99'), STRANGER);
  spoof.write(streamHeader());
  await expectStreamError(spoof, 'not-well-formed');
  // A stranger speaking XMPP directly is a direct client with its own address.
  const direct = await RawConn.tcp(parley.ports.c2s, STRANGER);
  const jid = await direct.login('bob', 'bobpw', 'direct');
  assert.equal(await sessionIp(jid), STRANGER);
  direct.destroy();
  // From the proxy: a malformed header, no header, or a header that never ends: closed, no stream.
  const bad = await viaProxy('PROXY TCP4 192.0.2.999 10.0.0.1 1 2\r\n');
  await bad.waitClosed();
  const none = await viaProxy(streamHeader());
  await none.waitClosed();
  const slow = await viaProxy('PROXY TCP4 192.0.2.1');
  const t0 = Date.now();
  await slow.waitClosed(4000);
  assert.ok(Date.now() - t0 >= 500, 'closed at limits.proxyHeaderTimeout');
  for (const c of [bad, none, slow]) assert.equal(c.buf, '', 'nothing was answered');
});

/** A framed secure WebSocket login from `from`, with X-Forwarded-For. */
async function wsLogin(from: string, xff: string, resource: string, headers: Record<string, string> = {}, url = `wss://127.0.0.1:${parley.ports.https}/ws`): Promise<WebSocket> {
  const ws = new WebSocket(url, ['xmpp'], {
    localAddress: from,
    headers: { 'x-forwarded-for': xff, ...headers },
    rejectUnauthorized: false,
  });
  let text = '';
  ws.on('message', (d) => (text += d.toString()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve).once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const step = async (send: string, until: string) => {
    ws.send(send);
    await eventually(() => text.includes(until), 3000, until);
    text = '';
  };
  const open = `<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`;
  await step(open, '</stream:features>');
  await step(plainAuth('bob', 'bobpw'), '<success');
  await step(open, '</stream:features>');
  await step(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`, '</jid>');
  return ws;
}

test('X-Forwarded-For: believed from a trusted proxy (rightmost untrusted hop) for WebSocket and /api, ignored from others', async () => {
  const trusted = await wsLogin(PROXY, '6.6.6.6, 198.51.100.7, 10.1.1.1', 'xff');
  assert.equal(await sessionIp('bob@localhost/xff'), '198.51.100.7');
  const spoofed = await wsLogin(STRANGER, '198.51.100.8', 'spoofed');
  assert.equal(await sessionIp('bob@localhost/spoofed'), STRANGER);
  // WebSocket connections through the proxy are counted per forwarded address (limit 2) at the upgrade.
  const two = [await wsLogin(PROXY, '198.51.100.60', 'c1'), await wsLogin(PROXY, '198.51.100.60', 'c2')];
  await assert.rejects(wsLogin(PROXY, '198.51.100.60', 'c3'), /503/);
  const otherClient = await wsLogin(PROXY, '198.51.100.61', 'c4');
  for (const ws of [trusted, spoofed, ...two, otherClient]) ws.terminate();

  // /api: a rule for 198.51.100.9 applies to that client behind the proxy, and to nobody who merely claims it.
  const call = (from: string, xff: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: parley.ports.http, localAddress: from, method: 'POST', path: '/api/connected_users_info', headers: { 'x-forwarded-for': xff, 'content-type': 'application/json' } },
        (res) => (res.resume(), resolve(res.statusCode!)),
      );
      req.on('error', reject);
      req.end('{}');
    });
  assert.equal(await call(PROXY, '198.51.100.9'), 200);
  assert.notEqual(await call(PROXY, '198.51.100.10'), 200);
  assert.notEqual(await call(STRANGER, '198.51.100.9'), 200);
});

test('X-Forwarded-Proto: https from a trusted proxy makes a WebSocket it decrypted count as encrypted', async () => {
  const url = `ws://127.0.0.1:${parley.ports.http}/ws`;
  const ws = await wsLogin(PROXY, '198.51.100.70', 'tls-terminated', { 'x-forwarded-proto': 'https' }, url);
  assert.equal(await sessionIp('bob@localhost/tls-terminated'), '198.51.100.70');
  // Without it, a remote client on plain ws:// may not authenticate (c2s.requireTls).
  const clear = new WebSocket(url, ['xmpp'], { localAddress: PROXY, headers: { 'x-forwarded-for': '198.51.100.71' } });
  let text = '';
  clear.on('message', (d) => (text += d.toString()));
  await new Promise((resolve, reject) => clear.once('open', resolve).once('error', reject));
  clear.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
  await eventually(() => text.includes('</stream:features>'), 3000, 'features');
  clear.send(plainAuth('bob', 'bobpw'));
  await eventually(() => text.includes('<encryption-required/>'), 3000, 'encryption-required');
  assert.doesNotMatch(text, /<success/);
  for (const w of [ws, clear]) w.terminate();
});

test('start-up warns when the HTTP listener (API and WebSocket without TLS) is bound to a non-loopback address', async () => {
  const run = async (address: string): Promise<{ level: number; msg: string }[]> => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-warn-'));
    const config = parseConfig({ dataDir, listen: { c2s: null, c2sTls: null, https: null, http: { address, port: 0 } } });
    const server = new Server({ config, logger: pino({ level: 'info' }, sink) });
    try {
      await server.start();
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    return lines;
  };
  const open = await run('0.0.0.0');
  const warning = open.find((l) => l.level === 40 && /HTTP listener/.test(l.msg));
  assert.ok(warning, `a warning was logged: ${JSON.stringify(open.map((l) => l.msg))}`);
  const local = await run('127.0.0.1');
  assert.equal(local.find((l) => l.level === 40 && /HTTP listener/.test(l.msg)), undefined, 'no warning on loopback');
});
