import type { AdminHost } from '../host.js';
import { auditFailedLogin, authenticatePassword } from '../auth.js';
import { auditDetails } from '../audit-log.js';
import { DomainError } from '../../errors.js';
import { bodyText, CodecError, json, type Codec } from '../../http/codecs.js';
import { Reply, type Dialect, type RequestContext } from '../../http/layer.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { accountOf } from '../../xmpp/account.js';
import { parseScopes } from '../../modules/oauth/index.js';

/**
 * ejabberd's OAuth endpoints (ejabberd_oauth), on the HTTP listeners:
 * - `POST /oauth/token`: the password grant (RFC 6749 §4.3), form-encoded `grant_type=password`,
 *   `username` (a JID), `password`, `scope` (space separated), optional `ttl`, and `client_id` /
 *   `client_secret` (also as HTTP basic auth) of a password-grant client when one is given;
 *   answers `{access_token, token_type, scope, expires_in}` or an RFC 6749 error object.
 * - `GET /oauth/authorize`: the implicit grant's page (§4.2): a form where the user logs in with
 *   JID and password to grant `scope` to a registered implicit client;
 *   `POST /oauth/authorization_token` takes that form and redirects to the client's registered
 *   `redirect_uri` with the token in the fragment (or `error=access_denied`).
 */

const form: Codec<URLSearchParams> = {
  mediaType: 'application/x-www-form-urlencoded',
  contentType: 'application/x-www-form-urlencoded',
  decode: (body) => new URLSearchParams(bodyText(body)),
  encode: (v) => String(v),
};

