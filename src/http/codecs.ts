import { Element } from '../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../xmpp/xml/parse.js';

/** A request body that its codec cannot read; the dialect's error mapping words the answer. */
export class CodecError extends Error {}

/** How a body is read from bytes and written back, for one media type. */
export interface Codec<T = unknown> {
  /** The media type matched against Content-Type and Accept (`application/json`). */
  readonly mediaType: string;
  /** The Content-Type header written with an encoded body. */
  readonly contentType: string;
  /** Throws CodecError on a body it cannot read. */
  decode(body: Buffer): T;
  encode(value: unknown): string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 text of a body; CodecError on invalid bytes. */
export function bodyText(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new CodecError('invalid UTF-8');
  }
}

export const json: Codec = {
  mediaType: 'application/json',
  contentType: 'application/json',
  decode(body) {
    const text = bodyText(body);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new CodecError((err as Error).message);
    }
  },
  encode: (value) => JSON.stringify(value),
};

/**
 * XML bodies as plain objects, the way JAXB-style REST APIs (Openfire's) write them: an element with
 * element children is an object of its children by name (a repeated name becomes an array), an element
 * with text only is its text, and the root element's name is dropped on reading. Attributes are ignored.
 * Encoding takes `{root: value}`: one key, the root element's name.
 */
export const xml: Codec = {
  mediaType: 'application/xml',
  contentType: 'application/xml',
  decode(body) {
    const text = bodyText(body).replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '');
    let root: Element;
    try {
      root = parseElement(text.trim(), body.length + 1);
    } catch (err) {
      if (err instanceof XmlParseError) throw new CodecError(err.message);
      throw err;
    }
    return fromElement(root);
  },
  encode(value) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length !== 1) {
      throw new Error('an XML body is an object with one key, the root element');
    }
    const [name, inner] = Object.entries(value)[0]!;
    return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${toElements(name, inner).map(String).join('')}`;
  },
};

/**
 * An element as a plain value: its children by name (a repeated name becomes an array), or its text
 * when it has none. With `attributes`, attributes (namespace declarations aside) are members too,
 * named `@<name>` (Openfire's bodies carry properties as attributes).
 */
export function fromElement(el: Element, attributes = false): unknown {
  const children = el.elements();
  const attrs = attributes ? Object.entries(el.attrs).filter(([k]) => k !== 'xmlns' && !k.startsWith('xmlns:')) : [];
  if (children.length === 0 && attrs.length === 0) return el.text();
  const out: Record<string, unknown> = {};
  for (const [k, v] of attrs) out[`@${k}`] = v;
  for (const c of children) {
    const v = fromElement(c, attributes);
    const prev = out[c.name];
    if (prev === undefined) out[c.name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[c.name] = [prev, v];
  }
  return out;
}

function toElements(name: string, value: unknown): Element[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => toElements(name, v));
  const el = new Element(name);
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) el.append(...toElements(k, v));
  } else {
    el.append(String(value));
  }
  return [el];
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * The codec an Accept header prefers among those offered (the first offered is the default):
 * highest q wins, then the more specific range, then the offered order. Undefined when the header
 * accepts none of them.
 */
export function negotiate(accept: string | undefined, offered: readonly Codec[]): Codec | undefined {
  if (offered.length === 0) return undefined;
  if (!accept || offered.length === 1) return offered[0];
  let best: Codec | undefined;
  let bestQ = 0;
  let bestSpecificity = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith('q=')) q = Number(p.slice(2)) || 0;
    if (q <= 0) continue;
    const [type, sub] = range.split('/');
    const specificity = type === '*' ? 0 : sub === '*' ? 1 : 2;
    for (const c of offered) {
      const [ct, cs] = c.mediaType.split('/');
      const fits = type === '*' || (type === ct && (sub === '*' || sub === cs));
      if (!fits) continue;
      if (q > bestQ || (q === bestQ && specificity > bestSpecificity)) {
        best = c;
        bestQ = q;
        bestSpecificity = specificity;
      }
      break;
    }
  }
  return best;
}
