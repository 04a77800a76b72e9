import type { Server } from '../server.js';
import { tryParseJID } from '../xmpp/jid.js';

/**
 * HTTP basic credentials of an account (JID + password) for the admin APIs. Returns the
 * caller's bare JID, or undefined when the credentials are not valid. Failures count
 * against the address like failed XMPP logins (limits.authFailuresPerMinute).
 */
export async function authenticateBasic(server: Server, header: string, ip: string): Promise<string | undefined> {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const jid = tryParseJID(decoded.slice(0, colon));
  if (!jid || jid.local === '' || !server.isLocalHost(jid.domain)) return undefined;
  const ticket = await server.authLimiter.acquire(ip);
  if (!ticket) return undefined;
  let ok: boolean;
  try {
    ok = await server.accounts.checkPassword(jid.local, jid.domain, decoded.slice(colon + 1));
  } catch (err) {
    ticket.release();
    throw err;
  }
  if (!ok) {
    ticket.failed();
    return undefined;
  }
  ticket.release();
  return jid.bare;
}
