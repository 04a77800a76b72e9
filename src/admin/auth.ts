import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from '../server.js';
import { tryParseJID } from '../xmpp/jid.js';

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * HTTP basic credentials of an account (JID + password), for the admin APIs.
 * Successful checks are remembered for a few minutes under a keyed hash (never the password),
 * so that scripts calling the API in a loop do not pay for PBKDF2 on every request.
 */
export class HttpAuthenticator {
  private key = randomBytes(32);
  private verified = new Map<string, { jid: string; expires: number }>();

  constructor(private readonly server: Server) {
    const forget = ({ user, host }: { user: string; host: string }) => this.forget(`${user}@${host}`);
    server.hooks.on('account-removed', forget);
    server.hooks.on('password-changed', forget);
  }

  private forget(jid: string): void {
    for (const [k, v] of this.verified) if (v.jid === jid) this.verified.delete(k);
  }

  /** Returns the caller's bare JID, or undefined when the credentials are not valid. */
  async basic(header: string, ip: string): Promise<string | undefined> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const jid = tryParseJID(user);
    if (!jid || jid.local === '' || !this.server.isLocalHost(jid.domain)) return undefined;
    const cacheKey = createHmac('sha256', this.key).update(jid.bare).update('\0').update(password).digest('base64');
    const hit = this.verified.get(cacheKey);
    if (hit && hit.expires > Date.now()) return hit.jid;
    if (this.server.authLimiter.blocked(ip)) return undefined;
    if (!(await this.server.accounts.checkPassword(jid.local, jid.domain, password))) {
      this.server.authLimiter.fail(ip);
      return undefined;
    }
    if (this.verified.size >= MAX_ENTRIES) this.verified.clear();
    this.verified.set(cacheKey, { jid: jid.bare, expires: Date.now() + TTL_MS });
    return jid.bare;
  }
}
