import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Storage } from '../types.js';
import { MIGRATIONS, migrationSql } from '../migrations.js';
import { SqlAccounts } from '../accounts-sql.js';
import { SqlSharedGroups } from '../sharedroster-sql.js';
import { SqlMuc } from '../muc-sql.js';
import { SqlOAuth } from '../oauth-sql.js';
import { SqlMam } from '../mam-sql.js';
import { SqlPush } from '../push-sql.js';
import { SqlUploads } from '../upload-sql.js';
import { SqlPep } from '../pep-sql.js';
import { SqlAudit } from '../audit-sql.js';
import { SqlHostingQueue } from '../hosting-sql.js';
import { SqliteArchiveWriter } from './archive-writer.js';
import type { MamRow } from '../../modules/mam/store.js';
import { SqlOffline, perStatement, sqlKinds, transactionHandle, type Sql } from '../kinds-sql.js';
import type { Transaction } from '../kinds.js';
import type { OwnedRosterItem, RosterDelete, RosterItem, RosterPut, RosterPutMany, RosterScanFilter, RosterStore } from '../../modules/roster/store.js';
import {
  rosterChangeIsVisible,
  rosterItemFromRow,
  rosterItemToRow,
  rosterScanQuery,
  type OwnedRosterRow,
  type RosterMetaRow,
  type RosterRow,
  type RosterWriteRow,
} from '../rows.js';

type DB = Database.Database;

function migrate(db: DB): void {
  db.exec('CREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM parley_schema').get() as { v: number | null };
  const current = row.v ?? 0;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    const sql = migrationSql(m.sql, 'sqlite');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO parley_schema (version) VALUES (?)').run(m.version);
    })();
  }
}

/** How long a statement waits for another connection's write lock, at most (it was SQLite's busy_timeout). */
const BUSY_MS = 10_000;
/** How often it tries again when the lock's holder is not this process's archive thread. */
const BUSY_POLL_MS = 5;

function isBusy(err: unknown): boolean {
  return err instanceof Database.SqliteError && (err.code === 'SQLITE_BUSY' || err.code.startsWith('SQLITE_BUSY_'));
}

/**
 * The main connection is shared by every caller, and `storage.transaction` keeps a transaction open
 * across awaits. The gate keeps other callers' statements out of it: while a transaction is open
 * they wait for it to end, and transactions take turns. A statement runs in the same synchronous
 * step as the check that found no transaction open, so nothing can begin in between.
 */
const CHECK_TRANSACTIONS = process.env.NODE_TEST_CONTEXT !== undefined || process.env.PARLEY_CHECK_TRANSACTIONS === '1';

class Gate {
  /** Settles when the open transaction ends; undefined when none is open. */
  private current: Promise<void> | undefined;
  /**
   * The transaction's async context, to catch a callback using the storage instead of its handle:
   * a programming error, checked under the test runner (or PARLEY_CHECK_TRANSACTIONS=1) only, since
   * on Node.js 20 an AsyncLocalStorage makes every promise of the process pay for its hooks.
   */
  private readonly context = CHECK_TRANSACTIONS ? new AsyncLocalStorage<Promise<void>>() : undefined;
  /** The last transaction queued; the next one starts after it. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DB,
    /** The other writer of the file in this process (the archive's thread). */
    private readonly peer: SqliteArchiveWriter,
  ) {}

  async run<T>(statement: () => T): Promise<T> {
    while (this.current) {
      this.refuseFromInside();
      await this.current;
    }
    try {
      return statement();
    } catch (err) {
      if (!this.mayRetry(err)) throw err;
    }
    return this.retry(() => this.attempt(statement));
  }

  /**
   * A statement (or BEGIN IMMEDIATE) that met another connection's write lock: nothing of it was
   * done. The main connection does not wait for the lock (busy_timeout 0: that would stop the event
   * loop); it is tried again once the holder has committed, for up to BUSY_MS.
   */
  private async attempt<T>(statement: () => T): Promise<T> {
    while (this.current) await this.current;
    return statement();
  }

  mayRetry(err: unknown): boolean {
    return isBusy(err) && !this.db.inTransaction;
  }

  async retry<T>(again: () => Promise<T>, deadline = Date.now() + BUSY_MS): Promise<T> {
    const release = this.peer.want();
    try {
      for (;;) {
        await this.peer.turn(BUSY_POLL_MS);
        try {
          return await again();
        } catch (err) {
          if (!this.mayRetry(err) || Date.now() > deadline) throw err;
        }
      }
    } finally {
      release();
    }
  }

  /** Waiting for the open transaction from inside it would never end. */
  private refuseFromInside(): void {
    if (this.current && this.context && this.context.getStore() === this.current) {
      throw new Error('storage used directly inside storage.transaction: use the transaction handle (a deadlock otherwise)');
    }
  }

  /** Runs `fn` with the gate closed to everyone else, after the transactions queued before it. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.refuseFromInside();
    const before = this.tail;
    let end!: () => void;
    const mine = new Promise<void>((resolve) => (end = resolve));
    this.tail = before.then(() => mine);
    await before;
    // Statements already admitted ran synchronously; wait for none. Close the gate in this step.
    this.current = mine;
    try {
      return await (this.context ? this.context.run(mine, fn) : fn());
    } finally {
      this.current = undefined;
      end();
    }
  }
}

/** Inside a transaction: its own statements pass. */
const OPEN: Gate = { run: async <T>(statement: () => T) => statement() } as Gate;

