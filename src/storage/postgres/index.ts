import pg from 'pg';
import type { Storage } from '../types.js';
import { TABLES } from '../database.js';
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
import { SqlOffline, perStatement, sqlKinds, transactionHandle, type Sql } from '../kinds-sql.js';
import type { OwnedRosterItem, RosterDelete, RosterItem, RosterPut, RosterPutMany, RosterScanFilter, RosterStore } from '../../modules/roster/store.js';
import {
  rosterChangeIsVisible,
  rosterItemFromRow,
  rosterItemToRow,
  rosterScanQuery,
  type OwnedRosterRow,
  type RosterMetaRow,
  type RosterRow,
} from '../rows.js';

const { Pool } = pg;
type Pool = pg.Pool;
type Queryable = Pick<pg.PoolClient, 'query'>;

/** First key of the two-part advisory lock taken while migrating (the second is the schema's hash). */
const MIGRATION_LOCK_CLASS = 0x50_61_72_6c; // 'Parl'
/** First key of the advisory locks `Sql.lock` takes (the second is the key's hash). */
const WRITER_LOCK_CLASS = 0x4b_69_6e_64; // 'Kind'

/** Quote an SQL identifier (schema name). */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Applies pending migrations. Each migration runs in its own transaction that first takes a
 * transaction-scoped advisory lock, so concurrent servers starting on the same schema apply each
 * migration exactly once (the loser waits, then sees the new version and moves on).
 */
async function migrate(client: Queryable, schema: string | undefined): Promise<void> {
  for (;;) {
    await client.query('BEGIN');
    try {
      // Lock per schema: runs isolated in different schemas do not wait on each other.
      await client.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))', [
        MIGRATION_LOCK_CLASS,
        schema ?? '',
      ]);
      if (schema !== undefined) {
        // Look first: CREATE SCHEMA IF NOT EXISTS needs the database CREATE privilege even when the
        // schema exists, which a least-privilege role given a ready-made schema does not have.
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
      }
      await client.query('CREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM parley_schema');
      const current = rows[0]?.v ?? 0;
      const next = MIGRATIONS.find((m) => m.version > current);
      if (!next) {
        await client.query('COMMIT');
        return;
      }
      const sql = migrationSql(next.sql, 'postgres');
      await client.query(sql);
      await client.query('INSERT INTO parley_schema (version) VALUES ($1)', [next.version]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }
}

/** `?` placeholders numbered the PostgreSQL way ($1, $2 ...), converted once per statement text. */
const numberPlaceholders = perStatement((sql) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
});

/**
 * The pool, or one pooled connection inside a transaction. `query` takes PostgreSQL's own
 * numbered placeholders (the stores written for this backend); the `Sql` methods take `?`.
 */
class PgSql implements Sql {
  readonly bytewise = ' COLLATE "C"';
  private savepoints = 0;
  constructor(
    private readonly db: Queryable,
    /** Set when not inside a transaction: where a transaction gets its connection. */
    private readonly pool?: Pool,
  ) {}
  query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.db.query<R>(text, params);
  }
  async all<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.db.query(numberPlaceholders(sql), params as unknown[])).rows as R[];
  }
  async get<R>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return (await this.all<R>(sql, params))[0];
  }
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.db.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0;
  }
  async lock(key: string): Promise<void> {
    await this.db.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))', [WRITER_LOCK_CLASS, key]);
  }
  /**
   * Runs `fn` in a transaction on one pooled connection (a savepoint when already inside one).
   * A connection that failed mid-transaction is dropped from the pool rather than reused.
   */
  async atomic<T>(fn: (sql: PgSql) => Promise<T>): Promise<T> {
    if (!this.pool) return this.nested(fn);
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const result = await fn(new PgSql(c));
      await c.query('COMMIT');
      c.release();
      return result;
    } catch (err) {
      const broken = await c.query('ROLLBACK').then(
        () => undefined,
        (e: Error) => e,
      );
      c.release(broken ?? undefined);
      throw err;
    }
  }
  private async nested<T>(fn: (sql: PgSql) => Promise<T>): Promise<T> {
    const name = `parley_sp${++this.savepoints}`;
    await this.db.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      await this.db.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await this.db.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {});
      throw err;
    }
  }
}

