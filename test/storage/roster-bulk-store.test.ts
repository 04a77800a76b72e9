/**
 * The roster store's bulk operations (putMany, scan) on both backends: SQLite (temp file) and
 * PostgreSQL (fresh schema), whatever PARLEY_TEST_STORAGE says.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../src/storage/types.js';
import { openSqlite } from '../../src/storage/sqlite/index.js';
import { openPostgres } from '../../src/storage/postgres/index.js';
import type { RosterItem } from '../../src/modules/roster/store.js';
import { newItem } from '../../src/modules/roster/index.js';
import { TEST_PG_URL, dropSchema } from '../support/harness.js';

const item = (jid: string, over: Partial<RosterItem> = {}): RosterItem => ({ ...newItem(jid), ...over });

const backends: { name: string; open: () => Promise<{ storage: Storage; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'parley-rbulk-'));
      const storage = openSqlite(join(dir, 'p.db'));
      return { storage, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `parley_rbulk_${process.pid}_${randomBytes(4).toString('hex')}`;
      const storage = await openPostgres(TEST_PG_URL, { schema });
      return { storage, cleanup: () => dropSchema(schema) };
    },
  },
];

for (const backend of backends) {
  describe(`roster bulk store (${backend.name})`, () => {
    let s: Storage;
    let cleanup: () => Promise<void>;
    const ready = backend.open().then((o) => ({ storage: (s = o.storage), cleanup: (cleanup = o.cleanup) }));
    after(async () => {
      await ready;
      await s.close();
      await cleanup();
    });

    it('putMany writes every item in one step per visible change, or nothing past maxItems', async () => {
      await ready;
      const owner = 'a@localhost';
      assert.deepEqual(await s.roster.putMany(owner, [item('b@localhost'), item('c@localhost', { name: 'C', groups: ['g'] })], 3), { stored: true, versions: [1, 2] });
      assert.equal(await s.roster.count(owner), 2);
      assert.equal(await s.roster.version(owner), 2);
      // Two new items where one fits: refused whole, nothing written, counters as they were.
      assert.deepEqual(await s.roster.putMany(owner, [item('d@localhost'), item('e@localhost')], 3), { stored: false, versions: [] });
      assert.deepEqual((await s.roster.list(owner)).map((i) => i.jid), ['b@localhost', 'c@localhost']);
      assert.equal(await s.roster.count(owner), 2);
      assert.equal(await s.roster.version(owner), 2);
      // Updates never count against the limit; an unchanged item does not move the version.
      const r = await s.roster.putMany(owner, [item('c@localhost', { name: 'C', groups: ['g'] }), item('b@localhost', { subscription: 'both' }), item('d@localhost')], 3);
      assert.deepEqual(r, { stored: true, versions: [2, 3, 4] });
      assert.equal(await s.roster.count(owner), 3);
      assert.deepEqual(await s.roster.get(owner, 'b@localhost'), item('b@localhost', { subscription: 'both' }));
      assert.deepEqual(await s.roster.get(owner, 'c@localhost'), item('c@localhost', { name: 'C', groups: ['g'] }));
      // An invisible item (a stored inbound request) is no change a client sees.
      assert.deepEqual(await s.roster.putMany('z@localhost', [item('y@localhost', { visible: false, pendingIn: true })]), { stored: true, versions: [0] });
      assert.equal(await s.roster.count('z@localhost'), 1);
      // Inside a transaction, the same.
      await s.transaction(async (tx) => {
        assert.deepEqual(await tx.roster.putMany('t@localhost', [item('u@localhost')], 1), { stored: true, versions: [1] });
      });
      assert.equal(await s.roster.count('t@localhost'), 1);
    });

    it('scan selects by subscription and pending state, and pages by (owner, jid) through every item once', async () => {
      await ready;
      const rows: [string, RosterItem][] = [];
      for (const o of ['p1@x', 'p2@x', 'p3@y']) {
        const items = [
          item(`both@x`, { subscription: 'both' }),
          item(`to@x`, { subscription: 'to' }),
          item(`out@x`, { askOut: true }),
          item(`in@x`, { pendingIn: true, visible: false }),
          item(`inout@x`, { pendingIn: true, askOut: true }),
          item(`server.x`, { subscription: 'from' }),
        ];
        await s.roster.putMany(o, items);
        for (const i of items) rows.push([o, i]);
      }
      const pairs = (l: { owner: string; item: RosterItem }[]) => l.filter((r) => r.owner.startsWith('p')).map((r) => `${r.owner} ${r.item.jid}`);
      const all = async (filter: Parameters<Storage['roster']['scan']>[0], page = 1000) => {
        const out: { owner: string; item: RosterItem }[] = [];
        let after: { owner: string; jid: string } | undefined;
        for (;;) {
          const got = await s.roster.scan(filter, after, page);
          out.push(...got);
          if (got.length < page) return out;
          after = { owner: got.at(-1)!.owner, jid: got.at(-1)!.item.jid };
        }
      };
      const everything = await all({});
      assert.deepEqual(pairs(everything).sort(), rows.map(([o, i]) => `${o} ${i.jid}`).sort());
      // Paging three at a time: the same items, each once, in the same order.
      assert.deepEqual(pairs(await all({}, 3)), pairs(everything));
      // The item read back whole.
      assert.deepEqual(everything.find((r) => r.owner === 'p1@x' && r.item.jid === 'in@x')?.item, item('in@x', { pendingIn: true, visible: false }));
      const jidsOf = async (filter: Parameters<Storage['roster']['scan']>[0]) => [...new Set(pairs(await all(filter, 4)).map((p) => p.split(' ')[1]))].sort();
      assert.deepEqual(await jidsOf({ subscriptions: ['both', 'from'] }), ['both@x', 'server.x']);
      assert.deepEqual(await jidsOf({ pending: ['out'] }), ['inout@x', 'out@x']);
      assert.deepEqual(await jidsOf({ pending: ['in'] }), ['in@x', 'inout@x']);
      assert.deepEqual(await jidsOf({ pending: ['none'] }), ['both@x', 'server.x', 'to@x']);
      assert.deepEqual(await jidsOf({ subscriptions: ['none'], pending: ['none', 'in'] }), ['in@x', 'inout@x']);
      assert.deepEqual(await jidsOf({ subscriptions: [] }), []);
      assert.deepEqual(await jidsOf({ pending: [] }), []);
    });
  });
}