class SqliteSql implements Sql {
  readonly bytewise = '';
  private savepoints = 0;
  constructor(
    private readonly db: DB,
    /** Prepared statements by SQL text. */
    private readonly statements: (sql: string) => Database.Statement,
    /** The storage's gate, or OPEN for the connection as seen inside a transaction. */
    private readonly gate: Gate,
    private readonly inside?: SqliteSql,
  ) {}
  all<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.gate.run(() => this.statements(sql).all(...params) as R[]);
  }
  get<R>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return this.gate.run(() => this.statements(sql).get(...params) as R | undefined);
  }
  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.gate.run(() => this.statements(sql).run(...params).changes);
  }
  async lock(): Promise<void> {}
  async atomic<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (!this.inside) return this.nested(fn);
    const inside = this.inside;
    return this.gate.exclusive(async () => {
      // IMMEDIATE: the write lock is taken first, so another process sharing the file cannot
      // change what this transaction reads before it writes.
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        if (!this.gate.mayRetry(err)) throw err;
        await this.gate.retry(async () => this.db.exec('BEGIN IMMEDIATE'));
      }
      try {
        const result = await fn(inside);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }
  /** Inside a transaction: a savepoint, so a failing part can be undone alone. */
  private async nested<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const name = `parley_sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw err;
    }
  }
}

class SqliteRoster implements RosterStore {
  private q;
  private putTx;
  private putManyTx;
  private deleteTx;
  private deleteAllTx;
  constructor(
    private readonly db: DB,
    private readonly gate: Gate,
  ) {
    this.q = {
      list: db.prepare('SELECT * FROM roster_items WHERE owner = ? ORDER BY jid'),
      get: db.prepare('SELECT * FROM roster_items WHERE owner = ? AND jid = ?'),
      put: db.prepare(
        `INSERT INTO roster_items (owner, jid, name, subscription, ask_out, pending_in, approved, groups_json, visible)
         VALUES (@owner, @jid, @name, @subscription, @ask_out, @pending_in, @approved, @groups_json, @visible)
         ON CONFLICT (owner, jid) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
           ask_out = excluded.ask_out, pending_in = excluded.pending_in, approved = excluded.approved,
           groups_json = excluded.groups_json, visible = excluded.visible`,
      ),
      delete: db.prepare('DELETE FROM roster_items WHERE owner = ? AND jid = ?'),
      deleteAll: db.prepare('DELETE FROM roster_items WHERE owner = ?'),
      countVisible: db.prepare('SELECT COUNT(*) FROM roster_items WHERE owner = ? AND visible = 1').pluck(),
      meta: db.prepare('SELECT version, items FROM roster_meta WHERE owner = ?'),
      // Adds deltas to the owner's counters, creating the row on the owner's first item.
      bumpMeta: db.prepare(
        `INSERT INTO roster_meta (owner, version, items) VALUES (@owner, @version, @items)
         ON CONFLICT (owner) DO UPDATE SET version = roster_meta.version + excluded.version, items = roster_meta.items + excluded.items`,
      ),
      clearMeta: db.prepare('UPDATE roster_meta SET items = 0, version = version + ? WHERE owner = ?'),
    };
    // Each runs as one IMMEDIATE transaction: the write lock is taken before the count is read,
    // so another process sharing the file cannot slip an item in between check and insert.
    this.putTx = db.transaction((owner: string, row: RosterWriteRow, maxItems: number): RosterPut => {
      const meta = this.meta(owner);
      const old = this.q.get.get(owner, row.jid) as RosterRow | undefined;
      if (!old && meta.items >= maxItems) return { stored: false, version: meta.version };
      this.q.put.run({ owner, ...row });
      const version = rosterChangeIsVisible(old, row) ? 1 : 0;
      const items = old ? 0 : 1;
      if (version || items) this.q.bumpMeta.run({ owner, version, items });
      return { stored: true, version: meta.version + version };
    });
    this.putManyTx = db.transaction((owner: string, rows: RosterWriteRow[], maxItems: number): RosterPutMany => {
      const meta = this.meta(owner);
      const olds = rows.map((row) => this.q.get.get(owner, row.jid) as RosterRow | undefined);
      const items = olds.filter((old) => !old).length;
      if (items > 0 && meta.items + items > maxItems) return { stored: false, versions: [] };
      let version = meta.version;
      const versions = rows.map((row, i) => {
        this.q.put.run({ owner, ...row });
        if (rosterChangeIsVisible(olds[i], row)) version++;
        return version;
      });
      if (version !== meta.version || items) this.q.bumpMeta.run({ owner, version: version - meta.version, items });
      return { stored: true, versions };
    });
    this.deleteTx = db.transaction((owner: string, jid: string): RosterDelete => {
      const meta = this.meta(owner);
      const old = this.q.get.get(owner, jid) as RosterRow | undefined;
      if (!old) return { deleted: false, version: meta.version };
      this.q.delete.run(owner, jid);
      const version = Number(old.visible) === 1 ? 1 : 0;
      this.q.bumpMeta.run({ owner, version, items: -1 });
      return { deleted: true, version: meta.version + version };
    });
    this.deleteAllTx = db.transaction((owner: string) => {
      const visible = Number(this.q.countVisible.get(owner));
      this.q.deleteAll.run(owner);
      this.q.clearMeta.run(visible > 0 ? 1 : 0, owner);
    });
  }
  private meta(owner: string): { version: number; items: number } {
    const row = this.q.meta.get(owner) as RosterMetaRow | undefined;
    return row ? { version: Number(row.version), items: Number(row.items) } : { version: 0, items: 0 };
  }
  list(owner: string): Promise<RosterItem[]> {
    return this.gate.run(() => (this.q.list.all(owner) as RosterRow[]).map(rosterItemFromRow));
  }
  get(owner: string, jid: string): Promise<RosterItem | undefined> {
    return this.gate.run(() => {
      const row = this.q.get.get(owner, jid) as RosterRow | undefined;
      return row && rosterItemFromRow(row);
    });
  }
  put(owner: string, item: RosterItem, maxItems = Infinity): Promise<RosterPut> {
    return this.gate.run(() => this.putTx.immediate(owner, rosterItemToRow(item), maxItems));
  }
  putMany(owner: string, items: readonly RosterItem[], maxItems = Infinity): Promise<RosterPutMany> {
    return this.gate.run(() => this.putManyTx.immediate(owner, items.map(rosterItemToRow), maxItems));
  }
  scan(filter: RosterScanFilter, after: { owner: string; jid: string } | undefined, limit: number): Promise<OwnedRosterItem[]> {
    const { sql, params } = rosterScanQuery(filter, after, limit);
    return this.gate.run(() => (this.statement(sql).all(...params) as OwnedRosterRow[]).map((r) => ({ owner: r.owner, item: rosterItemFromRow(r) })));
  }
  /** Scan statements, by text: a handful of filter shapes, each prepared once. */
  private statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }
  delete(owner: string, jid: string): Promise<RosterDelete> {
    return this.gate.run(() => this.deleteTx.immediate(owner, jid));
  }
  deleteAll(owner: string): Promise<void> {
    return this.gate.run(() => {
      this.deleteAllTx.immediate(owner);
    });
  }
  version(owner: string): Promise<number> {
    return this.gate.run(() => this.meta(owner).version);
  }
  count(owner: string): Promise<number> {
    return this.gate.run(() => this.meta(owner).items);
  }
}

/** The archive's rows are written by their own thread (`archive-writer.ts`); the rest of it is shared SQL. */
class SqliteMam extends SqlMam {
  constructor(
    sql: Sql,
    private readonly writer: SqliteArchiveWriter,
  ) {
    super(sql);
  }
  override async insert(rows: readonly MamRow[]): Promise<void> {
    if (rows.length === 0) return;
    const { stored } = this.writer.insert(rows);
    await this.writer.sync();
    await stored;
  }
  queue(rows: readonly MamRow[]): { accepted: Promise<void>; stored: Promise<void> } {
    return this.writer.insert(rows);
  }
  sync(): Promise<void> {
    return this.writer.sync();
  }
}

export function openSqlite(path: string): Storage {
  mkdirSync(dirname(path), { recursive: true });
  // Credentials live here: only the server's user may read the file (SQLite gives the WAL the same mode).
  if (!existsSync(path)) writeFileSync(path, '', { mode: 0o600 });
  else chmodSync(path, 0o600);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  // From here the gate waits for other connections' write lock, without blocking (Gate.retry).
  db.pragma('busy_timeout = 0');
  const archiveWriter = new SqliteArchiveWriter(path);
  const gate = new Gate(db, archiveWriter);
  const statements = perStatement((sql) => db.prepare(sql));
  const inside = new SqliteSql(db, statements, OPEN);
  const sql = new SqliteSql(db, statements, gate, inside);
  // The stores as seen inside a transaction: the same statements, past the gate.
  const tx: Transaction = transactionHandle(inside, { roster: new SqliteRoster(db, OPEN) });
  return {
    backend: 'sqlite',
    accounts: new SqlAccounts(sql),
    roster: new SqliteRoster(db, gate),
    offline: new SqlOffline(sql),
    sharedGroups: new SqlSharedGroups(sql),
    oauth: new SqlOAuth(sql),
    mam: new SqliteMam(sql, archiveWriter),
    muc: new SqlMuc(sql),
    push: new SqlPush(sql),
    uploads: new SqlUploads(sql),
    pep: new SqlPep(sql),
    audit: new SqlAudit(sql),
    hosting: new SqlHostingQueue(sql),
    ...sqlKinds(sql),
    transaction: (fn) => sql.atomic(() => fn(tx)),
    database: {
      schemaVersion: () => sql.get<{ v: number | null }>('SELECT MAX(version) AS v FROM parley_schema').then((r) => Number(r?.v ?? 0)),
      snapshot: (fn) => sql.atomic(fn),
      replace: (fn) => sql.atomic(fn),
      async backupTo(target: string) {
        // SQLite's online backup starts again whenever another connection writes the file.
        await archiveWriter.pause();
        try {
          await db.backup(target);
        } finally {
          archiveWriter.resume();
        }
      },
    },
    async close() {
      await archiveWriter.close();
      db.close();
    },
  };
}

/**
 * A Parley SQLite database file opened read-only (a backup to restore): its schema version and its
 * tables, or undefined when the file is not an SQLite database with Parley's `parley_schema` table.
 */
export function openSqliteBackup(path: string): { version: number; rows(table: string, columns: readonly string[]): Iterable<Record<string, unknown>>; close(): void } | undefined {
  let db: DB;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    const v = db.prepare('SELECT MAX(version) AS v FROM parley_schema').get() as { v: number | null };
    return {
      version: Number(v.v ?? 0),
      rows: (table, columns) => db.prepare(`SELECT ${columns.join(', ')} FROM ${table}`).iterate() as Iterable<Record<string, unknown>>,
      close: () => db.close(),
    };
  } catch {
    db.close();
    return undefined;
  }
}
