import { parse as parseYaml, stringify } from 'yaml';

/**
 * convert_to_yaml: an ejabberd configuration (the Erlang-term `ejabberd.cfg` of ejabberd before
 * 13.10, or `ejabberd.yml`) turned into the Parley configuration that serves the same hosts on the
 * same ports with the same admins; what has no Parley equivalent is listed at the end as comments.
 */

/** An Erlang term as ejabberd.cfg writes them: atoms and strings, integers, lists and tuples. */
type ETerm = { atom: string } | string | number | ETerm[] | { tuple: ETerm[] };

const MAX_DEPTH = 32;

/** Reads `term.` sequences (comments with %, quoted atoms, "strings", <<"binaries">>, integers). */
export function parseErlangConfig(text: string): ETerm[] {
  let pos = 0;
  const fail = (msg: string): never => {
    const line = text.slice(0, pos).split('\n').length;
    throw new Error(`line ${line}: ${msg}`);
  };
  const skip = () => {
    for (;;) {
      while (pos < text.length && /\s/.test(text[pos]!)) pos++;
      if (text[pos] === '%') {
        while (pos < text.length && text[pos] !== '\n') pos++;
      } else return;
    }
  };
  const quoted = (q: string): string => {
    pos++;
    let out = '';
    while (pos < text.length && text[pos] !== q) {
      if (text[pos] === '\\') {
        pos++;
        const c = text[pos] ?? fail('unfinished escape');
        out += c === 'n' ? '\n' : c === 't' ? '\t' : c;
      } else out += text[pos];
      pos++;
    }
    if (pos >= text.length) fail(`unfinished ${q === '"' ? 'string' : 'quoted atom'}`);
    pos++;
    return out;
  };
  const seq = (close: string, depth: number): ETerm[] => {
    pos++;
    const items: ETerm[] = [];
    skip();
    if (text[pos] === close) {
      pos++;
      return items;
    }
    for (;;) {
      items.push(term(depth + 1));
      skip();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '|' && close === ']') fail('improper lists are not configuration');
      if (text[pos] !== close) fail(`expected , or ${close}`);
      pos++;
      return items;
    }
  };
  const term = (depth: number): ETerm => {
    if (depth > MAX_DEPTH) fail('terms nested too deeply');
    skip();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end of file');
    if (c === '[') return seq(']', depth);
    if (c === '{') return { tuple: seq('}', depth) };
    if (c === '"') {
      let s = quoted('"');
      for (skip(); text[pos] === '"'; skip()) s += quoted('"');
      return s;
    }
    if (c === "'") return { atom: quoted("'") };
    if (text.startsWith('<<', pos)) {
      pos += 2;
      skip();
      const s = text[pos] === '"' ? quoted('"') : '';
      skip();
      if (text.startsWith('/utf8', pos)) pos += 5;
      skip();
      if (!text.startsWith('>>', pos)) fail('expected >>');
      pos += 2;
      return s;
    }
    const num = /^-?\d+(\.\d+)?/.exec(text.slice(pos, pos + 40));
    if (num) {
      pos += num[0].length;
      return Number(num[0]);
    }
    const atom = /^[a-z][A-Za-z0-9_@]*/.exec(text.slice(pos, pos + 256));
    if (atom) {
      pos += atom[0].length;
      return { atom: atom[0] };
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  };
  const terms: ETerm[] = [];
  for (skip(); pos < text.length; skip()) {
    terms.push(term(0));
    skip();
    if (text[pos] !== '.') fail('expected . after a term');
    pos++;
  }
  return terms;
}

/** Erlang terms as plain values: atoms and strings become strings, tuples arrays marked as such. */
function plain(t: ETerm): unknown {
  if (typeof t === 'string' || typeof t === 'number') return t;
  if (Array.isArray(t)) return t.map(plain);
  if ('atom' in t) return t.atom;
  return { tuple: t.tuple.map(plain) };
}

interface Listener {
  port: number;
  module: string;
  ip?: string;
  tls: boolean;
}

/** What both formats come down to. */
interface EjabberdSettings {
  hosts?: string[];
  loglevel?: string;
  listeners: Listener[];
  admins: string[];
  registerAll?: boolean;
  passwordFormat?: string;
  sql: Record<string, string | number>;
  other: string[];
}

