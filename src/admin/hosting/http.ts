import type { AdminHost } from '../host.js';
import { sameSecret } from '../../http/auth.js';
import { bodyText, type Codec } from '../../http/codecs.js';
import { Reply, type Dialect, type RequestContext, type Route } from '../../http/layer.js';
import { HostingError, type ChangeAction, type HostingService } from '../../modules/hosting/index.js';
import { answerCodec, FORMATS, type Answer, type Format } from './format.js';

/**
 * The hosting-panel API (seed 004, DreamHost's "API/Jabber commands"): `cmd=jabber-...` with an API
 * `key`, by GET (query string) or POST (form-encoded body, or the query string), answered in the
 * tab-separated format or `format=json`/`xml`. Listings read the accounts service; changes are
 * queued by the hosting module and applied under their service token. Every request is audited.
 */

type Key = { name: string; domains: string[]; commands: ReadonlySet<string> | undefined };

const MASK = '********';

const MUTATIONS: Record<string, ChangeAction> = {
  'jabber-add_user': 'add',
  'jabber-remove_user': 'remove',
  'jabber-deactivate_user': 'deactivate',
  'jabber-reactivate_user': 'reactivate',
};

export const HOSTING_COMMANDS: readonly string[] = ['jabber-list_users', 'jabber-list_users_no_pw', 'jabber-list_valid_domains', ...Object.keys(MUTATIONS)];

/** A form-encoded body (any Content-Type is read as one: panels send it bare). */
const form: Codec<URLSearchParams> = {
  mediaType: 'application/x-www-form-urlencoded',
  contentType: 'application/x-www-form-urlencoded',
  decode: (body) => new URLSearchParams(bodyText(body)),
  encode: (v) => String(v),
};

const answer = (a: Answer, format: Format, status = 200): Reply => new Reply(status, a, answerCodec(format));
const fail = (code: string, format: Format = 'tab', detail?: string, status = 200): Reply =>
  answer({ ok: false, code, ...(detail === undefined ? {} : { detail }) }, format, status);

export function hostingApi(server: AdminHost): Dialect {
  const route = (method: 'GET' | 'POST'): Route => ({
    method,
    path: server.config.hosting.path,
    body: method === 'POST' ? form : undefined,
    handle: (ctx) => handle(server, ctx),
  });
  return {
    name: 'hosting',
    prefix: server.config.hosting.path,
    routes: [route('GET'), route('POST')],
    // The key may be in the body: the handler checks it.
    auth: [],
    codecs: [answerCodec('tab')],
    errors: {
      noRoute: () => fail('invalid_cmd', 'tab', undefined, 404),
      methodNotAllowed: () => fail('invalid_method', 'tab', 'GET or POST', 405),
      badParameter: () => fail('invalid_cmd', 'tab', undefined, 404),
      bodyTooLarge: (limit) => fail('request_too_large', 'tab', `the body is over ${limit} bytes`, 413),
      badBody: (err) => fail('invalid_request', 'tab', err.message, 400),
      unsupportedMediaType: () => fail('invalid_request', 'tab', 'a form-encoded body', 415),
      notAcceptable: () => fail('invalid_request', 'tab', undefined, 406),
      unauthorized: () => fail('invalid_key'),
      domain: () => fail('internal_error', 'tab', undefined, 500),
      internal: () => fail('internal_error', 'tab', undefined, 500),
    },
  };
}

/** The configured key `given` is, found in a time that does not tell how much of it matched. */
function keyOf(server: AdminHost, given: string): Key | undefined {
  let found: Key | undefined;
  for (const k of server.config.hosting.keys) {
    if (sameSecret(given, k.key) && found === undefined) {
      found = { name: k.name, domains: k.domains ?? server.config.hosts, commands: k.commands ? new Set(k.commands) : undefined };
    }
  }
  return found;
}

async function handle(server: AdminHost, ctx: RequestContext): Promise<Reply> {
  const params = new URLSearchParams(ctx.query);
  if (ctx.body instanceof URLSearchParams) for (const [k, v] of ctx.body) params.set(k, v);
  const param = (name: string) => params.get(name) ?? undefined;

  const requested = (param('format') ?? 'tab').toLowerCase();
  const format = (FORMATS as readonly string[]).includes(requested) ? (requested as Format) : 'tab';
  const cmd = param('cmd');
  const record = (who: string, result: string) => {
    const user = param('username');
    const domain = param('domain');
    server.audit.record({
      surface: 'hosting',
      who,
      from: ctx.ip,
      action: cmd ?? '',
      // Never the password.
      details: user !== undefined || domain !== undefined ? `${user ?? ''}@${domain ?? ''}` : '',
      result,
    });
  };

  const given = param('key');
  if (given === undefined || given === '') {
    record('-', 'no_key');
    return fail('no_key', format);
  }
  const key = keyOf(server, given);
  if (!key) {
    record('-', 'invalid_key');
    return fail('invalid_key', format);
  }
  const done = (a: Answer): Reply => {
    record(key.name, a.ok ? 'ok' : a.code);
    return answer(a, format);
  };
  if (!FORMATS.includes(requested as Format)) return done({ ok: false, code: 'invalid_format', detail: `one of ${FORMATS.join(', ')}` });
  if (cmd === undefined || cmd === '') return done({ ok: false, code: 'no_cmd' });
  if (!HOSTING_COMMANDS.includes(cmd)) return done({ ok: false, code: 'invalid_cmd' });
  if (key.commands && !key.commands.has(cmd)) return done({ ok: false, code: 'this_key_cannot_access_this_cmd' });
  const hosting = server.hosting;
  if (!hosting) return done({ ok: false, code: 'internal_error', detail: 'the hosting module is not running' });

  try {
    return done(await run(hosting, key, cmd, param));
  } catch (err) {
    if (err instanceof HostingError) return done({ ok: false, code: err.code, ...(err.detail === undefined ? {} : { detail: err.detail }) });
    throw err;
  }
}

async function run(hosting: HostingService, key: Key, cmd: string, param: (name: string) => string | undefined): Promise<Answer> {
  const domains = hosting.validDomains(key.domains);
  switch (cmd) {
    case 'jabber-list_valid_domains':
      return { ok: true, columns: ['domain'], rows: domains.map((d) => [d]) };
    case 'jabber-list_users':
    case 'jabber-list_users_no_pw': {
      const clear = cmd === 'jabber-list_users';
      const users = await hosting.listUsers(domains, clear);
      // A password stored as SCRAM only cannot be told: it shows as the mask, as in the _no_pw listing.
      return { ok: true, columns: ['username', 'domain', 'password', 'status'], rows: users.map((u) => [u.username, u.domain, clear ? (u.password ?? MASK) : MASK, u.status]) };
    }
  }
  const action = MUTATIONS[cmd]!;
  const token = await hosting.queue(key.name, domains, action, {
    username: param('username'),
    domain: param('domain'),
    ...(action === 'add' ? { password: param('password') } : {}),
  });
  return { ok: true, columns: ['token'], rows: [[token]] };
}
