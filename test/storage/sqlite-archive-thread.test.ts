// SQLite's archive rows are written by a thread of their own, with its own connection: the main
// connection must never fail or block on the write lock that thread holds, and what the thread
// holds becomes visible with `sync`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/storage/sqlite/index.js';
import { jsonCodec, type Codec } from '../../src/storage/kinds.js';
import type { MamRow } from '../../src/modules/mam/store.js';

let next = Date.now() * 1000;
const row = (owner: string, n: number): MamRow => ({
  owner,
  id: ++next,
  peer: 'peer@localhost',
  peerResource: 'r',
  kind: 'in',
  originId: `o${n}`,
  createdAt: Math.floor(next / 1000),
  stanza: `<message xmlns="jabber:client"><body>${n}</body></message>`,
  state: 0,
});

test('the archive thread holds its rows in an open transaction; main-thread writes meanwhile wait without blocking and succeed; sync makes the rows visible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-archive-thread-'));
  const s = openSqlite(join(dir, 'parley.db'));
  try {
    const mam = s.mam;
    assert.ok(mam.queue && mam.sync, 'the SQLite archive store writes through its thread');
    const rows = Array.from({ length: 300 }, (_, i) => row('a@localhost', i));
    const { accepted, stored } = mam.queue(rows);
    await accepted;
    // The thread's transaction is open: its rows are not visible to the main connection yet.
    assert.equal(await mam.count('a@localhost', {}), 0);
    let storedYet = false;
    void stored.then(() => (storedYet = true));
    // A main-thread write meets the thread's lock: the main connection has no busy timeout, so it
    // fails with SQLITE_BUSY unless the gate retries it once the thread has committed for it.
    const counter = s.value('counter', jsonCodec as Codec<number>);
    const account = { user: 'b', host: 'localhost' };
    await Promise.all(Array.from({ length: 20 }, (_, i) => counter.set({ user: `u${i}`, host: 'localhost' }, i)));
    await counter.set(account, 7);
    assert.equal(await counter.get(account), 7);
    assert.equal(await counter.get({ user: 'u19', host: 'localhost' }), 19);
    // The thread committed to let the main connection in: the rows are stored.
    await stored;
    assert.ok(storedYet);
    assert.equal(await mam.count('a@localhost', {}), 300);
    // More rows, then sync: visible once it resolves; a main transaction meanwhile also gets its turn.
    const more = mam.queue(Array.from({ length: 50 }, (_, i) => row('a@localhost', 1000 + i)));
    await more.accepted;
    await s.transaction(async (tx) => {
      await tx.value('counter', jsonCodec as Codec<number>).set(account, 8);
    });
    await mam.sync();
    await more.stored;
    assert.equal(await mam.count('a@localhost', {}), 350);
    assert.equal(await counter.get(account), 8);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows handed to the archive thread before a close are stored by it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-archive-thread-'));
  const path = join(dir, 'parley.db');
  const s = openSqlite(path);
  const { accepted } = s.mam.queue!(Array.from({ length: 40 }, (_, i) => row('c@localhost', i)));
  await accepted;
  await s.close();
  const again = openSqlite(path);
  try {
    assert.equal(await again.mam.count('c@localhost', {}), 40);
  } finally {
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
