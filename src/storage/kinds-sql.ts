/**
 * The store kinds and the offline store, written once in the SQL both backends share. A backend
 * only supplies an `Sql` connection: how to run a statement, a transaction, and a lock.
 */
import type { OfflineAddOptions, OfflineMessage, OfflineStore } from '../modules/offline/store.js';
import { SqlAccounts } from './accounts-sql.js';
import { SqlSharedGroups } from './sharedroster-sql.js';
import { SqlMuc } from './muc-sql.js';
import { SqlOAuth } from './oauth-sql.js';
import { SqlMam } from './mam-sql.js';
import { SqlPush } from './push-sql.js';
import { SqlUploads } from './upload-sql.js';
import { SqlPep } from './pep-sql.js';
import type { Sql } from './sql.js';
export type { Sql } from './sql.js';
import type { RosterStore } from '../modules/roster/store.js';
import {
  ownerKey,
  type AccountRef,
  type ArchiveItem,
  type ArchiveStore,
  type Codec,
  type MapStore,
  type StoreKinds,
  type Transaction,
  type ValueStore,
} from './kinds.js';


/**
 * Remembers what `make` gives per statement text (a prepared statement, a rewritten text). The
 * texts are a bounded set but for id lists of varying length, hence the cap.
 */
export function perStatement<T>(make: (sql: string) => T, max = 256): (sql: string) => T {
  const seen = new Map<string, T>();
  return (sql) => {
    let v = seen.get(sql);
    if (v === undefined) {
      if (seen.size >= max) seen.clear();
      v = make(sql);
      seen.set(sql, v);
    }
    return v;
  };
}

/** Ids per DELETE ... IN (...) statement: far below either backend's limit on bound parameters. */
const IDS_PER_STATEMENT = 500;

/**
 * An archive table: increasing ids, an owner (bare JID), a text value, a creation time; optionally
 * a feature column when the table is shared by features.
 */
interface ArchiveTable {
  table: string;
  valueColumn: string;
  /** The feature's name when the table holds several features' archives. */
  feature?: string;
  /** A nullable column holding when an item expires (ms since the epoch), when the table has one. */
  expiresColumn?: string;
  /** A column holding each value's length, written on append, when the table has one (else it is computed). */
  charsColumn?: string;
}

interface ArchiveRow {
  id: number | string;
  value: string;
  created_at: number | string;
  expires_at?: number | string | null;
}

/** An archive item with its expiry, for a table that has an expiry column. */
interface ExpiringItem extends ArchiveItem<string> {
  expiresAt?: number;
}

