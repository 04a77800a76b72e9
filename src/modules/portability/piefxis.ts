import { createReadStream } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Element, x } from '../../xmpp/xml/element.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import { TokenError, XmlTokenizer, type TokenHandler } from '../../xmpp/xml/tokenizer.js';
import type { StoredCredentials } from '../accounts/index.js';
import type { RosterItem } from '../roster/index.js';
import { contactJid, importedItem, scramFromBase64, subscriptionOf, type ImportedAccount } from './account-import.js';

/**
 * XEP-0227 (PIEFXIS) files as ejabberd writes and reads them: a main file whose `<server-data>`
 * includes one file per host (`<xi:include href='…'/>`), or holds the `<host>` elements itself.
 * Read as a stream: one `<user>` element at a time is built, whatever the file's size.
 */
export const NS_PIE = 'urn:xmpp:pie:0';
const NS_PIE_OLD = 'http://www.xmpp.org/extensions/xep-0227.html#ns';
const NS_XI = 'http://www.w3.org/2001/XInclude';
const NS_ROSTER = 'jabber:iq:roster';
const NS_PRIVATE = 'jabber:iq:private';
const NS_VCARD = 'vcard-temp';
const NS_DELAY = 'urn:xmpp:delay';

/** The deepest element nesting a user's data may have. */
const MAX_DEPTH = 64;
/** Characters of one `<user>` element at most (its vCard with a photo, its offline messages). */
export const MAX_USER_CHARS = 64 * 1024 * 1024;

export class PiefxisError extends Error {}

/** What the reader finds, in document order. */
export interface PiefxisEvents {
  user(el: Element, host: string): Promise<void>;
  include(href: string): Promise<void>;
}

/** Streams one file through the events; `user` is awaited before reading on (back-pressure). */
export async function readPiefxis(path: string, events: PiefxisEvents): Promise<void> {
  let depth = 0;
  let host: string | undefined;
  let rootSeen = false;
  const stack: Element[] = [];
  let userChars = 0;
  const pending: (() => Promise<void>)[] = [];
  // A host file's root, or a host inside <server-data>: the users that follow are its.
  const openHost = (attrs: Record<string, string>) => {
    host = attrs.jid;
    if (!host) throw new PiefxisError('<host> without jid');
  };
  const handler: TokenHandler = {
    open(name, attrs) {
      depth++;
      if (depth === 1) {
        rootSeen = true;
        if (name === 'host') openHost(attrs);
        else if (name !== 'server-data') throw new PiefxisError(`Not a PIEFXIS file: root element <${name}>`);
        else if (attrs.xmlns !== NS_PIE && attrs.xmlns !== NS_PIE_OLD) throw new PiefxisError(`Unknown server-data namespace: ${attrs.xmlns ?? '(none)'}`);
      } else if (stack.length === 0 && name === 'host' && depth === 2) {
        openHost(attrs);
      } else if (stack.length === 0 && (name === 'xi:include' || (name === 'include' && attrs.xmlns === NS_XI))) {
        const href = attrs.href;
        if (!href) throw new PiefxisError('<xi:include> without href');
        pending.push(() => events.include(href));
      } else if (stack.length === 0 && name === 'user') {
        if (host === undefined) throw new PiefxisError('<user> outside <host>');
        stack.push(new Element(name, attrs));
        userChars = 0;
      } else if (stack.length > 0) {
        const el = new Element(name, attrs);
        stack[stack.length - 1]!.append(el);
        stack.push(el);
      }
    },
    close(_name) {
      depth--;
      if (stack.length === 0) return;
      const el = stack.pop()!;
      if (stack.length === 0) {
        const h = host!;
        pending.push(() => events.user(el, h));
      }
    },
    text(t) {
      if (stack.length === 0) return;
      userChars += t.length;
      if (userChars > MAX_USER_CHARS) throw new PiefxisError(`A <user> element is larger than ${MAX_USER_CHARS} characters`);
      stack[stack.length - 1]!.t(t);
    },
  };
  const tokenizer = new XmlTokenizer(handler, MAX_DEPTH);
  const decoder = new StringDecoder('utf8');
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream) {
      try {
        tokenizer.write(decoder.write(chunk as Buffer));
      } catch (err) {
        if (err instanceof TokenError) throw new PiefxisError(`Malformed XML: ${err.message}`);
        throw err;
      }
      // What the chunk completed, handled before the next chunk is read.
      while (pending.length > 0) await pending.shift()!();
    }
  } finally {
    stream.destroy();
  }
  if (!rootSeen) throw new PiefxisError('Empty file');
  if (depth !== 0) throw new PiefxisError('The file ends inside an element (truncated?)');
}

