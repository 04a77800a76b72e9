// A XEP-0313 client for tests: builds a query (form + RSM), sends it from a real client and
// collects the result messages that arrived before the IQ result.
import type { Element } from '@xmpp/xml';
import { xml, type TestClient } from './client.js';

export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface MamQuery {
  to?: string;
  with?: string;
  start?: string;
  end?: string;
  afterId?: string;
  beforeId?: string;
  ids?: string[];
  fulltext?: string;
  max?: number;
  after?: string;
  /** '' asks for the last page. */
  before?: string;
  flip?: boolean;
}

export interface MamPage {
  /** Each result's id and the forwarded message's body, in the order received. */
  items: { id: string; body: string | undefined; message: Element; stamp: string | undefined }[];
  fin: Element;
  complete: boolean;
  first?: string;
  last?: string;
  count?: number;
}

let seq = 0;

export function mamQueryIq(q: MamQuery, queryid: string): Element {
  const fields: Element[] = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM))];
  const field = (name: string, ...values: string[]) => fields.push(xml('field', { var: name }, ...values.map((v) => xml('value', {}, v))));
  if (q.with !== undefined) field('with', q.with);
  if (q.start !== undefined) field('start', q.start);
  if (q.end !== undefined) field('end', q.end);
  if (q.afterId !== undefined) field('after-id', q.afterId);
  if (q.beforeId !== undefined) field('before-id', q.beforeId);
  if (q.ids !== undefined) field('ids', ...q.ids);
  if (q.fulltext !== undefined) field('{urn:xmpp:fulltext:0}fulltext', q.fulltext);
  const set: Element[] = [];
  if (q.max !== undefined) set.push(xml('max', {}, String(q.max)));
  if (q.after !== undefined) set.push(xml('after', {}, q.after));
  if (q.before !== undefined) set.push(xml('before', {}, q.before));
  return xml(
    'iq',
    { type: 'set', ...(q.to ? { to: q.to } : {}) },
    xml(
      'query',
      { xmlns: NS_MAM, queryid },
      xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, ...fields),
      set.length ? xml('set', { xmlns: NS_RSM }, ...set) : undefined,
      q.flip ? xml('flip-page') : undefined,
    ),
  );
}

export async function mamQuery(c: TestClient, q: MamQuery = {}): Promise<MamPage> {
  const queryid = `q${++seq}`;
  const before = c.received.length;
  const res = await c.iq(mamQueryIq(q, queryid));
  const fin = res.getChild('fin', NS_MAM);
  if (!fin) throw new Error(`no fin in ${res.toString()}`);
  const items = c.received
    .slice(before)
    .map((m) => m.getChild('result', NS_MAM))
    .filter((r): r is Element => r !== undefined && r.attrs.queryid === queryid)
    .map((r) => {
      const fwd = r.getChild('forwarded', 'urn:xmpp:forward:0')!;
      const message = fwd.getChild('message')!;
      return { id: r.attrs.id as string, body: message.getChildText('body') ?? undefined, message, stamp: fwd.getChild('delay')?.attrs.stamp };
    });
  const set = fin.getChild('set', NS_RSM);
  const countText = set?.getChildText('count');
  return {
    items,
    fin,
    complete: fin.attrs.complete === 'true',
    first: set?.getChildText('first') ?? undefined,
    last: set?.getChildText('last') ?? undefined,
    count: countText ? Number(countText) : undefined,
  };
}

/** A chat message with a body (and an origin-id when given). */
export function chat(to: string, body: string, originId?: string): Element {
  return xml('message', { to, type: 'chat', id: originId ?? `m${++seq}` }, xml('body', {}, body), originId ? xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: originId }) : undefined);
}
