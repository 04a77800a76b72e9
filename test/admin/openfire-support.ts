import { parseElement } from '../../src/xmpp/xml/parse.js';
import type { Element } from '../../src/xmpp/xml/element.js';
import { startParley, type Parley } from '../support/harness.js';

export const SECRET = 's3cretKey';
export const PREFIX = '/plugins/restapi/v1';

export interface OfAnswer {
  status: number;
  contentType: string | null;
  text: string;
  /** The JSON body (JSON answers). */
  json?: any;
  /** The root element (XML answers). */
  xml?: Element;
}

export interface OfRequest {
  /** A JSON body (sent as application/json) or an XML text (sent as application/xml). */
  body?: unknown;
  /** Ask for JSON answers. */
  json?: boolean;
  /** The Authorization header; the shared secret by default, null for none. */
  auth?: string | null;
  headers?: Record<string, string>;
}

/** One Openfire REST API call over real HTTP. */
export async function of(p: Parley, method: string, path: string, r: OfRequest = {}): Promise<OfAnswer> {
  const headers: Record<string, string> = { ...r.headers };
  const auth = r.auth === undefined ? SECRET : r.auth;
  if (auth !== null) headers.authorization = auth;
  if (r.json) headers.accept = 'application/json';
  let body: string | undefined;
  if (r.body !== undefined) {
    if (typeof r.body === 'string') {
      body = r.body;
      headers['content-type'] ??= 'application/xml';
    } else {
      body = JSON.stringify(r.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(`http://127.0.0.1:${p.ports.http}${PREFIX}${path}`, { method, headers, body });
  // fetch undoes a gzip Content-Encoding itself.
  const text = await res.text();
  const out: OfAnswer = { status: res.status, contentType: res.headers.get('content-type'), text };
  if (text && out.contentType?.includes('json')) out.json = JSON.parse(text);
  else if (text && out.contentType?.includes('xml')) out.xml = parseElement(text.replace(/^<\?xml[^?]*\?>/, ''));
  return out;
}

export const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

export function startOpenfire(openfire: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<Parley> {
  return startParley({ openfire: { enabled: true, secret: SECRET, ...openfire }, ...config });
}
