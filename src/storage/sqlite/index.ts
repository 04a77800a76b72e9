import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Storage } from '../types.js';
import { MIGRATIONS } from '../migrations.js';
import type { AccountRecord, AccountStore, StoredCredentials } from '../../modules/accounts/store.js';
import type { RosterDelete, RosterItem, RosterPut, RosterStore } from '../../modules/roster/store.js';
import type { OfflineMessage, OfflineStore } from '../../modules/offline/store.js';
import {
  credentialsFromRow,
  credentialsToRow,
  rosterChangeIsVisible,
  rosterItemFromRow,
  rosterItemToRow,
  type AccountRow,
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
    const sql = m.sql.replaceAll('{{autoid}}', 'INTEGER PRIMARY KEY AUTOINCREMENT').replaceAll('{{bigint}}', 'INTEGER');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO parley_schema (version) VALUES (?)').run(m.version);
    })();
  }
}

class SqliteAccounts implements AccountStore {
  private q;
  constructor(db: DB) {
    this.q = {
      get: db.prepare('SELECT * FROM accounts WHERE host = ? AND username = ?'),
      create: db.prepare(
        `INSERT INTO accounts (host, username, scram_sha1, scram_sha256, plain_password, created_at)
         VALUES (@host, @username, @scram_sha1, @scram_sha256, @plain_password, @created_at) ON CONFLICT DO NOTHING`,
      ),
      setCreds: db.prepare(
        'UPDATE accounts SET scram_sha1 = @scram_sha1, scram_sha256 = @scram_sha256, plain_password = @plain_password WHERE host = @host AND username = @username',
      ),
      delete: db.prepare('DELETE FROM accounts WHERE host = ? AND username = ?'),
      list: db.prepare('SELECT username FROM accounts WHERE host = ? ORDER BY username').pluck(),
      count: db.prepare('SELECT COUNT(*) FROM accounts WHERE host = ?').pluck(),
    };
  }
  async get(host: string, user: string): Promise<AccountRecord | undefined> {
    const row = this.q.get.get(host, user) as AccountRow | undefined;
    return row && { host: row.host, user: row.username, createdAt: Number(row.created_at), ...credentialsFromRow(row) };
  }
  async create(r: AccountRecord): Promise<boolean> {
    return this.q.create.run({ host: r.host, username: r.user, created_at: r.createdAt, ...credentialsToRow(r) }).changes === 1;
  }
  async setCredentials(host: string, user: string, creds: StoredCredentials): Promise<boolean> {
    return this.q.setCreds.run({ host, username: user, ...credentialsToRow(creds) }).changes === 1;
  }
  async delete(host: string, user: string): Promise<boolean> {
    return this.q.delete.run(host, user).changes === 1;
  }
  async list(host: string): Promise<string[]> {
    return this.q.list.all(host) as string[];
  }
  async count(host: string): Promise<number> {
    return Number(this.q.count.get(host));
  }
}

class SqliteRoster implements RosterStore {
  private q;
  private putTx;
  private deleteTx;
  private deleteAllTx;
  constructor(db: DB) {
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
  async list(owner: string): Promise<RosterItem[]> {
    return (this.q.list.all(owner) as RosterRow[]).map(rosterItemFromRow);
  }
  async get(owner: string, jid: string): Promise<RosterItem | undefined> {
    const row = this.q.get.get(owner, jid) as RosterRow | undefined;
    return row && rosterItemFromRow(row);
  }
  async put(owner: string, item: RosterItem, maxItems = Infinity): Promise<RosterPut> {
    return this.putTx.immediate(owner, rosterItemToRow(item), maxItems);
  }
  async delete(owner: string, jid: string): Promise<RosterDelete> {
    return this.deleteTx.immediate(owner, jid);
  }
  async deleteAll(owner: string): Promise<void> {
    this.deleteAllTx.immediate(owner);
  }
  async version(owner: string): Promise<number> {
    return this.meta(owner).version;
  }
  async count(owner: string): Promise<number> {
    return this.meta(owner).items;
  }
}

class SqliteOffline implements OfflineStore {
  private q;
  private addTx;
  constructor(private readonly db: DB) {
    this.q = {
      add: db.prepare('INSERT INTO offline_messages (owner, stanza, created_at) VALUES (?, ?, ?)'),
      count: db.prepare('SELECT COUNT(*) FROM offline_messages WHERE owner = ?').pluck(),
      list: db.prepare('SELECT id, owner, stanza, created_at FROM offline_messages WHERE owner = ? AND id > ? ORDER BY id LIMIT ?'),
      deleteAll: db.prepare('DELETE FROM offline_messages WHERE owner = ?'),
      deleteOlder: db.prepare('DELETE FROM offline_messages WHERE created_at < ?'),
    };
    this.addTx = db.transaction((owner: string, stanza: string, createdAt: number, limit: number | undefined) => {
      if (limit !== undefined && Number(this.q.count.get(owner)) >= limit) return false;
      this.q.add.run(owner, stanza, createdAt);
      return true;
    });
  }
  async add(owner: string, stanza: string, createdAt: number, limit?: number): Promise<boolean> {
    return this.addTx.immediate(owner, stanza, createdAt, limit);
  }
  async count(owner: string): Promise<number> {
    return Number(this.q.count.get(owner));
  }
  async list(owner: string, afterId: number, limit: number): Promise<OfflineMessage[]> {
    const rows = this.q.list.all(owner, afterId, limit) as { id: number; owner: string; stanza: string; created_at: number }[];
    return rows.map((r) => ({ id: Number(r.id), owner: r.owner, stanza: r.stanza, createdAt: Number(r.created_at) }));
  }
  async remove(owner: string, ids: readonly number[]): Promise<number> {
    let removed = 0;
    // Bound parameters per statement stay far below SQLite's limit.
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      removed += this.db.prepare(`DELETE FROM offline_messages WHERE owner = ? AND id IN (${part.map(() => '?').join(',')})`).run(owner, ...part).changes;
    }
    return removed;
  }
  async deleteAll(owner: string): Promise<void> {
    this.q.deleteAll.run(owner);
  }
  async deleteOlderThan(createdBefore: number): Promise<number> {
    return this.q.deleteOlder.run(createdBefore).changes;
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
  return {
    backend: 'sqlite',
    accounts: new SqliteAccounts(db),
    roster: new SqliteRoster(db),
    offline: new SqliteOffline(db),
    async close() {
      db.close();
    },
  };
}
