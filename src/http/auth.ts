import { createHash, timingSafeEqual } from 'node:crypto';

/** Who a request authenticated as, and by which scheme. */
export interface Principal {
  scheme: string;
  /** The account's bare JID, for schemes that authenticate an account. */
  jid?: string;
  /** A name for logs and permission rules: the JID, the token's subject, `shared-secret`... */
  name: string;
  /** What an OAuth token allows (`ejabberd:admin`, `ejabberd:user`, command names); absent for other schemes. */
  scopes?: readonly string[];
}

/** What a scheme reads from a request. */
export interface Credentials {
  authorization: string | undefined;
  query: URLSearchParams;
  ip: string;
}

/** A scheme's verdict: `undefined` when the request carries no credentials of this scheme. */
export type SchemeResult = { ok: true; principal: Principal } | { ok: false; scheme: string } | undefined;

export interface AuthScheme {
  readonly name: string;
  authenticate(c: Credentials): Promise<SchemeResult>;
}

/**
 * Runs the schemes in order; the first that finds its credentials decides. Credentials that no scheme
 * claims (an Authorization header of an unknown kind) are a failure of scheme `unknown`; no credentials
 * at all is an anonymous request (undefined).
 */
export async function authenticate(schemes: readonly AuthScheme[], c: Credentials): Promise<SchemeResult> {
  for (const s of schemes) {
    const r = await s.authenticate(c);
    if (r !== undefined) return r;
  }
  return c.authorization === undefined ? undefined : { ok: false, scheme: 'unknown' };
}

/** Equal strings, in a time that does not depend on where they differ (both are hashed first). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** `Authorization: Basic base64(jid:password)`, checked by `verify`, which returns the bare JID or undefined. */
export function basicJid(verify: (header: string, ip: string) => Promise<string | undefined>): AuthScheme {
  return {
    name: 'basic',
    async authenticate(c) {
      if (c.authorization === undefined || !/^Basic\s/i.test(c.authorization)) return undefined;
      const jid = await verify(c.authorization, c.ip);
      return jid === undefined ? { ok: false, scheme: 'basic' } : { ok: true, principal: { scheme: 'basic', jid, name: jid } };
    },
  };
}

/** `Authorization: Bearer <token>` (RFC 6750); `verify` returns the token's principal, or undefined for an unknown or expired token. */
export function bearer(verify: (token: string) => Promise<Principal | undefined>): AuthScheme {
  return {
    name: 'bearer',
    async authenticate(c) {
      const m = c.authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(c.authorization);
      if (!m) return c.authorization !== undefined && /^Bearer\s/i.test(c.authorization) ? { ok: false, scheme: 'bearer' } : undefined;
      const principal = await verify(m[1]!);
      return principal ? { ok: true, principal } : { ok: false, scheme: 'bearer' };
    },
  };
}

/**
 * Openfire's REST API secret: `Authorization: <secret>`, the whole header value. It claims any
 * Authorization header, so it comes last among the schemes of a dialect.
 */
export function sharedSecret(secret: () => string | undefined): AuthScheme {
  return {
    name: 'shared-secret',
    async authenticate(c) {
      if (c.authorization === undefined) return undefined;
      const want = secret();
      if (want === undefined || want === '' || !sameSecret(c.authorization, want)) return { ok: false, scheme: 'shared-secret' };
      return { ok: true, principal: { scheme: 'shared-secret', name: 'shared-secret' } };
    },
  };
}

/** An API key in a query parameter (`?key=...`, as hosting panels call); `verify` names the key's holder. */
export function apiKey(param: string, verify: (key: string) => Promise<Principal | undefined>): AuthScheme {
  return {
    name: 'api-key',
    async authenticate(c) {
      const key = c.query.get(param);
      if (key === null) return undefined;
      const principal = key === '' ? undefined : await verify(key);
      return principal ? { ok: true, principal } : { ok: false, scheme: 'api-key' };
    },
  };
}