/** Where an included file lies: beside the file that includes it, never elsewhere. */
export function includedPath(fromFile: string, href: string): string {
  if (isAbsolute(href) || href.includes('\0') || href.split(/[\\/]/).includes('..')) throw new PiefxisError(`Included file outside the export's directory: ${href}`);
  return `${dirname(fromFile)}/${href}`;
}

function credentialsOf(user: Element): ImportedAccount['credentials'] {
  const creds: StoredCredentials = {};
  for (const sc of user.getChildren('scram-credentials')) {
    const mech = sc.attr('mechanism');
    const hash = mech === 'SCRAM-SHA-1' ? 'sha1' : mech === 'SCRAM-SHA-256' ? 'sha256' : undefined;
    if (!hash) continue;
    const c = scramFromBase64(hash, sc.getChildText('salt') ?? '', sc.getChildText('stored-key') ?? '', sc.getChildText('server-key') ?? '', Number(sc.getChildText('iter-count')));
    if (c) creds[hash === 'sha1' ? 'scramSha1' : 'scramSha256'] = c;
  }
  const password = user.attr('password');
  // ejabberd before 19.x: password='scram:StoredKey,ServerKey,Salt,IterationCount' (sha256, sha512 prefixed).
  if (password?.startsWith('scram:')) {
    const parts = password.slice(6).split(',');
    const hash = parts.length === 5 ? parts.shift() : 'sha';
    const [stored, server, salt, iter] = parts;
    if (hash === 'sha' || hash === 'sha256') {
      const h = hash === 'sha' ? 'sha1' : 'sha256';
      const c = scramFromBase64(h, salt ?? '', stored ?? '', server ?? '', Number(iter));
      if (c) creds[h === 'sha1' ? 'scramSha1' : 'scramSha256'] = c;
    }
  } else if (password !== undefined && password !== '') {
    return { password };
  }
  return creds.scramSha1 || creds.scramSha256 ? creds : undefined;
}

/** One `<user>` element as an account to import. */
export function accountOfUser(user: Element, host: string): ImportedAccount {
  const roster = new Map<string, RosterItem>();
  const a: ImportedAccount = { user: user.attr('name') ?? '', host, roster: [], privates: [], offline: [] };
  const creds = credentialsOf(user);
  if (creds) a.credentials = creds;
  for (const el of user.elements()) {
    const ns = el.attr('xmlns');
    if (el.name === 'query' && ns === NS_ROSTER) {
      for (const item of el.getChildren('item')) {
        const jid = contactJid(item.attr('jid'));
        if (!jid) continue;
        roster.set(jid, importedItem(jid, {
          name: item.attr('name') ?? '',
          subscription: subscriptionOf(item.attr('subscription')),
          askOut: item.attr('ask') === 'subscribe',
          groups: item.getChildren('group').map((g) => g.text()).filter((g) => g !== ''),
          visible: true,
        }));
      }
    } else if (el.name === 'presence' && el.attr('type') === 'subscribe') {
      // A contact's pending request (ejabberd writes these beside the roster).
      const jid = contactJid(el.attr('from'));
      if (!jid) continue;
      const existing = roster.get(jid);
      if (existing) existing.pendingIn = true;
      else roster.set(jid, importedItem(jid, { pendingIn: true, visible: false }));
    } else if (el.name === 'vCard' && ns === NS_VCARD) {
      a.vcard = el;
    } else if (el.name === 'query' && ns === NS_PRIVATE) {
      a.privates.push(...el.elements());
    } else if (el.name === 'offline-messages') {
      for (const m of el.elements()) {
        if (m.name !== 'message') continue;
        if (!m.attr('xmlns')) m.attrs.xmlns = 'jabber:client';
        const stamp = m.getChild('delay', NS_DELAY)?.attr('stamp');
        const at = stamp ? Date.parse(stamp) : NaN;
        a.offline.push({ stanza: m, createdAt: Number.isFinite(at) ? at : Date.now() });
      }
    }
  }
  a.roster = [...roster.values()];
  return a;
}

