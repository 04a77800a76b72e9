import { Element, x } from './xml/element.js';
import { NS } from './ns.js';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

const ERROR_TYPES: Record<string, StanzaErrorType> = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  gone: 'cancel',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  redirect: 'modify',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

export type StanzaErrorCondition = keyof typeof ERROR_TYPES & string;

/** An error that a handler throws to answer the stanza with `<error/>` (RFC 6120 §8.3). */
export class StanzaError extends Error {
  constructor(
    readonly condition: string,
    readonly text?: string,
    readonly type: StanzaErrorType = ERROR_TYPES[condition] ?? 'cancel',
    /** An application-specific condition beside the defined one (RFC 6120 §8.3.3.2), e.g. pubsub#errors. */
    readonly appCondition?: Element,
  ) {
    super(text ?? condition);
  }
}

export function errorElement(condition: string, text?: string, type?: StanzaErrorType, appCondition?: Element): Element {
  const err = x('error', { type: type ?? ERROR_TYPES[condition] ?? 'cancel' }, x(condition, { xmlns: NS.stanzas }));
  if (text) err.append(x('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }, text));
  if (appCondition) err.append(appCondition);
  return err;
}

/**
 * The error reply to a stanza: same name and id, addresses swapped, type="error",
 * original payload kept (RFC 6120 §8.3.1).
 */
export function errorReply(stanza: Element, condition: string, text?: string, type?: StanzaErrorType, appCondition?: Element): Element {
  const attrs: Record<string, string> = { type: 'error' };
  if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id;
  if (stanza.attrs.from !== undefined) attrs.to = stanza.attrs.from;
  if (stanza.attrs.to !== undefined) attrs.from = stanza.attrs.to;
  if (stanza.attrs.xmlns !== undefined) attrs.xmlns = stanza.attrs.xmlns;
  const reply = new Element(stanza.name, attrs);
  if (stanza.name !== 'iq') for (const c of stanza.children) reply.append(typeof c === 'string' ? c : c.clone());
  else {
    const payload = stanza.elements()[0];
    if (payload) reply.append(payload.clone());
  }
  return reply.append(errorElement(condition, text, type, appCondition));
}

export function iqResult(iq: Element, payload?: Element): Element {
  const attrs: Record<string, string> = { type: 'result', id: iq.attrs.id ?? '' };
  if (iq.attrs.from !== undefined) attrs.to = iq.attrs.from;
  if (iq.attrs.to !== undefined) attrs.from = iq.attrs.to;
  return x('iq', attrs, payload);
}

export function streamError(condition: string, text?: string): Element {
  const el = x('stream:error', null, x(condition, { xmlns: NS.streams }));
  if (text) el.append(x('text', { xmlns: NS.streams, 'xml:lang': 'en' }, text));
  return el;
}

/** Whether a stanza must never be answered with an error (RFC 6120 §8.3.1). */
export function isErrorStanza(el: Element): boolean {
  return el.attrs.type === 'error';
}
