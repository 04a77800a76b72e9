import type { PushKey, PushSession, PushStore, PutOutcome } from '../modules/push/store.js';
import type { Sql } from './sql.js';

/** Push sessions (migration 7), in the SQL both backends share. */
interface PushRow {
  owner: string;
  service: string;
  node: string;
  options_json: string;
  resource: string;
  session_id: string;
  created_at: number | string;
  last_used: number | string;
}

function fromRow(r: PushRow): PushSession {
  return {
    owner: r.owner,
    service: r.service,
    node: r.node,
    options: JSON.parse(r.options_json),
    resource: r.resource,
    sessionId: r.session_id,
    createdAt: Number(r.created_at),
    lastUsed: Number(r.last_used),
  };
}

const COLUMNS = 'owner, service, node, options_json, resource, session_id, created_at, last_used';

export class SqlPush implements PushStore {
  constructor(private readonly sql: Sql) {}

  put(s: PushSession, max: number): Promise<PutOutcome> {
    return this.sql.atomic(async (tx) => {
      // Enablers of one account take turns: the count each reads is current and the limit holds.
      await tx.lock(`push_sessions:${s.owner}`);
      const options = JSON.stringify(s.options);
      const n = await tx.run(
        'UPDATE push_sessions SET options_json = ?, resource = ?, session_id = ?, created_at = ? WHERE owner = ? AND service = ? AND node = ?',
        [options, s.resource, s.sessionId, s.createdAt, s.owner, s.service, s.node],
      );
      if (n > 0) return 'updated';
      const count = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM push_sessions WHERE owner = ?', [s.owner]);
      if (Number(count!.n) >= max) return 'full';
      await tx.run(`INSERT INTO push_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
        s.owner,
        s.service,
        s.node,
        options,
        s.resource,
        s.sessionId,
        s.createdAt,
        s.lastUsed,
      ]);
      return 'created';
    });
  }

  async list(owner: string): Promise<PushSession[]> {
    const rows = await this.sql.all<PushRow>(`SELECT ${COLUMNS} FROM push_sessions WHERE owner = ? ORDER BY created_at, service, node`, [owner]);
    return rows.map(fromRow);
  }

  remove(owner: string, service: string, node?: string): Promise<number> {
    if (node === undefined) return this.sql.run('DELETE FROM push_sessions WHERE owner = ? AND service = ?', [owner, service]);
    return this.sql.run('DELETE FROM push_sessions WHERE owner = ? AND service = ? AND node = ?', [owner, service, node]);
  }

  removeAll(owner: string): Promise<number> {
    return this.sql.run('DELETE FROM push_sessions WHERE owner = ?', [owner]);
  }

  async touch(k: PushKey, at: number): Promise<void> {
    await this.sql.run('UPDATE push_sessions SET last_used = ? WHERE owner = ? AND service = ? AND node = ?', [at, k.owner, k.service, k.node]);
  }

  removeOlderThan(before: number): Promise<number> {
    return this.sql.run('DELETE FROM push_sessions WHERE created_at < ?', [before]);
  }

  async count(): Promise<number> {
    const r = await this.sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM push_sessions');
    return Number(r?.n ?? 0);
  }
}