/** A SCRAM credential as ejabberd's importer reads it (its keys encoded twice, as ejabberd writes them). */
function scramElement(mechanism: string, c: { salt: string; iterations: number; storedKey: string; serverKey: string }): Element {
  const twice = (b64: string) => Buffer.from(b64, 'latin1').toString('base64');
  return x('scram-credentials', { xmlns: `${NS_PIE}#scram`, mechanism },
    x('iter-count', null, String(c.iterations)),
    x('salt', null, twice(c.salt)),
    x('server-key', null, twice(c.serverKey)),
    x('stored-key', null, twice(c.storedKey)),
  );
}

/** What an account holds, to be written. */
export interface ExportedAccount {
  user: string;
  credentials: StoredCredentials;
  roster: RosterItem[];
  vcard?: Element;
  privates: Element[];
  offline: string[];
}

/** One account as a `<user>` element, every subscription state kept. */
export function userElement(a: ExportedAccount, host: string): Element {
  const attrs: Record<string, string> = { name: a.user };
  if (a.credentials.plain !== undefined) attrs.password = a.credentials.plain;
  const user = x('user', attrs);
  if (a.credentials.plain === undefined) {
    if (a.credentials.scramSha1) user.append(scramElement('SCRAM-SHA-1', a.credentials.scramSha1));
    if (a.credentials.scramSha256) user.append(scramElement('SCRAM-SHA-256', a.credentials.scramSha256));
  }
  if (a.offline.length > 0) {
    const box = x('offline-messages');
    for (const s of a.offline) {
      const m = parseElement(s, Number.MAX_SAFE_INTEGER);
      // ejabberd's importer needs the stanza's namespace on the element itself.
      if (!m.attr('xmlns')) m.attrs.xmlns = 'jabber:client';
      box.append(m);
    }
    user.append(box);
  }
  if (a.vcard) user.append(a.vcard);
  const visible = a.roster.filter((i) => i.visible);
  if (visible.length > 0) {
    const q = x('query', { xmlns: NS_ROSTER });
    for (const i of visible) {
      const attrs: Record<string, string> = { jid: i.jid, subscription: i.subscription };
      if (i.name) attrs.name = i.name;
      if (i.askOut) attrs.ask = 'subscribe';
      q.append(x('item', attrs, ...i.groups.map((g) => x('group', null, g))));
    }
    user.append(q);
  }
  // Pending requests of contacts, as ejabberd writes them (and reads them back).
  for (const i of a.roster.filter((r) => r.pendingIn)) {
    user.append(x('presence', { xmlns: 'jabber:client', from: i.jid, to: `${a.user}@${host}`, type: 'subscribe' }));
  }
  if (a.privates.length > 0) user.append(x('query', { xmlns: NS_PRIVATE }, ...a.privates));
  return user;
}

/** ejabberd's file names: `YYYYMMDD-HHMMSS.xml` and `YYYYMMDD-HHMMSS_example_org.xml` per host. */
export function exportFileNames(hosts: readonly string[], now = new Date()): { main: string; hosts: { host: string; file: string }[] } {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return { main: `${stamp}.xml`, hosts: hosts.map((host) => ({ host, file: `${stamp}_${host.split('.').join('_')}.xml` })) };
}


export const PIEFXIS_HEAD = "<?xml version='1.0' encoding='UTF-8'?>";
export const serverHead = () => `<server-data xmlns='${NS_PIE}' xmlns:xi='${NS_XI}'>`;
export const hostHead = (host: string) => `<host xmlns='${NS_PIE}' xmlns:xi='${NS_XI}' jid='${host.replace(/[&'<>"]/g, '')}'>`;
