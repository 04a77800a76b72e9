/**
 * The SQLite archive writer's thread (see `archive-writer.ts`): its own connection to the database
 * file, which writes the message archive's rows off the event loop. It keeps one transaction open
 * and inserts rows into it as they come; a commit writes them all (their pages once, however many
 * rows share them). Messages from the main thread:
 *
 * - `insert` {seq, rows}: inserted into the open transaction (begun if none), then `accepted`
 *   {seq}; the commit that stores them says so (`committed` {stored: [seq, ...]}). Past MAX_ROWS in
 *   the transaction it is committed.
 * - `sync` {seq}: the transaction is committed; `done` {seq} (or `failed` {seq, message}).
 * - `yield`: a main-thread writer waits for the write lock: the transaction is committed now.
 * - `pause` {seq}: committed, and none begins until `resume`; `paused` {seq}.
 * - `close`: committed, the connection closed; the thread ends.
 *
 * Every commit is announced (`committed`): a main-thread statement that met the lock tries again
 * then. Before it begins a transaction the thread waits (up to YIELD_MS) while the shared counter
 * says main-thread writers wait for the lock. The inserts of a transaction that fails are reported
 * (`lost` {seqs, message}).
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { setPriority } from 'node:os';
import type { MamRow } from '../../modules/mam/store.js';
import { insertStatement, ROWS_PER_INSERT } from '../mam-sql.js';
import { perStatement } from '../kinds-sql.js';

export interface Init {
  path: string;
  /** [0]: main-thread writers waiting for the lock. */
  waiting: SharedArrayBuffer;
  /** This thread's nice value (0: the process's priority). */
  nice: number;
}

export type ToWorker =
  | { type: 'insert'; seq: number; rows: MamRow[] }
  | { type: 'sync'; seq: number }
  | { type: 'yield' }
  | { type: 'pause'; seq: number }
  | { type: 'resume' }
  | { type: 'close' };
export type FromWorker =
  | { type: 'accepted'; seq: number }
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; message: string }
  | { type: 'paused'; seq: number }
  /** A commit; `stored`: the inserts it made durable and visible. */
  | { type: 'committed'; stored: number[] }
  /** A transaction rolled back: these inserts are lost. */
  | { type: 'lost'; seqs: number[]; message: string };

/** Rows one transaction holds at most (its dirty pages stay in this connection's cache: CACHE_KIB). */
const MAX_ROWS = 20_000;
/** This connection's page cache: a transaction's dirty pages stay in it until the commit. */
const CACHE_KIB = 65_536;
/** How long a transaction waits at most for main-thread writers that want the lock. */
const YIELD_MS = 50;

const { path, waiting, nice } = workerData as Init;
// This thread only (Linux threads have their own nice value): on a busy core, routing goes first
// and the archive's rows wait for idle time, bounded by the archive writer's queue.
try {
  if (nice > 0) setPriority(0, nice);
} catch {
  // Not permitted here: the thread runs at the process's priority.
}
const waiters = new Int32Array(waiting);
const port = parentPort!;
const db = new Database(path);
db.pragma('synchronous = NORMAL');
db.pragma(`cache_size = -${CACHE_KIB}`);
// Blocking here blocks only this thread; a main-thread transaction may span many turns of its loop.
db.pragma('busy_timeout = 60000');
/** Prepared INSERTs by text: one per chunk length (the full one, and the last chunk's). */
const statement = perStatement((sql) => db.prepare(sql));

function writeRows(rows: readonly MamRow[]): void {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const { sql, params } = insertStatement(rows.slice(i, i + ROWS_PER_INSERT));
    statement(sql).run(params);
  }
}

const post = (m: FromWorker) => port.postMessage(m);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Rows in the open transaction (0: none open), and the inserts they came in. */
let open = 0;
let inserts: number[] = [];
let paused = false;
/** Inserts that came while paused. */
let held: Array<{ seq: number; rows: MamRow[] }> = [];

/** Lets main-thread writers that wait for the lock in first (bounded: this thread's rows wait too). */
function yieldToMain(): void {
  const until = Date.now() + YIELD_MS;
  for (let n = Atomics.load(waiters, 0); n > 0 && Date.now() < until; n = Atomics.load(waiters, 0)) {
    Atomics.wait(waiters, 0, n, Math.max(1, until - Date.now()));
  }
}

function insert(seq: number, rows: MamRow[]): void {
  try {
    inserts.push(seq);
    if (!db.inTransaction) {
      yieldToMain();
      db.exec('BEGIN IMMEDIATE');
    }
    writeRows(rows);
    open += rows.length;
  } catch (err) {
    abandon(err);
    return;
  }
  post({ type: 'accepted', seq });
  if (open >= MAX_ROWS) commit();
}

/** Commits the open transaction; false (its rows reported lost) when that failed. */
function commit(): boolean {
  if (inserts.length === 0) return true;
  try {
    db.exec('COMMIT');
  } catch (err) {
    abandon(err);
    return false;
  }
  post({ type: 'committed', stored: inserts });
  open = 0;
  inserts = [];
  return true;
}

/** The open transaction is rolled back: the rows of its inserts are lost. */
function abandon(err: unknown): void {
  if (db.inTransaction) db.exec('ROLLBACK');
  post({ type: 'lost', seqs: inserts, message: message(err) });
  post({ type: 'committed', stored: [] });
  open = 0;
  inserts = [];
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'insert':
      if (paused) held.push(m);
      else insert(m.seq, m.rows);
      break;
    case 'sync':
      if (commit()) post({ type: 'done', seq: m.seq });
      else post({ type: 'failed', seq: m.seq, message: 'the archive transaction failed to commit' });
      break;
    case 'yield':
      commit();
      break;
    case 'pause':
      commit();
      paused = true;
      post({ type: 'paused', seq: m.seq });
      break;
    case 'resume': {
      paused = false;
      const waiting = held;
      held = [];
      for (const h of waiting) insert(h.seq, h.rows);
      break;
    }
    case 'close':
      paused = false;
      for (const h of held) insert(h.seq, h.rows);
      held = [];
      commit();
      db.close();
      // The thread ends here (its answers are already in the main thread's queue).
      process.exit(0);
      break;
  }
});
