/**
 * Micro-benchmark of the message archive's table (mam_messages) through its store: batched
 * inserts per second as the archive writer makes them, then page queries on a filled archive
 * (the last page, a conversation's page, a forward page after an id, the count), p50/p99.
 *
 *     node dist/bench/mam-store.js [--rows 1000000] [--owners 5000] [--batch 4000]
 *                                  [--postgres postgres://...] [--keep]
 *
 * Rows are made the way the server makes them: two per message (the sender's and the
 * recipient's copy), ids increasing with time, ~300-character stanzas. One archive ("hot") gets
 * --hot rows (default 100,000: the default mam.maxMessagesPerAccount) to measure a count at the cap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../src/storage/sqlite/index.js';
import { openPostgres } from '../src/storage/postgres/index.js';
import type { MamRow } from '../src/modules/mam/store.js';
import type { Storage } from '../src/storage/types.js';
import { ArchiveWriter } from '../src/modules/mam/writer.js';
import { pino } from 'pino';
import pg from 'pg';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const ROWS = Number(arg('rows', '1000000'));
const OWNERS = Number(arg('owners', '5000'));
/** Rows per flush of the archive writer: 4,000 is what 200 ms of 10,000 messages/s queue (two rows each). */
const BATCH = Number(arg('batch', '4000'));
const HOT = Number(arg('hot', '100000'));
const PG = arg('postgres', '');
const QUERIES = Number(arg('queries', '2000'));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const user = (i: number) => `user${i}@localhost`;
let lastId = Date.now() * 1000 - ROWS * 10;
const nextId = () => ++lastId;

function stanza(from: string, to: string, n: number): string {
  return `<message xmlns="jabber:client" from="${from}/res" to="${to}" type="chat" id="msg-${n}"><body>benchmark message number ${n}, about as long as a short chat line is</body><origin-id xmlns="urn:xmpp:sid:0" id="origin-${n}"/><active xmlns="http://jabber.org/protocol/chatstates"/></message>`;
}

/** The two copies of message n between two users. */
function message(n: number, a: number, b: number): MamRow[] {
  const id = nextId();
  const at = Math.floor(id / 1000);
  const text = stanza(user(a), user(b), n);
  return [
    { owner: user(a), id, peer: user(b), peerResource: 'res', kind: 'out', originId: `origin-${n}`, createdAt: at, stanza: text, state: 0 },
    { owner: user(b), id: nextId(), peer: user(a), peerResource: 'res', kind: 'in', originId: `origin-${n}`, createdAt: at, stanza: text, state: 0 },
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-mam-bench-'));
  let storage: Storage;
  const schema = `mam_bench_${process.pid}`;
  if (PG) storage = await openPostgres(PG, { schema });
  else storage = openSqlite(join(dir, 'parley.db'));
  const store = storage.mam;
  console.log(`backend ${storage.backend}, ${ROWS.toLocaleString()} rows over ${OWNERS} archives, batches of ${BATCH} rows, node ${process.version}`);

  // Fill: pairs of neighbours talk, like the one-to-one benchmark's pairs.
  let written = 0;
  let n = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // Through the server's own writer: sorted by archive, transactions of 500 rows.
  const writer = new ArchiveWriter(store, pino({ level: 'silent' }), () => Number.MAX_SAFE_INTEGER, () => 1000, () => 1000, () => Number.MAX_SAFE_INTEGER, async () => {});
  let queued = 0;
  const fillTimes: number[] = [];
  while (written < ROWS - HOT) {
    const a = (n * 2) % OWNERS;
    for (const r of message(n++, a, (a + 1) % OWNERS)) await writer.add(r);
    queued += 2;
    if (queued >= BATCH) {
      const s = performance.now();
      await writer.flush();
      fillTimes.push(performance.now() - s);
      written += queued;
      queued = 0;
    }
  }
  const fillMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuPerRow = (cpu.user + cpu.system) / written;
  console.log(`insert: ${Math.round((written / fillMs) * 1000).toLocaleString()} rows/s wall (${written.toLocaleString()} rows), flush of ${BATCH} rows p50 ${pct(fillTimes, 50).toFixed(1)} ms p99 ${pct(fillTimes, 99).toFixed(1)} ms`);
  console.log(`insert CPU: ${cpuPerRow.toFixed(1)} µs per row (this process, row generation included): ${Math.round(1e6 / cpuPerRow).toLocaleString()} rows per CPU-second`);
  // The hot archive: one account talking to many peers.
  const hot = 'hot@localhost';
  for (let i = 0; i < HOT; i += 1000) {
    const rows: MamRow[] = [];
    for (let j = 0; j < 1000 && i + j < HOT; j++) {
      const id = nextId();
      rows.push({ owner: hot, id, peer: user((i + j) % 50), peerResource: '', kind: 'in', originId: null, createdAt: Math.floor(id / 1000), stanza: stanza(user(1), hot, n++), state: 0 });
    }
    await store.insert(rows);
  }

  const measure = async (what: string, fn: (i: number) => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const s = performance.now();
      await fn(i);
      times.push(performance.now() - s);
    }
    console.log(`${what.padEnd(44)} p50 ${pct(times, 50).toFixed(3)} ms  p99 ${pct(times, 99).toFixed(3)} ms`);
  };
  const owner = (i: number) => user((i * 7919) % OWNERS);
  const mids: number[] = [];
  for (let i = 0; i < 200; i++) {
    const rows = await store.page(owner(i), {}, 100, 'asc');
    mids.push(rows[Math.floor(rows.length / 2)]?.id ?? 0);
  }
  await measure('last page (before empty, max 50)', (i) => store.page(owner(i), {}, 51, 'desc'));
  await measure('conversation page (with, before empty)', (i) => store.page(owner(i), { peer: user(((i * 7919) % OWNERS) ^ 1) }, 51, 'desc'));
  await measure('forward page after an id (max 50)', (i) => store.page(owner(i % 200), { afterId: mids[i % 200] }, 51, 'asc'));
  await measure('count of one archive', (i) => store.count(owner(i), {}));
  await measure('page + count (what a query costs)', async (i) => {
    await store.page(owner(i), {}, 51, 'desc');
    await store.count(owner(i), {});
  });
  const few = Math.max(20, Math.floor(QUERIES / 20));
  const hotTimes: number[] = [];
  for (let i = 0; i < few; i++) {
    const s = performance.now();
    await store.count(hot, {});
    hotTimes.push(performance.now() - s);
  }
  console.log(`${`count of an archive of ${HOT.toLocaleString()} rows`.padEnd(44)} p50 ${pct(hotTimes, 50).toFixed(3)} ms  p99 ${pct(hotTimes, 99).toFixed(3)} ms`);
  const hotPage: number[] = [];
  for (let i = 0; i < few; i++) {
    const s = performance.now();
    await store.page(hot, { peer: user(i % 50) }, 51, 'desc');
    hotPage.push(performance.now() - s);
  }
  console.log(`${'hot archive: conversation last page'.padEnd(44)} p50 ${pct(hotPage, 50).toFixed(3)} ms  p99 ${pct(hotPage, 99).toFixed(3)} ms`);
  await storage.close();
  if (PG) {
    const client = new pg.Client({ connectionString: PG });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
