import type { AdminHost } from '../host.js';
import type { AnyCommand, ArgSpec, Caller, ResultSpec } from '../registry.js';
import { auditCommand, callerScopedEntries, hasAdminRights, isAllowed, runCommand } from '../execute.js';
import { ArgumentProblemError, bindArgs } from '../args.js';
import { ejabberdWording, renameOldArgs } from '../ejabberd/args.js';
import { rescodeOk } from '../ejabberd/render.js';
import { restupleText } from '../ejabberd/wording.js';
import { shape } from '../render.js';
import { auditFailedLogin, authenticatePassword, bearerPrincipal } from '../auth.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { bodyText, CodecError, type Codec } from '../../http/codecs.js';
import { reply, type Dialect, type Reply, type RequestContext } from '../../http/layer.js';
import {
  array,
  atom,
  decodeMethodCall,
  encodeFault,
  encodeResponse,
  erlangTerm,
  int,
  memberList,
  string,
  struct,
  XmlRpcDecodeError,
  type MethodCall,
  type XValue,
} from './values.js';

/**
 * ejabberd's XML-RPC interface (`ejabberd_xmlrpc`, 23.01) over the command registry: a `methodCall`
 * names the command, its one parameter is a struct of named arguments, and an optional first struct
 * authenticates the caller. Results and faults are encoded as ejabberd 23.01 encodes them; the fault
 * codes are ejabberd's (docs/ejabberd-api.md, "XML-RPC"). Served on its own listener (config `xmlrpc`)
 * and, when `xmlrpc.httpPath` is on, at `/xmlrpc` of the HTTP listeners.
 */

/** ejabberd_xmlrpc's fault codes. */
export const FAULT = {
  /** A call that is neither `[args]` nor `[auth, args]` (also: an unknown command, see docs). */
  unknownCall: -112,
  duplicated: -114,
  missing: -116,
  /** Bad credentials, not allowed, or the command failed. */
  problem: -118,
  unused: -120,
  badType: -122,
} as const;

/** Codes of requests that are not XML-RPC calls at all (ejabberd answers those with HTTP 400; see docs). */
const MALFORMED_XML = -32700;
const MALFORMED_REQUEST = -32600;

const textXml: Codec<string> = {
  mediaType: 'text/xml',
  contentType: 'text/xml; charset=utf-8',
  decode(body) {
    return bodyText(body);
  },
  encode: (value) => String(value),
};

/** A fault as ejabberd builds it: `Error <code>\n<text>`. */
function fault(code: number, text: string): Reply {
  return reply(200, encodeFault(code, `Error ${code}\n${text}`), textXml);
}

class Fault extends Error {
  constructor(readonly code: number, readonly text: string) {
    super(text);
  }
}

export function xmlRpcApi(server: AdminHost, prefix = '/xmlrpc'): Dialect {
  return {
    name: 'xmlrpc',
    prefix,
    routes: [{ method: 'POST', path: prefix, body: textXml, handle: (ctx) => handle(server, ctx) }],
    auth: [],
    codecs: [textXml],
    errors: {
      noRoute: () => reply(400, '<h1>400 Bad Request</h1>', textXml),
      methodNotAllowed: () => reply(400, '<h1>400 Bad Request</h1>', textXml),
      badParameter: () => reply(400, '<h1>400 Bad Request</h1>', textXml),
      bodyTooLarge: (limit) => fault(MALFORMED_REQUEST, `Request body larger than ${limit} bytes`),
      badBody: () => fault(MALFORMED_XML, 'Malformed XML'),
      unsupportedMediaType: () => fault(MALFORMED_REQUEST, 'Malformed Request'),
      notAcceptable: () => fault(MALFORMED_REQUEST, 'Malformed Request'),
      unauthorized: () => fault(FAULT.problem, 'Invalid authentication data'),
      domain: (err) => fault(FAULT.problem, problem(`{error,${JSON.stringify(err.message)}}`)),
      internal: () => fault(FAULT.problem, problem('{error,internal_error}')),
    },
  };
}

const problem = (why: string, command?: string, members?: [string, XValue][]) =>
  command === undefined
    ? `A problem '${why}' occurred executing the command`
    : `A problem '${why}' occurred executing the command ${atom(command)} with arguments\n${memberList(members ?? [])}`;

