import type { AccountRecord, AccountStore, StoredCredentials } from '../modules/accounts/store.js';
import type { Sql } from './sql.js';
import type { AccountRef } from '../xmpp/account.js';
import { credentialsFromRow, credentialsToRow, type AccountRow } from './rows.js';

/** Accounts, in the SQL both backends share. */
export class SqlAccounts implements AccountStore {
  constructor(private readonly sql: Sql) {}
  async get({ user, host }: AccountRef): Promise<AccountRecord | undefined> {
    const row = await this.sql.get<AccountRow>('SELECT * FROM accounts WHERE host = ? AND username = ?', [host, user]);
    return row && { host: row.host, user: row.username, createdAt: Number(row.created_at), ...credentialsFromRow(row) };
  }
  async create(r: AccountRecord): Promise<boolean> {
    const c = credentialsToRow(r);
    const n = await this.sql.run(
      `INSERT INTO accounts (host, username, scram_sha1, scram_sha256, plain_password, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [r.host, r.user, c.scram_sha1, c.scram_sha256, c.plain_password, r.createdAt],
    );
    return n === 1;
  }
  async setCredentials({ user, host }: AccountRef, creds: StoredCredentials): Promise<boolean> {
    const c = credentialsToRow(creds);
    const n = await this.sql.run('UPDATE accounts SET scram_sha1 = ?, scram_sha256 = ?, plain_password = ? WHERE host = ? AND username = ?', [
      c.scram_sha1,
      c.scram_sha256,
      c.plain_password,
      host,
      user,
    ]);
    return n === 1;
  }
  async clearPlain({ user, host }: AccountRef, plain: string): Promise<boolean> {
    const n = await this.sql.run('UPDATE accounts SET plain_password = NULL WHERE host = ? AND username = ? AND plain_password = ?', [host, user, plain]);
    return n === 1;
  }
  async delete({ user, host }: AccountRef): Promise<boolean> {
    return (await this.sql.run('DELETE FROM accounts WHERE host = ? AND username = ?', [host, user])) === 1;
  }
  async list(host: string): Promise<string[]> {
    const rows = await this.sql.all<{ username: string }>(`SELECT username FROM accounts WHERE host = ? ORDER BY username${this.sql.bytewise}`, [host]);
    return rows.map((r) => r.username);
  }
  async count(host: string): Promise<number> {
    const row = await this.sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM accounts WHERE host = ?', [host]);
    return Number(row!.n);
  }
}
