/**
 * XMPP addresses (JIDs), RFC 6122 (and RFC 3920 before it).
 *
 *   jid = [ localpart "@" ] domainpart [ "/" resourcepart ]
 *
 * Each part is prepared with a stringprep profile (RFC 3454):
 *   localpart    Nodeprep      (RFC 3920 Appendix A)
 *   domainpart   Nameprep      (RFC 3491), label by label, as IDNA does
 *   resourcepart Resourceprep  (RFC 3920 Appendix B)
 *
 * Parsing is on the server's hot path (every stanza's `to` and `from`), so:
 *   - parts made of printable ASCII take a fast path that needs no
 *     normalization and no table look-ups (it gives the same answer as the
 *     full profile would, see asciiFold / asciiResource);
 *   - parseJID keeps a bounded cache of results keyed by the input string.
 */
import { Buffer } from 'node:buffer';
import { isIPv6 } from 'node:net';
import {
  A_1,
  B_1,
  B_2,
  C_1_1,
  C_1_2,
  C_2_1,
  C_2_2,
  C_3,
  C_4,
  C_5,
  C_6,
  C_7,
  C_8,
  C_9,
  D_1,
  D_2,
  inRanges,
  mergeRanges,
} from './stringprep-tables.js';

/** Thrown for any malformed address or part; the message says what is wrong. */
export class JIDError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JIDError';
  }
}

/** Maximum size of each part, in bytes of UTF-8 after preparation (RFC 7622 §3.2–3.4, RFC 6122 §2.1). */
const MAX_PART_BYTES = 1023;

/** An XMPP address. Immutable; the parts are already prepared. */
export class JID {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  #bare: string | undefined;
  #full: string | undefined;
  #bareJID: JID | undefined;

  /** Takes parts that are ALREADY prepared; it checks nothing. Use parseJID for untrusted input. */
  constructor(local: string, domain: string, resource = '') {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
    // The lazily computed strings live in private fields, which freezing leaves writable.
    Object.freeze(this);
  }