const META_LOCK = 'SELECT version, items FROM roster_meta WHERE owner = $1 FOR UPDATE';

/**
 * Every write of an owner's items first locks the owner's roster_meta row, so writes of one owner
 * are serialized: the count read under the lock is exact, and the check against the limit and the
 * insert cannot interleave with another writer (READ COMMITTED: each statement after the lock sees
 * everything committed before it was granted).
 */
class PgRoster implements RosterStore {
  constructor(private readonly db: PgSql) {}
  async list(owner: string): Promise<RosterItem[]> {
    const { rows } = await this.db.query<RosterRow>('SELECT * FROM roster_items WHERE owner = $1 ORDER BY jid COLLATE "C"', [owner]);
    return rows.map(rosterItemFromRow);
  }
  async get(owner: string, jid: string): Promise<RosterItem | undefined> {
    const { rows } = await this.db.query<RosterRow>('SELECT * FROM roster_items WHERE owner = $1 AND jid = $2', [owner, jid]);
    const row = rows[0];
    return row && rosterItemFromRow(row);
  }
  /** Locks the owner's metadata row, creating it on the owner's first write. */
  private async lockMeta(c: PgSql, owner: string): Promise<{ version: number; items: number }> {
    let { rows } = await c.query<RosterMetaRow>(META_LOCK, [owner]);
    if (rows.length === 0) {
      // Concurrent first writers: one inserts, the others wait for it, then lock the same row.
      await c.query('INSERT INTO roster_meta (owner, version, items) VALUES ($1, 0, 0) ON CONFLICT (owner) DO NOTHING', [owner]);
      ({ rows } = await c.query<RosterMetaRow>(META_LOCK, [owner]));
    }
    return { version: Number(rows[0]!.version), items: Number(rows[0]!.items) };
  }
  async put(owner: string, item: RosterItem, maxItems = Infinity): Promise<RosterPut> {
    const r = rosterItemToRow(item);
    return this.db.atomic(async (c) => {
      const meta = await this.lockMeta(c, owner);
      const { rows } = await c.query<RosterRow>('SELECT * FROM roster_items WHERE owner = $1 AND jid = $2', [owner, r.jid]);
      const old = rows[0];
      if (!old && meta.items >= maxItems) return { stored: false, version: meta.version };
      const version = rosterChangeIsVisible(old, r) ? 1 : 0;
      const items = old ? 0 : 1;
      const res = await c.query<RosterMetaRow>(
        `WITH item AS (
           INSERT INTO roster_items (owner, jid, name, subscription, ask_out, pending_in, approved, groups_json, visible)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (owner, jid) DO UPDATE SET name = EXCLUDED.name, subscription = EXCLUDED.subscription,
             ask_out = EXCLUDED.ask_out, pending_in = EXCLUDED.pending_in, approved = EXCLUDED.approved,
             groups_json = EXCLUDED.groups_json, visible = EXCLUDED.visible
         )
         UPDATE roster_meta SET version = version + $10, items = items + $11 WHERE owner = $1 RETURNING version, items`,
        [owner, r.jid, r.name, r.subscription, r.ask_out, r.pending_in, r.approved, r.groups_json, r.visible, version, items],
      );
      return { stored: true, version: Number(res.rows[0]!.version) };
    });
  }
  async putMany(owner: string, items: readonly RosterItem[], maxItems = Infinity): Promise<RosterPutMany> {
    const rows = items.map(rosterItemToRow);
    return this.db.atomic(async (c) => {
      const meta = await this.lockMeta(c, owner);
      const jids = rows.map((r) => r.jid);
      const { rows: existing } = await c.query<RosterRow>('SELECT * FROM roster_items WHERE owner = $1 AND jid = ANY($2::text[])', [owner, jids]);
      const old = new Map(existing.map((r) => [r.jid, r]));
      const added = rows.filter((r) => !old.has(r.jid)).length;
      if (added > 0 && meta.items + added > maxItems) return { stored: false, versions: [] };
      let version = meta.version;
      const versions = rows.map((r) => (rosterChangeIsVisible(old.get(r.jid), r) ? ++version : version));
      // One statement for the whole batch: the columns as arrays, unnested into rows.
      await c.query(
        `INSERT INTO roster_items (owner, jid, name, subscription, ask_out, pending_in, approved, groups_json, visible)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::int[])
         ON CONFLICT (owner, jid) DO UPDATE SET name = EXCLUDED.name, subscription = EXCLUDED.subscription,
           ask_out = EXCLUDED.ask_out, pending_in = EXCLUDED.pending_in, approved = EXCLUDED.approved,
           groups_json = EXCLUDED.groups_json, visible = EXCLUDED.visible`,
        [
          owner,
          jids,
          rows.map((r) => r.name),
          rows.map((r) => r.subscription),
          rows.map((r) => r.ask_out),
          rows.map((r) => r.pending_in),
          rows.map((r) => r.approved),
          rows.map((r) => r.groups_json),
          rows.map((r) => r.visible),
        ],
      );
      await c.query('UPDATE roster_meta SET version = version + $2, items = items + $3 WHERE owner = $1', [owner, version - meta.version, added]);
      return { stored: true, versions };
    });
  }
  async scan(filter: RosterScanFilter, after: { owner: string; jid: string } | undefined, limit: number): Promise<OwnedRosterItem[]> {
    const { sql, params } = rosterScanQuery(filter, after, limit);
    return (await this.db.all<OwnedRosterRow>(sql, params)).map((r) => ({ owner: r.owner, item: rosterItemFromRow(r) }));
  }
  async delete(owner: string, jid: string): Promise<RosterDelete> {
    return this.db.atomic(async (c) => {
      const { rows: meta } = await c.query<RosterMetaRow>(META_LOCK, [owner]);
      // No metadata row: the owner never had an item.
      if (meta.length === 0) return { deleted: false, version: 0 };
      const { rows } = await c.query<{ visible: number }>('DELETE FROM roster_items WHERE owner = $1 AND jid = $2 RETURNING visible', [owner, jid]);
      if (rows.length === 0) return { deleted: false, version: Number(meta[0]!.version) };
      const version = Number(rows[0]!.visible) === 1 ? 1 : 0;
      const res = await c.query<RosterMetaRow>('UPDATE roster_meta SET version = version + $2, items = items - 1 WHERE owner = $1 RETURNING version, items', [
        owner,
        version,
      ]);
      return { deleted: true, version: Number(res.rows[0]!.version) };
    });
  }
  async deleteAll(owner: string): Promise<void> {
    await this.db.atomic(async (c) => {
      const { rows: meta } = await c.query<RosterMetaRow>(META_LOCK, [owner]);
      if (meta.length === 0) return;
      const { rows } = await c.query<{ n: string }>('WITH d AS (DELETE FROM roster_items WHERE owner = $1 RETURNING visible) SELECT COUNT(*) FILTER (WHERE visible = 1) AS n FROM d', [owner]);
      await c.query('UPDATE roster_meta SET items = 0, version = version + $2 WHERE owner = $1', [owner, Number(rows[0]!.n) > 0 ? 1 : 0]);
    });
  }
  private async meta(owner: string): Promise<{ version: number; items: number }> {
    const { rows } = await this.db.query<RosterMetaRow>('SELECT version, items FROM roster_meta WHERE owner = $1', [owner]);
    const row = rows[0];
    return row ? { version: Number(row.version), items: Number(row.items) } : { version: 0, items: 0 };
  }
  async version(owner: string): Promise<number> {
    return (await this.meta(owner)).version;
  }
  async count(owner: string): Promise<number> {
    return (await this.meta(owner)).items;
  }
}

