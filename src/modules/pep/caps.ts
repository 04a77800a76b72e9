import { createHash } from 'node:crypto';
import type { Element } from '../../xmpp/xml/element.js';

export const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_DATA = 'jabber:x:data';

/** XEP-0115 hash names (IANA) and Node's names for them; others are not verified. */
const ALGORITHMS: Readonly<Record<string, string>> = { 'sha-1': 'sha1', 'sha-224': 'sha224', 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

export function supportedHash(name: string): boolean {
  return Object.hasOwn(ALGORITHMS, name);
}

/** i;octet ordering (XEP-0115 §5.1): by UTF-8 bytes, not by UTF-16 units. */
function octetSort(values: string[]): string[] {
  return values.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/**
 * The verification string of a disco#info result (XEP-0115 §5.1), or undefined when the result
 * must not be used for caps (§5.4: duplicate identities or features, a form with several
 * FORM_TYPE values or the same FORM_TYPE twice).
 */
export function verificationString(query: Element): string | undefined {
  const identities = query.getChildren('identity').map((i) => `${i.attrs.category ?? ''}/${i.attrs.type ?? ''}/${i.attrs['xml:lang'] ?? ''}/${i.attrs.name ?? ''}`);
  const features = query.getChildren('feature').map((f) => f.attrs.var ?? '');
  if (new Set(identities).size !== identities.length || new Set(features).size !== features.length) return undefined;
  let s = '';
  for (const i of octetSort(identities)) s += `${i}<`;
  for (const f of octetSort(features)) s += `${f}<`;
  const forms: { type: string; fields: { name: string; values: string[] }[] }[] = [];
  for (const form of query.getChildren('x', NS_DATA)) {
    const fields = form.getChildren('field');
    const typeFields = fields.filter((f) => f.attrs.var === 'FORM_TYPE');
    if (typeFields.length === 0) continue; // a form without FORM_TYPE is ignored
    const typeValues = typeFields[0]!.getChildren('value');
    if (typeFields.length > 1 || typeValues.length !== 1) return undefined;
    forms.push({
      type: typeValues[0]!.text(),
      fields: fields.filter((f) => f.attrs.var !== 'FORM_TYPE').map((f) => ({ name: f.attrs.var ?? '', values: f.getChildren('value').map((v) => v.text()) })),
    });
  }
  if (new Set(forms.map((f) => f.type)).size !== forms.length) return undefined;
  const byType = new Map(forms.map((f) => [f.type, f]));
  for (const type of octetSort(forms.map((f) => f.type))) {
    s += `${type}<`;
    const fields = byType.get(type)!.fields;
    const byName = new Map<string, string[]>();
    for (const f of fields) byName.set(f.name, f.values);
    for (const name of octetSort([...byName.keys()])) {
      s += `${name}<`;
      for (const v of octetSort([...byName.get(name)!])) s += `${v}<`;
    }
  }
  return s;
}

/** The `ver` of a disco#info result under a hash (base64 of the hash of the verification string). */
export function capsVer(query: Element, hash: string): string | undefined {
  const algorithm = ALGORITHMS[hash];
  const s = verificationString(query);
  if (algorithm === undefined || s === undefined) return undefined;
  return createHash(algorithm).update(s, 'utf8').digest('base64');
}

/** What a client's presence says of its capabilities. */
export interface CapsClaim {
  /** The cache key: the hash and the ver when the claim can be verified, else the node and ver. */
  readonly key: string;
  readonly node: string;
  readonly ver: string;
  /** Undefined for a legacy claim (no hash: not verifiable, not shared between clients). */
  readonly hash: string | undefined;
}

/** The caps claim of a presence, if it has a usable one. */
export function capsClaim(presence: Element): CapsClaim | undefined {
  const c = presence.getChild('c', NS_CAPS);
  if (!c) return undefined;
  const { node, ver, hash } = c.attrs;
  if (!node || !ver || node.length > 1024 || ver.length > 1024) return undefined;
  if (hash !== undefined && supportedHash(hash)) return { key: `${hash} ${ver}`, node, ver, hash };
  // A hash we cannot compute cannot be verified either: treated like a legacy claim.
  return { key: `legacy ${node}#${ver}`, node, ver, hash: undefined };
}

/** Verified feature sets by `hash ver`, the least recently used dropped beyond `max()`. */
export class CapsCache {
  private readonly entries = new Map<string, ReadonlySet<string>>();

  constructor(private readonly max: () => number) {}

  get(key: string): ReadonlySet<string> | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, features: ReadonlySet<string>): void {
    this.entries.delete(key);
    this.entries.set(key, features);
    const max = this.max();
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
