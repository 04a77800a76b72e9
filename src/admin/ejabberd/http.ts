import type { AdminHost } from '../host.js';
import type { AnyCommand, Caller } from '../registry.js';
import { auditCommand, callerScopedEntries, hasAdminRights, isAllowed, runCommand } from '../execute.js';
import type { ArgSource } from '../args.js';
import { ArgumentError, bindNamedArgs } from './args.js';
import { errorAnswer, successBody } from './render.js';
import { openApiDocument } from '../docs/openapi.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, topLevelKeys } from './json-keys.js';
import { auditFailedLogin, authenticateBasic, bearerPrincipal } from '../auth.js';
import { basicJid, bearer } from '../../http/auth.js';
import { bodyText, CodecError, json, type Codec } from '../../http/codecs.js';
import { reply, STATUS_OF, type Dialect, type Reply, type RequestContext, type Route } from '../../http/layer.js';

/**
 * ejabberd's `mod_http_api` dialect: `POST /api/<command>` with a JSON object of arguments,
 * or `GET /api/<command>?arg=value`. Status codes, bodies and the order of checks follow
 * ejabberd 23.01 (docs/reference/ejabberd-observed.md); deviations are listed in docs/ejabberd-api.md.
 * Mounted on the HTTP layer (src/http/layer.ts) as a table of two routes and its error wording.
 */
const CORS = {
  'access-control-allow-headers': 'Content-Type, Authorization, X-Admin',
  'access-control-allow-origin': '*',
};

const send = (status: number, body: unknown): Reply => reply(status, body);

function envelope(status: number, code: number, message: string): Reply {
  return send(status, { status: 'error', code, message });
}

const unauthorized = (scheme: string | undefined) =>
  scheme === 'bearer' ? envelope(401, 10, 'Oauth Token is invalid or expired.') : envelope(401, 10, 'You are not authorized to call this command.');

const missingCommand = () => envelope(400, 40, 'Missing command name.');

/**
 * A POST body as ejabberd reads it: the top-level keys in order and with repeats (ejabberd reports a
 * repeated argument), a depth limit, and whitespace alone meaning no arguments.
 */
const argumentsBody: Codec<[string, unknown][]> = {
  mediaType: 'application/json',
  contentType: 'application/json',
  decode(body) {
    if (body.length === 0) throw new CodecError('Missing POST data');
    let text: string;
    let parsed: unknown;
    try {
      text = bodyText(body);
    } catch {
      throw new CodecError('Invalid JSON input');
    }
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) throw new CodecError(`Invalid JSON input: nested deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      // A body of JSON whitespace only (e.g. curl --data-binary $'\n') means no arguments, as in ejabberd.
      parsed = /^[ \t\r\n]*$/.test(text) ? null : JSON.parse(text);
    } catch {
      throw new CodecError('Invalid JSON input');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
    const obj = parsed as Record<string, unknown>;
    return topLevelKeys(text).map((k) => [k, obj[k]]);
  },
  encode: json.encode,
};

export function ejabberdApi(server: AdminHost): Dialect {
  const route = (method: 'GET' | 'POST'): Route => ({
    method,
    path: '/api/:command',
    body: method === 'POST' ? argumentsBody : undefined,
    auth: 'optional',
    handle: (ctx) => handle(server, ctx),
  });
  return {
    name: 'ejabberd',
    prefix: '/api',
    routes: [route('GET'), route('POST')],
    auth: [bearer((token) => bearerPrincipal(server, token)), basicJid((header, ip) => authenticateBasic(server, header, ip))],
    codecs: [json],
    cors: {
      headers: CORS,
      preflight: { 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-max-age': '86400', 'content-type': 'text/plain', 'content-length': 0 },
    },
    errors: {
      noRoute: missingCommand,
      methodNotAllowed: missingCommand,
      // A malformed percent-encoding (`/api/%`) cannot name a command.
      badParameter: () => envelope(404, 40, 'Endpoint not found.'),
      bodyTooLarge: (limit) => send(413, `Request body larger than ${limit} bytes`),
      badBody: (err) => send(400, err.message),
      // The body codec reads any content type, and JSON is the only answer.
      unsupportedMediaType: missingCommand,
      notAcceptable: missingCommand,
      unauthorized: (r) => unauthorized(r?.scheme),
      domain: (err) => send(STATUS_OF[err.kind], err.message),
      internal: () => send(500, 'internal_error'),
    },
  };
}

async function handle(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  // Arguments first: a malformed request is reported before anything else (ejabberd's order); the
  // layer has read them already.
  let entries: [string, unknown][];
  let source: ArgSource = 'json';
  if (ctx.method === 'POST') {
    entries = ctx.body as [string, unknown][];
  } else {
    source = 'text';
    entries = [...ctx.query.entries()];
  }

  if (ctx.method === 'GET' && ctx.params.command === 'openapi.json') return send(200, openApiOf(server));
  const def = server.commands.get(ctx.params.command!);
  if (!def || def.ctlOnly) return envelope(404, 40, 'Endpoint not found.');

  const caller: Caller = { surface: 'http', admin: false, ip: ctx.ip };
  const auth = await ctx.authenticate();
  if (auth !== undefined) {
    if (!auth.ok) {
      // Refused passwords are recorded where they are checked; a refused token here.
      if (auth.scheme === 'bearer') auditFailedLogin(server, 'api', '(bearer token)', ctx.ip, 'bad-token');
      return unauthorized(auth.scheme);
    }
    const jid = auth.principal.jid!;
    caller.jid = jid;
    const scopes = auth.principal.scopes;
    if (scopes) caller.scopes = scopes;
    caller.admin = hasAdminRights(server, jid, def, scopes);
  }

  let args;
  try {
    args = bindNamedArgs(def, callerScopedEntries(def, entries, caller), source);
  } catch (err) {
    if (err instanceof ArgumentError) return send(400, err.message);
    throw err;
  }
  if (!isAllowed(server, def, caller, args)) {
    auditCommand(server, def, args, caller, 'forbidden');
    return envelope(403, 32, 'AccessRules: Account does not have the right to perform the operation.');
  }
  const outcome = await runCommand(server, def, args, caller);
  return renderOutcome(def, outcome);
}

/** The OpenAPI document of a server's `/api`, made once (its commands do not change while it runs). */
const openApiDocuments = new WeakMap<AdminHost, unknown>();

function openApiOf(server: AdminHost): unknown {
  let doc = openApiDocuments.get(server);
  if (doc === undefined) openApiDocuments.set(server, (doc = openApiDocument(server.commands.list())));
  return doc;
}

function renderOutcome(def: AnyCommand, outcome: Awaited<ReturnType<typeof runCommand>>): Reply {
  const spec = def.result;
  if (outcome.ok) return send(200, successBody(def.name, spec, outcome.value));
  if (outcome.error === 'internal') return send(500, 'internal_error');
  const { status, body } = errorAnswer(spec, outcome.error);
  return send(status, body);
}
