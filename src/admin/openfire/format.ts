import { Element } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';
import { bodyText, CodecError, fromElement, type Codec } from '../../http/codecs.js';

/**
 * An answer's entity, neutral between the two media types: `json` is the 1.3.0+ JSON shape (what the
 * current plugin writes), `root` the XML root element; lists become wrapper elements of items named
 * by ITEM_OF, and `{key, value}` objects in a `properties` list become attributes (JAXB's shape).
 */
export class Entity {
  constructor(
    readonly root: string,
    readonly json: unknown,
  ) {}
}

/** The XML item element of each list field (`<owners><owner>…`). */
const ITEM_OF: Record<string, string> = {
  users: 'user',
  properties: 'property',
  groups: 'group',
  owners: 'owner',
  admins: 'admin',
  members: 'member',
  outcasts: 'outcast',
  ownerGroups: 'ownerGroup',
  adminGroups: 'adminGroup',
  memberGroups: 'memberGroup',
  outcastGroups: 'outcastGroup',
  broadcastPresenceRoles: 'broadcastPresenceRole',
};

/** A collection: JSON `{[jsonKey]: items}`, XML `<root><item/>…</root>` (`<root/>` when empty). */
export function collection(root: string, item: string, jsonKey: string, items: unknown[]): Entity {
  return new Entity(root, { [jsonKey]: items, __xml: { item, items } });
}

function toXml(name: string, value: unknown, attrs = name === 'property'): Element[] {
  if (value === undefined || value === null) return [];
  const el = new Element(name);
  if (Array.isArray(value)) {
    const item = ITEM_OF[name] ?? name.replace(/s$/, '');
    for (const v of value) el.append(...toXml(item, v));
    return [el];
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (attrs) {
      for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) el.attrs[k] = String(v);
      return [el];
    }
    for (const [k, v] of Object.entries(o)) el.append(...toXml(k, v));
    return [el];
  }
  el.append(String(value));
  return [el];
}

function stripMarkers(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value) && '__xml' in value) {
    const { __xml: _, ...rest } = value as Record<string, unknown>;
    return rest;
  }
  return value;
}

function entityXml(e: Entity): string {
  const v = e.json as Record<string, unknown> | undefined;
  let el: Element;
  if (v && typeof v === 'object' && '__xml' in v) {
    const { item, items } = v.__xml as { item: string; items: unknown[] };
    el = new Element(e.root);
    for (const i of items) el.append(...toXml(item, i));
  } else {
    el = toXml(e.root, v)[0] ?? new Element(e.root);
  }
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${String(el)}`;
}

/**
 * XML as JAXB reads it: an element with attributes or children is an object (attributes under
 * `@name`, a repeated child an array), text only is its text. The root element's name is dropped.
 */
export const ofXml: Codec = {
  mediaType: 'application/xml',
  contentType: 'application/xml',
  decode(body) {
    const text = bodyText(body).replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '').trim();
    if (text === '') return undefined;
    try {
      return fromElement(parseElement(text, body.length + 1), true);
    } catch (err) {
      if (err instanceof XmlParseError) throw new CodecError(err.message);
      throw err;
    }
  },
  encode(value) {
    if (value instanceof Entity) return entityXml(value);
    throw new Error('an Openfire answer is an Entity');
  },
};

/** `text/xml` reads and writes like application/xml. */
export const ofTextXml: Codec = { ...ofXml, mediaType: 'text/xml', contentType: 'text/xml' };

export const ofJson: Codec = {
  mediaType: 'application/json',
  contentType: 'application/json',
  decode(body) {
    const text = bodyText(body).trim();
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new CodecError((err as Error).message);
    }
  },
  encode(value) {
    if (value instanceof Entity) return JSON.stringify(stripMarkers(value.json));
    throw new Error('an Openfire answer is an Entity');
  },
};

// ---- reading bodies of either JSON dialect (H38) and XML alike ---------------------------------

/** The object of a body: a 1.3.0+ single-item wrapper (`{"users":[{…}]}`) is unwrapped. */
export function objectOf(body: unknown, wrapper?: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const o = body as Record<string, unknown>;
  if (wrapper && o[wrapper] !== undefined && Object.keys(o).length === 1) {
    const inner = o[wrapper];
    const first = Array.isArray(inner) ? inner[0] : inner;
    if (first && typeof first === 'object') return first as Record<string, unknown>;
  }
  return o;
}

/** A text field: numbers and booleans as text (pre-1.3 JSON writes every scalar as a string). */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

export function int(v: unknown): number | undefined {
  const t = text(v);
  if (t === undefined || t.trim() === '') return undefined;
  const n = Number(t);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * A list field in any of its shapes: an array (1.3.0+), a wrapper object `{item: x | [x…]}` (pre-1.3
 * JSON and XML), one value alone, or nothing.
 */
export function list(v: unknown, item?: string): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.flatMap((x) => (item && x && typeof x === 'object' && !Array.isArray(x) && item in x ? list((x as Record<string, unknown>)[item]) : [x]));
  if (typeof v === 'object' && item && item in (v as Record<string, unknown>)) return list((v as Record<string, unknown>)[item]);
  return [v];
}

export function texts(v: unknown, item?: string): string[] {
  return list(v, item)
    .map(text)
    .filter((s): s is string => s !== undefined);
}

/** User properties: XML attributes (`@key`), pre-1.3 JSON (`@key`) or 1.3.0+ (`key`). */
export function properties(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const out: Record<string, string> = {};
  for (const p of list(v, 'property')) {
    if (!p || typeof p !== 'object') continue;
    const o = p as Record<string, unknown>;
    const k = text(o.key ?? o['@key']);
    const val = text(o.value ?? o['@value']);
    if (k !== undefined) out[k] = val ?? '';
  }
  return out;
}
