import { Worker } from 'node:worker_threads';
import type { MamRow } from '../../modules/mam/store.js';
import type { FromWorker, Init, ToWorker } from './archive-worker.js';

/**
 * The message archive's rows written by a thread of their own (`archive-worker.ts`), with its own
 * connection to the database file. An archived message costs mostly SQLite's commit: its two index
 * entries land at its archive's place in each index, so a transaction of rows for many archives
 * writes about two pages per row to the WAL, and the WAL's checkpoints wait for the disk. On the
 * event loop that is time no stanza is routed (half of a core at 10,000 archived messages/s). On
 * its own thread it is not, and one transaction takes the rows of a whole `sync` interval (the
 * archive writer's `mam.commitInterval`), so rows of one archive share their index pages and a page
 * is written once per commit, not once per row.
 *
 * `insert` hands rows over (accepted: in the thread's open transaction; stored: committed), `sync`
 * commits (readers of the archive call it first, through the archive writer's `flush`).
 *
 * The two connections take turns for SQLite's one write lock: the thread blocks on it (60 s), the
 * main connection never does: its gate retries a statement that met the lock once the thread says
 * it committed (`turn`), and `want` makes the thread commit at once and let main-thread writers in
 * before its next transaction.
 *
 * The thread starts with the first rows (most test servers archive nothing).
 */
export class SqliteArchiveWriter {
  private worker: Worker | undefined;
  private readonly waiting = new SharedArrayBuffer(4);
  private readonly waiters = new Int32Array(this.waiting);
  private seq = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private onCommit: Array<() => void> = [];
  private closed: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Inserts accepted and not yet committed, by seq. */
  private readonly storing = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly path: string) {}

  /**
   * Hands rows to the thread: `accepted` once they are in its open transaction, `stored` once that
   * is committed (rejected when it was rolled back).
   */
  insert(rows: readonly MamRow[]): { accepted: Promise<void>; stored: Promise<void> } {
    let stored!: Promise<void>;
    const accepted = this.request((seq) => {
      stored = new Promise<void>((resolve, reject) => this.storing.set(seq, { resolve, reject }));
      return { type: 'insert', seq, rows: rows as MamRow[] };
    });
    // Its failure is told to `stored`'s own callers.
    accepted.catch(() => {});
    return { accepted, stored: stored ?? accepted };
  }

  /** Commits what the thread holds; resolves once committed. */
  sync(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return this.request((seq) => ({ type: 'sync', seq }));
  }

  /** Resolves once the thread has no transaction open and opens none until `resume` (a backup). */
  async pause(): Promise<void> {
    if (!this.worker) return;
    await this.request((seq) => ({ type: 'pause', seq }));
  }

  resume(): void {
    this.worker?.postMessage({ type: 'resume' } satisfies ToWorker);
  }

  /**
   * A main-thread writer waits for the write lock: until the returned function is called, the
   * thread lets it in before its next transaction.
   */
  want(): () => void {
    Atomics.add(this.waiters, 0, 1);
    this.worker?.postMessage({ type: 'yield' } satisfies ToWorker);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      Atomics.sub(this.waiters, 0, 1);
      Atomics.notify(this.waiters, 0);
    };
  }

  /** Resolves when the thread next commits, or after `ms` (the lock's holder may be another process). */
  turn(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (this.worker) {
        this.onCommit.push(() => {
          clearTimeout(timer);
          resolve();
        });
      }
    });
  }

  /** Writes what is queued, then ends the thread. */
  close(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    const worker = this.worker;
    this.closed ??= new Promise<void>((resolve) => {
      worker.ref();
      worker.once('exit', () => resolve());
      this.wake();
      worker.postMessage({ type: 'close' } satisfies ToWorker);
    });
    return this.closed;
  }

  private request(make: (seq: number) => ToWorker): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the archive writer is closed'));
    const worker = this.start();
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      // Held open while it owes answers (a stop's last writes), not otherwise.
      worker.ref();
      this.pending.set(seq, { resolve, reject });
      worker.postMessage(make(seq));
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./archive-worker.js', import.meta.url), {
      workerData: { path: this.path, waiting: this.waiting, nice: Number(process.env.PARLEY_ARCHIVE_NICE ?? 10) } satisfies Init,
    });
    worker.on('message', (m: FromWorker) => this.message(m));
    worker.on('error', (err) => (this.failure = err));
    worker.on('exit', () => {
      // Whatever was asked and not answered is lost with the thread; its callers are told.
      const err = this.failure ?? new Error('the archive writer thread ended');
      for (const p of [...this.pending.values(), ...this.storing.values()]) p.reject(err);
      this.pending.clear();
      this.storing.clear();
      this.wake();
      if (this.worker === worker) this.worker = undefined;
    });
    // The thread holds the process open only while it owes answers.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private message(m: FromWorker): void {
    switch (m.type) {
      case 'accepted':
      case 'done':
      case 'paused':
        this.pending.get(m.seq)?.resolve();
        this.pending.delete(m.seq);
        break;
      case 'failed':
        this.pending.get(m.seq)?.reject(new Error(m.message));
        this.pending.delete(m.seq);
        break;
      case 'committed':
        for (const seq of m.stored) {
          this.storing.get(seq)?.resolve();
          this.storing.delete(seq);
        }
        this.wake();
        break;
      case 'lost': {
        const err = new Error(`archive rows lost: ${m.message}`);
        for (const seq of m.seqs) {
          this.pending.get(seq)?.reject(err);
          this.pending.delete(seq);
          this.storing.get(seq)?.reject(err);
          this.storing.delete(seq);
        }
        break;
      }
    }
    // A closing thread stays held until it has ended.
    if (this.pending.size === 0 && this.storing.size === 0 && !this.closed) this.worker?.unref();
  }

  private wake(): void {
    const waiting = this.onCommit;
    this.onCommit = [];
    for (const w of waiting) w();
  }
}
