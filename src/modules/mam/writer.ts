import type { Logger } from 'pino';
import type { MamRow, MamStore } from './store.js';

/**
 * Archive rows are written in batches: a message gets its id at once (it is delivered with it) and
 * its row waits in memory for at most `interval()` ms, when every row queued by then is written.
 * A batch is sorted by archive before it is written, in transactions of CHUNK rows: rows of one
 * archive then land on the same index pages in the same transaction, which SQLite's WAL writes
 * once per transaction (unsorted, 20 rows for 20 archives dirty some 40 index pages). Between
 * transactions the event loop serves others. Readers call `flush` first, so what was delivered is
 * what they read. The queue is bounded: past `max` rows, `add` waits for the writes (backpressure on
 * the senders), so memory stays bounded when storage is slower than the traffic.
 */
/** Rows per write transaction. */
const CHUNK = 500;

export class ArchiveWriter {
  private queue: MamRow[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastId = 0;
  /** Rows written per archive since its size was last checked. */
  private sinceCheck = new Map<string, number>();

  constructor(
    private readonly store: MamStore,
    private readonly log: Logger,
    private readonly max: () => number,
    /** How long a row may wait for its batch (ms); 0: until the end of the turn of the event loop. */
    private readonly interval: () => number,
    /** Told about archives that got `due` more rows since their last check (trimming). */
    private readonly due: (owner: string, kind: MamRow['kind']) => number,
    private readonly check: (owner: string, kind: MamRow['kind']) => Promise<void>,
    /** Told about each chunk of rows once it is stored (archive sizes kept in memory move with it). */
    private readonly written: (rows: readonly MamRow[]) => void = () => {},
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
    while (this.queue.length >= this.max()) await this.flush();
    this.queue.push(row);
    if (this.timer === undefined) {
      const run = () => {
        this.timer = undefined;
        this.flush().catch((err) => this.log.error({ err }, 'archive write failed'));
      };
      const ms = this.interval();
      // Not holding the process open: a stop writes what waits (node-stopping).
      this.timer = ms > 0 ? setTimeout(run, ms).unref() : setImmediate(run);
    }
  }

  /** Forgets the queued rows of an archive (it is being removed). */
  drop(owner: string): void {
    if (this.queue.some((r) => r.owner === owner)) this.queue = this.queue.filter((r) => r.owner !== owner);
    this.sinceCheck.delete(owner);
  }

  /** Resolves once every row queued before the call is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.write(batch).finally(() => (this.writing = undefined));
    await this.writing;
  }

  private async write(batch: MamRow[]): Promise<void> {
    batch.sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : a.id - b.id));
    for (let i = 0; i < batch.length; i += CHUNK) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const chunk = batch.slice(i, i + CHUNK);
      try {
        await this.store.insert(chunk);
        this.written(chunk);
      } catch (err) {
        // Not retried: rows that failed once would most likely fail again and hold every later batch.
        this.log.error({ err, rows: chunk.length }, 'archive rows lost: the write failed');
      }
    }
    if (this.sinceCheck.size > 100_000) this.sinceCheck.clear();
    for (const r of batch) {
      const n = (this.sinceCheck.get(r.owner) ?? 0) + 1;
      if (n >= this.due(r.owner, r.kind)) {
        this.sinceCheck.set(r.owner, 0);
        this.check(r.owner, r.kind).catch((err) => this.log.error({ err, owner: r.owner }, 'archive trim failed'));
      } else {
        this.sinceCheck.set(r.owner, n);
      }
    }
  }
}