  /** 'local@domain', or 'domain' when there is no localpart. */
  get bare(): string {
    return (this.#bare ??= this.local ? `${this.local}@${this.domain}` : this.domain);
  }

  /** The bare JID, followed by '/resource' when there is a resource. */
  get full(): string {
    return (this.#full ??= this.resource ? `${this.bare}/${this.resource}` : this.bare);
  }

  toString(): string {
    return this.full;
  }

  /** This address without its resource (this very object when it has none). */
  bareJID(): JID {
    if (!this.resource) return this;
    return (this.#bareJID ??= new JID(this.local, this.domain));
  }

  /** A copy with another resource, prepared with Resourceprep. Throws JIDError. */
  withResource(resource: string): JID {
    const r = preparePart(resource, RESOURCEPREP);
    if (r === this.resource) return this;
    return new JID(this.local, this.domain, r);
  }

  isBare(): boolean {
    return !this.resource;
  }

  equals(other: JID): boolean {
    return (
      this === other ||
      (other instanceof JID &&
        this.domain === other.domain &&
        this.local === other.local &&
        this.resource === other.resource)
    );
  }
}

// ---------------------------------------------------------------------------
// Parsing

const CACHE_MAX = 10_000;
/** parseJID results by input string; cleared whenever it fills up. */
const cache = new Map<string, JID>();
/** Inputs longer than this are not cached (a prepared JID has at most 3 × 1023 bytes plus separators). */
const CACHE_MAX_KEY = 4 * 3 * MAX_PART_BYTES;

/**
 * Parses and prepares an address. Throws JIDError when it is not a valid JID.
 *
 * The resource starts after the first '/' (it may itself contain '@' and '/');
 * the localpart is what precedes the first '@' before that '/'.
 */
export function parseJID(s: string): JID {
  let jid = cache.get(s);
  if (jid !== undefined) return jid;
  jid = parseUncached(s);
  if (s.length <= CACHE_MAX_KEY) {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(s, jid);
  }
  return jid;
}

/** Like parseJID, but answers undefined instead of throwing. */
export function tryParseJID(s: string): JID | undefined {
  const jid = cache.get(s);
  if (jid !== undefined) return jid;
  try {
    return parseJID(s);
  } catch (err) {
    if (err instanceof JIDError) return undefined;
    throw err;
  }
}

function parseUncached(s: string): JID {
  if (typeof s !== 'string') throw new JIDError('invalid JID: not a string');
  const slash = s.indexOf('/');
  const head = slash < 0 ? s : s.slice(0, slash);
  const at = head.indexOf('@');
  const local = at < 0 ? '' : preparePart(head.slice(0, at), NODEPREP);
  const domain = prepareDomain(at < 0 ? head : head.slice(at + 1));
  const resource = slash < 0 ? '' : preparePart(s.slice(slash + 1), RESOURCEPREP);
  return new JID(local, domain, resource);
}

/** Prepares a localpart or resourcepart that is present: must be non-empty before and after. */
function preparePart(s: string, profile: Profile): string {
  if (s.length === 0) throw new JIDError(`invalid ${profile.part}: empty`);
  // The profile's entry point also checks the length.
  const out = profile.prep(s);
  if (out.length === 0) throw new JIDError(`invalid ${profile.part}: empty after preparation`);
  return out;
}

/** Returns the prepared part, or throws when it is over MAX_PART_BYTES of UTF-8. */
function checkLength(s: string, part: string): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair is 4 for 2 units).
  if (s.length * 3 > MAX_PART_BYTES && Buffer.byteLength(s, 'utf8') > MAX_PART_BYTES) {
    throw new JIDError(`invalid ${part}: longer than ${MAX_PART_BYTES} bytes`);
  }
  return s;
}

/** IDNA label separators (RFC 3490 §3.1): full stop, ideographic, full-width and half-width ideographic full stops. */
const LABEL_SEPARATORS = /[\u3002\uFF0E\uFF61]/g;

/**
 * Prepares a domainpart (RFC 6122 §2.2): an IP literal is kept as it is
 * (IPv6 hex digits lowercased); otherwise the trailing dot is removed,
 * every label must be non-empty and is prepared with Nameprep.
 */
function prepareDomain(d: string): string {
  if (d.length === 0) throw new JIDError('invalid domainpart: empty');

  // Fast path: printable ASCII, which covers IP literals and nearly every domain.
  let ascii = true;
  for (let i = 0; i < d.length; i++) {
    if (d.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (d.charCodeAt(0) === 0x5b /* [ */) {
      const inner = d.slice(1, -1);
      if (d.charCodeAt(d.length - 1) !== 0x5d /* ] */ || !isIPv6(inner) || inner.includes('%')) {
        throw new JIDError('invalid domainpart: bad IPv6 literal');
      }
      return d.toLowerCase();
    }
    if (d.charCodeAt(d.length - 1) === 0x2e /* . */) d = d.slice(0, -1);
    if (d.length === 0) throw new JIDError('invalid domainpart: empty');
    const out = asciiFold(d, DOMAIN_ASCII_BAD, 'domainpart') as string;
    checkLabels(out);
    checkLength(out, 'domainpart');
    return out;
  }

  // Slow path: label by label, so that the bidi rule applies per label as in IDNA.
  d = d.replace(LABEL_SEPARATORS, '.');
  if (d.charCodeAt(d.length - 1) === 0x2e) d = d.slice(0, -1);
  if (d.length === 0) throw new JIDError('invalid domainpart: empty');
  const labels = d.split('.');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i].length === 0) throw new JIDError('invalid domainpart: empty label');
    const label = nameprep(labels[i]);
    if (label.length === 0) throw new JIDError('invalid domainpart: empty label after preparation');
    // Brackets are only for IP literals; a dot made by NFKC (e.g. U+2488) would split a label.
    for (let j = 0; j < label.length; j++) {
      const c = label.charCodeAt(j);
      if (c === 0x2e || c === 0x5b || c === 0x5d) {
        throw new JIDError(`invalid domainpart: prohibited character ${hex(c)}`);
      }
    }
    labels[i] = label;
  }
  const out = labels.join('.');
  checkLength(out, 'domainpart');
  return out;
}

