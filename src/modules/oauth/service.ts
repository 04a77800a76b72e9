import { createHash, randomBytes } from 'node:crypto';
import { badArgument, forbidden, notFound } from '../../errors.js';
import type { Transaction } from '../../storage/kinds.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import type { ModuleContext } from '../module.js';
import type { OAuthClient, OAuthStore, OAuthToken } from './store.js';

const SCOPE = /^[A-Za-z0-9_:.-]{1,64}$/;
const MAX_SCOPES = 64;
/** How a token is listed and revoked without its secret: the first 16 hex digits of its SHA-256. */
const ID_LENGTH = 16;
const PURGE_EVERY_MS = 3_600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A token as the commands show it (oauth_list_tokens, oauth_revoke_token). */
export interface ListedToken {
  token: string;
  user: string;
  scope: string;
  expires_in: string;
}

export interface IssuedToken {
  token: string;
  scopes: readonly string[];
  /** Seconds. */
  expiresIn: number;
}

/** What a presented token stands for: its account and scopes. */
export interface TokenGrant {
  account: AccountRef;
  scopes: readonly string[];
}

/** Splits a scope list (`;` in ejabberd's commands, spaces in OAuth 2) and checks each. */
export function parseScopes(text: string, separator: RegExp): string[] {
  const scopes = [...new Set(text.split(separator).map((s) => s.trim()).filter((s) => s !== ''))];
  if (scopes.length === 0) throw badArgument('No scope given');
  if (scopes.length > MAX_SCOPES) throw badArgument(`More than ${MAX_SCOPES} scopes`);
  for (const s of scopes) if (!SCOPE.test(s)) throw badArgument(`Invalid scope: ${s}`);
  return scopes;
}

/**
 * OAuth 2 tokens for the admin API, as ejabberd issues them: by command (oauth_issue_token), by the
 * password grant of /oauth/token, or by the implicit grant of the authorization page. Only each
 * token's SHA-256 is stored; a presented token is looked up every time (no cache), so a revoked or
 * expired token is refused on its next use.
 */
export class OAuthService {
  private readonly store: OAuthStore;

  constructor(private readonly ctx: ModuleContext<'accounts', OAuthStore>) {
    this.store = ctx.store;
    ctx.hooks.on('account-removing', (p: AccountRef & { tx: Transaction }) => this.accountRemoving(p));
    const timer = setInterval(() => void this.purge().catch((err) => ctx.log.warn({ err }, 'purging expired OAuth tokens failed')), PURGE_EVERY_MS);
    timer.unref();
  }

  private async accountRemoving({ user, host, tx }: AccountRef & { tx: Transaction }): Promise<void> {
    await tx.oauth.removeTokensOf({ user, host });
  }

  /** Removes expired tokens (also done every hour); how many. */
  purge(): Promise<number> {
    return this.store.removeExpired(Date.now());
  }

  /** Issues a token for an existing account. */
  async issue(account: AccountRef, ttlSeconds: number, scopes: readonly string[]): Promise<IssuedToken> {
    const max = this.ctx.config.limits.maxOAuthTokenTtl;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > max) throw badArgument(`Invalid ttl: ${ttlSeconds} (1 to ${max} seconds, limits.maxOAuthTokenTtl)`);
    await this.ctx.services.accounts.mustExist(account);
    const token = randomBytes(24).toString('base64url');
    const now = Date.now();
    const stored: OAuthToken = { hash: sha256(token), account, scopes, expiresAt: now + ttlSeconds * 1000, createdAt: now };
    const limit = this.ctx.config.limits.maxOAuthTokensPerAccount;
    if ((await this.store.addToken(stored, limit, now)) === 'full') {
      throw forbidden(`${bareOf(account)} already holds ${limit} tokens (limits.maxOAuthTokensPerAccount): revoke one first`);
    }
    this.ctx.log.info({ account: bareOf(account), scopes, ttl: ttlSeconds }, 'OAuth token issued');
    return { token, scopes, expiresIn: ttlSeconds };
  }

  /** The account and scopes of a presented token, or undefined for an unknown, revoked or expired one. */
  async verify(token: string): Promise<TokenGrant | undefined> {
    if (token.length === 0 || token.length > 512) return undefined;
    const t = await this.store.token(sha256(token), Date.now());
    return t && { account: t.account, scopes: t.scopes };
  }

  async list(): Promise<ListedToken[]> {
    const now = Date.now();
    return (await this.store.tokens(now)).map((t) => ({
      token: t.hash.slice(0, ID_LENGTH),
      user: bareOf(t.account),
      scope: t.scopes.join(' '),
      expires_in: String(Math.max(0, Math.round((t.expiresAt - now) / 1000))),
    }));
  }

  /** Revokes a token given itself or as oauth_list_tokens shows it; not-found when none matches. */
  async revoke(tokenOrId: string): Promise<void> {
    let n = 0;
    if (new RegExp(`^[0-9a-f]{${ID_LENGTH}}$`).test(tokenOrId)) n += await this.store.removeTokens(tokenOrId);
    if (tokenOrId.length > 0 && tokenOrId.length <= 512) n += await this.store.removeTokens(sha256(tokenOrId));
    if (n === 0) throw notFound('No such token');
  }

  async addClient(client: Omit<OAuthClient, 'secretHash'> & { secret?: string }): Promise<void> {
    if (!/^[\x21-\x7e]{1,256}$/.test(client.id)) throw badArgument(`Invalid client_id: ${JSON.stringify(client.id)} (1 to 256 visible ASCII characters)`);
    if (client.name.length > 1024) throw badArgument('client_name is longer than 1024 characters');
    if (client.grant === 'implicit') {
      let uri: URL;
      try {
        uri = new URL(client.redirectUri ?? '');
      } catch {
        throw badArgument(`Invalid redirect_uri: ${JSON.stringify(client.redirectUri)}`);
      }
      if (uri.protocol !== 'https:' && uri.protocol !== 'http:') throw badArgument(`Invalid redirect_uri: ${client.redirectUri} (http or https)`);
      if (uri.hash !== '') throw badArgument('redirect_uri must not have a fragment (RFC 6749 §3.1.2)');
    } else if (!client.secret) {
      throw badArgument('Empty secret');
    }
    const { secret, ...rest } = client;
    const stored: OAuthClient = { ...rest, ...(secret !== undefined ? { secretHash: sha256(`${client.id}\0${secret}`) } : {}) };
    const max = this.ctx.config.limits.maxOAuthClients;
    if ((await this.store.putClient(stored, max)) === 'full') throw forbidden(`There are already ${max} OAuth clients (limits.maxOAuthClients)`);
  }

  async removeClient(id: string): Promise<void> {
    if (!(await this.store.removeClient(id))) throw notFound(`No OAuth client ${id}`);
  }

  client(id: string): Promise<OAuthClient | undefined> {
    return this.store.client(id);
  }

  /** Whether the secret is the password-grant client's. */
  async clientSecretMatches(id: string, secret: string): Promise<boolean> {
    const c = await this.store.client(id);
    return c !== undefined && c.grant === 'password' && c.secretHash === sha256(`${id}\0${secret}`);
  }
}
