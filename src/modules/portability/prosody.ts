import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Element } from '../../xmpp/xml/element.js';
import type { StoredCredentials } from '../accounts/index.js';
import { contactJid, importedItem, subscriptionOf, type AccountImporter, type ImportedAccount } from './account-import.js';

/**
 * Prosody's internal file storage (mod_storage_internal), as Prosody 0.12 writes it:
 * DATA/HOST/STORE/USER.dat holding `return { ... };` and archive stores DATA/HOST/STORE/USER.list
 * holding `item({ ... });` lines, host and user names percent-encoded (`example%2eorg`,
 * `j%c3%bcrgen`). The Lua is read by a small reader of the literal subset Prosody's serializer
 * writes (tables, strings, numbers, booleans): nothing in the files is ever run.
 */
export class ProsodyError extends Error {}

export type LuaValue = string | number | boolean | null | LuaTable;
export interface LuaTable {
  /** Entries in file order; keys are strings, numbers or booleans. */
  entries: [string | number | boolean, LuaValue][];
}

const MAX_DEPTH = 64;

/** Reads `return VALUE;` (a .dat file) or a sequence of `item(VALUE);` (a .list file). */
export function parseLua(text: string, file: string): LuaValue[] {
  let pos = 0;
  const fail = (msg: string): never => {
    const line = text.slice(0, pos).split('\n').length;
    throw new ProsodyError(`${file}: line ${line}: ${msg}`);
  };
  const skip = () => {
    for (;;) {
      while (pos < text.length && /\s/.test(text[pos]!)) pos++;
      if (text.startsWith('--', pos)) {
        while (pos < text.length && text[pos] !== '\n') pos++;
      } else return;
    }
  };
  const str = (): string => {
    const q = text[pos]!;
    pos++;
    const bytes: number[] = [];
    const push = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
    while (pos < text.length && text[pos] !== q) {
      const c = text[pos]!;
      if (c === '\\') {
        pos++;
        const e = text[pos] ?? fail('unfinished escape');
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'", '\n': '\n' };
        if (e in simple) {
          push(simple[e]!);
          pos++;
        } else if (/\d/.test(e)) {
          const m = /^\d{1,3}/.exec(text.slice(pos, pos + 3))!;
          bytes.push(Number(m[0]) & 0xff);
          pos += m[0].length;
        } else if (e === 'x') {
          const h = text.slice(pos + 1, pos + 3);
          if (!/^[0-9a-fA-F]{2}$/.test(h)) fail('bad \\x escape');
          bytes.push(parseInt(h, 16));
          pos += 3;
        } else if (e === 'z') {
          pos++;
          while (pos < text.length && /\s/.test(text[pos]!)) pos++;
        } else fail(`unknown escape \\${e}`);
      } else {
        // Raw text (UTF-8 in the file) up to the next escape or quote.
        let end = pos;
        while (end < text.length && text[end] !== '\\' && text[end] !== q) end++;
        push(text.slice(pos, end));
        pos = end;
      }
    }
    if (pos >= text.length) fail('unfinished string');
    pos++;
    return Buffer.from(bytes).toString('utf8');
  };
  const value = (depth: number): LuaValue => {
    if (depth > MAX_DEPTH) fail('tables nested too deeply');
    skip();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end of file');
    if (c === '"' || c === "'") return str();
    if (c === '{') return table(depth);
    for (const [word, v] of [['true', true], ['false', false], ['nil', null]] as const) {
      if (text.startsWith(word, pos) && !/\w/.test(text[pos + word.length] ?? '')) {
        pos += word.length;
        return v;
      }
    }
    const num = /^-?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|math\.huge|1\/0|-1\/0|0\/0)/.exec(text.slice(pos, pos + 64));
    if (num) {
      pos += num[0].length;
      const n = num[0].includes('huge') || num[0].includes('/') ? Infinity : Number(num[0]);
      return Number.isNaN(n) ? fail(`bad number ${num[0]}`) : n;
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  };
  const table = (depth: number): LuaTable => {
    pos++;
    const t: LuaTable = { entries: [] };
    let index = 1;
    for (;;) {
      skip();
      if (text[pos] === '}') {
        pos++;
        return t;
      }
      if (text[pos] === '[') {
        pos++;
        const k = value(depth + 1);
        skip();
        if (text[pos] !== ']') fail('expected ]');
        pos++;
        skip();
        if (text[pos] !== '=') fail('expected =');
        pos++;
        if (k === null || typeof k === 'object') fail('table keys must be strings, numbers or booleans');
        t.entries.push([k as string | number | boolean, value(depth + 1)]);
      } else {
        const ident = /^[A-Za-z_]\w*\s*=(?!=)/.exec(text.slice(pos, pos + 256));
        if (ident) {
          const name = ident[0].replace(/\s*=$/, '');
          pos += ident[0].length;
          t.entries.push([name, value(depth + 1)]);
        } else {
          t.entries.push([index++, value(depth + 1)]);
        }
      }
      skip();
      if (text[pos] === ',' || text[pos] === ';') pos++;
      else if (text[pos] !== '}') fail('expected , ; or }');
    }
  };
  const out: LuaValue[] = [];
  for (skip(); pos < text.length; skip()) {
    if (text.startsWith('return', pos)) {
      pos += 6;
      out.push(value(0));
    } else if (text.startsWith('item(', pos)) {
      pos += 5;
      out.push(value(0));
      skip();
      if (text[pos] !== ')') fail('expected )');
      pos++;
    } else fail('expected return or item(');
    skip();
    if (text[pos] === ';') pos++;
  }
  return out;
}