/** Rejects empty labels in a dotted ASCII domain (leading, doubled or trailing dots). */
function checkLabels(d: string): void {
  let prevDot = true;
  for (let i = 0; i < d.length; i++) {
    const dot = d.charCodeAt(i) === 0x2e;
    if (dot && prevDot) throw new JIDError('invalid domainpart: empty label');
    prevDot = dot;
  }
  if (prevDot) throw new JIDError('invalid domainpart: empty label');
}

// ---------------------------------------------------------------------------
// Stringprep profiles

/**
 * ASCII characters that Nodeprep prohibits besides the C tables (RFC 3920 A.5):
 * " & ' / : < > @
 */
const NODE_EXTRA = [0x22, 0x26, 0x27, 0x2f, 0x3a, 0x3c, 0x3e, 0x40];

/**
 * Nameprep (RFC 3491) prohibits no ASCII: IDNA leaves that to its STD3 rules.
 * For XMPP domains this module rejects the ASCII space, the ASCII controls and
 * the same characters as Nodeprep, so nameprep() gives the same answer on its
 * ASCII fast path and on its full path.
 */
const NAME_EXTRA = NODE_EXTRA;

interface Profile {
  /** Which part of a JID the profile is for, used in error messages. */
  part: 'localpart' | 'domainpart' | 'resourcepart';
  /** Apply B.2 case folding (Nodeprep, Nameprep). */
  caseFold: boolean;
  /** Prohibited output, merged into one range table. */
  prohibited: readonly number[];
  /** The profile's entry point (fast path, then full path). */
  prep: (s: string) => string;
}

const NODEPREP: Profile = {
  part: 'localpart',
  caseFold: true,
  prohibited: mergeRanges([C_1_1, C_1_2, C_2_1, C_2_2, C_3, C_4, C_5, C_6, C_7, C_8, C_9], NODE_EXTRA),
  prep: nodeprep,
};

const NAMEPREP: Profile = {
  part: 'domainpart',
  caseFold: true,
  prohibited: mergeRanges([C_1_1, C_1_2, C_2_1, C_2_2, C_3, C_4, C_5, C_6, C_7, C_8, C_9], NAME_EXTRA),
  prep: nameprep,
};

const RESOURCEPREP: Profile = {
  part: 'resourcepart',
  caseFold: false,
  prohibited: mergeRanges([C_1_2, C_2_1, C_2_2, C_3, C_4, C_5, C_6, C_7, C_8, C_9]),
  prep: resourceprep,
};

/** Lookup tables for the ASCII fast paths: 1 = prohibited. */
function asciiTable(extra: readonly number[]): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0; c <= 0x20; c++) t[c] = 1; // C.2.1 controls and C.1.1 space
  t[0x7f] = 1; // C.2.1 DELETE
  for (const c of extra) t[c] = 1;
  return t;
}
const NODE_ASCII_BAD = asciiTable(NODE_EXTRA);
const NAME_ASCII_BAD = asciiTable(NAME_EXTRA);
/** Domains outside IP literals may not hold brackets either. */
const DOMAIN_ASCII_BAD = asciiTable([...NAME_EXTRA, 0x5b, 0x5d]);

/**
 * Fast path of Nodeprep/Nameprep for ASCII input: undefined when `s` holds a
 * non-ASCII character. For ASCII, B.1 maps nothing, B.2 is plain lowercasing,
 * NFKC changes nothing, no character is unassigned or RandALCat, and the
 * prohibited characters are the controls, space and the profile's extras.
 */
function asciiFold(s: string, bad: Uint8Array, part: string): string | undefined {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    if (bad[c] === 1) throw new JIDError(`invalid ${part}: prohibited character ${hex(c)}`);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  return upper ? s.toLowerCase() : s;
}

/** Fast path of Resourceprep: printable ASCII (space included) maps to itself. */
function asciiResource(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    if (c < 0x20 || c === 0x7f) throw new JIDError(`invalid resourcepart: prohibited character ${hex(c)}`);
  }
  return s;
}

/** Nodeprep (RFC 3920 Appendix A), for localparts. Throws JIDError. */
export function nodeprep(s: string): string {
  return checkLength(asciiFold(s, NODE_ASCII_BAD, 'localpart') ?? stringprep(s, NODEPREP), 'localpart');
}