async function handle(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  let call: MethodCall;
  try {
    call = decodeMethodCall(ctx.body as string, server.config.limits.maxHttpBodySize);
  } catch (err) {
    if (!(err instanceof XmlRpcDecodeError)) throw err;
    return err.malformed === 'xml' ? fault(MALFORMED_XML, 'Malformed XML') : fault(MALFORMED_REQUEST, `Malformed Request: ${err.message}`);
  }
  try {
    return reply(200, await perform(server, call, ctx.ip), textXml);
  } catch (err) {
    if (err instanceof Fault) return fault(err.code, err.text);
    throw err;
  }
}

/** ejabberd_xmlrpc's handler: authentication from a leading struct, then the command. */
async function perform(server: AdminHost, call: MethodCall, ip: string): Promise<string> {
  const caller: Caller = { surface: 'xmlrpc', admin: false, ip };
  let params = call.params;
  const first = params[0];
  if (first?.kind === 'struct') {
    const auth = await authenticate(server, first.members, ip);
    if (auth !== undefined) {
      caller.jid = auth.jid;
      if (auth.scopes) caller.scopes = auth.scopes;
      params = params.slice(1);
    }
  }
  if (params.length > 1 || (params.length === 1 && params[0]!.kind !== 'struct')) {
    throw new Fault(FAULT.unknownCall, `Unknown call: {call,${atom(call.methodName)},[${params.map(erlangTerm).join(',')}]}`);
  }
  const members = params.length === 0 ? [] : (params[0] as Extract<XValue, { kind: 'struct' }>).members;
  const def = server.commands.get(call.methodName);
  if (!def || def.ctlOnly) throw new Fault(FAULT.unknownCall, `Unknown call: {call,${atom(call.methodName)},[${erlangTerm(struct(members))}]}`);
  if (caller.jid) caller.admin = hasAdminRights(server, caller.jid, def, caller.scopes);

  // Seed 001's argument-less forms act on the caller (H8).
  const scoped = members.length === 0 ? callerScopedEntries<unknown>(def, [], caller) : [];
  const entries = scoped.length > 0 ? scoped : formatArgs(renameOldArgs(def, members), def.args);
  let args;
  try {
    args = bindArgs(def, entries, 'json');
  } catch (err) {
    if (err instanceof ArgumentProblemError) throw new Fault(FAULT.badType, ejabberdWording(err.problem));
    throw err;
  }
  if (!isAllowed(server, def, caller, args)) {
    auditCommand(server, def, args, caller, 'forbidden');
    throw new Fault(FAULT.problem, problem('{error,access_rules_unauthorized}', def.name, members));
  }
  const outcome = await runCommand(server, def, args, caller);
  if (!outcome.ok) {
    const why = outcome.error === 'internal' ? '{error,internal_error}' : `{error,${JSON.stringify(outcome.error.message)}}`;
    throw new Fault(FAULT.problem, problem(why, def.name, members));
  }
  return encodeResponse(formatResult(def.name, def.result, outcome.value));
}

/**
 * The auth struct as ejabberd 23.01 reads it: `user`, `server` and `token` (OAuth), else `user`,
 * `server` and `password`. Undefined when the struct has neither set of members: it is then the
 * command's arguments. Other members (`admin`) are ignored, as in ejabberd.
 */
async function authenticate(server: AdminHost, members: [string, XValue][], ip: string): Promise<{ jid: string; scopes?: readonly string[] } | undefined> {
  const get = (name: string) => members.find(([k]) => k === name)?.[1];
  const [user, host, token, password] = [get('user'), get('server'), get('token'), get('password')];
  if (user === undefined || host === undefined) return undefined;
  if (token !== undefined) {
    // An OAuth token of this very account (oauth_issue_token, /oauth/token), with its scopes.
    const principal = token.kind === 'string' ? await bearerPrincipal(server, token.value) : undefined;
    const named = user.kind === 'string' && host.kind === 'string' ? tryParseJID(`${user.value}@${host.value}`)?.bare : undefined;
    if (!principal || principal.jid !== named) {
      auditFailedLogin(server, 'xmlrpc', named ?? '(bearer token)', ip, 'bad-token');
      throw new Fault(FAULT.problem, 'Invalid oauth token');
    }
    return { jid: principal.jid!, scopes: principal.scopes ?? [] };
  }
  if (password === undefined) return undefined;
  if (user.kind !== 'string' || host.kind !== 'string' || password.kind !== 'string' || /[@/]/.test(user.value)) {
    throw new Fault(FAULT.problem, 'Invalid authentication data');
  }
  const jid = await authenticatePassword(server, `${user.value}@${host.value}`, password.value, ip, 'xmlrpc');
  if (jid === undefined) throw new Fault(FAULT.problem, 'Invalid authentication data');
  return { jid };
}

