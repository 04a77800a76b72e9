/**
 * One conformance suite for every storage backend: SQLite (temp file) and PostgreSQL (fresh schema).
 * PostgreSQL is required: when it cannot be reached the PostgreSQL tests fail, they are not skipped.
 * Set PARLEY_TEST_PG_URL to test against another server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Storage } from '../../src/storage/types.js';
import { jsonCodec, textCodec, type Codec } from '../../src/storage/kinds.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { openSqlite } from '../../src/storage/sqlite/index.js';
import { openPostgres } from '../../src/storage/postgres/index.js';
import type { AccountRecord } from '../../src/modules/accounts/store.js';
import type { RosterItem, Subscription } from '../../src/modules/roster/store.js';
import { newItem } from '../../src/modules/roster/index.js';
import type { ScramCredentials } from '../../src/c2s/sasl.js';

/** Every table Parley's migrations create (a new migration's tables are added here). */
const PARLEY_TABLES = ['accounts', 'audit_log', 'hosting_changes', 'hosting_tokens', 'mam_messages', 'muc_affiliations', 'muc_nicks', 'muc_rooms', 'muc_subscriptions', 'oauth_clients', 'oauth_tokens', 'offline_messages', 'parley_schema', 'pep_items', 'pep_nodes', 'push_sessions', 'roster_items', 'roster_meta', 'shared_group_members', 'shared_groups', 'store_archive', 'store_maps', 'store_values', 'upload_files'];

interface Harness {
  /** Opens the storage; calling it again after close() reopens the same database. */
  open: () => Promise<Storage>;
  /** Every row of `parley_schema`, in order, read behind the storage's back. */
  schemaVersions: () => Promise<number[]>;
  /**
   * A separate database at schema version 1 (as Parley left it before migration 2) holding the
   * given roster rows, opened with the current code, which migrates it.
   */
  openV1: (rows: V1RosterRow[]) => Promise<{ storage: Storage; versions: () => Promise<number[]>; drop: () => Promise<void> }>;
}

/** owner, jid, visible (0 or 1). */
type V1RosterRow = [string, string, number];

const V1_SQL = MIGRATIONS.find((m) => m.version === 1)!.sql;

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

const scram = (seed: string, iterations = 4096): ScramCredentials => ({
  salt: Buffer.from(`salt-${seed}`).toString('base64'),
  iterations,
  storedKey: Buffer.from(`stored-${seed}`).toString('base64'),
  serverKey: Buffer.from(`server-${seed}`).toString('base64'),
});

const item = (jid: string, over: Partial<RosterItem> = {}): RosterItem => ({ ...newItem(jid), ...over });

