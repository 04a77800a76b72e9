/**
 * Fills the message archive's table (`mam_messages`, the mam module's migration) of a stopped
 * server's SQLite file directly, in bulk: one INSERT … SELECT over a recursive CTE per million
 * rows, secondary indexes dropped during the fill and built again after (a sort each, far cheaper
 * than ten million random index inserts).
 *
 * Shape of the data: `owners` accounts (bench0@host …). The first `hotOwners` accounts own about
 * `hotRows` messages each (the accounts the queries read); the other rows are spread evenly over
 * the remaining accounts. Each archive talks with `peers` other accounts in turn, alternates
 * incoming and outgoing messages, and spans one year; ids are microseconds since the epoch (as
 * the module writes them), increasing with time across all archives (the table's key).
 */
import Database from 'better-sqlite3';
import { statSync, existsSync } from 'node:fs';

export const ARCHIVE_TABLE = 'mam_messages';

export interface FillPlan {
  rows: number;
  owners: number;
  hotOwners: number;
  hotRows: number;
  peers: number;
  host: string;
}

export interface FillResult {
  rowsBefore: number;
  rowsAfter: number;
  inserted: number;
  seconds: number;
  insertSeconds: number;
  indexSeconds: number;
  fileBytes: number;
}

const YEAR_US = 365 * 24 * 3600 * 1_000_000;
/** 2025-12-01T00:00:00Z in microseconds: the archive's first message. */
const BASE_US = 1_764_547_200_000_000;

export function archiveRowCount(dbFile: string, table = ARCHIVE_TABLE): number | undefined {
  if (!existsSync(dbFile)) return undefined;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const t = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
    if (!t) return undefined;
    // max(rowid) would be instant but not a count once rows are deleted; this is a full index scan.
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The columns of the archive table, by name; throws if the table is not there (mam module not merged). */
export function archiveColumns(db: Database.Database, table = ARCHIVE_TABLE): Map<string, { type: string; notnull: boolean; pk: number }> {
  const cols = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: number; pk: number }[];
  if (!cols.length) throw new Error(`no table ${table} in the database: is the mam module (its migration) in this build?`);
  return new Map(cols.map((c) => [c.name, { type: c.type, notnull: c.notnull === 1, pk: c.pk }]));
}

/**
 * The SELECT expression of each archive column, over the CTE's `x` (0-based row number, in id order)
 * and the derived `o` (owner number) and `k` (the row's period: a rank within each hot archive).
 * Unknown NOT NULL columns without a default make the fill refuse, rather than guess.
 */
