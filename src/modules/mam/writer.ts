import type { Logger } from 'pino';
import type { MamRow, MamStore } from './store.js';

/**
 * Archive rows are written in batches: a message gets its id at once (it is delivered with it) and
 * its row waits in memory until the end of the turn of the event loop, when every row queued by
 * then is written in one transaction. Readers call `flush` first, so what was delivered is what
 * they read. The queue is bounded: past `max` rows, `add` waits for the writes (backpressure on
 * the senders), so memory stays bounded when storage is slower than the traffic.
 */
export class ArchiveWriter {
  private queue: MamRow[] = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private lastId = 0;
  /** Rows written per archive since its size was last checked. */
  private sinceCheck = new Map<string, number>();

  constructor(
    private readonly store: MamStore,
    private readonly log: Logger,
    private readonly max: () => number,
    /** Told about archives that got `due` more rows since their last check (trimming). */
    private readonly due: (owner: string, kind: MamRow['kind']) => number,
    private readonly check: (owner: string, kind: MamRow['kind']) => Promise<void>,
  ) {}

  /**
   * A new stanza id: microseconds since the epoch, above every id this node gave before, so ids
   * increase with time and `start`/`end` are id ranges.
   */
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
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush().catch((err) => this.log.error({ err }, 'archive write failed'));
      });
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
    try {
      await this.store.insert(batch);
    } catch (err) {
      // Not retried: a batch that failed once would most likely fail again and hold every later one.
      this.log.error({ err, rows: batch.length }, 'archive rows lost: the write failed');
      return;
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