/** Byte-wise (UTF-8) order: what SQLite's BINARY collation and PostgreSQL's "C" collation give. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function defineConformance(name: 'sqlite' | 'postgres', harness: Harness): void {
  describe(`storage conformance: ${name}`, () => {
    let s: Storage;
    before(async () => {
      s = await harness.open();
    });
    after(async () => {
      await s?.close();
    });

    it('reports its backend and has applied every migration exactly once', async () => {
      assert.equal(s.backend, name);
      assert.deepEqual(await harness.schemaVersions(), ALL_VERSIONS);
    });

    describe('accounts', () => {
      it('create stores a record; a duplicate is refused and changes nothing', async () => {
        const rec: AccountRecord = { host: 'a.example', user: 'alice', createdAt: 1_700_000_000_123, scramSha256: scram('a1') };
        assert.equal(await s.accounts.create(rec), true);
        assert.equal(
          await s.accounts.create({ host: 'a.example', user: 'alice', createdAt: 5, plain: 'other', scramSha1: scram('x') }),
          false,
        );
        const got = await s.accounts.get({ user: 'alice', host: 'a.example' });
        assert.deepEqual(got, rec);
        assert.equal(typeof got!.createdAt, 'number');
      });

      it('get returns undefined for unknown users and hosts', async () => {
        assert.equal(await s.accounts.get({ user: 'nobody', host: 'a.example' }), undefined);
        assert.equal(await s.accounts.get({ user: 'alice', host: 'nowhere.example' }), undefined);
        assert.equal(await s.accounts.get({ user: 'Alice', host: 'a.example' }), undefined, 'lookups are exact (case-sensitive)');
      });

      it('round-trips both SCRAM credentials without a plain password', async () => {
        const rec: AccountRecord = {
          host: 'scram.example',
          user: 'bob',
          createdAt: 1_234,
          scramSha1: scram('b1', 4096),
          scramSha256: scram('b256', 10_000),
        };
        assert.equal(await s.accounts.create(rec), true);
        const got = await s.accounts.get({ user: 'bob', host: 'scram.example' });
        assert.deepEqual(got, rec);
        assert.ok(!('plain' in got!), 'no plain key when no plain password is stored');
        assert.equal(got!.scramSha256!.iterations, 10_000);
      });

      it('round-trips plain passwords, including unicode and the empty string', async () => {
        const unicode = 'pä$$wörd 🔑 "quoted" \\ \'';
        assert.equal(await s.accounts.create({ host: 'plain.example', user: 'carol', createdAt: 1, plain: unicode }), true);
        assert.equal(await s.accounts.create({ host: 'plain.example', user: 'empty', createdAt: 2, plain: '' }), true);
        assert.deepEqual(await s.accounts.get({ user: 'carol', host: 'plain.example' }), { host: 'plain.example', user: 'carol', createdAt: 1, plain: unicode });
        const empty = await s.accounts.get({ user: 'empty', host: 'plain.example' });
        assert.equal(empty!.plain, '', 'an empty plain password is kept, not turned into "none"');
        assert.equal(empty!.scramSha1, undefined);
        assert.equal(empty!.scramSha256, undefined);
      });

      it('setCredentials replaces all credentials and keeps createdAt; false for unknown accounts', async () => {
        assert.equal(
          await s.accounts.create({ host: 'set.example', user: 'dave', createdAt: 42, plain: 'old', scramSha1: scram('d1'), scramSha256: scram('d256') }),
          true,
        );
        assert.equal(await s.accounts.setCredentials({ user: 'dave', host: 'set.example' }, { scramSha256: scram('new256') }), true);
        assert.deepEqual(await s.accounts.get({ user: 'dave', host: 'set.example' }), {
          host: 'set.example',
          user: 'dave',
          createdAt: 42,
          scramSha256: scram('new256'),
        });
        assert.equal(await s.accounts.setCredentials({ user: 'dave', host: 'set.example' }, { plain: 'new', scramSha1: scram('n1') }), true);
        assert.deepEqual(await s.accounts.get({ user: 'dave', host: 'set.example' }), {
          host: 'set.example',
          user: 'dave',
          createdAt: 42,
          plain: 'new',
          scramSha1: scram('n1'),
        });
        assert.equal(await s.accounts.setCredentials({ user: 'nobody', host: 'set.example' }, { plain: 'x' }), false);
        assert.equal(await s.accounts.setCredentials({ user: 'dave', host: 'other.example' }, { plain: 'x' }), false);
        assert.equal(await s.accounts.get({ user: 'dave', host: 'other.example' }), undefined, 'setCredentials does not create accounts');
      });

      it('clearPlain drops the cleartext only while it is the one given, keeping the SCRAM keys (convert_to_scram)', async () => {
        await s.accounts.create({ host: 'clear.example', user: 'fay', createdAt: 7, plain: 'pw', scramSha1: scram('f1'), scramSha256: scram('f256') });
        assert.equal(await s.accounts.clearPlain({ user: 'fay', host: 'clear.example' }, 'changed meanwhile'), false);
        assert.equal((await s.accounts.get({ user: 'fay', host: 'clear.example' }))!.plain, 'pw');
        assert.equal(await s.accounts.clearPlain({ user: 'fay', host: 'clear.example' }, 'pw'), true);
        assert.deepEqual(await s.accounts.get({ user: 'fay', host: 'clear.example' }), {
          host: 'clear.example', user: 'fay', createdAt: 7, scramSha1: scram('f1'), scramSha256: scram('f256'),
        });
        assert.equal(await s.accounts.clearPlain({ user: 'fay', host: 'clear.example' }, 'pw'), false, 'nothing left to clear');
        assert.equal(await s.accounts.clearPlain({ user: 'nobody', host: 'clear.example' }, 'pw'), false);
      });

      it('delete returns true once, then false; other hosts keep their same-named user', async () => {
        await s.accounts.create({ host: 'del1.example', user: 'erin', createdAt: 1, plain: 'one' });
        await s.accounts.create({ host: 'del2.example', user: 'erin', createdAt: 2, plain: 'two' });
        assert.equal(await s.accounts.delete({ user: 'erin', host: 'del1.example' }), true);
        assert.equal(await s.accounts.delete({ user: 'erin', host: 'del1.example' }), false);
        assert.equal(await s.accounts.delete({ user: 'never', host: 'del1.example' }), false);
        assert.equal(await s.accounts.get({ user: 'erin', host: 'del1.example' }), undefined);
        assert.deepEqual(await s.accounts.get({ user: 'erin', host: 'del2.example' }), { host: 'del2.example', user: 'erin', createdAt: 2, plain: 'two' });
        // The name is free again after deletion.
        assert.equal(await s.accounts.create({ host: 'del1.example', user: 'erin', createdAt: 3, plain: 'again' }), true);
        assert.equal((await s.accounts.get({ user: 'erin', host: 'del1.example' }))!.plain, 'again');
      });

      it('list is sorted byte-wise and count is per host; hosts are isolated', async () => {
        const users = ['zoe', 'Zed', 'alice', 'bob', '0day', 'émile', 'al', 'alice.b'];
        for (const [i, user] of users.entries()) {
          assert.equal(await s.accounts.create({ host: 'list.example', user, createdAt: i, plain: user }), true);
        }
        await s.accounts.create({ host: 'list2.example', user: 'mallory', createdAt: 1, plain: 'm' });
        await s.accounts.create({ host: 'list2.example', user: 'alice', createdAt: 1, plain: 'm' });

        const expected = [...users].sort(byteOrder);
        assert.deepEqual(expected, ['0day', 'Zed', 'al', 'alice', 'alice.b', 'bob', 'zoe', 'émile']);
        assert.deepEqual(await s.accounts.list('list.example'), expected);
        assert.equal(await s.accounts.count('list.example'), users.length);
        assert.deepEqual(await s.accounts.list('list2.example'), ['alice', 'mallory']);
        assert.equal(await s.accounts.count('list2.example'), 2);
        assert.deepEqual(await s.accounts.list('empty.example'), []);
        const n = await s.accounts.count('empty.example');
        assert.equal(n, 0);
        assert.equal(typeof n, 'number');

        assert.equal(await s.accounts.delete({ user: 'bob', host: 'list.example' }), true);
        assert.equal(await s.accounts.count('list.example'), users.length - 1);
        assert.ok(!(await s.accounts.list('list.example')).includes('bob'));
        assert.equal(await s.accounts.count('list2.example'), 2);
      });
    });

    describe('roster', () => {
      const owner = 'owner@r.example';

      it('put then get round-trips an item; unknown items are undefined', async () => {
        const it1 = item('friend@x.example', { name: 'Friend', subscription: 'both', groups: ['Friends', 'Work'] });
        await s.roster.put(owner, it1);
        assert.deepEqual(await s.roster.get(owner, 'friend@x.example'), it1);
        assert.equal(await s.roster.get(owner, 'stranger@x.example'), undefined);
        assert.equal(await s.roster.get('someone-else@r.example', 'friend@x.example'), undefined);
      });

      it('put on an existing jid updates every field (upsert), not duplicates', async () => {
        const jid = 'upsert@x.example';
        await s.roster.put(owner, item(jid, { name: 'Before', subscription: 'to', askOut: true, groups: ['A', 'B'] }));
        const updated = item(jid, { name: 'After', subscription: 'from', pendingIn: true, approved: true, groups: ['C'], visible: false });
        await s.roster.put(owner, updated);
        assert.deepEqual(await s.roster.get(owner, jid), updated);
        assert.equal((await s.roster.list(owner)).filter((i) => i.jid === jid).length, 1);
        // And back to defaults: every field really is overwritten.
        await s.roster.put(owner, item(jid));
        assert.deepEqual(await s.roster.get(owner, jid), item(jid));
      });

      it('round-trips unicode names and groups, and empty groups', async () => {
        const groups = ['Família', '友達', '🎉 party', 'with "quotes", commas [and] brackets', 'Друзья'];
        const it1 = item('uni@x.example', { name: 'Émile 🦊 "E"', groups });
        await s.roster.put(owner, it1);
        const got = await s.roster.get(owner, 'uni@x.example');
        assert.deepEqual(got, it1);
        assert.deepEqual(got!.groups, groups, 'group order is kept');
        await s.roster.put(owner, item('nogroups@x.example'));
        assert.deepEqual((await s.roster.get(owner, 'nogroups@x.example'))!.groups, []);
      });

      it('round-trips every combination of the boolean flags and every subscription', async () => {
        const flagOwner = 'flags@r.example';
        const subs: Subscription[] = ['none', 'to', 'from', 'both'];
        const items: RosterItem[] = [];
        for (let bits = 0; bits < 16; bits++) {
          items.push(
            item(`c${bits.toString().padStart(2, '0')}@flags.example`, {
              name: `contact ${bits}`,
              subscription: subs[bits % 4]!,
              askOut: !!(bits & 1),
              pendingIn: !!(bits & 2),
              approved: !!(bits & 4),
              visible: !!(bits & 8),
            }),
          );
        }
        for (const i of [...items].reverse()) await s.roster.put(flagOwner, i);
        for (const i of items) assert.deepEqual(await s.roster.get(flagOwner, i.jid), i);
        const listed = await s.roster.list(flagOwner);
        assert.deepEqual(listed, items);
        for (const i of listed) {
          for (const k of ['askOut', 'pendingIn', 'approved', 'visible'] as const) assert.equal(typeof i[k], 'boolean');
        }
      });

      it('list is ordered by jid byte-wise, whatever the insertion order, and includes invisible items', async () => {
        const listOwner = 'list@r.example';
        const jids = ['zed@b.example', 'Amy@a.example', 'bob@a.example', 'amy@a.example', 'a.example', 'émile@a.example', 'bob@a.example/res'];
        for (const [n, jid] of jids.entries()) await s.roster.put(listOwner, item(jid, { visible: n % 2 === 0 }));
        const listed = await s.roster.list(listOwner);
        assert.deepEqual(
          listed.map((i) => i.jid),
          [...jids].sort(byteOrder),
        );
        assert.equal(listed.filter((i) => !i.visible).length, 3);
        assert.deepEqual(await s.roster.list('nobody@r.example'), []);
      });

      it('delete returns true then false and removes only that item', async () => {
        const delOwner = 'del@r.example';
        await s.roster.put(delOwner, item('keep@x.example'));
        await s.roster.put(delOwner, item('drop@x.example'));
        await s.roster.put('other@r.example', item('drop@x.example'));
        assert.equal((await s.roster.delete(delOwner, 'drop@x.example')).deleted, true);
        assert.equal((await s.roster.delete(delOwner, 'drop@x.example')).deleted, false);
        assert.equal((await s.roster.delete(delOwner, 'never@x.example')).deleted, false);
        assert.equal(await s.roster.get(delOwner, 'drop@x.example'), undefined);
        assert.deepEqual(
          (await s.roster.list(delOwner)).map((i) => i.jid),
          ['keep@x.example'],
        );
        assert.deepEqual(await s.roster.get('other@r.example', 'drop@x.example'), item('drop@x.example'));
      });

      it('deleteAll empties one owner and leaves other owners alone; items are per owner', async () => {
        const a = 'a@iso.example';
        const b = 'b@iso.example';
        await s.roster.put(a, item('shared@x.example', { name: 'A view', subscription: 'both' }));
        await s.roster.put(a, item('only-a@x.example'));
        await s.roster.put(b, item('shared@x.example', { name: 'B view', subscription: 'none', askOut: true }));
        assert.equal((await s.roster.get(a, 'shared@x.example'))!.name, 'A view', "B's put did not touch A's item");
        await s.roster.deleteAll(a);
        assert.deepEqual(await s.roster.list(a), []);
        assert.equal(await s.roster.get(a, 'shared@x.example'), undefined);
        assert.deepEqual(await s.roster.list(b), [item('shared@x.example', { name: 'B view', subscription: 'none', askOut: true })]);
        await s.roster.deleteAll(a); // deleting nothing is fine
        await s.roster.deleteAll('never@iso.example');
        assert.equal((await s.roster.list(b)).length, 1);
      });

      it('the version starts at 0 and counts changes a client sees; invisible-only changes leave it', async () => {
        const o = 'ver@r.example';
        assert.equal(await s.roster.version(o), 0);
        const v = async (expected: number, what: string) => assert.equal(await s.roster.version(o), expected, what);

        assert.deepEqual(await s.roster.put(o, item('a@x.example', { name: 'A' })), { stored: true, version: 1 }, 'a new visible item');
        await v(1, 'version() reads what put returned');
        assert.deepEqual(await s.roster.put(o, item('a@x.example', { name: 'A' })), { stored: true, version: 1 }, 'the same item again');
        assert.equal((await s.roster.put(o, item('a@x.example', { name: 'A2' }))).version, 2, 'name');
        assert.equal((await s.roster.put(o, item('a@x.example', { name: 'A2', groups: ['G'] }))).version, 3, 'groups');
        assert.equal((await s.roster.put(o, item('a@x.example', { name: 'A2', groups: ['G'], subscription: 'to' }))).version, 4, 'subscription');
        assert.equal((await s.roster.put(o, item('a@x.example', { name: 'A2', groups: ['G'], subscription: 'to', askOut: true }))).version, 5, 'ask');
        assert.equal((await s.roster.put(o, item('a@x.example', { name: 'A2', groups: ['G'], subscription: 'to', askOut: true, approved: true }))).version, 6, 'approved');
        const a = item('a@x.example', { name: 'A2', groups: ['G'], subscription: 'to', askOut: true, approved: true, pendingIn: true });
        assert.equal((await s.roster.put(o, a)).version, 6, 'pendingIn alone is not shown to clients');
        assert.deepEqual(await s.roster.get(o, 'a@x.example'), a, 'but it is stored');

        // A pending inbound request from a stranger: an invisible item.
        assert.deepEqual(await s.roster.put(o, item('b@x.example', { visible: false, pendingIn: true })), { stored: true, version: 6 });
        assert.equal((await s.roster.put(o, item('b@x.example', { visible: false, pendingIn: true, name: 'x' }))).version, 6);
        assert.equal((await s.roster.put(o, item('b@x.example', { pendingIn: true, subscription: 'from' }))).version, 7, 'becoming visible');
        assert.equal((await s.roster.put(o, item('b@x.example', { visible: false }))).version, 8, 'becoming invisible');
        assert.deepEqual(await s.roster.delete(o, 'b@x.example'), { deleted: true, version: 8 }, 'deleting an invisible item');
        assert.deepEqual(await s.roster.delete(o, 'a@x.example'), { deleted: true, version: 9 }, 'deleting a visible item');
        assert.deepEqual(await s.roster.delete(o, 'a@x.example'), { deleted: false, version: 9 });
        await v(9, 'after the deletes');
        assert.equal(await s.roster.version('other-ver@r.example'), 0, 'versions are per owner');
        assert.deepEqual(await s.roster.delete('other-ver@r.example', 'a@x.example'), { deleted: false, version: 0 });
      });

      it('the item count follows inserts, updates, deletes and deleteAll; deleteAll keeps the version counting', async () => {
        const o = 'count@r.example';
        assert.equal(await s.roster.count(o), 0);
        for (let i = 0; i < 5; i++) await s.roster.put(o, item(`c${i}@x.example`, { visible: i % 2 === 0, pendingIn: i % 2 === 1 }));
        assert.equal(await s.roster.count(o), 5, 'visible and invisible items both count');
        await s.roster.put(o, item('c0@x.example', { name: 'renamed' }));
        await s.roster.put(o, item('c1@x.example', { visible: true }));
        assert.equal(await s.roster.count(o), 5, 'updates do not count');
        await s.roster.delete(o, 'c0@x.example');
        await s.roster.delete(o, 'c3@x.example');
        await s.roster.delete(o, 'never@x.example');
        assert.equal(await s.roster.count(o), 3);
        const before = await s.roster.version(o);
        await s.roster.deleteAll(o);
        assert.equal(await s.roster.count(o), 0);
        assert.equal(await s.roster.version(o), before + 1, 'deleteAll is one more change, never a reset');
        assert.deepEqual(await s.roster.put(o, item('again@x.example')), { stored: true, version: before + 2 });
        assert.equal(await s.roster.count(o), 1);
        // Only invisible items left: deleteAll changes nothing a client saw.
        await s.roster.put(o, item('again@x.example', { visible: false, pendingIn: true }));
        const v = await s.roster.version(o);
        await s.roster.deleteAll(o);
        assert.equal(await s.roster.version(o), v);
        assert.equal(await s.roster.count(o), 0);
      });

      it('maxItems refuses new items when the roster is full; updates and deletes always work', async () => {
        const o = 'full@r.example';
        await s.roster.put(o, item('f1@x.example'), 3);
        await s.roster.put(o, item('f2@x.example', { visible: false, pendingIn: true }), 3);
        const r3 = await s.roster.put(o, item('f3@x.example'), 3);
        assert.deepEqual(r3, { stored: true, version: 2 });
        assert.deepEqual(await s.roster.put(o, item('f4@x.example'), 3), { stored: false, version: 2 }, 'the fourth is refused');
        assert.deepEqual(await s.roster.put(o, item('f4@x.example', { visible: false, pendingIn: true }), 3), { stored: false, version: 2 }, 'invisible ones too');
        assert.equal(await s.roster.get(o, 'f4@x.example'), undefined);
        assert.equal(await s.roster.count(o), 3);
        assert.deepEqual(await s.roster.put(o, item('f1@x.example', { name: 'updated' }), 3), { stored: true, version: 3 }, 'an update of a full roster');
        assert.deepEqual(await s.roster.put(o, item('f2@x.example', { subscription: 'from' }), 3), { stored: true, version: 4 }, 'a pending request accepted');
        assert.equal((await s.roster.delete(o, 'f3@x.example')).deleted, true);
        assert.equal((await s.roster.put(o, item('f4@x.example'), 3)).stored, true, 'room again after a delete');
        assert.equal((await s.roster.put(o, item('f5@x.example'), 3)).stored, false);
        assert.deepEqual(
          (await s.roster.list(o)).map((i) => i.jid),
          ['f1@x.example', 'f2@x.example', 'f4@x.example'],
        );
        // Without maxItems there is no limit.
        assert.equal((await s.roster.put(o, item('f5@x.example'))).stored, true);
        assert.equal(await s.roster.count(o), 4);
      });

      it('the limit holds under concurrent puts, and count and version stay exact under concurrent writes', async () => {
        const o = 'race@r.example';
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => s.roster.put(o, item(`r${String(i).padStart(2, '0')}@x.example`, { visible: i % 3 !== 0 }), 10)),
        );
        assert.equal(results.filter((r) => r.stored).length, 10, 'exactly the limit was stored');
        assert.equal((await s.roster.list(o)).length, 10);
        assert.equal(await s.roster.count(o), 10);
        // Each visible insert produced its own version: no two stored visible puts saw the same one.
        const visibleVersions = results.filter((r, i) => r.stored && i % 3 !== 0).map((r) => r.version);
        assert.equal(new Set(visibleVersions).size, visibleVersions.length, `unique versions ${visibleVersions}`);
        assert.equal(await s.roster.version(o), visibleVersions.length);

        // Concurrent puts of one new item count it once; concurrent deletes remove it once.
        const same = await Promise.all(Array.from({ length: 20 }, (_, i) => s.roster.put('same@r.example', item('one@x.example', { name: `n${i}` }), 10)));
        assert.ok(same.every((r) => r.stored));
        assert.equal(await s.roster.count('same@r.example'), 1);
        const dels = await Promise.all(Array.from({ length: 5 }, () => s.roster.delete('same@r.example', 'one@x.example')));
        assert.equal(dels.filter((d) => d.deleted).length, 1);
        assert.equal(await s.roster.count('same@r.example'), 0);

        // Mixed concurrent inserts, updates and deletes: the count still equals what is stored.
        const stored = (await s.roster.list(o)).map((i) => i.jid);
        await Promise.all([
          ...stored.slice(0, 5).map((jid) => s.roster.delete(o, jid)),
          ...stored.slice(5).map((jid) => s.roster.put(o, item(jid, { name: 'upd' }), 10)),
          ...Array.from({ length: 20 }, (_, i) => s.roster.put(o, item(`m${i}@x.example`), 10)),
        ]);
        const after = await s.roster.list(o);
        assert.equal(await s.roster.count(o), after.length);
        assert.ok(after.length <= 10, `${after.length} items`);
      });
    });

    describe('migration 2 (roster metadata)', () => {
      it('from a version-1 database: each owner gets its item count and version 1; new writes count on from there', async () => {
        const v1 = await harness.openV1([
          ['m1@r.example', 'a@x.example', 1],
          ['m1@r.example', 'b@x.example', 0],
          ['m1@r.example', 'c@x.example', 1],
          ['m2@r.example', 'p@x.example', 0],
        ]);
        try {
          const m = v1.storage.roster;
          assert.deepEqual(await v1.versions(), ALL_VERSIONS);
          assert.equal(await m.count('m1@r.example'), 3);
          assert.equal(await m.version('m1@r.example'), 1);
          assert.equal(await m.count('m2@r.example'), 1);
          assert.equal(await m.version('m2@r.example'), 1);
          assert.equal(await m.count('m3@r.example'), 0, 'owners without items have no row');
          assert.deepEqual(
            (await m.list('m1@r.example')).map((i) => [i.jid, i.visible]),
            [
              ['a@x.example', true],
              ['b@x.example', false],
              ['c@x.example', true],
            ],
          );
          // The migrated count is what the limit checks.
          assert.deepEqual(await m.put('m1@r.example', item('d@x.example'), 4), { stored: true, version: 2 });
          assert.equal((await m.put('m1@r.example', item('e@x.example'), 4)).stored, false);
          assert.deepEqual(await m.delete('m1@r.example', 'a@x.example'), { deleted: true, version: 3 });
          assert.equal(await m.count('m1@r.example'), 3);
        } finally {
          await v1.drop();
        }
      });
    });

    /** Every stored offline message of an owner, oldest first. */
    const all = (owner: string) => s.offline.list(owner, 0, 1_000_000);

    describe('offline', () => {
      // Timestamps here are realistic (ms since 1970); the deleteOlderThan test uses tiny ones so it
      // only ever sees its own messages, whatever else is stored.
      const T = 1_700_000_000_000;

      it('add and count per owner', async () => {
        assert.equal(await s.offline.count('cnt-a@o.example'), 0);
        await s.offline.add('cnt-a@o.example', '<message>1</message>', T + 1);
        await s.offline.add('cnt-a@o.example', '<message>2</message>', T + 2);
        await s.offline.add('cnt-b@o.example', '<message>3</message>', T + 3);
        const n = await s.offline.count('cnt-a@o.example');
        assert.equal(n, 2);
        assert.equal(typeof n, 'number');
        assert.equal(await s.offline.count('cnt-b@o.example'), 1);
        assert.equal(await s.offline.count('cnt-c@o.example'), 0);
      });

      it('list returns messages oldest first with all fields, pages by id, and removes nothing', async () => {
        const owner = 'take@o.example';
        const big = `<message><body>${'é'.repeat(50_000)} 🎉</body></message>`;
        // createdAt deliberately not monotonic: order is insertion order (id), not the timestamp.
        const stanzas: [string, number][] = [
          ['<message id="m1"><body>first</body></message>', T + 500],
          ['<message id="m2"><body>second &amp; "quoted"</body></message>', T + 100],
          [big, T + 300],
          ['<message id="m4"><body>fourth</body></message>', T + 900],
        ];
        for (const [stanza, at] of stanzas) assert.equal(await s.offline.add(owner, stanza, at), true);
        await s.offline.add('bystander@o.example', '<message>keep</message>', T);

        const listed = await all(owner);
        assert.deepEqual(
          listed.map((m) => [m.stanza, m.createdAt]),
          stanzas,
        );
        for (const m of listed) {
          assert.equal(m.owner, owner);
          assert.equal(typeof m.createdAt, 'number');
          assert.ok(Number.isSafeInteger(m.id));
        }
        for (let i = 1; i < listed.length; i++) assert.ok(listed[i]!.id > listed[i - 1]!.id, 'ids increase with insertion');
        assert.equal(await s.offline.count(owner), 4, 'listing removes nothing');

        const first = await s.offline.list(owner, 0, 2);
        const second = await s.offline.list(owner, first[1]!.id, 2);
        assert.deepEqual([...first, ...second].map((m) => m.id), listed.map((m) => m.id));
        assert.deepEqual(await s.offline.list(owner, listed[3]!.id, 10), []);
        assert.deepEqual(await all('nobody@o.example'), []);
      });

      it('remove deletes the given messages of that owner only', async () => {
        const owner = 'rm@o.example';
        for (let i = 0; i < 5; i++) await s.offline.add(owner, `<message>${i}</message>`, T + i);
        await s.offline.add('rm-other@o.example', '<message>other</message>', T);
        const [m0, m1, m2, m3, m4] = await all(owner);
        const other = (await all('rm-other@o.example'))[0]!;
        assert.equal(await s.offline.remove(owner, [m1!.id, m3!.id, other.id]), 2, "another owner's id is not removed");
        assert.deepEqual((await all(owner)).map((m) => m.id), [m0!.id, m2!.id, m4!.id]);
        assert.equal(await s.offline.remove(owner, [m1!.id]), 0, 'removing twice is fine');
        assert.equal(await s.offline.remove(owner, []), 0);
        assert.equal(await s.offline.count('rm-other@o.example'), 1);
        const many = [];
        for (let i = 0; i < 1200; i++) many.push(i + 1_000_000_000);
        assert.equal(await s.offline.remove(owner, [...many, m0!.id]), 1, 'long id lists work');
      });

      it('add with a limit holds under concurrency', async () => {
        const owner = 'quota@o.example';
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => s.offline.add(owner, `<message>${i}</message>`, T + i, { limit: 10 })));
        assert.equal(results.filter((r) => r).length, 10);
        assert.equal(await s.offline.count(owner), 10);
        assert.equal(await s.offline.add(owner, '<message>more</message>', T, { limit: 10 }), false);
        assert.equal(await s.offline.add(owner, '<message>no limit</message>', T), true);
      });

      it('add with a character limit holds under concurrency, and counts the stored stanzas of that owner only', async () => {
        const owner = 'chars@o.example';
        const ten = (i: number) => `<m>${String(i).padStart(3, '0')}</m>`; // 10 characters
        assert.equal(ten(7).length, 10);
        await s.offline.add('chars-other@o.example', 'x'.repeat(500), T, { maxChars: 1000 });
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => s.offline.add(owner, ten(i), T + i, { maxChars: 95 })));
        assert.equal(results.filter((r) => r).length, 9, '9 × 10 ≤ 95 < 10 × 10');
        assert.equal(await s.offline.count(owner), 9);
        assert.equal(await s.offline.add(owner, '12345', T, { maxChars: 95 }), true, 'what still fits');
        assert.equal(await s.offline.add(owner, '1', T, { maxChars: 95 }), false);
        assert.equal(await s.offline.add('chars-new@o.example', 'x'.repeat(96), T, { maxChars: 95 }), false, 'one stanza over the limit alone');
        assert.equal(await s.offline.add(owner, ten(99), T, { limit: 100, maxChars: 1000 }), true, 'both limits, within both');
      });

      it('deleteAll removes one owner\'s messages only', async () => {
        await s.offline.add('da-a@o.example', '<message>a1</message>', T);
        await s.offline.add('da-a@o.example', '<message>a2</message>', T);
        await s.offline.add('da-b@o.example', '<message>b1</message>', T);
        await s.offline.deleteAll('da-a@o.example');
        assert.equal(await s.offline.count('da-a@o.example'), 0);
        assert.deepEqual(await all('da-a@o.example'), []);
        assert.equal(await s.offline.count('da-b@o.example'), 1);
        await s.offline.deleteAll('da-a@o.example'); // nothing left: fine
        await s.offline.deleteAll('never@o.example');
        assert.equal((await all('da-b@o.example'))[0]!.stanza, '<message>b1</message>');
      });

      it('deleteOlderThan removes messages strictly older than the cutoff, across owners, and counts them', async () => {
        await s.offline.add('old-a@o.example', '<message>1000</message>', 1000);
        await s.offline.add('old-b@o.example', '<message>1500</message>', 1500);
        await s.offline.add('old-a@o.example', '<message>2000</message>', 2000);
        await s.offline.add('old-b@o.example', '<message>3000</message>', 3000);
        assert.equal(await s.offline.deleteOlderThan(999), 0);
        assert.equal(await s.offline.deleteOlderThan(2000), 2, '1000 and 1500 go; 2000 is not older than 2000');
        assert.equal(await s.offline.deleteOlderThan(2000), 0);
        assert.equal(await s.offline.count('old-a@o.example'), 1);
        assert.equal(await s.offline.count('old-b@o.example'), 1);
        assert.deepEqual(
          (await all('old-a@o.example')).map((m) => m.createdAt),
          [2000],
        );
        assert.equal(await s.offline.deleteOlderThan(3001), 2, "listing removed nothing: 2000 and 3000 go");
        assert.equal(await s.offline.count("old-a@o.example"), 0);
        assert.equal(await s.offline.count('old-b@o.example'), 0);
      });

      it('expiry: kept and listed with the message; deleteExpired removes what expired by then, of one owner or of all', async () => {
        // Tiny expiry times: only this test's messages can have expired by them.
        assert.equal(await s.offline.add('exp-a@o.example', '<message>a1</message>', T, { expiresAt: 1000 }), true);
        assert.equal(await s.offline.add('exp-a@o.example', '<message>a2</message>', T, { limit: 10, expiresAt: 2000 }), true);
        assert.equal(await s.offline.add('exp-a@o.example', '<message>never</message>', T), true);
        assert.equal(await s.offline.add('exp-b@o.example', '<message>b1</message>', T, { expiresAt: 1000 }), true);
        assert.deepEqual(
          (await all('exp-a@o.example')).map((m) => [m.stanza, m.expiresAt]),
          [['<message>a1</message>', 1000], ['<message>a2</message>', 2000], ['<message>never</message>', undefined]],
        );
        assert.equal(await s.offline.deleteExpired(999), 0);
        assert.equal(await s.offline.deleteExpired(1000, 'exp-a@o.example'), 1, "at its expiry it has expired; only that owner's");
        assert.equal(await s.offline.count('exp-b@o.example'), 1);
        assert.equal(await s.offline.deleteExpired(2000), 2, 'a2 and b1, across owners');
        assert.deepEqual((await all('exp-a@o.example')).map((m) => m.stanza), ['<message>never</message>']);
        assert.equal(await s.offline.count('exp-b@o.example'), 0);
      });
    });

    describe('store kinds', () => {
      const alice = { user: 'alice', host: 'kinds.example' };
      const bob = { user: 'bob', host: 'kinds.example' };
      const card: Codec<{ fn: string; tags: string[] }> = jsonCodec;

      it('value: get, set (replacing), delete; per account and per feature', async () => {
        const vcards = s.value('vcard', card);
        const last = s.value('last', jsonCodec as Codec<number>);
        assert.equal(await vcards.get(alice), undefined);
        await vcards.set(alice, { fn: 'Alice Ä 🦊', tags: ['a'] });
        await vcards.set(bob, { fn: 'Bob', tags: [] });
        await last.set(alice, 1234);
        assert.deepEqual(await vcards.get(alice), { fn: 'Alice Ä 🦊', tags: ['a'] });
        await vcards.set(alice, { fn: 'Alice 2', tags: [] });
        assert.deepEqual(await vcards.get(alice), { fn: 'Alice 2', tags: [] }, 'set replaces');
        assert.equal(await last.get(alice), 1234, 'another feature keeps its own value');
        assert.equal(await vcards.get({ user: 'alice', host: 'other.example' }), undefined, 'per host');
        assert.equal(await vcards.delete(alice), true);
        assert.equal(await vcards.delete(alice), false);
        assert.equal(await vcards.get(alice), undefined);
        assert.deepEqual(await vcards.get(bob), { fn: 'Bob', tags: [] });
        assert.equal(await last.get(alice), 1234);
      });

      it('map: set, get, list by key byte-wise, count, delete; per account and feature', async () => {
        const priv = s.map('private', textCodec);
        const keys = ['zed:ns', 'Amy:ns', 'émile:ns', 'amy:ns', 'a'];
        for (const k of keys) await priv.set(alice, k, `<x xmlns='${k}'/>`);
        await priv.set(bob, 'amy:ns', '<bob/>');
        await s.map('bookmarks', textCodec).set(alice, 'amy:ns', '<other-feature/>');
        assert.deepEqual(
          (await priv.list(alice)).map((e) => e.key),
          [...keys].sort(byteOrder),
        );
        assert.equal(await priv.get(alice, 'amy:ns'), "<x xmlns='amy:ns'/>");
        assert.equal(await priv.get(alice, 'none'), undefined);
        assert.equal(await priv.count(alice), 5);
        assert.equal(await priv.set(alice, 'amy:ns', '<replaced/>'), true);
        assert.equal(await priv.get(alice, 'amy:ns'), '<replaced/>');
        assert.equal(await priv.count(alice), 5, 'replacing adds nothing');
        assert.equal(await priv.delete(alice, 'amy:ns'), true);
        assert.equal(await priv.delete(alice, 'amy:ns'), false);
        assert.equal(await priv.count(alice), 4);
        assert.deepEqual(await priv.list(bob), [{ key: 'amy:ns', value: '<bob/>' }]);
        assert.deepEqual(await s.map('bookmarks', textCodec).list(alice), [{ key: 'amy:ns', value: '<other-feature/>' }]);
        assert.deepEqual(await priv.list({ user: 'nobody', host: 'kinds.example' }), []);
      });

      it('map: maxItems refuses new keys, not replacements, and holds under concurrency', async () => {
        const m = s.map('limited', jsonCodec as Codec<number>);
        const owner = { user: 'full', host: 'kinds.example' };
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => m.set(owner, `k${String(i).padStart(2, '0')}`, i, 5)));
        assert.equal(results.filter(Boolean).length, 5, 'exactly the limit was stored');
        assert.equal(await m.count(owner), 5);
        const [first] = await m.list(owner);
        assert.equal(await m.set(owner, first!.key, 99, 5), true, 'a replacement in a full map');
        assert.equal(await m.get(owner, first!.key), 99);
        assert.equal(await m.set(owner, 'new', 1, 5), false);
        assert.equal(await m.set(owner, 'new', 1), true, 'no limit without maxItems');
      });

      it('archive: append with increasing ids, list after an id, remove, count, removeAll, removeOlderThan', async () => {
        const mam = s.archive('mam', textCodec);
        const other = s.archive('other-archive', textCodec);
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) ids.push((await mam.append(alice, `<m>${i}</m>`, 1000 + i))!);
        const bobId = (await mam.append(bob, '<m>bob</m>', 1000))!;
        await other.append(alice, '<o/>', 1000);
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids increase');
        const listed = await mam.list(alice, 0, 10);
        assert.deepEqual(listed, ids.map((id, i) => ({ id, value: `<m>${i}</m>`, createdAt: 1000 + i })));
        assert.deepEqual((await mam.list(alice, ids[1]!, 2)).map((m) => m.id), [ids[2], ids[3]]);
        assert.equal(await mam.count(alice), 5);
        assert.equal(await mam.remove(alice, [ids[0]!, ids[2]!, bobId]), 2, "another account's id is not removed");
        assert.equal(await mam.count(bob), 1);
        assert.equal(await mam.removeOlderThan(1004), 3, "strictly older, every account's, this feature's only");
        assert.deepEqual((await mam.list(alice, 0, 10)).map((m) => m.value), ['<m>4</m>']);
        assert.equal(await mam.count(bob), 0);
        assert.equal(await other.count(alice), 1);
        assert.equal(await mam.removeAll(alice), 1);
        assert.equal(await mam.count(alice), 0);
        assert.equal(await other.count(alice), 1);
      });

      it('archive: append with a limit holds under concurrency', async () => {
        const a = s.archive('quota', textCodec);
        const owner = { user: 'quota', host: 'kinds.example' };
        const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => a.append(owner, `<m>${i}</m>`, T0, 7)));
        assert.equal(ids.filter((id) => id !== undefined).length, 7);
        assert.equal(await a.count(owner), 7);
        assert.equal(await a.append(owner, '<m/>', T0, 7), undefined);
      });

      it('a database from before the kinds is upgraded to hold them, its data kept', async () => {
        const v1 = await harness.openV1([['m1@up.example', 'a@x.example', 1]]);
        try {
          assert.deepEqual(await v1.versions(), ALL_VERSIONS);
          const m1 = { user: 'm1', host: 'up.example' };
          await v1.storage.value('vcard', textCodec).set(m1, '<vCard/>');
          await v1.storage.map('private', textCodec).set(m1, 'ns', '<p/>');
          await v1.storage.archive('mam', textCodec).append(m1, '<m/>', T0);
          assert.equal(await v1.storage.value('vcard', textCodec).get(m1), '<vCard/>');
          assert.equal(await v1.storage.map('private', textCodec).get(m1, 'ns'), '<p/>');
          assert.equal(await v1.storage.archive('mam', textCodec).count(m1), 1);
          assert.equal(await v1.storage.roster.count('m1@up.example'), 1);
        } finally {
          await v1.drop();
        }
      });
    });

    describe('pep (migration 10)', () => {
      const alice = { user: 'alice', host: 'pep.example' };
      const bob = { user: 'bob', host: 'pep.example' };
      const item = (id: string, at: number) => ({ id, payload: `<p xmlns='urn:x'>${id} é</p>`, publishedAt: at, publisher: 'alice@pep.example' });

      it('nodes: created once, up to a number per account, configured, listed by name, deleted with their items', async () => {
        assert.equal(await s.pep.createNode(alice, 'urn:b', '{}', 1, 2), 'created');
        assert.equal(await s.pep.createNode(alice, 'urn:b', '{"x":1}', 2, 2), 'exists');
        assert.equal(await s.pep.createNode(alice, 'urn:a', '{}', 3, 2), 'created');
        assert.equal(await s.pep.createNode(alice, 'urn:c', '{}', 4, 2), 'full');
        assert.equal(await s.pep.createNode(bob, 'urn:c', '{}', 4, 2), 'created', 'per account');
        assert.deepEqual((await s.pep.nodes(alice)).map((n) => n.node), ['urn:a', 'urn:b']);
        assert.equal(await s.pep.setConfig(alice, 'urn:a', '{"accessModel":"open"}'), true);
        assert.equal(await s.pep.setConfig(alice, 'urn:none', '{}'), false);
        assert.deepEqual(await s.pep.node(alice, 'urn:a'), { node: 'urn:a', config: '{"accessModel":"open"}', createdAt: 3 });
        await s.pep.publish(alice, 'urn:a', item('1', 10), 10);
        assert.equal(await s.pep.deleteNode(alice, 'urn:a'), true);
        assert.equal(await s.pep.deleteNode(alice, 'urn:a'), false);
        assert.deepEqual(await s.pep.items(alice, 'urn:a'), [], 'items go with their node');
      });

      it('items: newest first, a republished id becomes the newest, trimmed to the node maximum, by id, retracted, purged', async () => {
        await s.pep.createNode(alice, 'urn:items', '{}', 1, 100);
        for (const [i, id] of ['a', 'b', 'c'].entries()) await s.pep.publish(alice, 'urn:items', item(id, 100 + i), 3);
        assert.deepEqual((await s.pep.items(alice, 'urn:items')).map((i) => i.id), ['c', 'b', 'a']);
        await s.pep.publish(alice, 'urn:items', item('a', 200), 3);
        assert.deepEqual((await s.pep.items(alice, 'urn:items')).map((i) => i.id), ['a', 'c', 'b']);
        await s.pep.publish(alice, 'urn:items', item('d', 300), 2);
        assert.deepEqual((await s.pep.items(alice, 'urn:items')).map((i) => i.id), ['d', 'a'], 'the oldest beyond the maximum go');
        assert.deepEqual(await s.pep.items(alice, 'urn:items', 1), [item('d', 300)]);
        assert.deepEqual((await s.pep.itemsById(alice, 'urn:items', ['a', 'zz'])).map((i) => i.id), ['a']);
        assert.equal(await s.pep.trim(alice, 'urn:items', 1), 1);
        assert.equal(await s.pep.retract(alice, 'urn:items', 'd'), true);
        assert.equal(await s.pep.retract(alice, 'urn:items', 'd'), false);
        await s.pep.publish(alice, 'urn:items', item('e', 400), 5);
        await s.pep.publish(alice, 'urn:items', item('f', 500), 5);
        assert.equal(await s.pep.purge(alice, 'urn:items'), 2);
        assert.deepEqual(await s.pep.items(alice, 'urn:items'), []);
      });

      it("removeAll (in a transaction) removes the account's nodes and items only", async () => {
        await s.pep.publish(alice, 'urn:b', item('x', 1), 5);
        await s.pep.createNode(bob, 'urn:keep', '{}', 1, 5);
        await s.pep.publish(bob, 'urn:keep', item('y', 1), 5);
        await s.transaction((tx) => tx.pep.removeAll(alice));
        assert.deepEqual(await s.pep.nodes(alice), []);
        assert.deepEqual(await s.pep.items(alice, 'urn:b'), []);
        assert.deepEqual((await s.pep.items(bob, 'urn:keep')).map((i) => i.id), ['y']);
      });
    });

    describe('transactions', () => {
      const who = (user: string) => ({ user, host: 'tx.example' });
      const counter = () => s.value('counter', jsonCodec as Codec<number>);

      it('commits everything done through the handle together', async () => {
        const result = await s.transaction(async (tx) => {
          assert.equal(await tx.accounts.create({ host: 'tx.example', user: 'ok', createdAt: 1, plain: 'pw' }), true);
          await tx.roster.put('ok@tx.example', item('pal@x.example'));
          await tx.offline.add('ok@tx.example', '<message/>', T0);
          await tx.value('vcard', textCodec).set(who('ok'), '<vCard/>');
          await counter().in(tx).set(who('ok'), 7);
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal((await s.accounts.get({ user: 'ok', host: 'tx.example' }))!.plain, 'pw');
        assert.equal((await s.roster.list('ok@tx.example')).length, 1);
        assert.equal(await s.offline.count('ok@tx.example'), 1);
        assert.equal(await s.value('vcard', textCodec).get(who('ok')), '<vCard/>');
        assert.equal(await counter().get(who('ok')), 7);
      });

      it('rolls everything back when the callback throws, and rethrows its error', async () => {
        await s.accounts.create({ host: 'tx.example', user: 'keep', createdAt: 1, plain: 'pw' });
        await s.roster.put('keep@tx.example', item('pal@x.example'));
        await s.offline.add('keep@tx.example', '<message>kept</message>', T0);
        await s.map('private', textCodec).set(who('keep'), 'ns', '<kept/>');
        const boom = new Error('boom');
        await assert.rejects(
          s.transaction(async (tx) => {
            assert.equal(await tx.accounts.delete({ user: 'keep', host: 'tx.example' }), true);
            await tx.roster.deleteAll('keep@tx.example');
            await tx.offline.deleteAll('keep@tx.example');
            await tx.removeAccountData(who('keep'));
            await tx.accounts.create({ host: 'tx.example', user: 'never', createdAt: 1, plain: 'pw' });
            await tx.archive('mam', textCodec).append(who('never'), '<m/>', T0);
            assert.equal(await tx.map('private', textCodec).get(who('keep'), 'ns'), undefined, 'the transaction sees its own writes');
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.ok(await s.accounts.get({ user: 'keep', host: 'tx.example' }));
        assert.equal(await s.accounts.get({ user: 'never', host: 'tx.example' }), undefined);
        assert.deepEqual(await s.roster.list('keep@tx.example'), [item('pal@x.example')]);
        assert.equal(await s.roster.count('keep@tx.example'), 1);
        assert.equal(await s.offline.count('keep@tx.example'), 1);
        assert.equal(await s.map('private', textCodec).get(who('keep'), 'ns'), '<kept/>');
        assert.equal(await s.archive('mam', textCodec).count(who('never')), 0);
      });

      it('statements outside an open transaction never see its uncommitted writes', async () => {
        const c = counter();
        await c.set(who('iso'), 1);
        let written!: () => void;
        const wrote = new Promise<void>((r) => (written = r));
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const tx = s.transaction(async (t) => {
          await c.in(t).set(who('iso'), 2);
          written();
          await held;
          throw new Error('rolled back');
        });
        await wrote;
        const outside = c.get(who('iso'));
        release();
        await assert.rejects(tx, /rolled back/);
        assert.equal(await outside, 1);
        assert.equal(await c.get(who('iso')), 1);
      });

      it('concurrent read-modify-write transactions give the right total', async () => {
        const c = counter();
        const owner = who('sum');
        await c.set(owner, 0);
        await Promise.all(
          Array.from({ length: 20 }, () =>
            s.transaction(async (tx) => {
              await tx.lock('counter:sum');
              const n = (await c.in(tx).get(owner))!;
              await new Promise((r) => setImmediate(r)); // let the others run in between
              await c.in(tx).set(owner, n + 1);
            }),
          ),
        );
        assert.equal(await c.get(owner), 20);
      });

      it('removeAccountData removes the account in every kind store, and nothing of others', async () => {
        const gone = who('gone');
        const stays = who('stays');
        for (const a of [gone, stays]) {
          await s.value('vcard', textCodec).set(a, '<v/>');
          await s.map('private', textCodec).set(a, 'k', '<p/>');
          await s.archive('mam', textCodec).append(a, '<m/>', T0);
        }
        await s.transaction((tx) => tx.removeAccountData(gone));
        assert.equal(await s.value('vcard', textCodec).get(gone), undefined);
        assert.equal(await s.map('private', textCodec).count(gone), 0);
        assert.equal(await s.archive('mam', textCodec).count(gone), 0);
        assert.equal(await s.value('vcard', textCodec).get(stays), '<v/>');
        assert.equal(await s.map('private', textCodec).count(stays), 1);
        assert.equal(await s.archive('mam', textCodec).count(stays), 1);
      });
    });

    describe('reopening', () => {
      it('keeps all data and does not re-run migrations', async () => {
        await s.accounts.create({ host: 'reopen.example', user: 'frank', createdAt: T0, scramSha1: scram('f1'), plain: 'pw' });
        const ritem = item('pal@x.example', { name: 'Pal', subscription: 'both', approved: true, groups: ['Grüppe'], visible: true });
        await s.roster.put('frank@reopen.example', ritem);
        await s.offline.add('frank@reopen.example', '<message>kept 1</message>', T0 + 1);
        await s.offline.add('frank@reopen.example', '<message>kept 2</message>', T0 + 2);
        const accountsBefore = await s.accounts.list('list.example');

        assert.deepEqual(await harness.schemaVersions(), ALL_VERSIONS);
        await s.close();
        s = await harness.open();
        assert.deepEqual(await harness.schemaVersions(), ALL_VERSIONS, 'no migration ran twice');
        await s.close();
        s = await harness.open();
        assert.deepEqual(await harness.schemaVersions(), ALL_VERSIONS, 'still one row per migration after a third open');

        assert.equal(s.backend, name);
        assert.deepEqual(await s.accounts.get({ user: 'frank', host: 'reopen.example' }), {
          host: 'reopen.example',
          user: 'frank',
          createdAt: T0,
          scramSha1: scram('f1'),
          plain: 'pw',
        });
        assert.deepEqual(await s.accounts.list('list.example'), accountsBefore);
        assert.deepEqual(await s.roster.list('frank@reopen.example'), [ritem]);
        const taken = await all('frank@reopen.example');
        assert.deepEqual(
          taken.map((m) => [m.stanza, m.createdAt]),
          [
            ['<message>kept 1</message>', T0 + 1],
            ['<message>kept 2</message>', T0 + 2],
          ],
        );

        // Ids are never reused, even after everything was taken and the storage reopened.
        const maxId = Math.max(...taken.map((m) => m.id));
        await s.close();
        s = await harness.open();
        await s.offline.add('frank@reopen.example', '<message>new</message>', T0 + 3);
        await s.offline.remove('frank@reopen.example', taken.map((m) => m.id));
        await s.close();
        s = await harness.open();
        await s.offline.add('frank@reopen.example', '<message>newer</message>', T0 + 4);
        const [, fresh] = await all('frank@reopen.example');
        assert.ok(fresh!.id > maxId, `new id ${fresh!.id} > ${maxId}`);
      });
    });
  });
}

const T0 = 1_712_345_678_901;

// ---------------------------------------------------------------- SQLite

{
  const dir = mkdtempSync(join(tmpdir(), 'parley-conformance-'));
  const path = join(dir, 'nested', 'parley.db'); // openSqlite creates missing directories
  after(() => rmSync(dir, { recursive: true, force: true }));
  let v1Count = 0;
  defineConformance('sqlite', {
    open: async () => openSqlite(path),
    openV1: async (rows) => {
      const v1Path = join(dir, `v1-${++v1Count}.db`);
      const db = new Database(v1Path);
      db.exec(V1_SQL.replaceAll('{{autoid}}', 'INTEGER PRIMARY KEY AUTOINCREMENT').replaceAll('{{bigint}}', 'INTEGER'));
      db.exec('CREATE TABLE parley_schema (version INTEGER NOT NULL); INSERT INTO parley_schema (version) VALUES (1)');
      const insert = db.prepare('INSERT INTO roster_items (owner, jid, visible) VALUES (?, ?, ?)');
      for (const r of rows) insert.run(...r);
      db.close();
      const storage = openSqlite(v1Path);
      return {
        storage,
        versions: async () => {
          const ro = new Database(v1Path, { readonly: true });
          try {
            return (ro.prepare('SELECT version FROM parley_schema ORDER BY rowid').pluck().all() as number[]).map(Number);
          } finally {
            ro.close();
          }
        },
        drop: () => storage.close(),
      };
    },
    schemaVersions: async () => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare('SELECT version FROM parley_schema ORDER BY rowid').pluck().all() as number[]).map(Number);
      } finally {
        db.close();
      }
    },
  });
}

