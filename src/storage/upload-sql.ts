import type { ReserveOutcome, UploadSlot, UploadStore } from '../modules/upload/store.js';
import type { Sql } from './sql.js';

/** HTTP upload slots (migration 7), in the SQL both backends share. */
interface UploadRow {
  slot_id: string;
  owner: string;
  filename: string;
  size: number | string;
  content_type: string;
  created_at: number | string;
  uploaded_at: number | string | null;
}

function fromRow(r: UploadRow): UploadSlot {
  return {
    id: r.slot_id,
    owner: r.owner,
    filename: r.filename,
    size: Number(r.size),
    contentType: r.content_type,
    createdAt: Number(r.created_at),
    uploadedAt: r.uploaded_at === null ? undefined : Number(r.uploaded_at),
  };
}

const COLUMNS = 'slot_id, owner, filename, size, content_type, created_at, uploaded_at';

export class SqlUploads implements UploadStore {
  constructor(private readonly sql: Sql) {}

  reserve(s: UploadSlot, quota: number, staleBefore: number): Promise<ReserveOutcome> {
    return this.sql.atomic(async (tx) => {
      // Requesters of one account take turns: the sum each reads is current and the quota holds.
      await tx.lock(`upload_files:${s.owner}`);
      await tx.run('DELETE FROM upload_files WHERE owner = ? AND uploaded_at IS NULL AND created_at < ?', [s.owner, staleBefore]);
      const used = await tx.get<{ n: number | string | null }>('SELECT SUM(size) AS n FROM upload_files WHERE owner = ?', [s.owner]);
      if (Number(used?.n ?? 0) + s.size > quota) return 'over-quota';
      await tx.run(`INSERT INTO upload_files (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)`, [s.id, s.owner, s.filename, s.size, s.contentType, s.createdAt]);
      return 'reserved';
    });
  }

  async get(id: string): Promise<UploadSlot | undefined> {
    const row = await this.sql.get<UploadRow>(`SELECT ${COLUMNS} FROM upload_files WHERE slot_id = ?`, [id]);
    return row && fromRow(row);
  }

  async markUploaded(id: string, at: number): Promise<boolean> {
    return (await this.sql.run('UPDATE upload_files SET uploaded_at = ? WHERE slot_id = ? AND uploaded_at IS NULL', [at, id])) > 0;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM upload_files WHERE slot_id = ?', [id])) > 0;
  }

  async list(owner: string): Promise<UploadSlot[]> {
    return (await this.sql.all<UploadRow>(`SELECT ${COLUMNS} FROM upload_files WHERE owner = ? ORDER BY created_at`, [owner])).map(fromRow);
  }

  removeAll(owner: string): Promise<number> {
    return this.sql.run('DELETE FROM upload_files WHERE owner = ?', [owner]);
  }

  async expired(uploadedBefore: number, reservedBefore: number, limit: number): Promise<UploadSlot[]> {
    const rows = await this.sql.all<UploadRow>(
      `SELECT ${COLUMNS} FROM upload_files WHERE (uploaded_at IS NOT NULL AND uploaded_at < ?) OR (uploaded_at IS NULL AND created_at < ?) ORDER BY created_at LIMIT ?`,
      [uploadedBefore, reservedBefore, limit],
    );
    return rows.map(fromRow);
  }

  async usage(owner: string): Promise<number> {
    const r = await this.sql.get<{ n: number | string | null }>('SELECT SUM(size) AS n FROM upload_files WHERE owner = ?', [owner]);
    return Number(r?.n ?? 0);
  }
}
