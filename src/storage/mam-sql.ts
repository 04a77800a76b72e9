import type { MamFilter, MamKind, MamRow, MamState, MamStore } from '../modules/mam/store.js';
import type { Sql } from './sql.js';

/** The message archive (migration 7), in the SQL both backends share. */
interface Row {
  owner: string;
  id: number | string;
  peer: string;
  peer_resource: string;
  kind: string;
  origin_id: string | null;
  created_at: number | string;
  stanza: string;
  state: number | string;
}

const COLUMNS = 'id, owner, peer, peer_resource, kind, origin_id, created_at, stanza, state';
/** Rows per INSERT statement: 9 parameters each, far below either backend's limit on bound parameters. */
export const ROWS_PER_INSERT = 200;

/**
 * The INSERT of up to ROWS_PER_INSERT archive rows and its parameters; a row whose id exists is
 * skipped. Texts differ only by the number of rows: full chunks share one prepared statement.
 */
export function insertStatement(rows: readonly MamRow[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  for (const r of rows) params.push(r.id, r.owner, r.peer, r.peerResource, r.kind, r.originId, r.createdAt, r.stanza, r.state);
  const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  return { sql: `INSERT INTO mam_messages (${COLUMNS}) VALUES ${values} ON CONFLICT (id) DO NOTHING`, params };
}

function fromRow(r: Row): MamRow {
  return {
    owner: r.owner,
    id: Number(r.id),
    peer: r.peer,
    peerResource: r.peer_resource,
    kind: r.kind as MamKind,
    originId: r.origin_id,
    createdAt: Number(r.created_at),
    stanza: r.stanza,
    state: Number(r.state) as MamState,
  };
}

/** The WHERE clause and parameters of a filter on one archive. */
function where(owner: string, f: MamFilter): { sql: string; params: unknown[] } {
  const parts = ['owner = ?'];
  const params: unknown[] = [owner];
  if (f.peer !== undefined) parts.push('peer = ?'), params.push(f.peer);
  if (f.peerResource !== undefined) parts.push('peer_resource = ?'), params.push(f.peerResource);
  if (f.afterId !== undefined) parts.push('id > ?'), params.push(f.afterId);
  if (f.beforeId !== undefined) parts.push('id < ?'), params.push(f.beforeId);
  if (f.minId !== undefined) parts.push('id >= ?'), params.push(f.minId);
  if (f.maxId !== undefined) parts.push('id <= ?'), params.push(f.maxId);
  if (f.ids !== undefined) {
    if (f.ids.length === 0) parts.push('1 = 0');
    else parts.push(`id IN (${f.ids.map(() => '?').join(', ')})`), params.push(...f.ids);
  }
  if (f.text !== undefined) parts.push("stanza LIKE ? ESCAPE '\\'"), params.push(`%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (f.kinds !== undefined) parts.push(`kind IN (${f.kinds.map(() => '?').join(', ')})`), params.push(...f.kinds);
  return { sql: parts.join(' AND '), params };
}

export class SqlMam implements MamStore {
  constructor(private readonly sql: Sql) {}

  async insert(rows: readonly MamRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.sql.atomic(async (tx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const { sql, params } = insertStatement(rows.slice(i, i + ROWS_PER_INSERT));
        await tx.run(sql, params);
      }
    });
  }

  async page(owner: string, filter: MamFilter, limit: number, order: 'asc' | 'desc'): Promise<MamRow[]> {
    const w = where(owner, filter);
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.sql.all<Row>(`SELECT ${COLUMNS} FROM mam_messages WHERE ${w.sql} ORDER BY id ${dir} LIMIT ?`, [...w.params, limit]);
    return rows.map(fromRow);
  }

  async count(owner: string, filter: MamFilter, cap?: number): Promise<number> {
    const w = where(owner, filter);
    const r =
      cap === undefined
        ? await this.sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM mam_messages WHERE ${w.sql}`, w.params)
        : await this.sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM mam_messages WHERE ${w.sql} LIMIT ?) capped`, [...w.params, cap]);
    return Number(r?.n ?? 0);
  }

  async get(owner: string, id: number): Promise<MamRow | undefined> {
    const r = await this.sql.get<Row>(`SELECT ${COLUMNS} FROM mam_messages WHERE id = ? AND owner = ?`, [id, owner]);
    return r && fromRow(r);
  }

  async findByOrigin(owner: string, peer: string, kind: MamKind, originId: string): Promise<MamRow | undefined> {
    const r = await this.sql.get<Row>(
      `SELECT ${COLUMNS} FROM mam_messages WHERE owner = ? AND peer = ? AND kind = ? AND origin_id = ? ORDER BY id DESC LIMIT 1`,
      [owner, peer, kind, originId],
    );
    return r && fromRow(r);
  }

  async replace(owner: string, id: number, stanza: string, state: MamState): Promise<boolean> {
    return (await this.sql.run('UPDATE mam_messages SET stanza = ?, state = ? WHERE id = ? AND owner = ?', [stanza, state, id, owner])) > 0;
  }

  removeOwner(owner: string, peer?: string): Promise<number> {
    if (peer === undefined) return this.sql.run('DELETE FROM mam_messages WHERE owner = ?', [owner]);
    return this.sql.run('DELETE FROM mam_messages WHERE owner = ? AND peer = ?', [owner, peer]);
  }

  removeOlderThan(createdBefore: number, kinds: readonly MamKind[]): Promise<number> {
    // Ids are microseconds of archiving: the age is an id range of the primary key.
    return this.sql.run(`DELETE FROM mam_messages WHERE id < ? AND kind IN (${kinds.map(() => '?').join(', ')})`, [createdBefore * 1000, ...kinds]);
  }

  trim(owner: string, keep: number): Promise<number> {
    // The id of the oldest row kept: OFFSET walks at most `keep` index entries of one archive, on
    // this maintenance path only (pages never use OFFSET).
    return this.sql.run(
      'DELETE FROM mam_messages WHERE owner = ? AND id < (SELECT id FROM mam_messages WHERE owner = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      [owner, owner, Math.max(0, keep - 1)],
    );
  }

  async maxId(): Promise<number> {
    const r = await this.sql.get<{ m: number | string | null }>('SELECT MAX(id) AS m FROM mam_messages');
    return Number(r?.m ?? 0);
  }

  async bounds(owner: string): Promise<{ first: MamRow; last: MamRow } | undefined> {
    const first = await this.sql.get<Row>(`SELECT ${COLUMNS} FROM mam_messages WHERE owner = ? ORDER BY id ASC LIMIT 1`, [owner]);
    if (!first) return undefined;
    const last = await this.sql.get<Row>(`SELECT ${COLUMNS} FROM mam_messages WHERE owner = ? ORDER BY id DESC LIMIT 1`, [owner]);
    return { first: fromRow(first), last: fromRow(last ?? first) };
  }
}
