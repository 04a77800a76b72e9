// What the PEP tests share: clients that advertise entity capabilities (XEP-0115) and answer the
// server's disco#info about them, roster set-up over the API, and pubsub requests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Element } from '@xmpp/xml';
import type { Parley } from '../support/harness.js';
import { xml, type TestClient } from '../support/client.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = `${NS_PUBSUB}#owner`;
export const NS_EVENT = `${NS_PUBSUB}#event`;
export const NS_ERRORS = `${NS_PUBSUB}#errors`;
export const NS_CAPS = 'http://jabber.org/protocol/caps';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const CAPS_NODE = 'https://parley.test/client';

/** XEP-0115 §5.1 for a client with one identity and these features (no forms). */
export function verOf(identity: string, features: readonly string[]): string {
  const s = `${identity}<${[...features].sort().map((f) => `${f}<`).join('')}`;
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

export interface CapsClient extends TestClient {
  /** How many disco#info queries about its caps the server sent it. */
  capsQueries(): number;
}

/**
 * Logs in a client that answers disco#info for its caps node with these features and sends
 * available presence carrying the caps (`lie`: claims a ver the features do not hash to).
 */
export async function capsClient(parley: Parley, user: string, resource: string, features: readonly string[], opts: { lie?: boolean } = {}): Promise<CapsClient> {
  const c = await parley.login(user, resource, { presence: false });
  const all = [NS_DISCO_INFO, NS_CAPS, ...features];
  const ver = opts.lie ? verOf('client/pc//Liar', all) : verOf('client/pc//Parley test', all);
  let queries = 0;
  c.xmpp.iqCallee.get(NS_DISCO_INFO, 'query', (ctx: { element: Element }) => {
    queries++;
    const q = xml('query', { xmlns: NS_DISCO_INFO, ...(ctx.element.attrs.node ? { node: ctx.element.attrs.node } : {}) }, xml('identity', { category: 'client', type: 'pc', name: 'Parley test' }));
    for (const f of all) q.append(xml('feature', { var: f }));
    return q;
  });
  await c.send(xml('presence', {}, xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver })));
  return Object.assign(c, { capsQueries: () => queries });
}

/** Both directions subscribed (`both`), over the API. */
export async function befriend(parley: Parley, a: string, b: string): Promise<void> {
  for (const [u, c] of [[a, b], [b, a]] as const) {
    const r = await parley.api('add_rosteritem', { localuser: u, localhost: 'localhost', user: c, host: 'localhost', nick: c, group: 'friends', subs: 'both' });
    assert.equal(r.status, 200, r.text);
  }
}

export function publishIq(node: string, item: Element, id?: string, options?: Record<string, string>): Element {
  const pubsub = xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', id ? { id } : {}, item)));
  if (options) pubsub.append(xml('publish-options', {}, dataForm(`${NS_PUBSUB}#publish-options`, options)));
  return xml('iq', { type: 'set' }, pubsub);
}

export function dataForm(formType: string, fields: Record<string, string>, type = 'submit'): Element {
  const form = xml('x', { xmlns: 'jabber:x:data', type }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)));
  for (const [k, v] of Object.entries(fields)) form.append(xml('field', { var: k }, xml('value', {}, v)));
  return form;
}

export function itemsIq(to: string, node: string, attrs: Record<string, string> = {}, ...items: Element[]): Element {
  return xml('iq', { type: 'get', to }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node, ...attrs }, ...items)));
}

/** The items of an items result. */
export function itemsOf(result: Element): Element[] {
  return result.getChild('pubsub', NS_PUBSUB)!.getChild('items')!.getChildren('item');
}

/** An event notification for a node (with an item of this id, when given). */
export function isEvent(node: string, from: string, itemId?: string) {
  return (el: Element) => {
    if (el.name !== 'message' || el.attrs.from !== from) return false;
    const items = el.getChild('event', NS_EVENT)?.getChild('items');
    if (!items || items.attrs.node !== node) return false;
    return itemId === undefined || items.getChildren('item').some((i: Element) => i.attrs.id === itemId);
  };
}

/** The error of a failed IQ reply (the iqCaller rejects with it), as condition and pubsub#errors condition. */
export async function pubsubFailure(c: TestClient, iq: Element): Promise<{ condition: string; app: string | undefined; type: string }> {
  try {
    await c.iq(iq);
  } catch (err: any) {
    const error: Element | undefined = err.element;
    const app = error?.getChildElements().find((e: Element) => e.attrs.xmlns === NS_ERRORS)?.name;
    return { condition: err.condition, app, type: err.type };
  }
  throw new Error('the IQ was expected to fail');
}