const get = (t: LuaValue | undefined, key: string | number | boolean): LuaValue | undefined =>
  t !== null && typeof t === 'object' ? t.entries.find(([k]) => k === key)?.[1] : undefined;
const text = (v: LuaValue | undefined): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** A stanza as Prosody's st.preserialize keeps it: {name, attr, [1..n] = child or text}. */
export function elementOf(v: LuaValue | undefined, depth = 0): Element | undefined {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return undefined;
  const name = text(get(v, 'name'));
  if (!name) return undefined;
  const attrs: Record<string, string> = {};
  const a = get(v, 'attr');
  if (a && typeof a === 'object') for (const [k, val] of a.entries) if (typeof k === 'string' && typeof val === 'string') attrs[k] = val;
  const el = new Element(name, attrs);
  for (const [k, child] of v.entries) {
    if (typeof k !== 'number') continue;
    if (typeof child === 'string') el.t(child);
    else {
      const c = elementOf(child, depth + 1);
      if (c) el.append(c);
    }
  }
  return el;
}

const decodeName = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

async function load(path: string, maxBytes: number): Promise<LuaValue[] | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  if (st.size > maxBytes) throw new ProsodyError(`${path} is larger than ${maxBytes} bytes`);
  return parseLua(await readFile(path, 'utf8'), path);
}

function credentialsOf(acc: LuaValue | undefined): ImportedAccount['credentials'] {
  const password = text(get(acc, 'password'));
  const stored = text(get(acc, 'stored_key'));
  const server = text(get(acc, 'server_key'));
  const salt = text(get(acc, 'salt'));
  const iter = get(acc, 'iteration_count');
  if (stored && server && salt !== undefined && typeof iter === 'number' && /^[0-9a-f]{40}$/i.test(stored) && /^[0-9a-f]{40}$/i.test(server)) {
    // Prosody 0.12: SCRAM-SHA-1, hex keys; the salt is used as the text it is (a UUID string).
    const creds: StoredCredentials = {
      scramSha1: {
        salt: Buffer.from(salt, 'utf8').toString('base64'),
        iterations: iter,
        storedKey: Buffer.from(stored, 'hex').toString('base64'),
        serverKey: Buffer.from(server, 'hex').toString('base64'),
      },
    };
    return creds;
  }
  return password !== undefined && password !== '' ? { password } : undefined;
}

