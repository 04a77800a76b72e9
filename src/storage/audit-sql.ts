import type { AuditEntry, AuditQuery, AuditStore } from '../admin/audit.js';
import type { Sql } from './sql.js';

/** The admin audit log (migration 10), in the SQL both backends share. */
interface AuditRow {
  id: number | string;
  at: number | string;
  surface: string;
  who: string;
  from_addr: string;
  action: string;
  details: string;
  result: string;
}

function fromRow(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    surface: r.surface as AuditEntry['surface'],
    who: r.who,
    from: r.from_addr,
    action: r.action,
    details: r.details,
    result: r.result,
  };
}

/** Rows per INSERT: far below either backend's limit on bound parameters (7 per row). */
const ROWS_PER_STATEMENT = 100;

export class SqlAudit implements AuditStore {
  constructor(private readonly sql: Sql) {}

  async append(entries: readonly Omit<AuditEntry, 'id'>[]): Promise<void> {
    if (entries.length === 0) return;
    await this.sql.atomic(async (tx) => {
      for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
        const chunk = entries.slice(i, i + ROWS_PER_STATEMENT);
        const params: unknown[] = [];
        for (const e of chunk) params.push(e.at, e.surface, e.who, e.from, e.action, e.details, e.result);
        await tx.run(
          `INSERT INTO audit_log (at, surface, who, from_addr, action, details, result) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          params,
        );
      }
    });
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.who !== undefined) where.push('who = ?'), params.push(q.who);
    if (q.start !== undefined) where.push('at >= ?'), params.push(q.start);
    if (q.end !== undefined) where.push('at < ?'), params.push(q.end);
    const limit = Math.max(0, Math.floor(q.limit ?? 100));
    const offset = Math.max(0, Math.floor(q.offset ?? 0));
    const rows = await this.sql.all<AuditRow>(
      `SELECT id, at, surface, who, from_addr, action, details, result FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return rows.map(fromRow);
  }

  async trim(keep: number, before: number): Promise<number> {
    return this.sql.atomic(async (tx) => {
      let removed = await tx.run('DELETE FROM audit_log WHERE at < ?', [before]);
      // The id of the oldest entry kept: everything below it goes.
      const edge = await tx.get<{ id: number | string }>(`SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ${Math.max(0, Math.floor(keep) - 1)}`);
      if (keep <= 0) removed += await tx.run('DELETE FROM audit_log');
      else if (edge) removed += await tx.run('DELETE FROM audit_log WHERE id < ?', [Number(edge.id)]);
      return removed;
    });
  }
}
