/**
 * Privacy lists (XEP-0016) as data, their XML form, and the one decision every stanza on the
 * routing path gets: `evaluate`. Blocking (XEP-0191) is not a second mechanism: a blocked JID is
 * an item of the account's default list (as ejabberd's mod_blocking keeps it), so the same
 * evaluation enforces both.
 */
import { x, type Element } from '../../xmpp/xml/element.js';
import { JID, tryParseJID } from '../../xmpp/jid.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { isSubscription } from '../roster/index.js';

export const NS_PRIVACY = 'jabber:iq:privacy';
export const NS_BLOCKING = 'urn:xmpp:blocking';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';

/** The list ejabberd's mod_blocking creates (and makes the default) when an account has no default list. */
export const BLOCK_LIST_NAME = 'Blocked contacts';

/** The stanza kinds an item may be limited to (XEP-0016 §2.1). */
export const STANZA_KINDS = ['message', 'iq', 'presence-in', 'presence-out'] as const;
export type StanzaKind = (typeof STANZA_KINDS)[number];
/**
 * What a stanza is for the lists: one of the four kinds, or `other` (outgoing messages and IQs,
 * subscription presence, probes), which only items limited to no kind match (as in ejabberd).
 */
export type CheckedKind = StanzaKind | 'other';

export type ItemType = 'jid' | 'group' | 'subscription';

export interface PrivacyItem {
  /** Absent: the fall-through item, matching every JID. */
  type?: ItemType;
  value?: string;
  action: 'allow' | 'deny';
  order: number;
  /** The kinds the item is limited to; empty: every stanza. */
  kinds: StanzaKind[];
}

/** What an account stores: its named lists (items in order) and the name of its default list. */
export interface PrivacyData {
  lists: Record<string, PrivacyItem[]>;
  default?: string;
}

/** Longest list name and item value accepted (a JID is at most 3071 bytes, RFC 7622). */
export const MAX_NAME_LENGTH = 1023;
export const MAX_VALUE_LENGTH = 3071;

// ---- XML --------------------------------------------------------------------------------

export function itemElement(i: PrivacyItem): Element {
  const attrs: Record<string, string> = {};
  if (i.type) attrs.type = i.type;
  if (i.value !== undefined) attrs.value = i.value;
  attrs.action = i.action;
  attrs.order = String(i.order);
  const el = x('item', attrs);
  for (const k of i.kinds) el.c(k);
  return el;
}

export function listElement(name: string, items?: readonly PrivacyItem[]): Element {
  const el = x('list', { name });
  for (const i of items ?? []) el.append(itemElement(i));
  return el;
}

/** Reads the items of a `<list/>`, sorted by order; throws bad-request for what XEP-0016 does not allow. */
export function parseItems(list: Element): PrivacyItem[] {
  const items: PrivacyItem[] = [];
  const orders = new Set<number>();
  for (const el of list.elements()) {
    if (el.name !== 'item') throw new StanzaError('bad-request', `unexpected <${el.name}/> in a privacy list`);
    const item = parseItem(el);
    if (orders.has(item.order)) throw new StanzaError('bad-request', `two items with order ${item.order}`);
    orders.add(item.order);
    items.push(item);
  }
  return items.sort((a, b) => a.order - b.order);
}

function parseItem(el: Element): PrivacyItem {
  const { type, value, action, order } = el.attrs;
  if (action !== 'allow' && action !== 'deny') throw new StanzaError('bad-request', "an item's action is allow or deny");
  if (order === undefined || !/^\d{1,10}$/.test(order) || Number(order) > 0xffffffff) {
    throw new StanzaError('bad-request', "an item's order is an unsigned integer");
  }
  const item: PrivacyItem = { action, order: Number(order), kinds: [] };
  if (type === undefined) {
    if (value !== undefined) throw new StanzaError('bad-request', 'a value needs a type');
  } else {
    if (value === undefined) throw new StanzaError('bad-request', `an item of type ${type} needs a value`);
    if (value.length > MAX_VALUE_LENGTH) throw new StanzaError('bad-request', 'value too long');
    if (type === 'jid') {
      const j = tryParseJID(value);
      if (!j) throw new StanzaError('bad-request', `not a JID: ${value}`);
      item.value = j.full;
    } else if (type === 'subscription') {
      if (!isSubscription(value)) throw new StanzaError('bad-request', `not a subscription: ${value}`);
      item.value = value;
    } else if (type === 'group') {
      if (value === '') throw new StanzaError('bad-request', 'empty group name');
      item.value = value;
    } else throw new StanzaError('bad-request', `unknown item type: ${type}`);
    item.type = type;
  }
  for (const c of el.elements()) {
    if (!(STANZA_KINDS as readonly string[]).includes(c.name) || c.elements().length > 0) {
      throw new StanzaError('bad-request', `unexpected <${c.name}/> in a privacy item`);
    }
    if (!item.kinds.includes(c.name as StanzaKind)) item.kinds.push(c.name as StanzaKind);
  }
  // All four kinds is the same as none: every stanza.
  if (item.kinds.length === STANZA_KINDS.length) item.kinds = [];
  return item;
}

/** Whether an item is one that XEP-0191 shows as a blocked JID: deny every stanza of that JID. */
export function isBlockItem(i: PrivacyItem): boolean {
  return i.type === 'jid' && i.action === 'deny' && i.kinds.length === 0;
}

// ---- the decision ---------------------------------------------------------------------------

/** An item ready to be matched: its JID value split once. */
export interface CompiledItem {
  readonly item: PrivacyItem;
  readonly jid?: JID;
  /** Matching it needs the peer's roster item (group and subscription items). */
  readonly needsRoster: boolean;
}

export function compile(items: readonly PrivacyItem[]): CompiledItem[] {
  return items.map((item) => ({
    item,
    jid: item.type === 'jid' ? tryParseJID(item.value!) : undefined,
    needsRoster: item.type === 'group' || item.type === 'subscription',
  }));
}

/** The peer as the owner's roster knows it: the subscription (`none` when not in the roster) and groups. */
export interface RosterFacts {
  subscription: string;
  groups: readonly string[];
}

/** JID items match as XEP-0016 §2.1 orders them: full JID, bare JID, domain/resource, domain. */
function jidMatches(v: JID, peer: JID): boolean {
  if (v.domain !== peer.domain) return false;
  if (v.local !== '' && v.local !== peer.local) return false;
  if (v.resource !== '' && v.resource !== peer.resource) return false;
  return true;
}

function kindMatches(i: PrivacyItem, kind: CheckedKind): boolean {
  if (i.kinds.length === 0) return true;
  return kind !== 'other' && i.kinds.includes(kind);
}

/**
 * The first item of the list that matches a stanza of `kind` exchanged with `peer` (the sender
 * of what comes in, the addressee of what goes out), or undefined: then the stanza is allowed.
 * The roster is read at most once, and only when a group or subscription item is reached.
 */
export async function evaluate(
  items: readonly CompiledItem[],
  kind: CheckedKind,
  peer: JID,
  roster: () => Promise<RosterFacts>,
): Promise<PrivacyItem | undefined> {
  let facts: RosterFacts | undefined;
  for (const c of items) {
    const i = c.item;
    if (!kindMatches(i, kind)) continue;
    if (i.type === undefined) return i;
    if (i.type === 'jid') {
      if (c.jid && jidMatches(c.jid, peer)) return i;
      continue;
    }
    facts ??= await roster();
    if (i.type === 'subscription' ? facts.subscription === i.value : facts.groups.includes(i.value!)) return i;
  }
  return undefined;
}
