import type { AdminHost } from './host.js';
import { ConfigError } from '../config/load.js';
import { parseJID, tryParseJID } from '../xmpp/jid.js';
import { accountOf, bareOf } from '../xmpp/account.js';
import type { Principal } from '../http/auth.js';
import type { AuditSurface } from './audit.js';

/**
 * The configured `admins`, prepared as callers' JIDs are (nodeprep, nameprep, bare), so that
 * `Admin@LocalHost` names the account `admin@localhost`. An entry that is not an account's JID
 * is a configuration error naming it: a typo must not silently leave the server without admins.
 */
export function prepareAdmins(entries: string[]): Set<string> {
  const admins = new Set<string>();
  entries.forEach((entry, i) => {
    let bare: string;
    try {
      const jid = parseJID(entry);
      if (jid.local === '') throw new Error('it has no user name (expected user@host)');
      bare = jid.bare;
    } catch (err) {
      throw new ConfigError(`invalid config:\n  admins.${i}: ${JSON.stringify(entry)} is not a valid account JID: ${(err as Error).message}`);
    }
    admins.add(bare);
  });
  return admins;
}

/**
 * HTTP basic credentials of an account (JID + password) for the admin APIs. Returns the
 * caller's bare JID, or undefined when the credentials are not valid. Failures count
 * against the address like failed XMPP logins (limits.authFailuresPerMinute).
 */
export async function authenticateBasic(server: AdminHost, header: string, ip: string, surface: AuditSurface = 'api'): Promise<string | undefined> {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    auditFailedLogin(server, surface, '(malformed credentials)', ip, 'bad-credentials');
    return undefined;
  }
  return authenticatePassword(server, decoded.slice(0, colon), decoded.slice(colon + 1), ip, surface);
}

/** A refused admin login in the audit log: who is the name the caller claimed. */
export function auditFailedLogin(server: AdminHost, surface: AuditSurface, claimed: string, ip: string, result: string): void {
  server.audit.record({ surface, who: claimed, from: ip, action: 'authenticate', details: '', result });
}

/**
 * An account's JID and password, as the admin surfaces take them (HTTP basic, XML-RPC's auth
 * struct, the OAuth password grant and authorization page). Returns the caller's bare JID, or
 * undefined when the credentials are not valid; failures count against the address like failed
 * XMPP logins (limits.authFailuresPerMinute).
 */
export async function authenticatePassword(server: AdminHost, jidText: string, password: string, ip: string, surface: AuditSurface = 'api'): Promise<string | undefined> {
  const jid = tryParseJID(jidText);
  if (!jid || jid.local === '' || !server.isLocalHost(jid.domain)) {
    auditFailedLogin(server, surface, jidText, ip, 'bad-credentials');
    return undefined;
  }
  // A password verified lately cannot fail: no ticket to wait for, but a blocked address stays refused.
  if (server.accounts.verifiedRecently(jid.bare, password)) {
    if (!server.authLimiter.blocked(ip)) return jid.bare;
    auditFailedLogin(server, surface, jid.bare, ip, 'rate-limited');
    return undefined;
  }
  const ticket = await server.authLimiter.acquire(ip);
  if (!ticket) {
    auditFailedLogin(server, surface, jid.bare, ip, 'rate-limited');
    return undefined;
  }
  let ok: boolean;
  try {
    ok = await server.accounts.checkPassword(accountOf(jid), password);
  } catch (err) {
    ticket.release();
    throw err;
  }
  if (!ok) {
    ticket.failed();
    auditFailedLogin(server, surface, jid.bare, ip, 'bad-credentials');
    return undefined;
  }
  ticket.release();
  return jid.bare;
}

/** The principal of an OAuth bearer token (its account and scopes), or undefined for an unknown, revoked or expired one. */
export async function bearerPrincipal(server: AdminHost, token: string): Promise<Principal | undefined> {
  const grant = await server.oauth?.verify(token);
  if (!grant) return undefined;
  const jid = bareOf(grant.account);
  return { scheme: 'bearer', jid, name: jid, scopes: grant.scopes };
}