function columnExpressions(cols: Map<string, { type: string; notnull: boolean; pk: number }>, plan: FillPlan, createdAtUnit: 'ms' | 's' | 'us'): Map<string, string> {
  const host = plan.host.replace(/'/g, "''");
  const owner = `'bench' || o || '@${host}'`;
  const peerNo = `((o + 1 + ((k * 7 + o * 13) % ${plan.peers})) % ${plan.owners})`;
  const peer = `'bench' || ${peerNo} || '@${host}'`;
  // Increasing with x (rows are appended in id order, as the server writes them), spread over a year.
  const id = `(${BASE_US} + x * ${Math.floor(YEAR_US / plan.rows)})`;
  const createdAt = createdAtUnit === 'us' ? id : createdAtUnit === 'ms' ? `(${id} / 1000)` : `(${id} / 1000000)`;
  const out = `(k % 2 = 0)`;
  const body = `'Message ' || k || ' of a benchmark archive: some ordinary words so that rows have a typical size.'`;
  const stanza =
    `CASE WHEN ${out} THEN '<message xmlns="jabber:client" from="' || ${owner} || '/desk" to="' || ${peer} || '" type="chat" id="m' || x || '"><body>' || ${body} || '</body><origin-id xmlns="urn:xmpp:sid:0" id="m' || x || '"/></message>' ` +
    `ELSE '<message xmlns="jabber:client" from="' || ${peer} || '/phone" to="' || ${owner} || '/desk" type="chat" id="m' || x || '"><body>' || ${body} || '</body><origin-id xmlns="urn:xmpp:sid:0" id="m' || x || '"/></message>' END`;
  const known: Record<string, string> = {
    owner,
    id,
    peer,
    with_jid: peer,
    bare_peer: peer,
    peer_resource: `CASE WHEN ${out} THEN '' ELSE 'phone' END`,
    resource: `CASE WHEN ${out} THEN '' ELSE 'phone' END`,
    kind: `CASE WHEN ${out} THEN 'out' ELSE 'in' END`,
    origin_id: `'m' || x`,
    created_at: createdAt,
    stanza,
    xml: stanza,
    state: '0',
  };
  const exprs = new Map<string, string>();
  for (const [name, c] of cols) {
    const e = known[name];
    if (e !== undefined) exprs.set(name, e);
    else if (c.notnull) throw new Error(`archive column ${name} (${c.type}) is NOT NULL and unknown to the fill: teach bench/archive-fill.ts its value`);
  }
  return exprs;
}

/**
 * Brings the archive of `dbFile` up to `plan.rows` rows (the server must be stopped). A database
 * that already holds at least that many rows is left as it is, so one fill serves many runs.
 */
export function fillArchive(dbFile: string, plan: FillPlan, log: (s: string) => void, createdAtUnit: 'ms' | 's' | 'us' = 'ms'): FillResult {
  const t0 = performance.now();
  const db = new Database(dbFile);
  try {
    const cols = archiveColumns(db);
    const rowsBefore = (db.prepare(`SELECT count(*) AS n FROM ${ARCHIVE_TABLE}`).get() as { n: number }).n;
    if (rowsBefore === plan.rows) {
      return { rowsBefore, rowsAfter: rowsBefore, inserted: 0, seconds: 0, insertSeconds: 0, indexSeconds: 0, fileBytes: statSync(dbFile).size };
    }
    if (rowsBefore > 0) {
      log(`  the archive holds ${rowsBefore} rows, not ${plan.rows}: emptying it and filling it again`);
      db.exec(`DELETE FROM ${ARCHIVE_TABLE}`);
    }
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1000000'); // 1 GB of page cache for the fill and the index builds
    db.pragma('temp_store = MEMORY');
    // Secondary indexes go and come back after; the primary key (id, the rowid) stays: rows are
    // generated in id order, so its inserts are appends.
    const indexes = db
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`)
      .all(ARCHIVE_TABLE) as { name: string; sql: string }[];
    for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);

    const exprs = columnExpressions(cols, plan, createdAtUnit);
    const names = [...exprs.keys()];
    const hotTotal = plan.hotOwners * plan.hotRows;
    if (hotTotal > plan.rows) throw new Error('the hot archives hold more rows than the whole fill');
    const coldOwners = plan.owners - plan.hotOwners;
    // Rows in time (id) order, owners interleaved as real traffic is: of every `period` rows, one goes
    // to each hot archive and the rest, in turn, to the cold ones. k counts the periods (a rank in each
    // hot archive).
    const period = Math.max(plan.hotOwners + 1, Math.round(plan.rows / plan.hotRows));
    const coldSlots = period - plan.hotOwners;
    const total = plan.rows;
    void hotTotal;
    const derive =
      `SELECT x, ` +
      `CASE WHEN x % ${period} < ${plan.hotOwners} THEN x % ${period} ` +
      `ELSE ${plan.hotOwners} + ((x / ${period}) * ${coldSlots} + x % ${period} - ${plan.hotOwners}) % ${coldOwners} END AS o, ` +
      `x / ${period} AS k FROM c`;
    const chunk = 1_000_000;
    const insert = db.prepare(
      `INSERT INTO ${ARCHIVE_TABLE} (${names.join(', ')}) ` +
        `WITH RECURSIVE c(x) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT x + 1 FROM c WHERE x + 1 < ?), d AS (${derive}) ` +
        `SELECT ${names.map((n) => exprs.get(n)).join(', ')} FROM d`,
    );
    const ti = performance.now();
    for (let from = 0; from < total; from += chunk) {
      const to = Math.min(total, from + chunk);
      db.transaction(() => insert.run(from, to))();
      log(`  ${to.toLocaleString('en-US')} rows (${((performance.now() - ti) / 1000).toFixed(0)} s)`);
    }
    const insertSeconds = (performance.now() - ti) / 1000;
    const tx = performance.now();
    for (const ix of indexes) {
      db.exec(ix.sql);
      log(`  index ${ix.name} built (${((performance.now() - tx) / 1000).toFixed(0)} s)`);
    }
    const indexSeconds = (performance.now() - tx) / 1000;
    // No ANALYZE: the server's own database never gets one, and the plans measured must be the ones it runs.
    db.pragma('journal_mode = WAL');
    const rowsAfter = (db.prepare(`SELECT count(*) AS n FROM ${ARCHIVE_TABLE}`).get() as { n: number }).n;
    return {
      rowsBefore,
      rowsAfter,
      inserted: rowsAfter - 0,
      seconds: (performance.now() - t0) / 1000,
      insertSeconds,
      indexSeconds,
      fileBytes: statSync(dbFile).size,
    };
  } finally {
    db.close();
  }
}