// ---------------------------------------------------------------- PostgreSQL

const PG_CANDIDATES = [
  ...(process.env.PARLEY_TEST_PG_URL ? [process.env.PARLEY_TEST_PG_URL] : []),
  'postgres://postgres@127.0.0.1:5432/test',
  'postgres://root@127.0.0.1:5432/test',
];
const schema = `parley_test_${process.pid}_${randomBytes(4).toString('hex')}`;

let pgUrlPromise: Promise<string> | undefined;
/** The first candidate URL that accepts a connection; rejects (failing the tests) when none does. */
function pgUrl(): Promise<string> {
  pgUrlPromise ??= (async () => {
    const failures: string[] = [];
    for (const url of PG_CANDIDATES) {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      try {
        await c.connect();
        await c.end();
        return url;
      } catch (err) {
        failures.push(`${url}: ${(err as Error).message || (err as NodeJS.ErrnoException).code}`);
        await c.end().catch(() => {});
      }
    }
    throw new Error(`PostgreSQL is required for these tests and is unreachable:\n  ${failures.join('\n  ')}`);
  })();
  return pgUrlPromise;
}

async function withPgClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: await pgUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

after(async () => {
  if (!pgUrlPromise) return;
  const reachable = await pgUrlPromise.then(
    () => true,
    () => false,
  );
  if (reachable) await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
});

