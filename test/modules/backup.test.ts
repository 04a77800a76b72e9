// backup, restore, dump, dump_table, load, export2sql, export2odbc, update_sql: over real HTTP, real
// files in the data directory, XMPP logins to check what came back, and PostgreSQL on 127.0.0.1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { TEST_PG_URL, dropSchema, eventually, startParley, type Parley } from '../support/harness.js';
import { bodyOf, xml, type TestClient } from '../support/client.js';

const sqlite = { storage: { backend: 'sqlite' } };
const schemas: string[] = [];
after(async () => {
  for (const s of schemas) await dropSchema(s);
});
function pgConfig(): { schema: string; config: Record<string, unknown> } {
  const schema = `parley_backup_${process.pid}_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return { schema, config: { storage: { backend: 'postgres', url: TEST_PG_URL, schema } } };
}

/** The admin credentials each server's API calls use (after a restore: the restored admin's). */
const adminAuth = new Map<Parley, string>();

async function ok(p: Parley, command: string, args: Record<string, unknown>): Promise<unknown> {
  const r = await p.api(command, args, adminAuth.get(p));
  assert.equal(r.status, 200, `${command}: ${r.status} ${r.text}`);
  return r.body;
}

async function rosterOf(c: TestClient): Promise<Map<string, string>> {
  const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  return new Map(res.getChild('query', 'jabber:iq:roster')!.getChildren('item').map((i: any) => [i.attrs.jid as string, i.attrs.name as string]));
}

const TRICKY = "O'Brien \\ \\' ''; -- $$ ünïcødé 😀";

/** alice and bob with a roster item each way, an offline message for bob, a vCard and private data. */
async function populate(p: Parley): Promise<void> {
  await p.register('alice', 'bob');
  await ok(p, 'add_rosteritem', { localuser: 'bob', localhost: 'localhost', user: 'alice', host: 'localhost', nick: TRICKY, group: 'friends', subs: 'both' });
  await ok(p, 'add_rosteritem', { localuser: 'alice', localhost: 'localhost', user: 'bob', host: 'localhost', nick: 'Bob', group: 'friends', subs: 'both' });
  await ok(p, 'send_message', { type: 'chat', from: 'alice@localhost/x', to: 'bob@localhost', subject: '', body: `offline ${TRICKY}` });
  await ok(p, 'set_vcard', { user: 'bob', host: 'localhost', name: 'FN', content: TRICKY });
  await ok(p, 'private_set', { user: 'bob', host: 'localhost', element: "<note xmlns='test:notes'>kept</note>" });
}

/** What populate stored, checked over XMPP (login, roster, offline message) and the API (vCard, private). */
async function checkPopulated(p: Parley): Promise<void> {
  const bob = await p.login('bob', 'r');
  const msg = await bob.waitFor((el) => el.is('message') && bodyOf(el) !== undefined, 3000, 'offline message');
  assert.equal(bodyOf(msg), `offline ${TRICKY}`);
  const roster = await rosterOf(bob);
  assert.equal(roster.get('alice@localhost'), TRICKY);
  assert.deepEqual(await ok(p, 'get_vcard', { user: 'bob', host: 'localhost', name: 'FN' }), { content: TRICKY });
  assert.match(JSON.stringify(await ok(p, 'private_get', { user: 'bob', host: 'localhost', element: 'note', ns: 'test:notes' })), /kept/);
}

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`${backend}: a backup restored on a fresh server brings back accounts, rosters, offline messages, vCards, private data`, async () => {
    const cfgA = backend === 'sqlite' ? sqlite : pgConfig().config;
    const cfgB = backend === 'sqlite' ? sqlite : pgConfig().config;
    const a = await startParley(cfgA);
    const b = await startParley(cfgB);
    try {
      await populate(a);
      assert.equal(await ok(a, 'backup', { file: 'full.backup' }), 'Success');
      const head = readFileSync(join(a.dataDir, 'full.backup')).subarray(0, 16).toString('latin1');
      assert.equal(head.startsWith(backend === 'sqlite' ? 'SQLite format 3' : '{"parley":"dump"'), true, head);
      copyFileSync(join(a.dataDir, 'full.backup'), join(b.dataDir, 'full.backup'));
      assert.equal(await ok(b, 'restore', { file: join(b.dataDir, 'full.backup') }), 'Success');
      // b's accounts are a's now, its admin too.
      assert.equal((await b.api('registered_users', { host: 'localhost' })).status, 401);
      adminAuth.set(b, `admin@localhost:${a.adminPassword}`);
      await checkPopulated(b);
      // The restored server keeps working: a new account and offline message go on from the restored ids.
      await ok(b, 'register', { user: 'carol', host: 'localhost', password: 'carolpw' });
      await ok(b, 'send_message', { type: 'chat', from: 'alice@localhost/x', to: 'carol@localhost', subject: '', body: 'after' });
      assert.deepEqual(await ok(b, 'get_offline_count', { user: 'carol', server: 'localhost' }), { value: 1 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test(`${backend}: a backup taken while a client sends messages is consistent, and restores`, async () => {
    const p = await startParley(backend === 'sqlite' ? sqlite : pgConfig().config);
    try {
      await p.register('alice', 'bob');
      const alice = await p.login('alice', 'r');
      let sent = 0;
      let stop = false;
      const sending = (async () => {
        while (!stop && sent < 2000) {
          await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, `m${sent++}`)));
          if (sent % 20 === 0) await alice.sync();
        }
        await alice.sync();
      })();
      await eventually(() => sent >= 50, 10_000, 'messages sent before the backup');
      assert.equal(await ok(p, 'backup', { file: 'during.backup' }), 'Success');
      stop = true;
      await sending;
      const total = ((await ok(p, 'get_offline_count', { user: 'bob', server: 'localhost' })) as { value: number }).value;
      assert.equal(total, Math.min(sent, 1000)); // limits.maxOfflineMessages
      assert.equal(await ok(p, 'restore', { file: 'during.backup' }), 'Success');
      const restored = ((await ok(p, 'get_offline_count', { user: 'bob', server: 'localhost' })) as { value: number }).value;
      assert.ok(restored >= 1 && restored <= total, `restored ${restored} of ${total}`);
      // Consistent: exactly the first messages, none torn or missing in between.
      const bob = await p.login('bob', 'r');
      const bodies = await eventually(() => {
        const got = bob.received.filter((el) => el.is('message')).map((el) => bodyOf(el));
        return got.length === restored ? got : undefined;
      }, 10_000, 'restored offline messages');
      assert.deepEqual(bodies, Array.from({ length: restored }, (_, i) => `m${i}`));
    } finally {
      await p.close();
    }
  });
}

test('restore and load refuse garbage, a newer schema, files over the limit and files outside the data directory, changing nothing', async () => {
  const p = await startParley({ ...sqlite, limits: { maxBackupFileSize: 65_536 } });
  try {
    await p.register('alice');
    const sqliteFile = (name: string, sql: string) => {
      const db = new Database(join(p.dataDir, name));
      db.exec(sql);
      db.close();
    };
    sqliteFile('other.db', 'CREATE TABLE t (x INTEGER)');
    sqliteFile('newer.db', 'CREATE TABLE parley_schema (version INTEGER); INSERT INTO parley_schema VALUES (999)');
    sqliteFile('partial.db', 'CREATE TABLE parley_schema (version INTEGER); INSERT INTO parley_schema VALUES (5)');
    for (const [file, message] of [
      ['other.db', /^Not a Parley backup: other\.db$/],
      ['newer.db', /schema version 999, newer than this server's/],
      ['partial.db', /^Not a Parley backup: partial\.db: table accounts: no such table: accounts$/],
    ] as const) {
      const r = await p.api('restore', { file });
      assert.equal(r.status, 400, `${file}: ${r.text}`);
      assert.match(r.body.message, message);
    }
    writeFileSync(join(p.dataDir, 'big.txt'), 'x'.repeat(65_537));
    const big = await p.api('restore', { file: 'big.txt' });
    assert.equal(big.status, 403, big.text);
    assert.match(big.body.message, /larger than limits\.maxBackupFileSize/);
    writeFileSync(join(p.dataDir, 'garbage.bak'), 'this is not a backup\n');
    writeFileSync(join(p.dataDir, 'empty.bak'), '');
    const header = { parley: 'dump', format: 1, schema: 999, backend: 'sqlite', created: '', tables: { accounts: ['host', 'username', 'created_at'] } };
    writeFileSync(join(p.dataDir, 'newer.txt'), `${JSON.stringify(header)}\n`);
    const badRow = { ...header, schema: 5 };
    // A valid header, then a row that empties the accounts table, then a broken row: all rolled back.
    writeFileSync(join(p.dataDir, 'broken.txt'), `${JSON.stringify(badRow)}\n["accounts",["localhost","zed",1]]\n["accounts",{"x":1}]\n`);
    for (const command of ['restore', 'load']) {
      for (const [file, message] of [
        ['garbage.bak', /^Not a Parley backup: garbage\.bak$/],
        ['empty.bak', /^Not a Parley backup: empty\.bak$/],
        ['newer.txt', /schema version 999, newer than this server's/],
        ['broken.txt', /line 3/],
      ] as const) {
        const r = await p.api(command, { file });
        assert.equal(r.status, 400, `${command} ${file}: ${r.text}`);
        assert.match(r.body.message, message);
      }
      for (const file of ['/etc/passwd', '../outside.bak']) {
        const r = await p.api(command, { file });
        assert.equal(r.status, 403, r.text);
        assert.match(r.body.message, /outside the data directory/);
      }
      const missing = await p.api(command, { file: 'missing.bak' });
      assert.equal(missing.status, 404, missing.text);
    }
    for (const [command, args] of [
      ['backup', { file: '/tmp/out.backup' }],
      ['dump', { file: '../out.txt' }],
      ['export2sql', { host: 'localhost', file: '/tmp/out.sql' }],
      ['export2odbc', { host: 'localhost', directory: '/tmp' }],
    ] as const) {
      const r = await p.api(command, args);
      assert.equal(r.status, 403, `${command}: ${r.text}`);
    }
    assert.equal(existsSync('/tmp/out.backup'), false);
    const unknownHost = await p.api('export2sql', { host: 'nowhere.test', file: 'n.sql' });
    assert.equal(unknownHost.status, 404, unknownHost.text);
    assert.equal(unknownHost.body, 'Unknown host: nowhere.test');
    assert.equal(existsSync(join(p.dataDir, 'n.sql')), false);
    const unknownTable = await p.api('dump_table', { file: 't.txt', table: 'muc_registered' });
    assert.equal(unknownTable.status, 400);
    assert.match(unknownTable.body.message, /^Unknown table: muc_registered/);
    // Nothing changed: alice still logs in.
    await p.login('alice', 'r');
    assert.deepEqual(await ok(p, 'registered_users', { host: 'localhost' }), ['admin', 'alice']);
  } finally {
    await p.close();
  }
});

test('dump and load bring back removed data, close sessions of accounts the dump lacks, and forget cached passwords; dump_table replaces one table', async () => {
  const p = await startParley(sqlite);
  try {
    await populate(p);
    assert.equal(await ok(p, 'dump', { file: 'all.txt' }), 'Success');
    const lines = readFileSync(join(p.dataDir, 'all.txt'), 'utf8').trim().split('\n');
    assert.equal(JSON.parse(lines[0]!).parley, 'dump');
    await ok(p, 'unregister', { user: 'bob', host: 'localhost' });
    await ok(p, 'change_password', { user: 'alice', host: 'localhost', newpass: 'newpw' });
    await p.register('dave');
    const dave = await p.login('dave', 'r');
    await p.login('alice', 'r', { password: 'newpw' }); // the new password is now cached as verified
    assert.equal(await ok(p, 'load', { file: 'all.txt' }), 'Success');
    // dave is not in the dump: his session is closed.
    await eventually(() => dave.xmpp.status === 'offline' || dave.xmpp.status === 'disconnect' || dave.xmpp.status === 'close', 5000, 'dave disconnected');
    await checkPopulated(p);
    // alice's password is the dumped one again; the verified new one is forgotten.
    await assert.rejects(p.login('alice', 'r2', { password: 'newpw' }));
    await p.login('alice', 'r3');

    assert.equal(await ok(p, 'dump_table', { file: 'accounts.txt', table: 'accounts' }), 'Success');
    const table = readFileSync(join(p.dataDir, 'accounts.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(Object.keys(JSON.parse(table[0]!).tables), ['accounts']);
    assert.ok(table.slice(1).every((l) => JSON.parse(l)[0] === 'accounts'));
    await p.register('erin');
    assert.equal(await ok(p, 'load', { file: 'accounts.txt' }), 'Success');
    assert.deepEqual(await ok(p, 'registered_users', { host: 'localhost' }), ['admin', 'alice', 'bob']);
    // Other tables untouched: bob's roster is still there.
    const bob = await p.login('bob', 'r9');
    assert.equal((await rosterOf(bob)).get('alice@localhost'), TRICKY);
    assert.equal(await ok(p, 'update_sql', {}), 0);
  } finally {
    await p.close();
  }
});

test('export2sql: an SQLite server moves to PostgreSQL with psql -f and a restart; a second host joins the same database', async () => {
  const schema = `parley_export_${process.pid}_${randomBytes(4).toString('hex')}`;
  const src = await startParley({ ...sqlite, hosts: ['localhost', 'other.test'] });
  let dst: Parley | undefined;
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await populate(src);
    const o = await src.api('register', { user: 'olga', host: 'other.test', password: 'olgapw' });
    assert.equal(o.status, 200, o.text);
    assert.equal(await ok(src, 'export2sql', { host: 'localhost', file: 'localhost.sql' }), 0);
    assert.equal(await ok(src, 'export_odbc', { host: 'other.test', file: 'other.sql' }), 0);
    mkdirSync(join(src.dataDir, 'odbc'));
    assert.equal(await ok(src, 'export2odbc', { host: 'localhost', directory: 'odbc' }), 0);
    assert.ok(existsSync(join(src.dataDir, 'odbc', 'accounts.sql')));
    assert.ok(existsSync(join(src.dataDir, 'odbc', 'offline_messages.sql')));
    const load = async (file: string) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
      await client.query(readFileSync(join(src.dataDir, file), 'utf8'));
    };
    await load('localhost.sql');
    await load('localhost.sql'); // again: the same result, no duplicate
    await load('other.sql');
    const count = await client.query(`SELECT host, COUNT(*)::int AS n FROM "${schema}".accounts GROUP BY host ORDER BY host`);
    assert.deepEqual(count.rows, [{ host: 'localhost', n: 3 }, { host: 'other.test', n: 1 }]);
    const offline = await client.query(`SELECT COUNT(*)::int AS n FROM "${schema}".offline_messages`);
    assert.equal(offline.rows[0].n, 1);
    const versions = await client.query(`SELECT version FROM "${schema}".parley_schema ORDER BY version`);
    assert.deepEqual(versions.rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));

    // The harness makes the admin account of a new server (and reads its password file): the exported admin goes.
    await client.query(`DELETE FROM "${schema}".accounts WHERE username = 'admin'`);
    dst = await startParley({ hosts: ['localhost', 'other.test'], storage: { backend: 'postgres', url: TEST_PG_URL, schema } });
    await checkPopulated(dst);
    assert.deepEqual(await ok(dst, 'registered_users', { host: 'other.test' }), ['olga']);
  } finally {
    await client.end();
    await src.close();
    await dst?.close();
    await dropSchema(schema);
  }
});
