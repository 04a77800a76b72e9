// The archive writer's queue is bounded; a sender that waits for room is let in with the next
// batch, not passed again and again by senders that came after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ArchiveWriter } from '../../src/modules/mam/writer.js';
import type { MamRow, MamStore } from '../../src/modules/mam/store.js';

const row = (n: number): MamRow => ({
  owner: 'a@localhost',
  id: n,
  peer: 'b@localhost',
  peerResource: '',
  kind: 'in',
  originId: null,
  createdAt: n,
  stanza: `<message><body>${n}</body></message>`,
  state: 0,
});

test('a sender waiting on a full archive queue gets into the next batch, ahead of senders that came later', async () => {
  const batches: number[][] = [];
  // A slow store: each write takes 20 ms.
  const store = {
    async maxId() {
      return 0;
    },
    async insert(rows: readonly MamRow[]) {
      batches.push(rows.map((r) => r.id));
      await new Promise((r) => setTimeout(r, 20));
    },
  } as unknown as MamStore;
  const writer = new ArchiveWriter(store, pino({ level: 'silent' }), () => 2, () => 10_000, () => 10_000, () => Infinity, async () => {}, () => {});
  await writer.ready;
  await writer.add(row(1));
  await writer.add(row(2));
  // The queue is full: this sender waits, and its wait starts the write of [1, 2].
  const waiting = writer.add(row(3));
  // Later senders, while [1, 2] is being written.
  const later = [writer.add(row(4)), writer.add(row(5)), writer.add(row(6))];
  await waiting;
  await writer.flush();
  await Promise.all(later);
  await writer.flush();
  assert.deepEqual(batches[0], [1, 2]);
  assert.ok(batches[1]!.includes(3), `the waiting sender's row is in the second batch: ${JSON.stringify(batches)}`);
  assert.deepEqual(batches.flat().sort((a, b) => a - b), [1, 2, 3, 4, 5, 6], 'every row written once');
});
