/**
 * Issue 5 items 9 and 10: offline messages leave storage only once the client has them (with
 * XEP-0198, once acknowledged), survive a kill -9 of the server during delivery, and a large
 * offline queue is delivered without stalling everyone else.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_SM, within } from './raw.js';

const servers: Parley[] = [];
after(async () => {
  for (const p of servers) await p.close();
});

const STANZA_RE = /<(message|presence|iq)[\s>/]/g;
const bodies = (text: string) => [...text.matchAll(/<body>(m\d+)<\/body>/g)].map((m) => m[1]!);

/** Logs in with stream management on (no resumption) and sends initial presence. */
async function smLogin(port: number, user: string, resource: string): Promise<RawConn> {
  const c = await RawConn.tcp(port);
  await c.login(user, `${user}pw`, resource);
  c.write(`<enable xmlns='${NS_SM}'/>`);
  await c.expect(/<enabled [^>]*\/>/);
  c.write('<presence/>');
  return c;
}

/** Stanzas received since the last `expect` consumed the <enabled/> answer. */
const handled = (c: RawConn) => (c.rest().match(STANZA_RE) ?? []).length;

test('item 9: with stream management, offline messages stay stored until acknowledged', async () => {
  const parley = await startParley({});
  servers.push(parley);
  await parley.register('keeper', 'writer');
  const w = await RawConn.tcp(parley.ports.c2s);
  await w.login('writer', 'writerpw', 'w');
  for (let i = 0; i < 50; i++) w.write(`<message to='keeper@localhost' type='chat'><body>m${i}</body></message>`);
  const count = async () => (await parley.api('get_offline_count', { user: 'keeper', server: 'localhost' })).body.value;
  await eventually(async () => (await count()) === 50, 3000, '50 stored');

  // Received but never acknowledged: the connection drops, the messages stay.
  const first = await smLogin(parley.ports.c2s, 'keeper', 'a');
  await eventually(() => bodies(first.rest()).length === 50, 3000, 'all 50 received');
  first.destroy();
  await eventually(() => parley.server.sessions.resources('keeper@localhost').length === 0, 3000, 'session gone');
  assert.equal(await count(), 50);

  // Acknowledged in part: only those go.
  const second = await smLogin(parley.ports.c2s, 'keeper', 'b');
  await eventually(() => bodies(second.rest()).length === 50, 3000, 'all 50 again');
  const text = second.rest();
  const upTo20 = text.indexOf('<body>m19</body>');
  const h = (text.slice(0, upTo20).match(STANZA_RE) ?? []).length;
  second.write(`<a xmlns='${NS_SM}' h='${h}'/>`);
  await eventually(async () => (await count()) === 30, 3000, '30 left after acknowledging 20');
  second.write(`<a xmlns='${NS_SM}' h='${handled(second)}'/>`);
  await eventually(async () => (await count()) === 0, 3000, 'all acknowledged, none left');
  second.destroy();
  w.destroy();
});

test('item 9: without stream management, offline messages leave storage once written, as before', async () => {
  const parley = await startParley({});
  servers.push(parley);
  await parley.register('plain', 'writer');
  const w = await RawConn.tcp(parley.ports.c2s);
  await w.login('writer', 'writerpw', 'w');
  for (let i = 0; i < 5; i++) w.write(`<message to='plain@localhost' type='chat'><body>m${i}</body></message>`);
  await eventually(async () => (await parley.api('get_offline_count', { user: 'plain', server: 'localhost' })).body.value === 5, 3000, 'stored');
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('plain', 'plainpw', 'p');
  c.write('<presence/>');
  await eventually(() => bodies(c.rest()).length === 5, 3000, 'delivered');
  await eventually(async () => (await parley.api('get_offline_count', { user: 'plain', server: 'localhost' })).body.value === 0, 3000, 'removed');
  c.destroy();
  w.destroy();
});

