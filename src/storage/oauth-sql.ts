import type { AccountRef, OAuthClient, OAuthStore, OAuthToken } from '../modules/oauth/store.js';
import type { Sql } from './sql.js';

/** OAuth tokens and clients (migration 6), in the SQL both backends share. */
interface TokenRow {
  token_hash: string;
  host: string;
  username: string;
  scopes: string;
  expires_at: number | string;
  created_at: number | string;
}

interface ClientRow {
  client_id: string;
  client_name: string;
  grant_type: string;
  secret_hash: string | null;
  redirect_uri: string | null;
}

const tokenOf = (r: TokenRow): OAuthToken => ({
  hash: r.token_hash,
  account: { user: r.username, host: r.host },
  scopes: r.scopes === '' ? [] : r.scopes.split(' '),
  expiresAt: Number(r.expires_at),
  createdAt: Number(r.created_at),
});

const clientOf = (r: ClientRow): OAuthClient => ({
  id: r.client_id,
  name: r.client_name,
  grant: r.grant_type === 'implicit' ? 'implicit' : 'password',
  ...(r.secret_hash !== null ? { secretHash: r.secret_hash } : {}),
  ...(r.redirect_uri !== null ? { redirectUri: r.redirect_uri } : {}),
});

const TOKEN_COLUMNS = 'token_hash, host, username, scopes, expires_at, created_at';

export class SqlOAuth implements OAuthStore {
  constructor(private readonly sql: Sql) {}

  addToken(t: OAuthToken, maxPerAccount: number, now: number): Promise<'added' | 'full'> {
    return this.sql.atomic(async (tx) => {
      // Issuers of one account take turns: the count each reads is current and the limit holds.
      await tx.lock(`oauth_tokens:${t.account.host}:${t.account.user}`);
      const n = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM oauth_tokens WHERE host = ? AND username = ? AND expires_at > ?', [
        t.account.host,
        t.account.user,
        now,
      ]);
      if (Number(n!.n) >= maxPerAccount) return 'full';
      await tx.run(`INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
        t.hash,
        t.account.host,
        t.account.user,
        t.scopes.join(' '),
        t.expiresAt,
        t.createdAt,
      ]);
      return 'added';
    });
  }

  async token(hash: string, now: number): Promise<OAuthToken | undefined> {
    const row = await this.sql.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM oauth_tokens WHERE token_hash = ? AND expires_at > ?`, [hash, now]);
    return row && tokenOf(row);
  }

  async tokens(now: number): Promise<OAuthToken[]> {
    const rows = await this.sql.all<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM oauth_tokens WHERE expires_at > ? ORDER BY expires_at, token_hash`, [now]);
    return rows.map(tokenOf);
  }

  removeTokens(hashPrefix: string): Promise<number> {
    // Hex only (checked by the service): no LIKE wildcard can be in it.
    return this.sql.run('DELETE FROM oauth_tokens WHERE token_hash LIKE ?', [`${hashPrefix}%`]);
  }

  removeTokensOf(a: AccountRef): Promise<number> {
    return this.sql.run('DELETE FROM oauth_tokens WHERE host = ? AND username = ?', [a.host, a.user]);
  }

  removeExpired(now: number): Promise<number> {
    return this.sql.run('DELETE FROM oauth_tokens WHERE expires_at <= ?', [now]);
  }

  putClient(c: OAuthClient, maxClients: number): Promise<'created' | 'updated' | 'full'> {
    return this.sql.atomic(async (tx) => {
      await tx.lock('oauth_clients');
      const values = [c.name, c.grant, c.secretHash ?? null, c.redirectUri ?? null];
      const n = await tx.run('UPDATE oauth_clients SET client_name = ?, grant_type = ?, secret_hash = ?, redirect_uri = ? WHERE client_id = ?', [...values, c.id]);
      if (n > 0) return 'updated';
      const count = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM oauth_clients', []);
      if (Number(count!.n) >= maxClients) return 'full';
      await tx.run('INSERT INTO oauth_clients (client_name, grant_type, secret_hash, redirect_uri, client_id) VALUES (?, ?, ?, ?, ?)', [...values, c.id]);
      return 'created';
    });
  }

  async client(id: string): Promise<OAuthClient | undefined> {
    const row = await this.sql.get<ClientRow>('SELECT client_id, client_name, grant_type, secret_hash, redirect_uri FROM oauth_clients WHERE client_id = ?', [id]);
    return row && clientOf(row);
  }

  async removeClient(id: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM oauth_clients WHERE client_id = ?', [id])) > 0;
  }
}
