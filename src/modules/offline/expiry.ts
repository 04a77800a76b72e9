/**
 * Message expiry for offline storage: XEP-0079's `expire-at` rule and the legacy XEP-0023
 * `<x xmlns='jabber:x:expire' seconds='N'/>` that ejabberd's mod_offline honours. A stored message
 * is never delivered after its expiry, and `delete_expired_messages` removes it.
 */
import type { Element } from '../../xmpp/xml/element.js';

export const NS_AMP = 'http://jabber.org/protocol/amp';
export const NS_X_EXPIRE = 'jabber:x:expire';

/** XEP-0082 DateTime: a date, a time with optional fractions, and a zone (Z or ±hh:mm). */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Seconds beyond this (about 31,700 years) are taken as "never": the stored time stays a safe integer. */
const MAX_SECONDS = 1e12;

/**
 * When the message expires (ms since the epoch), from the earliest of its expiry rules; undefined
 * when it carries none (or none that can be read: a malformed rule is ignored, not refused).
 */
export function expiryOf(stanza: Element, now: number): number | undefined {
  let at: number | undefined;
  const earliest = (t: number) => {
    if (at === undefined || t < at) at = t;
  };
  for (const el of stanza.getChildren('x', NS_X_EXPIRE)) {
    const seconds = el.attrs.seconds?.trim() ?? '';
    if (/^\d{1,13}$/.test(seconds) && Number(seconds) <= MAX_SECONDS) earliest(now + Number(seconds) * 1000);
  }
  for (const amp of stanza.getChildren('amp', NS_AMP)) {
    for (const rule of amp.getChildren('rule')) {
      if (rule.attrs.condition !== 'expire-at') continue;
      const value = rule.attrs.value?.trim() ?? '';
      const t = DATETIME.test(value) ? Date.parse(value) : NaN;
      if (Number.isFinite(t)) earliest(t);
    }
  }
  return at;
}

/**
 * XEP-0023 §3: the stored copy records when it was stored (`stored`, epoch seconds), so the time
 * spent in storage can be told later.
 */
export function markStored(stanza: Element, now: number): void {
  for (const el of stanza.getChildren('x', NS_X_EXPIRE)) el.attrs.stored = String(Math.floor(now / 1000));
}

/**
 * XEP-0023 §3: on delivery the TTL is what is left of it, so the recipient does not keep the
 * message longer than the sender meant.
 */
export function remainingOnDelivery(stanza: Element, expiresAt: number, now: number): void {
  for (const el of stanza.getChildren('x', NS_X_EXPIRE)) {
    el.attrs.seconds = String(Math.max(0, Math.ceil((expiresAt - now) / 1000)));
    delete el.attrs.stored;
  }
}