/**
 * Nameprep (RFC 3491) applied to the whole string, with the ASCII
 * restrictions described at NAME_EXTRA. Throws JIDError. (parseJID applies it
 * label by label, so that the bidi rule holds per label as in IDNA.)
 */
export function nameprep(s: string): string {
  return checkLength(asciiFold(s, NAME_ASCII_BAD, 'domainpart') ?? stringprep(s, NAMEPREP), 'domainpart');
}

/** Resourceprep (RFC 3920 Appendix B), for resourceparts. Throws JIDError. */
export function resourceprep(s: string): string {
  return checkLength(asciiResource(s) ?? stringprep(s, RESOURCEPREP), 'resourcepart');
}

const B1_SET: ReadonlySet<number> = new Set(B_1);
const B2_MAP: ReadonlyMap<number, string> = new Map(B_2);

/**
 * Stringprep requires NFKC as of Unicode 3.2, while String.prototype.normalize
 * follows the Unicode version of the running engine (15+ for Node 20). For
 * characters assigned in 3.2 the two differ only on these five CJK
 * compatibility ideographs, whose decompositions Corrigendum #4 (Unicode 4.0)
 * corrected; mapping them to their 3.2 decompositions before normalizing gives
 * the 3.2 result (they are singletons: starters that neither compose nor
 * reorder). What remains is Corrigendum #5's change for some malformed
 * sequences of combining marks, which no real name contains. Unassigned code
 * points are rejected beforehand, so newer characters never reach NFKC.
 */
const NFKC_3_2_FIXUPS: ReadonlyMap<number, string> = new Map([
  [0x2f868, '\u{2136A}'],
  [0x2f874, '\u5F33'],
  [0x2f91f, '\u43AB'],
  [0x2f95f, '\u7AAE'],
  [0x2f9bf, '\u4D57'],
]);

/** The full stringprep algorithm (RFC 3454 §2) for one profile. */
function stringprep(s: string, profile: Profile): string {
  const part = profile.part;

  // 1. Map (B.1 for every profile, B.2 when case folding); reject unassigned input (A.1).
  let mapped = '';
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    let ch: string;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        ch = s.slice(i, i + 2);
        i++;
      } else {
        throw new JIDError(`invalid ${part}: unpaired surrogate ${hex(cp)}`);
      }
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      throw new JIDError(`invalid ${part}: unpaired surrogate ${hex(cp)}`);
    } else {
      ch = s[i];
    }
    if (inRanges(A_1, cp)) throw new JIDError(`invalid ${part}: unassigned code point ${hex(cp)}`);
    if (B1_SET.has(cp)) continue;
    if (profile.caseFold) {
      const m = B2_MAP.get(cp);
      if (m !== undefined) {
        mapped += m;
        continue;
      }
    }
    if (cp >= 0x2f868) {
      const f = NFKC_3_2_FIXUPS.get(cp);
      if (f !== undefined) ch = f;
    }
    mapped += ch;
  }

  // 2. Normalize (NFKC, see NFKC_3_2_FIXUPS about the Unicode version).
  const out = mapped.normalize('NFKC');

  // 3. Prohibit; 4. check bidi (RFC 3454 §6) — in one pass over the output.
  let hasRandAL = false;
  let hasL = false;
  let firstRandAL = false;
  let lastRandAL = false;
  let first = true;
  for (let i = 0; i < out.length; i++) {
    const cp = out.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    if (inRanges(profile.prohibited, cp)) throw new JIDError(`invalid ${part}: prohibited character ${hex(cp)}`);
    if (inRanges(A_1, cp)) throw new JIDError(`invalid ${part}: unassigned code point ${hex(cp)}`);
    const randAL = inRanges(D_1, cp);
    if (randAL) hasRandAL = true;
    else if (!hasL && inRanges(D_2, cp)) hasL = true;
    if (first) {
      firstRandAL = randAL;
      first = false;
    }
    lastRandAL = randAL;
  }
  if (hasRandAL) {
    if (hasL) throw new JIDError(`invalid ${part}: bidi violation (mixes right-to-left and left-to-right characters)`);
    if (!firstRandAL || !lastRandAL) {
      throw new JIDError(`invalid ${part}: bidi violation (right-to-left text must start and end with a right-to-left character)`);
    }
  }
  return out;
}

function hex(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}