/** `host:port` the URL points at (after pg's own defaults: PGHOST, PGPORT, localhost:5432), for error messages. */
function describeTarget(url: string): string {
  try {
    const c = new pg.Client({ connectionString: url });
    return `${c.host}:${c.port}`;
  } catch {
    return '(unparsable connection URL)';
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** A readable reason; Node's AggregateError (every address refused) has an empty message. */
function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && !err.message) {
    const inner = err.errors.map((e) => reasonOf(e)).filter(Boolean);
    if (inner.length) return [...new Set(inner)].join('; ');
  }
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

function connectError(url: string, err: unknown): Error {
  let reason = reasonOf(err);
  const password = passwordOf(url);
  if (password) reason = reason.replaceAll(password, '***');
  if (url && reason.includes(url)) reason = reason.replaceAll(url, '(connection URL)');
  return new Error(`cannot connect to PostgreSQL at ${describeTarget(url)}: ${reason}`, { cause: err });
}

/**
 * Pool settings: with a schema, every connection starts with `search_path` set to it, through the
 * `options` startup parameter (no extra round trip, nothing to race with the first query).
 * pg lets a connection string's own `?options=` override the config, so when the URL carries
 * options the search path is appended to them inside the URL (a later `-c` wins).
 */
function connectionConfig(url: string, schema: string | undefined): pg.PoolConfig {
  if (schema === undefined) return { connectionString: url };
  // The startup options are split on whitespace, with backslash as the escape character.
  const opt = `-c search_path=${quoteIdent(schema).replace(/[\\\s]/g, (c) => `\\${c}`)}`;
  try {
    const u = new URL(url);
    const existing = u.searchParams.get('options');
    if (existing !== null) {
      u.searchParams.set('options', existing ? `${existing} ${opt}` : opt);
      return { connectionString: u.toString() };
    }
  } catch {
    // Not a WHATWG URL (e.g. a socket path): it cannot carry options either.
  }
  return { connectionString: url, options: opt };
}

/**
 * Opens PostgreSQL storage and applies pending migrations. With `opts.schema`, everything lives in
 * that schema (created if missing) instead of the default search path.
 */
export async function openPostgres(url: string, opts: { schema?: string } = {}): Promise<Storage> {
  const schema = opts.schema;
  if (schema !== undefined && (schema === '' || schema.includes('\0'))) throw new Error(`invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
  const pool = new Pool({ ...connectionConfig(url, schema), connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection (server restart) is reported here; without a listener it
  // would crash the process. The pool drops that client, and the next query opens a new one.
  pool.on('error', () => {});

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => {});
    throw connectError(url, err);
  }
  try {
    await migrate(client, schema);
  } catch (err) {
    client.release(true);
    await pool.end().catch(() => {});
    throw err;
  }
  client.release();

  const sql = new PgSql(pool, pool);
  return {
    backend: 'postgres',
    accounts: new SqlAccounts(sql),
    roster: new PgRoster(sql),
    offline: new SqlOffline(sql),
    sharedGroups: new SqlSharedGroups(sql),
    oauth: new SqlOAuth(sql),
    mam: new SqlMam(sql),
    muc: new SqlMuc(sql),
    push: new SqlPush(sql),
    uploads: new SqlUploads(sql),
    pep: new SqlPep(sql),
    audit: new SqlAudit(sql),
    hosting: new SqlHostingQueue(sql),
    ...sqlKinds(sql),
    transaction: (fn) => sql.atomic((c) => fn(transactionHandle(c, { roster: new PgRoster(c) }))),
    database: {
      schemaVersion: () => sql.get<{ v: number | null }>('SELECT MAX(version) AS v FROM parley_schema').then((r) => Number(r?.v ?? 0)),
      async snapshot(fn) {
        const c = await pool.connect();
        try {
          await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          const result = await fn(new PgSql(c));
          await c.query('COMMIT');
          c.release();
          return result;
        } catch (err) {
          const broken = await c.query('ROLLBACK').then(() => undefined, (e: Error) => e);
          c.release(broken ?? undefined);
          throw err;
        }
      },
      replace: (fn) =>
        sql.atomic(async (c) => {
          // Writers wait until the replacement is committed: nothing written meanwhile is lost in it.
          await c.query(`LOCK TABLE ${TABLES.map((t) => t.name).join(', ')} IN ACCESS EXCLUSIVE MODE`);
          const result = await fn(c);
          for (const t of TABLES) {
            if (t.serial) await c.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), COALESCE(MAX(${t.serial}), 0) + 1, false) FROM ${t.name}`);
          }
          return result;
        }),
    },
    async close() {
      await pool.end();
    },
  };
}