let pgV1Count = 0;
defineConformance('postgres', {
  open: async () => openPostgres(await pgUrl(), { schema }),
  openV1: async (rows) => {
    const v1 = `${schema}_v1_${++pgV1Count}`;
    await withPgClient(async (c) => {
      await c.query(`CREATE SCHEMA "${v1}"`);
      await c.query(`SET search_path TO "${v1}"`);
      await c.query(V1_SQL.replaceAll('{{autoid}}', 'BIGSERIAL PRIMARY KEY').replaceAll('{{bigint}}', 'BIGINT'));
      await c.query('CREATE TABLE parley_schema (version INTEGER NOT NULL); INSERT INTO parley_schema (version) VALUES (1)');
      for (const r of rows) await c.query('INSERT INTO roster_items (owner, jid, visible) VALUES ($1, $2, $3)', r);
    });
    const storage = await openPostgres(await pgUrl(), { schema: v1 });
    return {
      storage,
      versions: () =>
        withPgClient(async (c) => {
          const { rows: vs } = await c.query<{ version: number }>(`SELECT version FROM "${v1}".parley_schema ORDER BY version`);
          return vs.map((r) => Number(r.version));
        }),
      drop: async () => {
        await storage.close();
        await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${v1}" CASCADE`));
      },
    };
  },
  schemaVersions: () =>
    withPgClient(async (c) => {
      const { rows } = await c.query<{ version: number }>(`SELECT version FROM "${schema}".parley_schema ORDER BY version`);
      return rows.map((r) => Number(r.version));
    }),
});

