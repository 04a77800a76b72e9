// What the room-command tests do as real clients (XEP-0045 over @xmpp/client), and how they call
// the commands over real HTTP.
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { xml, type TestClient } from '../support/client.js';
import type { Parley } from '../support/harness.js';

export const MUC = 'http://jabber.org/protocol/muc';
export const MUC_USER = 'http://jabber.org/protocol/muc#user';
export const MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const SERVICE = 'conference.localhost';

/** Calls a command as admin, checks the HTTP status and returns the parsed body. */
export async function call(parley: Parley, command: string, args: Record<string, unknown>, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

/** Calls a command that must fail with a 400 and ejabberd's words. */
export async function refused(parley: Parley, command: string, args: Record<string, unknown>, message: string | RegExp): Promise<void> {
  const body = await call(parley, command, args, 400);
  if (typeof message === 'string') assert.equal(body, message, `${command} ${JSON.stringify(args)}`);
  else assert.match(String(body), message, `${command} ${JSON.stringify(args)}`);
}

/** The status codes of a MUC presence or message (muc#user). */
export function statusCodes(el: Element): string[] {
  const x = el.getChild('x', MUC_USER);
  return x ? x.getChildren('status').map((s: Element) => String(s.attrs.code)) : [];
}

/** The muc#user item of a presence. */
export function itemOf(el: Element): Record<string, string> | undefined {
  return el.getChild('x', MUC_USER)?.getChild('item')?.attrs as Record<string, string> | undefined;
}

const isFrom = (from: string) => (el: Element) => el.attrs.from === from;

/** Joins `room` as `nick` and returns the self-presence (status 110). */
export async function join(c: TestClient, room: string, nick: string, password?: string): Promise<Element> {
  const x = xml('x', { xmlns: MUC });
  if (password !== undefined) x.append(xml('password', {}, password));
  const me = `${room}/${nick}`;
  const already = c.received.length;
  await c.send(xml('presence', { to: me }, x));
  const answer = await c.waitFor(
    (el) => el.is('presence') && isFrom(me)(el) && c.received.indexOf(el) >= already && (el.attrs.type === 'error' || statusCodes(el).includes('110')),
    5000,
    `self-presence in ${me}`,
  );
  assert.notEqual(answer.attrs.type, 'error', `joining ${me}: ${answer.toString()}`);
  return answer;
}

/** Tries to join and returns the error condition the room answers. */
export async function joinRefused(c: TestClient, room: string, nick: string, password?: string): Promise<string> {
  const x = xml('x', { xmlns: MUC });
  if (password !== undefined) x.append(xml('password', {}, password));
  const me = `${room}/${nick}`;
  const already = c.received.length;
  await c.send(xml('presence', { to: me }, x));
  const answer = await c.waitFor(
    (el) => el.is('presence') && isFrom(me)(el) && c.received.indexOf(el) >= already && (el.attrs.type === 'error' || statusCodes(el).includes('110')),
    5000,
    `answer to joining ${me}`,
  );
  assert.equal(answer.attrs.type, 'error', `joining ${me} should fail: ${answer.toString()}`);
  const condition = answer.getChild('error')?.children.find((ch: any) => typeof ch !== 'string' && ch.attrs?.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas') as Element | undefined;
  return condition?.name ?? 'none';
}

/** Creates a room as its first occupant does: joins (201) and accepts the default configuration (instant room). */
export async function createByClient(c: TestClient, room: string, nick: string): Promise<void> {
  const self = await join(c, room, nick);
  assert.ok(statusCodes(self).includes('201'), `a new room: ${self.toString()}`);
  await c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }))));
}

export async function say(c: TestClient, room: string, body: string): Promise<void> {
  await c.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body)));
}

/** Waits for the groupchat message with that body from the room. */
export function heard(c: TestClient, room: string, body: string): Promise<Element> {
  return c.waitFor((el) => el.is('message') && el.attrs.type === 'groupchat' && String(el.attrs.from).startsWith(`${room}/`) && el.getChildText('body') === body, 5000, `"${body}" in ${room}`);
}

/** Whether a message is a MUC/Sub event of `node` from `room` carrying a groupchat message with that body. */
export function isSubEvent(room: string, node: string, body: string) {
  return (el: Element) => {
    if (!el.is('message') || el.attrs.from !== room) return false;
    const items = el.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items');
    if (!items || items.attrs.node !== node) return false;
    return items.getChildren('item').some((i: Element) => i.getChild('message')?.getChildText('body') === body);
  };
}