test('item 10: delivering 50,000 offline messages does not stall the event loop or other users', async () => {
  const parley = await startParley({ limits: { maxOfflineMessages: 100_000 } });
  servers.push(parley);
  await parley.register('hoarder', 'bystander');
  const N = 50_000;
  // Written in one transaction through a second connection to the database (the store adds one at a time).
  const stanza = (i: number | string) => `<message from='x@localhost' to='hoarder@localhost' type='chat'><body>m${i}</body></message>`;
  if (parley.server.storage.backend === 'postgres') {
    const { url, schema } = parley.server.config.storage;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const [head, tail] = stanza('\u0000').split('\u0000');
      await client.query(
        `INSERT INTO ${schema ? `"${schema}".` : ''}offline_messages (owner, stanza, created_at)
         SELECT 'hoarder@localhost', $1 || i || $2, $3 FROM generate_series(0, $4 - 1) AS i ORDER BY i`,
        [head, tail, Date.now(), N],
      );
    } finally {
      await client.end();
    }
  } else {
    const db = new Database(join(parley.dataDir, 'parley.db'));
    const insert = db.prepare('INSERT INTO offline_messages (owner, stanza, created_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < N; i++) insert.run('hoarder@localhost', stanza(i), Date.now());
    })();
    db.close();
  }
  const bystander = await RawConn.tcp(parley.ports.c2s);
  await bystander.login('bystander', 'bystanderpw', 'b');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('hoarder', 'hoarderpw', 'h');
  c.write('<presence/>');
  await eventually(() => c.buf.includes('<body>m1000</body>'), 5000, 'delivery under way');
  const t0 = Date.now();
  bystander.write(`<iq type='get' id='during' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await within(bystander.expect('id="during"'), 5000, 'ping during delivery');
  const pingMs = Date.now() - t0;
  await eventually(async () => (await parley.server.offline.count({ user: 'hoarder', host: 'localhost' })) === 0, 30_000, 'all delivered');
  await eventually(() => c.buf.includes(`<body>m${N - 1}</body>`), 5000, 'all received');
  delay.disable();
  const maxStallMs = delay.max / 1e6;
  assert.ok(pingMs < 1000, `ping answered in ${pingMs} ms during delivery`);
  assert.ok(maxStallMs < 500, `longest event-loop stall ${maxStallMs.toFixed(0)} ms`);
  assert.equal(bodies(c.buf).length, N);
  c.destroy();
  bystander.destroy();
});

// ---- kill -9 during delivery: a real server process -----------------------------------------

interface Child {
  proc: ChildProcess;
  c2s: number;
  http: number;
}

function startChild(config: string): Promise<Child> {
  const bin = resolve('bin/parley.js');
  const proc = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePorts, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /c2s 127\.0\.0\.1:(\d+).*http 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolvePorts({ proc, c2s: Number(m[1]), http: Number(m[2]) });
      }
    });
    proc.stderr!.on('data', (d) => (out += d));
    proc.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

async function api(child: Child, password: string, command: string, args: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${child.http}/api/${command}`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`admin@localhost:${password}`).toString('base64'), 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return res.json();
}

test('item 9: kill -9 of the server during offline delivery loses no message the client did not acknowledge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-kill-'));
  const config = join(dir, 'parley.yml');
  const listen = `{ address: 127.0.0.1, port: 0 }`;
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\nlogLevel: warn\nlisten: { c2s: ${listen}, c2sTls: null, http: ${listen}, https: null }\nctl: { socket: ctl.sock }\n`);
  let child = await startChild(config);
  try {
    const password = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();
    for (const user of ['reader', 'writer']) await api(child, password, 'register', { user, host: 'localhost', password: `${user}pw` });
    const w = await RawConn.tcp(child.c2s);
    await w.login('writer', 'writerpw', 'w');
    const N = 500;
    for (let i = 0; i < N; i++) w.write(`<message to='reader@localhost' type='chat'><body>m${i}</body></message>`);
    await eventually(async () => (await api(child, password, 'get_offline_count', { user: 'reader', server: 'localhost' })).value === N, 5000, 'all stored');
    w.destroy();

    // The reader processes (and acknowledges) the first 100, then the server dies mid-delivery.
    const r = await smLogin(child.c2s, 'reader', 'r');
    await eventually(() => r.rest().includes('<body>m99</body>'), 5000, 'first 100 received');
    const text = r.rest();
    const cut = text.indexOf('</message>', text.indexOf('<body>m99</body>')) + '</message>'.length;
    const h = (text.slice(0, cut).match(STANZA_RE) ?? []).length;
    const processed = new Set(bodies(text.slice(0, cut)));
    r.write(`<a xmlns='${NS_SM}' h='${h}'/>`);
    await eventually(async () => (await api(child, password, 'get_offline_count', { user: 'reader', server: 'localhost' })).value <= N - 100, 5000, 'acknowledged ones removed');
    child.proc.kill('SIGKILL');
    await new Promise((res) => child.proc.once('exit', res));
    r.destroy();

    child = await startChild(config);
    const again = await smLogin(child.c2s, 'reader', 'r2');
    await eventually(() => {
      for (const b of bodies(again.rest())) processed.add(b);
      return processed.size === N;
    }, 10_000, `every message delivered (have ${processed.size})`);
    again.destroy();
  } finally {
    child.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
