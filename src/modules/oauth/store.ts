import type { AccountRef } from '../../xmpp/account.js';

export type { AccountRef };

/** An issued token, as stored: never the token itself, only its SHA-256 (hex). */
export interface OAuthToken {
  /** SHA-256 of the token, hex: how a presented token is found. */
  readonly hash: string;
  readonly account: AccountRef;
  readonly scopes: readonly string[];
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly createdAt: number;
}

/** A registered OAuth client (ejabberd's oauth_add_client_password / _implicit). */
export interface OAuthClient {
  readonly id: string;
  readonly name: string;
  readonly grant: 'password' | 'implicit';
  /** Password grant: SHA-256 (hex) of the client's secret. */
  readonly secretHash?: string;
  /** Implicit grant: where the authorization page sends the token. */
  readonly redirectUri?: string;
}

export interface OAuthStore {
  /** Stores a token unless its account already has `maxPerAccount` unexpired ones. */
  addToken(token: OAuthToken, maxPerAccount: number, now: number): Promise<'added' | 'full'>;
  /** The unexpired token with this hash. */
  token(hash: string, now: number): Promise<OAuthToken | undefined>;
  /** Every unexpired token, by expiry. */
  tokens(now: number): Promise<OAuthToken[]>;
  /** Removes the tokens whose hash starts with `prefix` (the whole hash, or the id oauth_list_tokens shows); how many. */
  removeTokens(hashPrefix: string): Promise<number>;
  removeTokensOf(account: AccountRef): Promise<number>;
  removeExpired(now: number): Promise<number>;
  /** Creates or replaces a client, unless `maxClients` others exist. */
  putClient(client: OAuthClient, maxClients: number): Promise<'created' | 'updated' | 'full'>;
  client(id: string): Promise<OAuthClient | undefined>;
  removeClient(id: string): Promise<boolean>;
}
