// Helpers for the group chat tests: entering rooms, configuring them, reading status codes.
import type { Element } from '@xmpp/xml';
import { xml, type TestClient } from './client.js';

export const MUC = 'http://jabber.org/protocol/muc';
export const MUC_USER = 'http://jabber.org/protocol/muc#user';
export const MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const DATA = 'jabber:x:data';
export const SERVICE = 'conference.localhost';

/** The status codes of a MUC presence or message. */
export function codes(el: Element): string[] {
  return (el.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s: Element) => s.attrs.code as string).sort();
}

export function itemOf(el: Element): Element | undefined {
  return el.getChild('x', MUC_USER)?.getChild('item');
}

/** A presence from `from` (a room/nick) matching the predicate. */
export function presenceFrom(c: TestClient, from: string, pred: (el: Element) => boolean = () => true, what = `presence from ${from}`): Promise<Element> {
  return c.waitFor((el) => el.name === 'presence' && el.attrs.from === from && pred(el), 5000, what);
}

/**
 * Enters a room and waits for the answer: the self-presence (status 110) or the error presence.
 * `fresh`: only stanzas received after the call count.
 */
export async function join(c: TestClient, room: string, nick: string, opts: { password?: string; history?: Record<string, string>; plain?: boolean } = {}): Promise<Element> {
  const start = c.received.length;
  const x = xml('x', { xmlns: MUC });
  if (opts.password !== undefined) x.append(xml('password', {}, opts.password));
  if (opts.history) x.append(xml('history', opts.history));
  await c.send(xml('presence', { to: `${room}/${nick}` }, opts.plain ? undefined : x));
  const from = `${room}/${nick}`;
  return c.waitFor(
    (el) => c.received.indexOf(el) >= start && el.name === 'presence' && el.attrs.from === from && (el.attrs.type === 'error' || codes(el).includes('110')),
    5000,
    `entering ${from}`,
  );
}

/** Creates a room as its owner and accepts the default configuration (an instant room). */
export async function createInstant(c: TestClient, room: string, nick: string): Promise<Element> {
  const p = await join(c, room, nick);
  if (p.attrs.type === 'error') throw new Error(`could not create ${room}: ${p.toString()}`);
  await c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }))));
  return p;
}

/** Submits configuration fields (var → value(s)). */
export async function configure(c: TestClient, room: string, fields: Record<string, string | string[]>): Promise<Element> {
  const form = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')));
  for (const [k, v] of Object.entries(fields)) form.append(xml('field', { var: k }, ...(Array.isArray(v) ? v : [v]).map((val) => xml('value', {}, val))));
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, form)));
}

export function groupchat(c: TestClient, room: string, body: string, id?: string): Promise<void> {
  return c.send(xml('message', { to: room, type: 'groupchat', ...(id ? { id } : {}) }, xml('body', {}, body)));
}

/** A groupchat message from `from` with this body, received after index `after`. */
export function messageFrom(c: TestClient, from: string, body: string, after = 0): Promise<Element> {
  return c.waitFor((el) => c.received.indexOf(el) >= after && el.name === 'message' && el.attrs.from === from && el.getChildText('body') === body, 5000, `message ${body} from ${from}`);
}

export function errorCondition(el: Element): string | undefined {
  const e = el.getChild('error');
  return e?.children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas')?.name;
}

export function adminSet(c: TestClient, room: string, ...items: Element[]): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_ADMIN }, ...items)));
}