describe('postgres specifics', () => {
  it('keeps its tables in the requested schema, not in public', async () => {
    const own = `${schema}_iso`;
    const s = await openPostgres(await pgUrl(), { schema: own });
    try {
      await s.accounts.create({ host: 'iso.example', user: 'ivan', createdAt: 1, plain: 'x' });
      await withPgClient(async (c) => {
        const { rows } = await c.query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [own],
        );
        assert.deepEqual(
          rows.map((r) => r.table_name),
          PARLEY_TABLES,
        );
        const { rows: n } = await c.query(`SELECT COUNT(*)::int AS n FROM "${own}".accounts`);
        assert.equal(n[0].n, 1);
      });
      // A second schema is a separate database as far as Parley is concerned.
      assert.equal(await s.accounts.get({ user: 'alice', host: 'list.example' }), undefined);
    } finally {
      await s.close();
      await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${own}" CASCADE`));
    }
  });

  it('handles schema names needing quotes and URLs that carry their own options', async () => {
    const odd = `${schema} "odd" \\ name`;
    const base = await pgUrl();
    const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c application_name=parley_conformance')}`;
    const s = await openPostgres(url, { schema: odd });
    try {
      await s.roster.put('o@odd.example', item('c@odd.example'));
      await withPgClient(async (c) => {
        const { rows } = await c.query('SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [odd]);
        assert.equal(rows[0].n, PARLEY_TABLES.length);
        const { rows: items } = await c.query(`SELECT jid FROM "${odd.replaceAll('"', '""')}".roster_items`);
        assert.deepEqual(items, [{ jid: 'c@odd.example' }]);
      });
    } finally {
      await s.close();
      await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${odd.replaceAll('"', '""')}" CASCADE`));
    }
  });

  it('concurrent first opens of a fresh schema apply each migration once', async () => {
    const fresh = `${schema}_race`;
    const url = await pgUrl();
    const opened = await Promise.allSettled(Array.from({ length: 4 }, () => openPostgres(url, { schema: fresh })));
    try {
      for (const r of opened) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      await withPgClient(async (c) => {
        const { rows } = await c.query<{ version: number }>(`SELECT version FROM "${fresh}".parley_schema ORDER BY version`);
        assert.deepEqual(
          rows.map((r) => r.version),
          ALL_VERSIONS,
        );
      });
    } finally {
      for (const r of opened) if (r.status === 'fulfilled') await r.value.close();
      await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`));
    }
  });

  it('a connection failure names host and port but never the password', async () => {
    const secret = 'Sup3rS3cret';
    await assert.rejects(openPostgres(`postgres://parley:${secret}@127.0.0.1:1/parley`, { schema }), (err: Error) => {
      assert.match(err.message, /^cannot connect to PostgreSQL at 127\.0\.0\.1:1: \S/);
      assert.ok(!err.message.includes(secret), err.message);
      return true;
    });
  });
});