/** ejabberd's names of argument formats, as its faults print them. */
function formatTerm(spec: ArgSpec): string {
  const t = spec.type;
  if (t === 'string') return 'binary';
  if (t === 'integer') return 'integer';
  if ('list' in t) return `{list,{${atom(t.list.name)},${formatTerm(t.list)}}}`;
  return `{tuple,[${t.tuple.map((f) => `{${atom(f.name)},${formatTerm(f)}}`).join(',')}]}`;
}

/**
 * ejabberd's format_args: each declared argument in order must be given exactly once (-116 missing,
 * -114 duplicated) with a value of its type (-122), and nothing else may be given (-120). Returns the
 * arguments as plain values for the registry's binding.
 */
function formatArgs(members: [string, XValue][], specs: readonly ArgSpec[]): [string, unknown][] {
  let rest = members;
  const out: [string, unknown][] = [];
  for (const spec of specs) {
    const found = rest.filter(([k]) => k === spec.name);
    if (found.length === 0) throw new Fault(FAULT.missing, `Required attribute '${atom(spec.name)}' not found:\n${memberList(rest)}`);
    if (found.length > 1) throw new Fault(FAULT.duplicated, `Attribute '${atom(spec.name)}' duplicated:\n${memberList(rest)}`);
    out.push([spec.name, formatArg(found[0]![1], spec)]);
    rest = rest.filter(([k]) => k !== spec.name);
  }
  if (rest.length > 0) throw new Fault(FAULT.unused, `The call provided additional unused arguments:\n${memberList(rest)}`);
  return out;
}

function formatArg(v: XValue, spec: ArgSpec): unknown {
  const t = spec.type;
  const bad = () => new Fault(FAULT.badType, `Parameter '${erlangTerm(v)}' can't be coerced to type '${formatTerm(spec)}'`);
  if (t === 'string') {
    if (v.kind === 'string') return v.value;
    throw bad();
  }
  if (t === 'integer') {
    if (v.kind === 'int') return v.value;
    throw bad();
  }
  if ('list' in t) {
    if (v.kind !== 'array') throw bad();
    const el = t.list;
    // Either one single-member struct per element, or (older clients) one struct holding every element.
    const one = v.items.length === 1 ? v.items[0]! : undefined;
    if (one?.kind === 'struct' && one.members.length !== 1) {
      return one.members.map(([k, x]) => {
        if (k !== el.name) throw bad();
        return formatArg(x, el);
      });
    }
    return v.items.map((item) => {
      if (item.kind !== 'struct' || item.members.length !== 1 || item.members[0]![0] !== el.name) throw bad();
      return formatArg(item.members[0]![1], el);
    });
  }
  // A tuple: a struct of its fields (ejabberd 24.02 and the seed), or an array holding that struct (23.01).
  const fields = v.kind === 'struct' ? v.members : v.kind === 'array' && v.items.length === 1 && v.items[0]!.kind === 'struct' ? v.items[0].members : undefined;
  if (!fields) throw bad();
  return Object.fromEntries(formatArgs(fields, t.tuple));
}

/**
 * ejabberd 23.01's format_result: every result is a struct keyed by its name; a rescode is 0 (success)
 * or 1, a restuple adds its `text`; a list is an array of its elements' structs, a tuple an array of
 * one-member structs, one per field.
 */
function formatResult(command: string, spec: ResultSpec, value: unknown): XValue {
  switch (spec.type) {
    case 'rescode':
      return struct([[spec.name, int(rescodeOk(value) ? 0 : 1)]]);
    case 'restuple':
      return struct([
        [spec.name, int(0)],
        ['text', string(restupleText(command, value))],
      ]);
    case 'integer':
      return struct([[spec.name, int(shape(spec, value) as number)]]);
    case 'string':
      return struct([[spec.name, string(shape(spec, value) as string)]]);
    case 'list':
      return struct([[spec.name, array((Array.isArray(value) ? value : []).map((v) => formatResult(command, spec.of, v)))]]);
    case 'tuple': {
      const src = (value ?? {}) as Record<string, unknown>;
      return struct([[spec.name, array(spec.fields.map((f) => formatResult(command, f, src[f.name])))]]);
    }
  }
}