const LOGLEVEL_NUMBERS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug'];
const LOGLEVEL_WORDS: Record<string, string> = {
  none: 'silent', emergency: 'fatal', alert: 'fatal', critical: 'fatal', error: 'error', warning: 'warn', notice: 'info', info: 'info', debug: 'debug',
};

function loglevelOf(v: unknown): string | undefined {
  if (typeof v === 'number') return LOGLEVEL_NUMBERS[v];
  return typeof v === 'string' ? LOGLEVEL_WORDS[v] : undefined;
}

const isTuple = (v: unknown): v is { tuple: unknown[] } => typeof v === 'object' && v !== null && 'tuple' in v;

function fromErlang(terms: ETerm[]): EjabberdSettings {
  const s: EjabberdSettings = { listeners: [], admins: [], sql: {}, other: [] };
  for (const t of terms.map(plain)) {
    if (!isTuple(t) || typeof t.tuple[0] !== 'string') {
      s.other.push(JSON.stringify(t));
      continue;
    }
    const [key, ...rest] = t.tuple as [string, ...unknown[]];
    switch (key) {
      case 'hosts':
        s.hosts = (rest[0] as unknown[]).map(String);
        break;
      case 'loglevel':
        s.loglevel = loglevelOf(rest[0]);
        break;
      case 'listen':
        for (const l of rest[0] as unknown[]) {
          if (!isTuple(l)) continue;
          const [portSpec, module, opts = []] = l.tuple as [unknown, string, unknown[]];
          const port = isTuple(portSpec) ? Number(portSpec.tuple[0]) : Number(portSpec);
          const ipTuple = isTuple(portSpec) ? portSpec.tuple[1] : (opts as unknown[]).find((o) => isTuple(o) && o.tuple[0] === 'ip');
          const ip = isTuple(ipTuple) ? (ipTuple.tuple.length === 2 && isTuple(ipTuple.tuple[1]) ? ipTuple.tuple[1].tuple.join('.') : ipTuple.tuple.join('.')) : undefined;
          const tls = (opts as unknown[]).some((o) => o === 'tls' || (isTuple(o) && o.tuple[0] === 'tls' && o.tuple[1] === 'true'));
          s.listeners.push({ port, module, tls, ...(ip ? { ip } : {}) });
        }
        break;
      case 'acl':
        if (rest[0] === 'admin' && isTuple(rest[1]) && rest[1].tuple[0] === 'user') {
          const [, user, server] = rest[1].tuple as [string, string, string | undefined];
          s.admins.push(server ? `${user}@${server}` : user);
        } else s.other.push(`acl ${String(rest[0])}`);
        break;
      case 'access':
        if (rest[0] === 'register') s.registerAll = JSON.stringify(rest[1]).includes('"allow","all"');
        else s.other.push(`access ${String(rest[0])}`);
        break;
      case 'auth_password_format':
        s.passwordFormat = String(rest[0]);
        break;
      case 'odbc_server':
      case 'sql_server':
        if (isTuple(rest[0]) && rest[0].tuple[0] === 'pgsql') {
          const [, server, database, username, password] = rest[0].tuple as string[];
          Object.assign(s.sql, { type: 'pgsql', server, database, username, password });
        } else if (typeof rest[0] === 'string') s.sql.server = rest[0];
        else s.other.push(key);
        break;
      case 'odbc_type':
      case 'sql_type':
      case 'sql_database':
      case 'sql_username':
      case 'sql_password':
      case 'sql_port':
        s.sql[key.replace(/^(odbc|sql)_/, '')] = rest[0] as string;
        break;
      default:
        s.other.push(key);
    }
  }
  return s;
}

