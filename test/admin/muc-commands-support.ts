// What the room-command tests do as real clients (over the group chat tests' helpers,
// test/support/muc.ts), and how they call the commands over real HTTP.
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import type { TestClient } from '../support/client.js';
import type { Parley } from '../support/harness.js';
import { codes, createInstant, errorCondition, groupchat, join as enter, MUC_USER, SERVICE } from '../support/muc.js';

export { MUC_USER, SERVICE };
export const statusCodes = codes;
export const say = groupchat;

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

/** The muc#user item of a presence, as attributes. */
export function itemOf(el: Element): Record<string, string> | undefined {
  return el.getChild('x', MUC_USER)?.getChild('item')?.attrs as Record<string, string> | undefined;
}

/** Joins `room` as `nick` and returns the self-presence (status 110); fails the test if the room refuses. */
export async function join(c: TestClient, room: string, nick: string, password?: string): Promise<Element> {
  const answer = await enter(c, room, nick, password === undefined ? {} : { password });
  assert.notEqual(answer.attrs.type, 'error', `joining ${room}/${nick}: ${answer.toString()}`);
  return answer;
}

/** Tries to join and returns the error condition the room answers. */
export async function joinRefused(c: TestClient, room: string, nick: string, password?: string): Promise<string> {
  const answer = await enter(c, room, nick, password === undefined ? {} : { password });
  assert.equal(answer.attrs.type, 'error', `joining ${room}/${nick} should fail: ${answer.toString()}`);
  return errorCondition(answer) ?? 'none';
}

/** Creates a room as its first occupant does: a new room (201), given the default configuration. */
export async function createByClient(c: TestClient, room: string, nick: string): Promise<void> {
  const self = await createInstant(c, room, nick);
  assert.ok(codes(self).includes('201'), `a new room: ${self.toString()}`);
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
