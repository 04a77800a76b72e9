/**
 * The shared roster group store (migration 5), the same suite on SQLite (a temporary file) and on
 * PostgreSQL (a fresh schema): groups per host, explicit members, limits, the groups an account may
 * belong to, and removal with an account's transaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../src/storage/types.js';
import { openSqlite } from '../../src/storage/sqlite/index.js';
import { openPostgres } from '../../src/storage/postgres/index.js';
import { TEST_PG_URL, dropSchema } from '../support/harness.js';

const group = (host: string, id: string, displayed: string[] = []) => ({ host, id, name: `Name ${id}`, description: `About ${id}`, displayed });

function suite(name: string, open: () => Promise<{ storage: Storage; cleanup: () => Promise<void> }>): void {
  describe(`shared roster group store: ${name}`, () => {
    let s: Storage;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ storage: s, cleanup } = await open());
    });
    after(async () => {
      await s?.close();
      await cleanup?.();
    });

    it('creates, replaces (members kept), lists by id byte-wise, and deletes groups with their members', async () => {
      const g = s.sharedGroups;
      assert.equal(await g.put(group('a.example', 'b', ['b', 'ä']), 10), 'created');
      assert.equal(await g.put(group('a.example', 'Z'), 10), 'created');
      assert.equal(await g.put(group('a.example', 'ä'), 10), 'created');
      assert.equal(await g.put(group('other.example', 'b'), 10), 'created');
      assert.deepEqual((await g.list('a.example')).map((x) => x.id), ['Z', 'b', 'ä']);
      assert.deepEqual(await g.get({ host: 'a.example', id: 'b' }), { ...group('a.example', 'b', ['b', 'ä']), allUsers: false, onlineUsers: false });
      assert.equal(await g.addMember({ host: 'a.example', id: 'b' }, { user: 'u1', host: 'a.example' }, 10), 'added');
      assert.equal(await g.put({ ...group('a.example', 'b'), name: 'New' }, 10), 'updated');
      const b = await g.get({ host: 'a.example', id: 'b' });
      assert.equal(b!.name, 'New');
      assert.deepEqual(b!.displayed, []);
      assert.deepEqual(await g.members({ host: 'a.example', id: 'b' }), [{ user: 'u1', host: 'a.example' }]);
      assert.equal(await g.delete({ host: 'a.example', id: 'b' }), true);
      assert.equal(await g.delete({ host: 'a.example', id: 'b' }), false);
      assert.deepEqual(await g.members({ host: 'a.example', id: 'b' }), []);
      assert.ok(await g.get({ host: 'other.example', id: 'b' }), 'the same id on another host is another group');
    });

    it('refuses groups beyond the limit per host, and members beyond the limit per group', async () => {
      const g = s.sharedGroups;
      for (const id of ['1', '2']) assert.equal(await g.put(group('limit.example', id), 2), 'created');
      assert.equal(await g.put(group('limit.example', '3'), 2), 'full');
      assert.equal(await g.put(group('limit.example', '1'), 2), 'updated');
      const ref = { host: 'limit.example', id: '1' };
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((user) => g.addMember(ref, { user, host: 'limit.example' }, 3)));
      assert.deepEqual(results.filter((r) => r === 'added').length, 3, 'concurrent adds stop at the limit');
      assert.deepEqual(results.filter((r) => r === 'full').length, 1);
      assert.equal(await g.addMember(ref, { user: 'a', host: 'limit.example' }, 3), 'present');
      assert.equal(await g.addMember({ host: 'limit.example', id: 'nope' }, { user: 'a', host: 'limit.example' }, 3), 'no-group');
      assert.equal(await g.removeMember(ref, { user: 'a', host: 'limit.example' }), true);
      assert.equal(await g.removeMember(ref, { user: 'a', host: 'limit.example' }), false);
    });

    it('finds the groups an account may belong to: explicit ones of any host, special ones of its own host', async () => {
      const g = s.sharedGroups;
      for (const [host, id] of [['c.example', 'named'], ['c.example', 'all'], ['c.example', 'online'], ['c.example', 'none'], ['d.example', 'all'], ['d.example', 'cross']]) {
        await g.put(group(host!, id!), 10);
      }
      assert.equal(await g.setSpecial({ host: 'c.example', id: 'all' }, 'allUsers', true), true);
      assert.equal(await g.setSpecial({ host: 'c.example', id: 'online' }, 'onlineUsers', true), true);
      assert.equal(await g.setSpecial({ host: 'd.example', id: 'all' }, 'allUsers', true), true);
      assert.equal(await g.setSpecial({ host: 'c.example', id: 'nope' }, 'allUsers', true), false);
      const u = { user: 'u', host: 'c.example' };
      await g.addMember({ host: 'c.example', id: 'named' }, u, 10);
      await g.addMember({ host: 'd.example', id: 'cross' }, u, 10);
      await g.addMember({ host: 'c.example', id: 'all' }, u, 10);
      const found = (await g.candidateGroups(u)).map((c) => `${c.group.host}/${c.group.id}:${c.explicit}`).sort();
      assert.deepEqual(found, ['c.example/all:true', 'c.example/named:true', 'c.example/online:false', 'd.example/cross:true']);
      const stranger = (await g.candidateGroups({ user: 'x', host: 'c.example' })).map((c) => c.group.id).sort();
      assert.deepEqual(stranger, ['all', 'online']);
      // An account's removal takes it out of every group, inside the removal's transaction.
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.sharedGroups.removeAccount(u);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal((await g.candidateGroups(u)).filter((c) => c.explicit).length, 3, 'a rollback keeps the memberships');
      await s.transaction((tx) => tx.sharedGroups.removeAccount(u));
      assert.equal((await g.candidateGroups(u)).filter((c) => c.explicit).length, 0);
      assert.deepEqual(await g.members({ host: 'd.example', id: 'cross' }), []);
    });
  });
}

suite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-srg-store-'));
  return { storage: openSqlite(join(dir, 'parley.db')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

suite('postgres', async () => {
  const schema = `parley_srg_${process.pid}_${randomBytes(4).toString('hex')}`;
  return { storage: await openPostgres(TEST_PG_URL, { schema }), cleanup: () => dropSchema(schema) };
});
