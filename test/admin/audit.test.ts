// The admin audit log (issue 10 item 4): every admin action on /api, XML-RPC, `parley ctl` and the
// OAuth endpoints is one entry (who, from, what, details without secrets, result), failed admin
// logins too; kept in the database with a trimmed size, optionally also written to a file, and an
// audit failure never fails the admin call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { runCtl } from '../support/ctl.js';
import type { AuditEntry } from '../../src/admin/audit.js';

let parley: Parley;
let workDir: string;

before(async () => {
  parley = await startParley({ xmlrpc: { enabled: true, port: 0, httpPath: true }, audit: { file: 'audit/admin.jsonl' } });
  workDir = mkdtempSync(join(tmpdir(), 'parley-audit-'));
});

after(async () => {
  await parley?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** The entries matching `pred`, newest first, once there is one. */
async function entries(pred: (e: AuditEntry) => boolean): Promise<AuditEntry[]> {
  return eventually(async () => {
    const found = (await parley.server.audit.query({ limit: 1000 })).filter(pred);
    assert.ok(found.length > 0, 'no matching audit entry');
    return found;
  });
}

function xmlString(v: string): string {
  return `<value><string>${v.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</string></value>`;
}
function struct(o: Record<string, string>): string {
  return `<value><struct>${Object.entries(o)
    .map(([k, v]) => `<member><name>${k}</name>${xmlString(v)}</member>`)
    .join('')}</struct></value>`;
}
async function xmlrpc(method: string, auth: Record<string, string>, args: Record<string, string>): Promise<string> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params><param>${struct(auth)}</param><param>${struct(args)}</param></params></methodCall>`;
  const res = await fetch(`http://127.0.0.1:${parley.server.addresses.xmlrpc!.port}/`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  return res.text();
}

test('/api: an admin call is recorded with who, from, what, details and result; the password is not', async () => {
  assert.equal((await parley.api('register', { user: 'carol', host: 'localhost', password: 'Carol-Secret-1' })).status, 200);
  const [e] = await entries((e) => e.action === 'register' && e.details.includes('carol'));
  assert.equal(e!.surface, 'api');
  assert.equal(e!.who, 'admin@localhost');
  assert.equal(e!.from, '127.0.0.1');
  assert.equal(e!.result, 'ok');
  assert.ok(typeof e!.id === 'number' && e!.at > Date.now() - 60_000);
  assert.match(e!.details, /"user":"carol"/);
  assert.ok(!e!.details.includes('Carol-Secret-1'), e!.details);

  // A failing call: its error kind.
  assert.equal((await parley.api('register', { user: 'carol', host: 'localhost', password: 'Carol-Secret-2' })).status, 409);
  const [again] = await entries((e) => e.action === 'register' && e.result !== 'ok');
  assert.equal(again!.result, 'conflict');
  assert.ok(!again!.details.includes('Carol-Secret-2'));
});

test('/api: a refused call and a failed login are recorded, the claimed user as who', async () => {
  await parley.register('mallory');
  const r = await parley.api('registered_users', { host: 'localhost' }, 'mallory@localhost:mallorypw');
  assert.equal(r.status, 403);
  const [refused] = await entries((e) => e.action === 'registered_users' && e.who === 'mallory@localhost');
  assert.equal(refused!.result, 'forbidden');
  assert.equal(refused!.surface, 'api');

  const bad = await parley.api('registered_users', { host: 'localhost' }, 'admin@localhost:Guessed-Pw-9');
  assert.equal(bad.status, 401);
  const [login] = await entries((e) => e.action === 'authenticate' && e.who === 'admin@localhost' && e.surface === 'api');
  assert.equal(login!.result, 'bad-credentials');
  assert.equal(login!.from, '127.0.0.1');

  const token = await fetch(`http://127.0.0.1:${parley.ports.http}/api/registered_users`, {
    method: 'POST',
    headers: { authorization: 'Bearer not-a-real-token-123', 'content-type': 'application/json' },
    body: '{"host":"localhost"}',
  });
  assert.equal(token.status, 401);
  const [t] = await entries((e) => e.action === 'authenticate' && e.result === 'bad-token');
  assert.ok(!JSON.stringify(t).includes('not-a-real-token-123'));
});

test('XML-RPC: calls and failed logins are recorded; new passwords are not', async () => {
  await parley.register('dora');
  const answer = await xmlrpc('change_password', { user: 'admin', server: 'localhost', password: parley.adminPassword }, { user: 'dora', host: 'localhost', newpass: 'Dora-New-Secret' });
  assert.ok(!answer.includes('<fault>'), answer);
  const [e] = await entries((e) => e.surface === 'xmlrpc' && e.action === 'change_password');
  assert.equal(e!.who, 'admin@localhost');
  assert.equal(e!.from, '127.0.0.1');
  assert.equal(e!.result, 'ok');
  assert.match(e!.details, /"user":"dora"/);
  assert.ok(!e!.details.includes('Dora-New-Secret'), e!.details);

  // dora is no admin: the rules refuse her call.
  const notAdmin = await xmlrpc('registered_users', { user: 'dora', server: 'localhost', password: 'Dora-New-Secret' }, { host: 'localhost' });
  assert.match(notAdmin, /<fault>/);
  const [forbidden] = await entries((e) => e.surface === 'xmlrpc' && e.action === 'registered_users' && e.who === 'dora@localhost');
  assert.equal(forbidden!.result, 'forbidden');

  const refused = await xmlrpc('registered_users', { user: 'admin', server: 'localhost', password: 'Wrong-Xmlrpc-Pw' }, { host: 'localhost' });
  assert.match(refused, /Invalid authentication data/);
  const [login] = await entries((e) => e.surface === 'xmlrpc' && e.action === 'authenticate');
  assert.equal(login!.who, 'admin@localhost');
  assert.equal(login!.result, 'bad-credentials');
});

test('parley ctl: a command is recorded as ctl from local', async () => {
  const configFile = join(workDir, 'parley.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
  const r = await runCtl(configFile, ['register', 'erin', 'localhost', 'Erin-Ctl-Secret']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [e] = await entries((e) => e.surface === 'ctl' && e.action === 'register');
  assert.equal(e!.who, 'ctl');
  assert.equal(e!.from, 'local');
  assert.equal(e!.result, 'ok');
  assert.match(e!.details, /"user":"erin"/);
  assert.ok(!e!.details.includes('Erin-Ctl-Secret'));
});

test('OAuth: a token grant is recorded, the token and password are not', async () => {
  await parley.register('finn');
  const res = await fetch(`http://127.0.0.1:${parley.ports.http}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: 'finn@localhost', password: 'finnpw', scope: 'ejabberd:user', ttl: '60' }),
  });
  assert.equal(res.status, 200);
  const token = ((await res.json()) as { access_token: string }).access_token;
  const [e] = await entries((e) => e.surface === 'oauth' && e.action === 'oauth_grant_password');
  assert.equal(e!.who, 'finn@localhost');
  assert.equal(e!.result, 'ok');
  assert.match(e!.details, /ejabberd:user/);
  const all = JSON.stringify(await parley.server.audit.query({ limit: 10_000 }));
  assert.ok(!all.includes(token));
  assert.ok(!all.includes('finnpw'));
});

test('query: by actor, time window, offset and limit; newest first', async () => {
  const t0 = Date.now() - 1000;
  for (let i = 0; i < 3; i++) parley.server.audit.record({ surface: 'api', who: 'query@test', from: '10.0.0.1', action: `act${i}`, details: '', result: 'ok', at: t0 + i });
  const mine = await parley.server.audit.query({ who: 'query@test' });
  assert.deepEqual(
    mine.map((e) => e.action),
    ['act2', 'act1', 'act0'],
  );
  assert.deepEqual(
    (await parley.server.audit.query({ who: 'query@test', offset: 1, limit: 1 })).map((e) => e.action),
    ['act1'],
  );
  assert.deepEqual(
    (await parley.server.audit.query({ who: 'query@test', start: t0 + 1, end: t0 + 2 })).map((e) => e.action),
    ['act1'],
  );
});

test('the file: every entry as a JSON line, without secrets', async () => {
  await parley.api('register', { user: 'gina', host: 'localhost', password: 'Gina-File-Secret' });
  const path = join(parley.dataDir, 'audit/admin.jsonl');
  const lines = await eventually(() => {
    const text = readFileSync(path, 'utf8');
    const found = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry & { time: string });
    assert.ok(found.some((l) => l.action === 'register' && l.details.includes('gina')));
    return { text, found };
  });
  const line = lines.found.find((l) => l.action === 'register' && l.details.includes('gina'))!;
  assert.equal(line.who, 'admin@localhost');
  assert.equal(line.surface, 'api');
  assert.equal(line.result, 'ok');
  assert.ok(!Number.isNaN(Date.parse(line.time)));
  assert.ok(!lines.text.includes('Gina-File-Secret'));
  assert.ok(!lines.text.includes('Guessed-Pw-9'));
});

test('an audit storage failure does not fail the admin call', async () => {
  const store = parley.server.storage.audit;
  const append = store.append;
  store.append = async () => {
    throw new Error('disk full (test)');
  };
  try {
    const r = await parley.api('register', { user: 'hank', host: 'localhost', password: 'hankpw' });
    assert.equal(r.status, 200);
    assert.equal((await parley.api('check_account', { user: 'hank', host: 'localhost' })).status, 200);
    await parley.server.audit.flush();
  } finally {
    store.append = append;
  }
  // Later entries are written again.
  await parley.api('check_account', { user: 'carol', host: 'localhost' });
  await entries((e) => e.action === 'check_account' && e.details.includes('carol'));
});

test('the limit: trimming keeps the newest audit.maxEntries', async () => {
  const p = await startParley({ audit: { maxEntries: 5 } });
  try {
    for (let i = 0; i < 12; i++) p.server.audit.record({ surface: 'api', who: 'trim@test', from: 'local', action: `n${i}`, details: '', result: 'ok' });
    await p.server.audit.flush();
    assert.ok((await p.server.audit.trim()) >= 7);
    const left = await p.server.audit.query({ limit: 100 });
    assert.equal(left.length, 5);
    assert.deepEqual(
      left.map((e) => e.action),
      ['n11', 'n10', 'n9', 'n8', 'n7'],
    );
  } finally {
    await p.close();
  }
});

test('the age limit: entries older than audit.maxAgeDays are trimmed; audit.enabled false records nothing', async () => {
  const p = await startParley({ audit: { maxAgeDays: 1 } });
  try {
    p.server.audit.record({ surface: 'api', who: 'age@test', from: 'local', action: 'old', details: '', result: 'ok', at: Date.now() - 2 * 86_400_000 });
    p.server.audit.record({ surface: 'api', who: 'age@test', from: 'local', action: 'new', details: '', result: 'ok' });
    assert.equal(await p.server.audit.trim(), 1);
    assert.deepEqual(
      (await p.server.audit.query({ who: 'age@test' })).map((e) => e.action),
      ['new'],
    );
  } finally {
    await p.close();
  }
  const off = await startParley({ audit: { enabled: false } });
  try {
    assert.equal((await off.api('registered_users', { host: 'localhost' })).status, 200);
    assert.deepEqual(await off.server.audit.query({}), []);
  } finally {
    await off.close();
  }
});

test('audit.file outside the data directory stops the start', async () => {
  await assert.rejects(startParley({ audit: { file: '../elsewhere.jsonl' } }), /audit\.file/);
});