const html: Codec = {
  mediaType: 'text/html',
  contentType: 'text/html; charset=utf-8',
  decode: () => {
    throw new CodecError('HTML is not a request body');
  },
  encode: (v) => String(v),
};

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** RFC 6749 §5.2 error answers. */
const oauthError = (status: number, error: string, description: string): Reply =>
  new Reply(status, { error, error_description: description }, json, NO_STORE);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string, status = 200): Reply {
  return new Reply(
    status,
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`,
    html,
    { ...NO_STORE, 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; form-action 'self'" },
  );
}

/** The lifetime a request asks (`ttl`), or the configured default; undefined when it is not a number. */
function ttlOf(server: AdminHost, text: string | null): number | undefined {
  if (text === null || text === '') return Math.min(server.config.oauth.expire, server.config.limits.maxOAuthTokenTtl);
  return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/** Issues a token through the module, mapping its refusals to RFC 6749 errors. */
async function issue(server: AdminHost, ip: string, grant: string, jid: string, ttl: number, scope: string): Promise<{ token: string; scopes: readonly string[]; expiresIn: number } | Reply> {
  const oauth = server.oauth!;
  const audit = (result: string) =>
    server.audit.record({ surface: 'oauth', who: jid, from: ip, action: `oauth_grant_${grant}`, details: auditDetails({ scope, ttl }), result });
  let scopes: string[];
  try {
    scopes = parseScopes(scope, /\s+/);
  } catch (err) {
    audit('invalid_scope');
    return oauthError(400, 'invalid_scope', (err as Error).message);
  }
  try {
    const issued = await oauth.issue(accountOf(tryParseJID(jid)!), ttl, scopes);
    audit('ok');
    return issued;
  } catch (err) {
    audit(err instanceof DomainError ? err.kind : 'internal');
    if (err instanceof DomainError) return oauthError(400, 'invalid_request', err.message);
    throw err;
  }
}

async function token(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  const p = ctx.body as URLSearchParams;
  const grant = p.get('grant_type');
  if (grant !== 'password') return oauthError(400, 'unsupported_grant_type', `Unsupported grant_type: ${grant ?? '(none)'} (password)`);
  // Client credentials, in the body or as HTTP basic auth (RFC 6749 §2.3.1).
  let clientId = p.get('client_id');
  let clientSecret = p.get('client_secret');
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  if (clientId !== null && !(await server.oauth!.clientSecretMatches(clientId, clientSecret ?? ''))) {
    auditFailedLogin(server, 'oauth', clientId, ctx.ip, 'invalid_client');
    return oauthError(401, 'invalid_client', 'Unknown client or wrong client secret');
  }
  const username = p.get('username') ?? '';
  const password = p.get('password') ?? '';
  const ttl = ttlOf(server, p.get('ttl'));
  if (ttl === undefined) return oauthError(400, 'invalid_request', 'ttl must be a number of seconds');
  const jid = await authenticatePassword(server, username, password, ctx.ip, 'oauth');
  if (!jid) return oauthError(400, 'invalid_grant', 'Wrong username or password');
  const issued = await issue(server, ctx.ip, 'password', jid, ttl, p.get('scope') ?? '');
  if (issued instanceof Reply) return issued;
  return new Reply(200, { access_token: issued.token, token_type: 'bearer', scope: issued.scopes.join(' '), expires_in: issued.expiresIn }, json, NO_STORE);
}

/** The registered implicit client a request names, with its redirect URI checked; or the error page. */
async function implicitClient(server: AdminHost, p: URLSearchParams): Promise<{ id: string; name: string; redirectUri: string } | Reply> {
  const id = p.get('client_id') ?? '';
  const client = id === '' ? undefined : await server.oauth!.client(id);
  if (!client || client.grant !== 'implicit' || !client.redirectUri) return page('Authorization failed', '<p>Unknown client.</p>', 400);
  const asked = p.get('redirect_uri');
  // Never redirect anywhere but the registered address (RFC 6749 §10.6).
  if (asked !== null && asked !== client.redirectUri) return page('Authorization failed', '<p>The redirect URI is not the one registered for this client.</p>', 400);
  if ((p.get('response_type') ?? 'token') !== 'token') return page('Authorization failed', '<p>Only response_type=token is served.</p>', 400);
  return { id: client.id, name: client.name, redirectUri: client.redirectUri };
}

function redirect(uri: string, fragment: Record<string, string>): Reply {
  const frag = new URLSearchParams(fragment).toString();
  return new Reply(302, undefined, undefined, { location: `${uri}#${frag}`, ...NO_STORE });
}

async function authorizePage(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  const client = await implicitClient(server, ctx.query);
  if (client instanceof Reply) return client;
  const scope = ctx.query.get('scope') ?? '';
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return page(
    'Authorization request',
    `<p>${escapeHtml(client.name)} asks for access with the scope <b>${escapeHtml(scope)}</b>.</p>
<form action="/oauth/authorization_token" method="post">
${hidden('response_type', 'token')}${hidden('client_id', client.id)}${hidden('redirect_uri', client.redirectUri)}${hidden('scope', scope)}${hidden('state', ctx.query.get('state') ?? '')}${hidden('ttl', ctx.query.get('ttl') ?? '')}
<p><label>User (JID) <input type="text" name="username" autocomplete="username"></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password"></label></p>
<p><button type="submit">Accept</button></p>
</form>`,
  );
}

async function authorizationToken(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  const p = ctx.body as URLSearchParams;
  const client = await implicitClient(server, p);
  if (client instanceof Reply) return client;
  const state = p.get('state') ?? '';
  const withState = (f: Record<string, string>) => (state === '' ? f : { ...f, state });
  const ttl = ttlOf(server, p.get('ttl'));
  if (ttl === undefined) return redirect(client.redirectUri, withState({ error: 'invalid_request', error_description: 'ttl must be a number of seconds' }));
  const jid = await authenticatePassword(server, p.get('username') ?? '', p.get('password') ?? '', ctx.ip, 'oauth');
  if (!jid) return redirect(client.redirectUri, withState({ error: 'access_denied', error_description: 'Wrong username or password' }));
  const issued = await issue(server, ctx.ip, 'implicit', jid, ttl, p.get('scope') ?? '');
  if (issued instanceof Reply) {
    const e = issued.body as { error: string; error_description: string };
    return redirect(client.redirectUri, withState({ error: e.error, error_description: e.error_description }));
  }
  return redirect(client.redirectUri, withState({ access_token: issued.token, token_type: 'bearer', expires_in: String(issued.expiresIn), scope: issued.scopes.join(' ') }));
}

export function oauthEndpoints(server: AdminHost): Dialect {
  const guard = (fn: (s: AdminHost, c: RequestContext) => Promise<Reply>) => (ctx: RequestContext) =>
    server.oauth ? fn(server, ctx) : oauthError(404, 'not_found', 'OAuth is not enabled on this node');
  return {
    name: 'oauth',
    prefix: '/oauth',
    routes: [
      { method: 'POST', path: '/oauth/token', body: form, handle: guard(token) },
      { method: 'GET', path: '/oauth/authorize', handle: guard(authorizePage) },
      { method: 'POST', path: '/oauth/authorization_token', body: form, handle: guard(authorizationToken) },
    ],
    auth: [],
    codecs: [json],
    errors: {
      noRoute: () => oauthError(404, 'not_found', 'No such OAuth endpoint'),
      methodNotAllowed: () => oauthError(405, 'invalid_request', 'Method not allowed'),
      badParameter: () => oauthError(404, 'not_found', 'No such OAuth endpoint'),
      bodyTooLarge: (limit) => oauthError(413, 'invalid_request', `Request body larger than ${limit} bytes`),
      badBody: (err) => oauthError(400, 'invalid_request', err.message),
      unsupportedMediaType: () => oauthError(415, 'invalid_request', 'Expected application/x-www-form-urlencoded'),
      notAcceptable: () => oauthError(406, 'invalid_request', 'Not acceptable'),
      unauthorized: () => oauthError(401, 'invalid_client', 'Unauthorized'),
      domain: (err) => oauthError(400, 'invalid_request', err.message),
      internal: () => oauthError(500, 'server_error', 'Internal error'),
    },
  };
}
