import { BlockList, isIP } from 'node:net';
import type { AdminHost } from '../host.js';
import { authenticatePassword } from '../auth.js';
import { basicJid, sharedSecret, type AuthScheme } from '../../http/auth.js';
import { DomainError, type DomainErrorKind } from '../../errors.js';
import { json } from '../../http/codecs.js';
import { Reply, STATUS_OF, type Dialect, type RequestContext, type Route } from '../../http/layer.js';
import { Entity, ofJson, ofTextXml, ofXml } from './format.js';
import { openfireEndpoints } from './endpoints.js';
import { OpenfireError, type Endpoint, type Call } from './endpoint.js';
import { VERSION } from '../../version.js';

export const OPENFIRE_PREFIX = '/plugins/restapi/v1';

export const errorReply = (status: number, message: string, resource: string, exception: string): Reply =>
  new Reply(status, new Entity('error', { resource, message, exception }));

const DEFAULT_EXCEPTION: Record<DomainErrorKind, string> = {
  'not-found': 'NotFoundException',
  conflict: 'AlreadyExistsException',
  'bad-argument': 'IllegalArgumentException',
  forbidden: 'NotAllowedException',
  unavailable: 'ServiceUnavailableException',
  internal: 'InternalServerErrorException',
};

const blockLists = new WeakMap<string[], BlockList>();

function allowed(cidrs: string[], ip: string): boolean {
  if (cidrs.length === 0) return true;
  let list = blockLists.get(cidrs);
  if (!list) {
    list = new BlockList();
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(addr!, family);
      else list.addSubnet(addr!, Number(bits), family);
    }
    blockLists.set(cidrs, list);
  }
  const v = isIP(ip.replace(/^::ffff:(?=\d+\.)/, ''));
  return v !== 0 && list.check(ip.replace(/^::ffff:(?=\d+\.)/, ''), v === 6 ? 'ipv6' : 'ipv4');
}

/** Openfire's basic auth names the admin by username; a JID works too. Only configured admins pass. */
async function adminByBasic(server: AdminHost, header: string, ip: string): Promise<string | undefined> {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  let user = decoded.slice(0, colon);
  if (!user.includes('@')) user = `${user}@${server.config.hosts[0]}`;
  const jid = await authenticatePassword(server, user, decoded.slice(colon + 1), ip);
  return jid !== undefined && server.admins().has(jid) ? jid : undefined;
}

function schemesOf(server: AdminHost): AuthScheme[] {
  const mode = server.config.openfire.auth;
  const out: AuthScheme[] = [];
  if (mode !== 'secret') out.push(basicJid((header, ip) => adminByBasic(server, header, ip)));
  if (mode !== 'basic') out.push(sharedSecret(() => server.config.openfire.secret));
  return out;
}

