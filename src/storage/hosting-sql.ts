import type { EnqueueOptions, EnqueueOutcome, HostingQueueStore, NewChange, PendingChange } from '../modules/hosting/store.js';
import type { Sql } from './sql.js';

/** The hosting API's queue (migration 12), in the SQL both backends share. */
interface ChangeRow {
  id: number | string;
  token: string;
  key_name: string;
  host: string;
  username: string;
  action: string;
  credentials_json: string | null;
  created_at: number | string;
}

function fromRow(r: ChangeRow): PendingChange {
  return {
    id: Number(r.id),
    token: r.token,
    keyName: r.key_name,
    host: r.host,
    user: r.username,
    action: r.action as PendingChange['action'],
    ...(r.credentials_json === null ? {} : { credentials: JSON.parse(r.credentials_json) }),
    createdAt: Number(r.created_at),
  };
}

/** Enqueuers and claimers take turns on it, so that no change joins a token being claimed. */
const QUEUE_LOCK = 'hosting_queue';

export class SqlHostingQueue implements HostingQueueStore {
  constructor(private readonly sql: Sql) {}

  enqueue(c: NewChange, o: EnqueueOptions): Promise<EnqueueOutcome> {
    return this.sql.atomic(async (tx) => {
      await tx.lock(QUEUE_LOCK);
      if (await tx.get('SELECT 1 AS x FROM hosting_changes WHERE host = ? AND username = ?', [c.host, c.user])) return { ok: false, reason: 'pending' };
      const waiting = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM hosting_changes WHERE key_name = ?', [c.keyName]);
      if (Number(waiting!.n) >= o.maxPendingPerKey) return { ok: false, reason: 'key-full' };
      const open = await tx.get<{ token: string }>(
        'SELECT token FROM hosting_tokens WHERE key_name = ? AND claimed_by IS NULL AND changes < ? ORDER BY created_at DESC LIMIT 1',
        [c.keyName, o.maxChangesPerToken],
      );
      let token = open?.token;
      if (token === undefined) {
        token = o.newToken();
        // due_at holds a token back after a failed application; a new one is held by nothing.
        await tx.run('INSERT INTO hosting_tokens (token, key_name, changes, created_at, due_at) VALUES (?, ?, 0, ?, ?)', [token, c.keyName, o.now, o.now]);
      }
      await tx.run('INSERT INTO hosting_changes (token, key_name, host, username, action, credentials_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        token,
        c.keyName,
        c.host,
        c.user,
        c.action,
        c.credentials === undefined ? null : JSON.stringify(c.credentials),
        o.now,
      ]);
      await tx.run('UPDATE hosting_tokens SET changes = changes + 1 WHERE token = ?', [token]);
      return { ok: true, token };
    });
  }

  async pending(hosts: readonly string[]): Promise<PendingChange[]> {
    if (hosts.length === 0) return [];
    const rows = await this.sql.all<ChangeRow>(`SELECT * FROM hosting_changes WHERE host IN (${hosts.map(() => '?').join(', ')}) ORDER BY id`, hosts);
    return rows.map(fromRow);
  }

  async pendingFor(host: string, user: string): Promise<PendingChange | undefined> {
    const row = await this.sql.get<ChangeRow>('SELECT * FROM hosting_changes WHERE host = ? AND username = ?', [host, user]);
    return row && fromRow(row);
  }

  async due(openedBefore: number, now: number, staleBefore: number): Promise<string[]> {
    const rows = await this.sql.all<{ token: string }>(
      'SELECT token FROM hosting_tokens WHERE created_at <= ? AND due_at <= ? AND (claimed_by IS NULL OR claimed_at < ?) ORDER BY created_at, token',
      [openedBefore, now, staleBefore],
    );
    return rows.map((r) => r.token);
  }

  claim(token: string, node: string, now: number, staleBefore: number): Promise<boolean> {
    return this.sql.atomic(async (tx) => {
      await tx.lock(QUEUE_LOCK);
      const n = await tx.run('UPDATE hosting_tokens SET claimed_by = ?, claimed_at = ? WHERE token = ? AND (claimed_by IS NULL OR claimed_at < ?)', [
        node,
        now,
        token,
        staleBefore,
      ]);
      return n === 1;
    });
  }

  release(node: string): Promise<number> {
    return this.sql.run('UPDATE hosting_tokens SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?', [node]);
  }

  async retry(token: string, notBefore: number): Promise<void> {
    await this.sql.run('UPDATE hosting_tokens SET claimed_by = NULL, claimed_at = NULL, due_at = ? WHERE token = ?', [notBefore, token]);
  }

  async changes(token: string): Promise<PendingChange[]> {
    const rows = await this.sql.all<ChangeRow>('SELECT * FROM hosting_changes WHERE token = ? ORDER BY id', [token]);
    return rows.map(fromRow);
  }

  done(c: PendingChange): Promise<void> {
    return this.sql.atomic(async (tx) => {
      if ((await tx.run('DELETE FROM hosting_changes WHERE id = ?', [c.id])) === 0) return;
      await tx.run('UPDATE hosting_tokens SET changes = changes - 1 WHERE token = ?', [c.token]);
      await tx.run('DELETE FROM hosting_tokens WHERE token = ? AND changes <= 0', [c.token]);
    });
  }
}
