import type { Logger } from 'pino';
import type { MamRow, MamStore } from './store.js';

/**
 * Archive rows are written in batches: a message gets its id at once (it is delivered with it) and
 * its row waits in memory for at most `interval()` ms, when every row queued by then is written.
 * A batch is sorted by archive before it is written, in transactions of CHUNK rows: rows of one
 * archive then land on the same index pages in the same transaction, which SQLite's WAL writes
 * once per transaction (unsorted, 20 rows for 20 archives dirty some 40 index pages). Between
 * transactions the event loop serves others. A store that writes later (`MamStore.queue`, SQLite's
 * archive thread) is handed the rows every HANDOVER_MS (at most `interval()`) and told to write them
 * (`sync`) every `commitInterval()` ms, so one of its transactions holds a whole interval's rows.
 *
 * Readers call `flush` first, so what was delivered is what they read. `written` is told of rows
 * once they are stored; `settled` says whether an archive has rows on their way. The queue is
 * bounded: past `max` rows, `add` waits for the writes (backpressure on the senders), so memory
 * stays bounded when storage is slower than the traffic. Waiting senders are let in first come,
 * first served: a sender that arrives later never passes one that waits.
 */
/** Rows per write transaction (a store that writes later, `queue`, takes each batch whole). */
const CHUNK = 500;
/** How often rows are handed to a store that writes them later (`MamStore.sync`), in ms at most. */
const HANDOVER_MS = 50;

/** Consecutive rows of one archive in a sorted chunk (an archive's rows are all of one kind but rooms'). */
interface Run {
  owner: string;
  kind: MamRow['kind'];
  rows: number;
}

function runsOf(sorted: readonly MamRow[]): Run[] {
  const runs: Run[] = [];
  let last: Run | undefined;
  for (const r of sorted) {
    if (last && last.owner === r.owner && last.kind === r.kind) last.rows++;
    else runs.push((last = { owner: r.owner, kind: r.kind, rows: 1 }));
  }
  return runs;
}

export class ArchiveWriter {
  private queue: MamRow[] = [];
  private writing: Promise<void> | undefined;
  /** Senders waiting for room in the queue, in arrival order, and those let in whose rows are not queued yet. */
  private blocked: Array<() => void> = [];
  private admitted = 0;
  private kicking = false;
  /** Hand-overs to a store that writes later (`MamStore.queue`), until they are stored or lost. */
  private readonly storing = new Set<Promise<void>>();
  private readonly inFlight = new Map<string, number>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private syncTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastId = 0;
  /** Rows written per archive since its size was last checked. */
  private sinceCheck = new Map<string, number>();

  constructor(
    private readonly store: MamStore,
    private readonly log: Logger,
    private readonly max: () => number,
    /** How long a row may wait for its batch (ms); 0: until the end of the turn of the event loop. */
    private readonly interval: () => number,
    /** A store that writes later (`sync`): how long it may hold handed-over rows (ms). */
    private readonly commitInterval: () => number,
    /** Told about archives that got `due` more rows since their last check (trimming). */
    private readonly due: (owner: string, kind: MamRow['kind']) => number,
    private readonly check: (owner: string, kind: MamRow['kind']) => Promise<void>,
    /** Told about each chunk of rows once it is stored (archive sizes kept in memory move with it). */
    private readonly written: (owner: string, rows: number) => void = () => {},
  ) {
    this.ready = store.maxId().then(
      (max) => {
        if (max > this.lastId) this.lastId = max;
      },
      (err) => log.error({ err }, 'reading the highest archive id failed'),
    );
  }

  /**
   * A new stanza id: microseconds since the epoch, above every id this node gave before, so ids
   * increase with time and `start`/`end` are id ranges.
   */
  /**
   * Resolves once ids are known to start above every stored one (the clock may have gone back, or
   * the previous run have given ids ahead of it).
   */
  readonly ready: Promise<void>;

  /** Gives ids above the stored ones again (the table was replaced: restore). */
  async resync(): Promise<void> {
    const max = await this.store.maxId();
    if (max > this.lastId) this.lastId = max;
  }

  nextId(): number {
    const now = Date.now() * 1000;
    this.lastId = now > this.lastId ? now : this.lastId + 1;
    return this.lastId;
  }

  get pending(): number {
    return this.queue.length;
  }

  async add(row: MamRow): Promise<void> {
    if (this.blocked.length > 0 || this.queue.length + this.admitted >= this.max()) {
      // Full: wait in line (first come, first admitted) for room, which the write makes.
      await new Promise<void>((resolve) => {
        this.blocked.push(resolve);
        this.kick();
      });
      this.admitted--;
    }
    this.queue.push(row);
    const ms = this.interval();
    if (this.timer === undefined) {
      const run = () => {
        this.timer = undefined;
        this.handOver().catch((err) => this.log.error({ err }, 'archive write failed'));
      };
      // A store that writes later (sync) is handed rows often, in small messages.
      const wait = this.store.sync ? Math.min(ms, HANDOVER_MS) : ms;
      // Not holding the process open: a stop writes what waits (node-stopping).
      this.timer = wait > 0 ? setTimeout(run, wait).unref() : setImmediate(run);
    }
    if (this.store.sync && this.syncTimer === undefined) {
      const run = () => {
        this.syncTimer = undefined;
        this.flush().catch((err) => this.log.error({ err }, 'archive write failed'));
      };
      const commit = Math.max(ms, this.commitInterval());
      this.syncTimer = commit > 0 ? setTimeout(run, commit).unref() : setImmediate(run);
    }
  }