function fromYaml(doc: Record<string, unknown>): EjabberdSettings {
  const s: EjabberdSettings = { listeners: [], admins: [], sql: {}, other: [] };
  for (const [key, v] of Object.entries(doc)) {
    switch (key) {
      case 'hosts':
        s.hosts = (v as unknown[]).map(String);
        break;
      case 'loglevel':
        s.loglevel = loglevelOf(v);
        break;
      case 'listen':
        for (const l of (v as Record<string, unknown>[]) ?? []) {
          s.listeners.push({ port: Number(l.port), module: String(l.module), tls: l.tls === true, ...(typeof l.ip === 'string' ? { ip: l.ip } : {}) });
        }
        break;
      case 'acl': {
        const admin = (v as Record<string, unknown>)?.admin as Record<string, unknown> | Record<string, unknown>[] | undefined;
        const entries = Array.isArray(admin) ? admin : admin ? [admin] : [];
        for (const e of entries) {
          const users = e.user;
          for (const u of Array.isArray(users) ? users : users !== undefined ? [users] : []) {
            s.admins.push(typeof u === 'string' ? u : Object.entries(u as Record<string, string>).map(([a, b]) => `${a}@${b}`)[0]!);
          }
        }
        break;
      }
      case 'access_rules': {
        const register = (v as Record<string, unknown>)?.register;
        if (register !== undefined) s.registerAll = JSON.stringify(register).includes('"allow":"all"');
        break;
      }
      case 'auth_password_format':
        s.passwordFormat = String(v);
        break;
      case 'sql_type':
      case 'sql_server':
      case 'sql_database':
      case 'sql_username':
      case 'sql_password':
      case 'sql_port':
        s.sql[key.slice(4)] = v as string;
        break;
      default:
        s.other.push(key);
    }
  }
  return s;
}

/** The Parley configuration (YAML text, with comments) for an ejabberd configuration file's text. */
export function convertEjabberdConfig(text: string): string {
  let settings: EjabberdSettings;
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch {
    doc = undefined;
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) settings = fromYaml(doc as Record<string, unknown>);
  else settings = fromErlang(parseErlangConfig(text));

  const out: Record<string, unknown> = {};
  const notes: string[] = [];
  if (settings.hosts) out.hosts = settings.hosts;
  if (settings.admins.length > 0) out.admins = settings.admins;
  if (settings.loglevel) out.logLevel = settings.loglevel;
  if (settings.passwordFormat === 'plain' || settings.passwordFormat === 'scram') out.auth = { passwordFormat: settings.passwordFormat };
  const listen: Record<string, unknown> = {};
  for (const l of settings.listeners) {
    const address = l.ip ?? (l.module === 'ejabberd_http' ? '127.0.0.1' : '0.0.0.0');
    const slot = l.module === 'ejabberd_c2s' ? (l.tls ? 'c2sTls' : 'c2s') : l.module === 'ejabberd_http' ? (l.tls ? 'https' : 'http') : undefined;
    if (slot === undefined || slot in listen) notes.push(`listener on port ${l.port} (${l.module})`);
    else listen[slot] = { address, port: l.port };
  }
  if (Object.keys(listen).length > 0) out.listen = listen;
  if (settings.registerAll !== undefined) out.c2s = { inBandRegistration: settings.registerAll };
  if (settings.sql.type === 'pgsql') {
    const user = settings.sql.username ? encodeURIComponent(String(settings.sql.username)) : '';
    const pass = settings.sql.password ? `:${encodeURIComponent(String(settings.sql.password))}` : '';
    const port = settings.sql.port ? `:${settings.sql.port}` : '';
    out.storage = { backend: 'postgres', url: `postgres://${user}${pass}${user ? '@' : ''}${settings.sql.server ?? 'localhost'}${port}/${settings.sql.database ?? 'ejabberd'}` };
    notes.push('the PostgreSQL database holds ejabberd\'s schema: move the data with export_piefxis / import_piefxis, not by pointing Parley at it');
  } else if (settings.sql.type) notes.push(`sql_type ${settings.sql.type} (Parley stores in SQLite or PostgreSQL)`);
  for (const o of settings.other) notes.push(o);
  const head = '# Parley configuration converted from an ejabberd configuration by convert_to_yaml\n';
  const tail = notes.length > 0 ? `\n# Not carried over (no Parley equivalent, or set it by hand):\n${notes.map((n) => `#   ${n.replace(/\n/g, ' ')}`).join('\n')}\n` : '';
  return head + stringify(out) + tail;
}
