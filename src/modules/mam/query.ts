/**
 * A XEP-0313 query read from its stanza: the form's filters (XEP-0004, with the
 * urn:xmpp:mam:2#extended fields and full-text search) and the RSM paging (XEP-0059).
 */
import type { Element } from '../../xmpp/xml/element.js';
import { x } from '../../xmpp/xml/element.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { escapeText } from '../../xmpp/xml/escape.js';
import type { MamFilter } from './store.js';

export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_MAM1 = 'urn:xmpp:mam:1';
export const NS_MAM_EXTENDED = 'urn:xmpp:mam:2#extended';
export const NS_RSM = 'http://jabber.org/protocol/rsm';
export const NS_DATA = 'jabber:x:data';
export const NS_SID = 'urn:xmpp:sid:0';
export const NS_RETRACT = 'urn:xmpp:message-retract:1';
export const NS_MODERATE = 'urn:xmpp:message-moderate:1';
export const NS_FULLTEXT_FIELD = '{urn:xmpp:fulltext:0}fulltext';

export interface ParsedQuery {
  queryId?: string;
  /** The set queried (the form's filters), by ids that must exist in the archive. */
  filter: MamFilter;
  /** The form's after-id/before-id, checked to exist. */
  mustExist: number[];
  /** RSM: page size (undefined: the default), and where the page starts. */
  max?: number;
  after?: string;
  /** '' asks for the last page. */
  before?: string;
  flip: boolean;
}

/** Our stanza ids are decimal numbers; anything else is not an id of this archive. */
export function parseId(s: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(s)) return undefined;
  return Number(s);
}

function fieldValues(field: Element): string[] {
  return field.getChildren('value').map((v) => v.text());
}

function single(field: Element): string {
  const values = fieldValues(field);
  if (values.length !== 1) throw new StanzaError('bad-request', `field ${field.attrs.var} takes one value`);
  return values[0]!.trim();
}

function time(field: Element): number {
  const v = single(field);
  // XEP-0082 DateTime: a date, a time and a zone.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v)) throw new StanzaError('bad-request', `${field.attrs.var} is not a XEP-0082 date and time`);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new StanzaError('bad-request', `${field.attrs.var} is not a valid date`);
  return ms;
}

export function parseQuery(query: Element, ns: string): ParsedQuery {
  const filter: MamFilter = {};
  const mustExist: number[] = [];
  const form = query.getChild('x', NS_DATA);
  for (const field of form?.getChildren('field') ?? []) {
    const name = field.attrs.var;
    switch (name) {
      case 'FORM_TYPE': {
        const v = single(field);
        if (v !== ns && v !== NS_MAM) throw new StanzaError('bad-request', `FORM_TYPE must be ${ns}`);
        break;
      }
      case 'with': {
        const jid = tryParseJID(single(field));
        if (!jid) throw new StanzaError('jid-malformed', 'with is not a valid JID');
        filter.peer = jid.bare;
        if (jid.resource) filter.peerResource = jid.resource;
        break;
      }
      case 'start':
        filter.minId = Math.max(filter.minId ?? 0, time(field) * 1000);
        break;
      case 'end':
        filter.maxId = Math.min(filter.maxId ?? Number.MAX_SAFE_INTEGER, time(field) * 1000 + 999);
        break;
      case 'after-id':
      case 'before-id': {
        const id = parseId(single(field));
        if (id === undefined) throw new StanzaError('item-not-found', `${name} names no message of this archive`);
        mustExist.push(id);
        if (name === 'after-id') filter.afterId = Math.max(filter.afterId ?? 0, id);
        else filter.beforeId = Math.min(filter.beforeId ?? Number.MAX_SAFE_INTEGER, id);
        break;
      }
      case 'ids': {
        const ids: number[] = [];
        for (const v of fieldValues(field)) {
          const id = parseId(v.trim());
          if (id !== undefined) ids.push(id);
        }
        filter.ids = ids.slice(0, 1000);
        break;
      }
      case NS_FULLTEXT_FIELD: {
        const v = single(field);
        if (v !== '') filter.text = escapeText(v);
        break;
      }
      default:
        throw new StanzaError('bad-request', `unknown field ${name ?? ''}`);
    }
  }
  const parsed: ParsedQuery = { filter, mustExist, flip: query.getChild('flip-page') !== undefined, queryId: query.attrs.queryid };
  const set = query.getChild('set', NS_RSM);
  if (set) {
    const max = set.getChildText('max');
    if (max !== undefined) {
      if (!/^\s*\d{1,9}\s*$/.test(max)) throw new StanzaError('bad-request', 'max is not a number');
      parsed.max = Number(max);
    }
    if (set.getChild('index')) throw new StanzaError('feature-not-implemented', 'paging by index is not supported: use after and before');
    const after = set.getChild('after');
    const before = set.getChild('before');
    if (after && before) throw new StanzaError('bad-request', 'after and before together');
    if (after) parsed.after = after.text().trim();
    if (before) parsed.before = before.text().trim();
    if (parsed.after === '') throw new StanzaError('bad-request', 'after needs an id');
  }
  return parsed;
}

/** The form a client gets when it asks which fields queries take (XEP-0313 §4.1.1). */
export function queryForm(ns: string): Element {
  const field = (v: string, type: string) => x('field', { var: v, type });
  return x(
    'query',
    { xmlns: ns },
    x(
      'x',
      { xmlns: NS_DATA, type: 'form' },
      x('field', { var: 'FORM_TYPE', type: 'hidden' }, x('value', {}, ns)),
      field('with', 'jid-single'),
      field('start', 'text-single'),
      field('end', 'text-single'),
      field('before-id', 'text-single'),
      field('after-id', 'text-single'),
      field('ids', 'text-multi'),
      field(NS_FULLTEXT_FIELD, 'text-single'),
    ),
  );
}