async function accountOf(hostDir: string, host: string, fileUser: string, maxBytes: number): Promise<ImportedAccount> {
  const user = decodeName(fileUser);
  const a: ImportedAccount = { user, host, roster: [], privates: [], offline: [] };
  const [acc] = (await load(join(hostDir, 'accounts', `${fileUser}.dat`), maxBytes)) ?? [];
  const creds = credentialsOf(acc);
  if (creds) a.credentials = creds;
  const [roster] = (await load(join(hostDir, 'roster', `${fileUser}.dat`), maxBytes)) ?? [];
  const pendingIn = new Set<string>();
  const meta = get(roster, false);
  const pending = get(meta, 'pending');
  if (pending && typeof pending === 'object') for (const [k] of pending.entries) if (typeof k === 'string') pendingIn.add(k);
  if (roster && typeof roster === 'object') {
    for (const [k, item] of roster.entries) {
      if (typeof k !== 'string') continue;
      const jid = contactJid(k);
      if (!jid || item === null || typeof item !== 'object') continue;
      const groups = get(item, 'groups');
      a.roster.push(importedItem(jid, {
        name: text(get(item, 'name')) ?? '',
        subscription: subscriptionOf(text(get(item, 'subscription'))),
        askOut: text(get(item, 'ask')) === 'subscribe',
        pendingIn: pendingIn.delete(jid) || pendingIn.delete(k),
        groups: groups && typeof groups === 'object' ? groups.entries.map(([g]) => g).filter((g): g is string => typeof g === 'string') : [],
        visible: true,
      }));
    }
  }
  // Requests from contacts not in the roster.
  for (const k of pendingIn) {
    const jid = contactJid(k);
    if (jid) a.roster.push(importedItem(jid, { pendingIn: true, visible: false }));
  }
  const [vcard] = (await load(join(hostDir, 'vcard', `${fileUser}.dat`), maxBytes)) ?? [];
  const v = elementOf(vcard);
  if (v) a.vcard = v;
  const [priv] = (await load(join(hostDir, 'private', `${fileUser}.dat`), maxBytes)) ?? [];
  if (priv && typeof priv === 'object') for (const [, el] of priv.entries) {
    const e = elementOf(el);
    if (e) a.privates.push(e);
  }
  for (const item of (await load(join(hostDir, 'offline', `${fileUser}.list`), maxBytes)) ?? []) {
    const m = elementOf(item);
    if (!m || m.name !== 'message') continue;
    if (!m.attr('xmlns')) m.attrs.xmlns = 'jabber:client';
    const when = get(item, 'when');
    delete m.attrs.stamp;
    const at = typeof when === 'number' && Number.isFinite(when) ? Math.round(when * 1000) : Date.now();
    if (!m.getChild('delay', 'urn:xmpp:delay')) m.append(new Element('delay', { xmlns: 'urn:xmpp:delay', from: host, stamp: new Date(at).toISOString() }).t('Offline Storage'));
    a.offline.push({ stanza: m, createdAt: at });
  }
  return a;
}

/** Every account of every host directory in a Prosody data directory (or of one host's directory). */
export async function importProsodyDir(dir: string, imp: AccountImporter, maxBytes: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const hostDirs = entries.some((e) => e.isDirectory() && e.name === 'accounts') ? [{ path: dir, name: dir.split('/').pop()! }] : entries.filter((e) => e.isDirectory()).map((e) => ({ path: join(dir, e.name), name: e.name }));
  let found = false;
  for (const h of hostDirs) {
    let users: string[];
    try {
      users = (await readdir(join(h.path, 'accounts'))).filter((f) => f.endsWith('.dat')).map((f) => f.slice(0, -4));
    } catch {
      continue; // not a host directory (Prosody keeps _global and others beside them)
    }
    found = true;
    const host = decodeName(h.name);
    for (const u of users.sort()) {
      try {
        await imp.import(await accountOf(h.path, host, u, maxBytes));
      } catch (err) {
        if (!(err instanceof ProsodyError)) throw err;
        imp.refuse(`${decodeName(u)}@${host}`, err.message);
      }
    }
  }
  if (!found) throw new ProsodyError('no HOST/accounts directory: not a Prosody data directory');
}
