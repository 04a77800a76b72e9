import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '../../server.js';
import type { AnyCommand, Caller } from '../registry.js';
import { isAllowed, runCommand } from '../execute.js';
import type { ArgSource } from '../args.js';
import { ArgumentError, bindNamedArgs } from './args.js';
import { errorAnswer, successBody } from './render.js';
import { openApiDocument } from '../docs/openapi.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, topLevelKeys } from './json-keys.js';
import { authenticateBasic } from '../auth.js';
import { clientAddress } from '../../transports/address.js';

/**
 * ejabberd's `mod_http_api` dialect: `POST /api/<command>` with a JSON object of arguments,
 * or `GET /api/<command>?arg=value`. Status codes, bodies and the order of checks follow
 * ejabberd 23.01 (docs/reference/ejabberd-observed.md); deviations are listed in docs/ejabberd-api.md.
 */
const CORS = {
  'access-control-allow-headers': 'Content-Type, Authorization, X-Admin',
  'access-control-allow-origin': '*',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...CORS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function envelope(res: ServerResponse, status: number, code: number, message: string): void {
  send(res, status, { status: 'error', code, message });
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function handleApiRequest(server: Server, req: IncomingMessage, res: ServerResponse, _secure: boolean): Promise<void> {
  try {
    await handle(server, req, res);
  } catch (err) {
    server.log.error({ err }, 'HTTP API request failed');
    if (!res.headersSent) send(res, 500, 'internal_error');
    else res.destroy();
  }
}

async function handle(server: Server, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS') {
    res.writeHead(200, {
      ...CORS,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-max-age': '86400',
      'content-type': 'text/plain',
      'content-length': 0,
    });
    res.end();
    return;
  }
  let url: URL | undefined;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // An unparsable request target names no command.
  }
  const segments = url ? url.pathname.split('/').filter((s) => s !== '') : [];
  if (!url || (method !== 'GET' && method !== 'POST') || segments.length !== 2 || segments[0] !== 'api') {
    req.resume();
    return envelope(res, 400, 40, 'Missing command name.');
  }
  let name: string;
  try {
    name = decodeURIComponent(segments[1]!);
  } catch {
    // A malformed percent-encoding (`/api/%`) cannot name a command.
    req.resume();
    return envelope(res, 404, 40, 'Endpoint not found.');
  }
  if (method === 'GET' && name === 'openapi.json') {
    req.resume();
    return send(res, 200, openApiOf(server));
  }

  // Arguments first: a malformed request is reported before anything else (ejabberd's order).
  let entries: [string, unknown][] = [];
  let source: ArgSource = 'json';
  if (method === 'POST') {
    let body: Buffer;
    try {
      body = await readBody(req, server.config.limits.maxHttpBodySize);
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(res, 413, `Request body larger than ${server.config.limits.maxHttpBodySize} bytes`);
      throw err;
    }
    if (body.length === 0) return send(res, 400, 'Missing POST data');
    let text: string;
    let parsed: unknown;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      if (nestedDeeperThan(text, MAX_JSON_DEPTH)) return send(res, 400, `Invalid JSON input: nested deeper than ${MAX_JSON_DEPTH} levels`);
      // A body of JSON whitespace only (e.g. curl --data-binary $'\n') means no arguments, as in ejabberd.
      parsed = /^[ \t\r\n]*$/.test(text) ? null : JSON.parse(text);
    } catch {
      return send(res, 400, 'Invalid JSON input');
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const obj = parsed as Record<string, unknown>;
      entries = topLevelKeys(text).map((k) => [k, obj[k]]);
    }
  } else {
    req.resume();
    source = 'text';
    entries = [...url.searchParams.entries()];
  }

  const def = server.commands.get(name);
  if (!def || def.ctlOnly) return envelope(res, 404, 40, 'Endpoint not found.');

  const ip = clientAddress(server, req);
  const caller: Caller = { surface: 'http', admin: false, ip };
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    if (/^Bearer\s/i.test(authorization)) return envelope(res, 401, 10, 'Oauth Token is invalid or expired.');
    const jid = await authenticateBasic(server, authorization, ip);
    if (!jid) return envelope(res, 401, 10, 'You are not authorized to call this command.');
    caller.jid = jid;
    caller.admin = server.admins().has(jid);
  }

  let args;
  try {
    args = bindNamedArgs(def, entries, source);
  } catch (err) {
    if (err instanceof ArgumentError) return send(res, 400, err.message);
    throw err;
  }
  if (!isAllowed(server, def, caller, args)) {
    return envelope(res, 403, 32, 'AccessRules: Account does not have the right to perform the operation.');
  }
  const outcome = await runCommand(server, def, args, caller);
  renderOutcome(res, def, outcome);
}

/** The OpenAPI document of a server's `/api`, made once (its commands do not change while it runs). */
const openApiDocuments = new WeakMap<Server, unknown>();

function openApiOf(server: Server): unknown {
  let doc = openApiDocuments.get(server);
  if (doc === undefined) openApiDocuments.set(server, (doc = openApiDocument(server.commands.list())));
  return doc;
}

function renderOutcome(res: ServerResponse, def: AnyCommand, outcome: Awaited<ReturnType<typeof runCommand>>): void {
  const spec = def.result;
  if (outcome.ok) return send(res, 200, successBody(spec, outcome.value));
  if (outcome.error === 'internal') return send(res, 500, 'internal_error');
  const { status, body } = errorAnswer(spec, outcome.error);
  send(res, status, body);
}