/** The archive SQL, on owner keys; shared by the archive kind and the offline store. */
class SqlArchive {
  private readonly where: string;
  private readonly scope: readonly unknown[];
  constructor(
    private readonly sql: Sql,
    private readonly t: ArchiveTable,
  ) {
    this.where = t.feature === undefined ? 'owner = ?' : 'owner = ? AND feature = ?';
    this.scope = t.feature === undefined ? [] : [t.feature];
  }
  private p(owner: string, ...rest: unknown[]): unknown[] {
    return [owner, ...this.scope, ...rest];
  }
  /**
   * Appends unless the owner holds `limit` items already, or `maxChars` characters of values with
   * this one (checked and written atomically); undefined when refused.
   */
  async append(owner: string, value: string, createdAt: number, opts: { limit?: number; maxChars?: number; expiresAt?: number } = {}): Promise<number | undefined> {
    const { limit, maxChars, expiresAt } = opts;
    const cols = [`owner`, ...(this.t.feature === undefined ? [] : ['feature']), this.t.valueColumn, 'created_at'];
    const params: unknown[] = [owner, ...this.scope, value, createdAt];
    if (this.t.expiresColumn !== undefined && expiresAt !== undefined) {
      cols.push(this.t.expiresColumn);
      params.push(expiresAt);
    }
    if (this.t.charsColumn !== undefined) {
      cols.push(this.t.charsColumn);
      params.push(value.length);
    }
    const insert = `INSERT INTO ${this.t.table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) RETURNING id`;
    if (limit === undefined && maxChars === undefined) return Number((await this.sql.get<{ id: number | string }>(insert, params))!.id);
    if (maxChars !== undefined && value.length > maxChars) return undefined;
    // Writers to one owner take turns, so the count each one reads is current and the limit holds.
    return this.sql.atomic(async (tx) => {
      await tx.lock(`${this.t.table}:${this.t.feature ?? ''}:${owner}`);
      const chars = maxChars === undefined ? '' : `, COALESCE(SUM(${this.t.charsColumn ?? `LENGTH(${this.t.valueColumn})`}), 0) AS c`;
      const n = await tx.get<{ n: number | string; c?: number | string }>(`SELECT COUNT(*) AS n${chars} FROM ${this.t.table} WHERE ${this.where}`, this.p(owner));
      if (limit !== undefined && Number(n!.n) >= limit) return undefined;
      if (maxChars !== undefined && Number(n!.c) + value.length > maxChars) return undefined;
      return Number((await tx.get<{ id: number | string }>(insert, params))!.id);
    });
  }
  async count(owner: string): Promise<number> {
    const row = await this.sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${this.t.table} WHERE ${this.where}`, this.p(owner));
    return Number(row!.n);
  }
  async list(owner: string, afterId: number, limit: number): Promise<ExpiringItem[]> {
    const expires = this.t.expiresColumn === undefined ? '' : `, ${this.t.expiresColumn} AS expires_at`;
    const rows = await this.sql.all<ArchiveRow>(
      `SELECT id, ${this.t.valueColumn} AS value, created_at${expires} FROM ${this.t.table} WHERE ${this.where} AND id > ? ORDER BY id LIMIT ?`,
      this.p(owner, afterId, limit),
    );
    return rows.map((r) => {
      const item: ExpiringItem = { id: Number(r.id), value: r.value, createdAt: Number(r.created_at) };
      if (r.expires_at !== undefined && r.expires_at !== null) item.expiresAt = Number(r.expires_at);
      return item;
    });
  }
  async remove(owner: string, ids: readonly number[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
      const part = ids.slice(i, i + IDS_PER_STATEMENT);
      removed += await this.sql.run(`DELETE FROM ${this.t.table} WHERE ${this.where} AND id IN (${part.map(() => '?').join(', ')})`, this.p(owner, ...part));
    }
    return removed;
  }
  removeAll(owner: string): Promise<number> {
    return this.sql.run(`DELETE FROM ${this.t.table} WHERE ${this.where}`, this.p(owner));
  }
  removeOlderThan(createdBefore: number): Promise<number> {
    if (this.t.feature === undefined) return this.sql.run(`DELETE FROM ${this.t.table} WHERE created_at < ?`, [createdBefore]);
    return this.sql.run(`DELETE FROM ${this.t.table} WHERE feature = ? AND created_at < ?`, [this.t.feature, createdBefore]);
  }
  /** Removes the items (of one owner, or of all) that expired at or before `now`; returns how many. */
  removeExpired(now: number, owner?: string): Promise<number> {
    const col = this.t.expiresColumn;
    if (col === undefined) return Promise.resolve(0);
    if (owner !== undefined) return this.sql.run(`DELETE FROM ${this.t.table} WHERE ${this.where} AND ${col} <= ?`, this.p(owner, now));
    if (this.t.feature === undefined) return this.sql.run(`DELETE FROM ${this.t.table} WHERE ${col} <= ?`, [now]);
    return this.sql.run(`DELETE FROM ${this.t.table} WHERE feature = ? AND ${col} <= ?`, [this.t.feature, now]);
  }
}

/** Offline messages (XEP-0160) are an archive, kept in their own table from before the kinds. */
export class SqlOffline implements OfflineStore {
  private readonly a: SqlArchive;
  constructor(sql: Sql) {
    this.a = new SqlArchive(sql, { table: 'offline_messages', valueColumn: 'stanza', expiresColumn: 'expires_at', charsColumn: 'chars' });
  }
  async add(owner: string, stanza: string, createdAt: number, opts: OfflineAddOptions = {}): Promise<boolean> {
    return (await this.a.append(owner, stanza, createdAt, { limit: opts.limit, maxChars: opts.maxChars, expiresAt: opts.expiresAt })) !== undefined;
  }
  count(owner: string): Promise<number> {
    return this.a.count(owner);
  }
  async list(owner: string, afterId: number, limit: number): Promise<OfflineMessage[]> {
    return (await this.a.list(owner, afterId, limit)).map((m) => {
      const message: OfflineMessage = { id: m.id, owner, stanza: m.value, createdAt: m.createdAt };
      if (m.expiresAt !== undefined) message.expiresAt = m.expiresAt;
      return message;
    });
  }
  remove(owner: string, ids: readonly number[]): Promise<number> {
    return this.a.remove(owner, ids);
  }
  async deleteAll(owner: string): Promise<void> {
    await this.a.removeAll(owner);
  }
  deleteOlderThan(createdBefore: number): Promise<number> {
    return this.a.removeOlderThan(createdBefore);
  }
  deleteExpired(now: number, owner?: string): Promise<number> {
    return this.a.removeExpired(now, owner);
  }
}

class SqlValues<T> implements ValueStore<T> {
  constructor(
    private readonly sql: Sql,
    private readonly feature: string,
    private readonly codec: Codec<T>,
  ) {}
  async get(account: AccountRef): Promise<T | undefined> {
    const row = await this.sql.get<{ value: string }>('SELECT value FROM store_values WHERE owner = ? AND feature = ?', [ownerKey(account), this.feature]);
    return row && this.codec.decode(row.value);
  }
  async set(account: AccountRef, value: T): Promise<void> {
    await this.sql.run(
      'INSERT INTO store_values (owner, feature, value) VALUES (?, ?, ?) ON CONFLICT (owner, feature) DO UPDATE SET value = excluded.value',
      [ownerKey(account), this.feature, this.codec.encode(value)],
    );
  }
  async delete(account: AccountRef): Promise<boolean> {
    return (await this.sql.run('DELETE FROM store_values WHERE owner = ? AND feature = ?', [ownerKey(account), this.feature])) > 0;
  }
  in(tx: Transaction): ValueStore<T> {
    return tx.value(this.feature, this.codec);
  }
}

class SqlMap<T> implements MapStore<T> {
  constructor(
    private readonly sql: Sql,
    private readonly feature: string,
    private readonly codec: Codec<T>,
  ) {}
  async get(account: AccountRef, key: string): Promise<T | undefined> {
    const row = await this.sql.get<{ value: string }>('SELECT value FROM store_maps WHERE owner = ? AND feature = ? AND item_key = ?', [
      ownerKey(account),
      this.feature,
      key,
    ]);
    return row && this.codec.decode(row.value);
  }
  async set(account: AccountRef, key: string, value: T, maxItems?: number): Promise<boolean> {
    const owner = ownerKey(account);
    const upsert = (sql: Sql) =>
      sql.run(
        'INSERT INTO store_maps (owner, feature, item_key, value) VALUES (?, ?, ?, ?) ON CONFLICT (owner, feature, item_key) DO UPDATE SET value = excluded.value',
        [owner, this.feature, key, this.codec.encode(value)],
      );
    if (maxItems === undefined) {
      await upsert(this.sql);
      return true;
    }
    return this.sql.atomic(async (tx) => {
      await tx.lock(`store_maps:${this.feature}:${owner}`);
      const old = await tx.get('SELECT 1 AS x FROM store_maps WHERE owner = ? AND feature = ? AND item_key = ?', [owner, this.feature, key]);
      if (!old) {
        const n = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM store_maps WHERE owner = ? AND feature = ?', [owner, this.feature]);
        if (Number(n!.n) >= maxItems) return false;
      }
      await upsert(tx);
      return true;
    });
  }
  async delete(account: AccountRef, key: string): Promise<boolean> {
    const n = await this.sql.run('DELETE FROM store_maps WHERE owner = ? AND feature = ? AND item_key = ?', [ownerKey(account), this.feature, key]);
    return n > 0;
  }
  async list(account: AccountRef): Promise<{ key: string; value: T }[]> {
    // item_key is byte-ordered on both backends (PostgreSQL: the column's "C" collation).
    const rows = await this.sql.all<{ item_key: string; value: string }>(
      'SELECT item_key, value FROM store_maps WHERE owner = ? AND feature = ? ORDER BY item_key',
      [ownerKey(account), this.feature],
    );
    return rows.map((r) => ({ key: r.item_key, value: this.codec.decode(r.value) }));
  }
  async count(account: AccountRef): Promise<number> {
    const row = await this.sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM store_maps WHERE owner = ? AND feature = ?', [ownerKey(account), this.feature]);
    return Number(row!.n);
  }
  in(tx: Transaction): MapStore<T> {
    return tx.map(this.feature, this.codec);
  }
}

class SqlArchiveKind<T> implements ArchiveStore<T> {
  private readonly a: SqlArchive;
  constructor(
    sql: Sql,
    private readonly feature: string,
    private readonly codec: Codec<T>,
  ) {
    this.a = new SqlArchive(sql, { table: 'store_archive', valueColumn: 'value', feature });
  }
  append(account: AccountRef, value: T, createdAt: number, limit?: number): Promise<number | undefined> {
    return this.a.append(ownerKey(account), this.codec.encode(value), createdAt, { limit });
  }
  async list(account: AccountRef, afterId: number, limit: number): Promise<ArchiveItem<T>[]> {
    return (await this.a.list(ownerKey(account), afterId, limit)).map((m) => ({ ...m, value: this.codec.decode(m.value) }));
  }
  remove(account: AccountRef, ids: readonly number[]): Promise<number> {
    return this.a.remove(ownerKey(account), ids);
  }
  count(account: AccountRef): Promise<number> {
    return this.a.count(ownerKey(account));
  }
  removeAll(account: AccountRef): Promise<number> {
    return this.a.removeAll(ownerKey(account));
  }
  removeOlderThan(createdBefore: number): Promise<number> {
    return this.a.removeOlderThan(createdBefore);
  }
  in(tx: Transaction): ArchiveStore<T> {
    return tx.archive(this.feature, this.codec);
  }
}

/** The kind factories over one connection or transaction. */
export function sqlKinds(sql: Sql): StoreKinds {
  return {
    value: (feature, codec) => new SqlValues(sql, feature, codec),
    map: (feature, codec) => new SqlMap(sql, feature, codec),
    archive: (feature, codec) => new SqlArchiveKind(sql, feature, codec),
  };
}

/** A transaction handle: the backend's own stores bound to the transaction, plus the kinds. */
export function transactionHandle(sql: Sql, stores: { roster: RosterStore }): Transaction {
  return {
    ...sqlKinds(sql),
    accounts: new SqlAccounts(sql),
    roster: stores.roster,
    offline: new SqlOffline(sql),
    sharedGroups: new SqlSharedGroups(sql),
    oauth: new SqlOAuth(sql),
    mam: new SqlMam(sql),
    muc: new SqlMuc(sql),
    push: new SqlPush(sql),
    uploads: new SqlUploads(sql),
    pep: new SqlPep(sql),
    lock: (key) => sql.lock(key),
    async removeAccountData(account) {
      const owner = ownerKey(account);
      for (const table of ['store_values', 'store_maps', 'store_archive']) await sql.run(`DELETE FROM ${table} WHERE owner = ?`, [owner]);
    },
  };
}