  /** Forgets the queued rows of an archive (it is being removed). */
  drop(owner: string): void {
    if (this.queue.some((r) => r.owner === owner)) this.queue = this.queue.filter((r) => r.owner !== owner);
    this.sinceCheck.delete(owner);
  }

  /** Resolves once every row queued before the call is written. */
  async flush(): Promise<void> {
    await this.handOver();
    if (!this.store.sync) return;
    const storing = [...this.storing];
    try {
      await this.store.sync();
    } catch (err) {
      this.log.error({ err }, 'archive rows lost: the write failed');
    }
    // Told stored (or lost) in the same turn as the commit: by now.
    await Promise.all(storing);
  }

  /** Hands the queued rows to the store (a store without `sync` has written them when it resolves). */
  private async handOver(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.queue.length === 0) {
      this.admit();
      return;
    }
    const batch = this.queue;
    this.queue = [];
    this.writing = this.write(batch).finally(() => (this.writing = undefined));
    this.admit();
    await this.writing;
  }

  /**
   * Hands over until no sender waits: one loop for all of them (a hand-over per waiting sender
   * would wake thousands of them per write under overload).
   */
  private kick(): void {
    if (this.kicking) return;
    this.kicking = true;
    void (async () => {
      try {
        while (this.blocked.length > 0) await this.handOver();
      } catch (err) {
        this.log.error({ err }, 'archive write failed');
      } finally {
        this.kicking = false;
      }
    })();
  }

  /** Lets waiting senders in, in order, as far as the queue has room. */
  private admit(): void {
    const room = this.max() - this.queue.length - this.admitted;
    const n = Math.min(room, this.blocked.length);
    if (n <= 0) return;
    this.admitted += n;
    for (const resolve of this.blocked.splice(0, n)) resolve();
  }

  private async write(batch: MamRow[]): Promise<void> {
    batch.sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : a.id - b.id));
    const size = this.store.queue ? batch.length : CHUNK;
    for (let i = 0; i < batch.length; i += size) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const chunk = batch.length <= size ? batch : batch.slice(i, i + size);
      // What is kept until the rows are stored: how many per archive, not the rows (with their
      // text), which would outlive the young generation while a store that writes later holds them.
      const runs = runsOf(chunk);
      this.moving(runs, 1);
      if (this.store.queue) {
        const { accepted, stored } = this.store.queue(chunk);
        const done = stored.then(
          () => this.stored(runs),
          (err) => this.failed(runs, err),
        );
        this.storing.add(done);
        void done.finally(() => this.storing.delete(done));
        await accepted.catch(() => {});
      } else {
        try {
          await this.store.insert(chunk);
          this.stored(runs);
        } catch (err) {
          this.failed(runs, err);
        }
      }
    }
  }

  /** Rows handed to the store and not yet known stored, per archive (see `settled`). */
  private moving(runs: readonly Run[], sign: 1 | -1): void {
    for (const r of runs) {
      const n = (this.inFlight.get(r.owner) ?? 0) + sign * r.rows;
      if (n === 0) this.inFlight.delete(r.owner);
      else this.inFlight.set(r.owner, n);
    }
  }

  /**
   * Whether every row of the archive handed to the store is known stored: only then does a count
   * read from the store match what `written` has told (a row may be stored and not yet told).
   */
  settled(owner: string): boolean {
    return !this.inFlight.has(owner);
  }

  private failed(runs: readonly Run[], err: unknown): void {
    this.moving(runs, -1);
    // Not retried: rows that failed once would most likely fail again and hold every later batch.
    this.log.error({ err, rows: runs.reduce((n, r) => n + r.rows, 0) }, 'archive rows lost: the write failed');
  }

  private stored(runs: readonly Run[]): void {
    this.moving(runs, -1);
    if (this.sinceCheck.size > 100_000) this.sinceCheck.clear();
    for (const r of runs) {
      this.written(r.owner, r.rows);
      const n = (this.sinceCheck.get(r.owner) ?? 0) + r.rows;
      if (n >= this.due(r.owner, r.kind)) {
        this.sinceCheck.set(r.owner, 0);
        this.check(r.owner, r.kind).catch((err) => this.log.error({ err, owner: r.owner }, 'archive trim failed'));
      } else {
        this.sinceCheck.set(r.owner, n);
      }
    }
  }
}