/** Summarised request for the audit log: the path's parameters, never a body (it may hold a password). */
function auditDetails(params: Record<string, string>, query: URLSearchParams): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${v}`);
  for (const [k, v] of query) parts.push(`${k}=${v}`);
  return parts.join(' ');
}

/** The Openfire REST API plugin's dialect, at /plugins/restapi/v1 (docs/openfire-api.md). */
export function openfireApi(server: AdminHost): Dialect {
  const endpoints = openfireEndpoints(server);
  const unauthorized = () => errorReply(401, 'Authorization failed', 'Authorization', 'NotAuthorizedException');
  const routes: Route[] = endpoints.map((e) => ({
    method: e.method,
    path: OPENFIRE_PREFIX + e.path,
    body: e.body ? 'negotiated' : undefined,
    // Checked by run(), so that refused requests are in the audit log too.
    auth: e.open ? undefined : 'optional',
    handle: (ctx) => run(server, e, ctx, unauthorized),
  }));
  routes.push({
    method: 'GET',
    path: `${OPENFIRE_PREFIX}/openapi.json`,
    auth: 'required',
    handle: () => new Reply(200, openApi(endpoints), json),
  });
  return {
    name: 'openfire',
    prefix: OPENFIRE_PREFIX,
    routes,
    auth: schemesOf(server),
    codecs: [ofXml, ofJson, ofTextXml],
    gzip: { request: true, response: true },
    errors: {
      noRoute: () => errorReply(404, 'Not Found', 'Path', 'NotFoundException'),
      methodNotAllowed: (m) => errorReply(405, `Method ${m} not allowed`, 'Method', 'NotAllowedException'),
      badParameter: () => errorReply(400, 'Malformed path parameter', 'Path', 'IllegalArgumentException'),
      bodyTooLarge: (limit) => errorReply(413, `Request body larger than ${limit} bytes`, 'Body', 'IllegalArgumentException'),
      badBody: (err) => errorReply(400, err.message, 'Body', 'IllegalArgumentException'),
      unsupportedMediaType: (t) => errorReply(415, `Unsupported media type ${t ?? '(none)'}`, 'Content-Type', 'NotSupportedException'),
      notAcceptable: () => new Reply(406, new Entity('error', { resource: 'Accept', message: 'Not acceptable', exception: 'NotAcceptableException' }), ofXml),
      unauthorized,
      domain: (err) => errorReply(STATUS_OF[err.kind], err.message, '', DEFAULT_EXCEPTION[err.kind]),
      internal: () => errorReply(500, 'Internal server error', '', 'InternalServerErrorException'),
    },
  };
}

async function run(server: AdminHost, e: Endpoint, ctx: RequestContext, unauthorized: () => Reply): Promise<Reply> {
  const action = `${ctx.method} ${OPENFIRE_PREFIX}${e.path}`;
  if (e.open) return toReply(await e.handle(call(server, e, ctx, 'anonymous')), e);
  let who = 'anonymous';
  const record = (result: string) =>
    server.audit.record({ surface: 'openfire', who, from: ctx.ip, action, details: auditDetails(ctx.params, ctx.query), result });
  // The address first: a refused address gets no password checked.
  if (!server.config.openfire.enabled || !allowed(server.config.openfire.allowedIps, ctx.ip)) {
    record('401');
    return unauthorized();
  }
  const auth = await ctx.authenticate();
  if (!auth?.ok) {
    record('401');
    return unauthorized();
  }
  who = auth.principal.jid ?? 'secret';
  let out: Reply;
  try {
    out = toReply(await e.handle(call(server, e, ctx, who)), e);
  } catch (err) {
    out = errorOf(err, e, ctx);
  }
  record(out.status < 300 ? 'ok' : String(out.status));
  return out;
}

function call(server: AdminHost, e: Endpoint, ctx: RequestContext, who: string): Call {
  return { ctx, params: ctx.params, query: ctx.query, body: ctx.body, host: server.config.hosts[0]!, who };
}

function toReply(v: Entity | undefined | Reply, e: Endpoint): Reply {
  if (v instanceof Reply) return v;
  return new Reply(e.status ?? 200, v);
}

function errorOf(err: unknown, e: Endpoint, ctx: RequestContext): Reply {
  const r = errorOfKind(err, e, ctx);
  const accept = ctx.req.headers.accept;
  const jsonBody = /^application\/json\b/i.test(ctx.req.headers['content-type'] ?? '');
  // Without a preference in Accept, an error answers in the media type of the request's body.
  return (!accept || accept.trim() === '*/*') && jsonBody ? new Reply(r.status, r.body, ofJson) : r;
}

function errorOfKind(err: unknown, e: Endpoint, ctx: RequestContext): Reply {
  const names = Object.keys(ctx.params);
  const resource = ctx.params[e.resource ?? names[names.length - 1] ?? ''] ?? '';
  if (err instanceof OpenfireError) return errorReply(err.status, err.message, err.resource || resource, err.exception);
  if (err instanceof DomainError) {
    const ex = (e.exceptions as Record<string, string | undefined> | undefined)?.[err.kind] ?? DEFAULT_EXCEPTION[err.kind];
    return errorReply(STATUS_OF[err.kind], err.message, resource, ex);
  }
  throw err;
}

/** The OpenAPI 3.1 document of the endpoints, made from the same table as the routes. */
export function openApi(endpoints: readonly Endpoint[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const path = OPENFIRE_PREFIX + e.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const params = [...e.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const op: Record<string, unknown> = {
      summary: e.summary,
      operationId: `${e.method.toLowerCase()}${e.path.replace(/[^A-Za-z]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      responses: {
        [String(e.status ?? 200)]: { description: 'Success' },
        default: { description: 'Error', content: { 'application/xml': { schema: { $ref: '#/components/schemas/Error' } }, 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (params.length) op.parameters = params;
    if (e.open) op.security = [];
    if (e.body) {
      op.requestBody = {
        description: `<${e.body}> entity`,
        content: { 'application/xml': { schema: { type: 'object' } }, 'application/json': { schema: { type: 'object' } } },
      };
    }
    (paths[path] ??= {})[e.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Parley: Openfire REST API', version: VERSION, description: "Openfire's REST API plugin: XML by default, JSON with Accept: application/json." },
    security: [{ sharedSecret: [] }, { basicAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        sharedSecret: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The shared secret as the whole header value' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'An admin account' },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: { resource: { type: 'string' }, message: { type: 'string' }, exception: { type: 'string' } },
          required: ['message', 'exception'],
        },
      },
    },
  };
}
