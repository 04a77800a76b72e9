import { x, type Element } from '../../xmpp/xml/element.js';
import { tryParseJID } from '../../xmpp/jid.js';
import type { NodeConfig } from './config.js';

/** XEP-0048 bookmarks, as private XML storage (XEP-0049) and the PEP node of that name keep them. */
export const NS_BOOKMARKS = 'storage:bookmarks';
/** XEP-0402 bookmarks: one PEP item per room, its id the room's JID. */
export const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';
/** XEP-0402 §5.3: what a server that keeps both in step advertises. */
export const NS_BOOKMARKS2_COMPAT = `${NS_BOOKMARKS2}#compat`;

/** The node configuration XEP-0402 §4 asks for (and what the server publishes with). */
export const BOOKMARKS2_OPTIONS: Partial<NodeConfig> = { persistItems: true, maxItems: 'max', sendLastPublishedItem: 'never', accessModel: 'whitelist' };

/** A room bookmark, as both formats hold it. */
export interface Bookmark {
  jid: string;
  name?: string;
  autojoin: boolean;
  nick?: string;
  password?: string;
}

const isTrue = (v: string | undefined) => v === 'true' || v === '1';

/** The conferences of a XEP-0048 `<storage/>`, by room JID (the first of a duplicate kept). */
export function bookmarksOfStorage(storage: Element | undefined): Map<string, Bookmark> {
  const out = new Map<string, Bookmark>();
  for (const c of storage?.getChildren('conference') ?? []) {
    const jid = c.attrs.jid !== undefined ? tryParseJID(c.attrs.jid) : undefined;
    if (!jid || jid.local === '' || jid.resource !== '' || out.has(jid.bare)) continue;
    out.set(jid.bare, {
      jid: jid.bare,
      ...(c.attrs.name !== undefined ? { name: c.attrs.name } : {}),
      autojoin: isTrue(c.attrs.autojoin),
      ...(c.getChildText('nick') !== undefined ? { nick: c.getChildText('nick')! } : {}),
      ...(c.getChildText('password') !== undefined ? { password: c.getChildText('password')! } : {}),
    });
  }
  return out;
}

/** The bookmark of a XEP-0402 item, or undefined when the item is not one. */
export function bookmarkOfItem(id: string, payload: Element): Bookmark | undefined {
  if (payload.name !== 'conference' || payload.attrs.xmlns !== NS_BOOKMARKS2) return undefined;
  const jid = tryParseJID(id);
  if (!jid || jid.local === '' || jid.resource !== '') return undefined;
  const nick = payload.getChildText('nick', NS_BOOKMARKS2) ?? payload.getChildText('nick');
  const password = payload.getChildText('password', NS_BOOKMARKS2) ?? payload.getChildText('password');
  return {
    jid: jid.bare,
    ...(payload.attrs.name !== undefined ? { name: payload.attrs.name } : {}),
    autojoin: isTrue(payload.attrs.autojoin),
    ...(nick !== undefined ? { nick } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

export function sameBookmark(a: Bookmark, b: Bookmark): boolean {
  return a.jid === b.jid && a.name === b.name && a.autojoin === b.autojoin && a.nick === b.nick && a.password === b.password;
}

/** A XEP-0402 item payload; extensions of the item it replaces are kept. */
export function itemPayload(b: Bookmark, previous?: Element): Element {
  const el = x('conference', { xmlns: NS_BOOKMARKS2, autojoin: b.autojoin ? 'true' : 'false', ...(b.name !== undefined ? { name: b.name } : {}) });
  if (b.nick !== undefined) el.append(x('nick', null, b.nick));
  if (b.password !== undefined) el.append(x('password', null, b.password));
  const extensions = previous?.getChild('extensions', NS_BOOKMARKS2) ?? previous?.getChild('extensions');
  if (extensions) el.append(extensions.clone());
  return el;
}

/** A XEP-0048 `<storage/>` of these bookmarks, with what else the previous one held (URLs). */
export function storageOf(bookmarks: Iterable<Bookmark>, previous: Element | undefined): Element {
  const storage = x('storage', { xmlns: NS_BOOKMARKS });
  for (const b of bookmarks) {
    const c = x('conference', { jid: b.jid, autojoin: b.autojoin ? 'true' : 'false', ...(b.name !== undefined ? { name: b.name } : {}) });
    if (b.nick !== undefined) c.append(x('nick', null, b.nick));
    if (b.password !== undefined) c.append(x('password', null, b.password));
    storage.append(c);
  }
  for (const other of previous?.elements() ?? []) if (other.name !== 'conference') storage.append(other.clone());
  return storage;
}
