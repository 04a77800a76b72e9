/**
 * A streaming XML tokenizer for XMPP's restricted XML profile (RFC 6120 §11).
 *
 * It is written for the server's hot path: text and attribute values are found with
 * `indexOf` instead of a character-by-character state machine, and a construct cut by
 * a read boundary is resumed where it stopped (never rescanned from its start), so
 * input trickled one byte at a time costs linear, not quadratic, time.
 *
 * Checked: element and attribute names, attribute syntax and uniqueness, matching end
 * tags, the five predefined entities and character references (nothing else), XML
 * characters in text and values, `]]>` in text, text outside the root, nesting depth.
 * Refused as restricted XML: comments, processing instructions (other than the XML
 * declaration at the start) and DTDs. CDATA sections are text.
 */

export type TokenErrorCondition = 'not-well-formed' | 'restricted-xml' | 'policy-violation';

export class TokenError extends Error {
  constructor(readonly condition: TokenErrorCondition, message: string) {
    super(message);
  }
}

export interface TokenHandler {
  /** `start` is the absolute offset of the tag's `<` in the input. */
  open(name: string, attrs: Record<string, string>, selfClosing: boolean, start: number): void;
  /** `end` is the absolute offset just past the tag's `>`. */
  close(name: string, end: number): void;
  text(text: string): void;
}

// XML 1.0 (5th edition) NameStartChar / NameChar, as sticky regular expressions.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = NAME_START + '\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040';
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
/** Characters that may not appear in XML text (surrogates are checked where they can arise: character references). */
const BAD_CHAR_RE = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const MAX_NAME = 1024;
const MAX_ENTITY = 12;

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function validCodePoint(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function wellFormed(message: string): TokenError {
  return new TokenError('not-well-formed', message);
}

/** Decodes entity and character references; throws on anything undefined or malformed. */
export function decodeEntities(raw: string): string {
  let amp = raw.indexOf('&');
  if (amp < 0) return raw;
  let out = '';
  let last = 0;
  while (amp >= 0) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > MAX_ENTITY) throw wellFormed('unterminated entity reference');
    const ref = raw.slice(amp + 1, semi);
    let value: string | undefined;
    if (ref.charCodeAt(0) === 35 /* # */) {
      const hex = ref.charCodeAt(1) === 120 /* x */;
      const digits = ref.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) throw wellFormed(`malformed character reference &${ref};`);
      const cp = parseInt(digits, hex ? 16 : 10);
      if (!validCodePoint(cp)) throw wellFormed(`character reference &${ref}; is not an XML character`);
      value = String.fromCodePoint(cp);
    } else {
      value = PREDEFINED[ref];
      if (value === undefined) throw wellFormed(`undefined entity &${ref};`);
    }
    out += raw.slice(last, amp) + value;
    last = semi + 1;
    amp = raw.indexOf('&', last);
  }
  return out + raw.slice(last);
}

/**
 * A start tag cut by the end of the input, resumed on the next write. What was parsed of it is kept
 * here and dropped from the buffer, which then starts where parsing resumes: the start of the
 * attribute that was incomplete, or past the white space read. A tag trickled in small pieces is
 * thus never copied or scanned again from its start.
 */
interface PartialTag {
  name: string;
  attrs: Record<string, string>;
  /** Absolute offset of the tag's `<`. */
  tagStart: number;
  /** White space was read right before the resume point (attributes must be separated by it). */
  spaced: boolean;
  /** Where to resume looking for the closing quote of an incomplete attribute value, relative to the resume point. */
  quoteFrom: number;
}

export class XmlTokenizer {
  private buf = '';
  /** Absolute offset of buf[0] in the whole input. */
  private base = 0;
  private stack: string[] = [];
  private partial: PartialTag | undefined;
  /** Where to resume searching for the end of an incomplete end tag, CDATA section or declaration (relative to buf). */
  private searchFrom = 0;
  /** Input parked while waiting for `awaiting`: joined only once a chunk contains it (keeps trickled input linear). */
  private parts: string[] = [];
  private partsLength = 0;
  private awaiting: string | undefined;
  private rootClosed = false;
  private seenAnything = false;
  /** Where an XML declaration may stand: the very start, or just after a byte order mark. */
  private declarationAt = 0;

  constructor(private readonly handler: TokenHandler, private readonly maxDepth = 256) {}

  get depth(): number {
    return this.stack.length;
  }

  /** Absolute offset of the first character not yet consumed. */
  get consumed(): number {
    return this.base;
  }

  /** Characters held back, waiting for the rest of a construct. */
  get buffered(): number {
    return this.buf.length + this.partsLength;
  }

  /** Absolute offset where the unfinished construct being read began (a start tag cut by a read boundary counts from its `<`). */
  get heldFrom(): number {
    return this.partial ? this.partial.tagStart : this.base;
  }

  /** Something unfinished is held: a cut start tag or buffered characters. */
  get pending(): boolean {
    return this.partial !== undefined || this.buffered > 0;
  }

  private stopped = false;

  /** Stops at the next token boundary; write() then returns what it did not read. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Feeds text; throws TokenError when the input is not acceptable. Returns the unread rest
   * when stop() was called by a handler during this write.
   */
  write(chunk: string): string | undefined {
    if (this.awaiting !== undefined) {
      if (chunk.indexOf(this.awaiting) < 0) {
        this.parts.push(chunk);
        this.partsLength += chunk.length;
        return undefined;
      }
      this.awaiting = undefined;
      if (this.parts.length) {
        chunk = this.parts.join('') + chunk;
        this.parts = [];
        this.partsLength = 0;
      }
    }
    const s = this.buf.length === 0 ? chunk : this.buf + chunk;
    const n = s.length;
    let i = 0;
    if (!this.seenAnything && n > 0) {
      this.seenAnything = true;
      if (s.charCodeAt(0) === 0xfeff) i = this.declarationAt = 1; // byte order mark
    }
    if (this.partial) {
      // The buffer starts inside a cut start tag, where its parsing resumes.
      const next = this.startTag(s, 0, n);
      if (next < 0) return this.hold(s, this.keepFrom);
      i = next;
      this.searchFrom = 0;
      if (this.stopped) return s.slice(i);
    }
    while (i < n) {
      if (s.charCodeAt(i) !== 60 /* < */) {
        const lt = s.indexOf('<', i);
        let end = lt < 0 ? n : lt;
        if (lt < 0) {
          // Hold back an entity reference cut by the end of the input.
          const amp = s.lastIndexOf('&', n - 1);
          if (amp >= i && s.indexOf(';', amp) < 0) {
            if (n - amp > MAX_ENTITY) throw wellFormed('unterminated entity reference');
            end = amp;
            this.awaiting = ';';
          }
        }
        if (end > i) this.text(s.slice(i, end));
        i = end;
        if (lt < 0) break;
        continue;
      }
      const next = this.markup(s, i, n);
      if (next < 0) return this.hold(s, this.partial ? this.keepFrom : i); // incomplete
      i = next;
      this.searchFrom = 0;
      if (this.stopped) return s.slice(i);
    }
    return this.hold(s, i);
  }

  /** Where the buffer must resume after a cut start tag (set by suspend). */
  private keepFrom = 0;

  /** Keeps s from index `keep` on for the next write. */
  private hold(s: string, keep: number): undefined {
    const n = s.length;
    this.base += keep;
    this.buf = keep === 0 ? s : keep >= n ? '' : s.slice(keep);
    if (keep > 0 && this.partial === undefined) this.searchFrom = Math.max(0, this.searchFrom - keep);
    return undefined;
  }

  private text(t: string): void {
    if (this.stack.length === 0) {
      for (let k = 0; k < t.length; k++) {
        if (!isWs(t.charCodeAt(k))) throw wellFormed(this.rootClosed ? 'text after the end of the stream' : 'text before the stream header');
      }
      return;
    }
    if (BAD_CHAR_RE.test(t)) throw wellFormed('text holds a character that XML does not allow');
    if (t.includes(']]>')) throw wellFormed("']]>' in text");
    let out = decodeEntities(t);
    if (out.includes('\r')) out = out.replace(/\r\n?/g, '\n');
    this.handler.text(out);
  }

  /** Parses the markup at s[i] === '<'; returns the index after it, or -1 when the input ends first. */
  private markup(s: string, i: number, n: number): number {
    if (i + 1 >= n) return -1;
    const c1 = s.charCodeAt(i + 1);
    if (c1 === 47 /* / */) return this.endTag(s, i, n);
    if (c1 === 33 /* ! */) return this.bang(s, i, n);
    if (c1 === 63 /* ? */) return this.declaration(s, i, n);
    if (this.rootClosed) throw wellFormed('content after the end of the stream');
    return this.startTag(s, i, n);
  }

  /**
   * Parses a start tag at s[i] === '<', or, when a cut tag is being resumed, from s[i] on where
   * its parsing stopped. Returns the index after the tag, or -1 when the input ends first.
   */
  private startTag(s: string, i: number, n: number): number {
    let name: string;
    let attrs: Record<string, string>;
    let p: number;
    let quoteFrom = 0;
    let spaced = false;
    let tagStart: number;
    const resumed = this.partial;
    if (resumed) {
      this.partial = undefined;
      name = resumed.name;
      attrs = resumed.attrs;
      tagStart = resumed.tagStart;
      p = i;
      quoteFrom = i + resumed.quoteFrom;
      spaced = resumed.spaced;
    } else {
      tagStart = this.base + i;
      NAME_RE.lastIndex = i + 1;
      const m = NAME_RE.exec(s);
      if (!m) throw wellFormed('invalid element name');
      name = m[0];
      p = i + 1 + name.length;
      if (p >= n) {
        if (name.length > MAX_NAME) throw wellFormed('element name too long');
        return -1; // the name may go on
      }
      attrs = {};
    }
    for (;;) {
      const wsStart = p;
      while (p < n && isWs(s.charCodeAt(p))) p++;
      spaced ||= p > wsStart;
      if (p >= n) return this.suspend(name, attrs, tagStart, p, 0, spaced);
      const c = s.charCodeAt(p);
      if (c === 62 /* > */) {
        this.opened(name, attrs, false, tagStart, p + 1);
        return p + 1;
      }
      if (c === 47 /* / */) {
        if (p + 1 >= n) return this.suspend(name, attrs, tagStart, p, 0, spaced);
        if (s.charCodeAt(p + 1) !== 62) throw wellFormed(`malformed start tag <${name}>`);
        this.opened(name, attrs, true, tagStart, p + 2);
        return p + 2;
      }
      if (!spaced) throw wellFormed(`attributes of <${name}> must be separated by white space`);
      const attrStart = p;
      NAME_RE.lastIndex = p;
      const m = NAME_RE.exec(s);
      if (!m) throw wellFormed(`invalid attribute name in <${name}>`);
      const attr = m[0];
      // A cut attribute is parsed again from its name: the name's length bounds that work.
      if (attr.length > MAX_NAME) throw wellFormed(`attribute name too long in <${name}>`);
      p += attr.length;
      while (p < n && isWs(s.charCodeAt(p))) p++;
      if (p >= n) return this.suspend(name, attrs, tagStart, attrStart, 0, true);
      if (s.charCodeAt(p) !== 61 /* = */) throw wellFormed(`attribute ${attr} of <${name}> has no value`);
      p++;
      while (p < n && isWs(s.charCodeAt(p))) p++;
      if (p >= n) return this.suspend(name, attrs, tagStart, attrStart, 0, true);
      const quote = s.charCodeAt(p);
      if (quote !== 34 && quote !== 39) throw wellFormed(`attribute ${attr} of <${name}> is not quoted`);
      const q = s.indexOf(quote === 34 ? '"' : "'", Math.max(p + 1, quoteFrom));
      if (q < 0) {
        this.awaiting = quote === 34 ? '"' : "'";
        return this.suspend(name, attrs, tagStart, attrStart, n - attrStart, true);
      }
      quoteFrom = 0;
      let value = s.slice(p + 1, q);
      if (value.includes('<')) throw wellFormed(`'<' in the value of attribute ${attr}`);
      if (BAD_CHAR_RE.test(value)) throw wellFormed(`attribute ${attr} holds a character that XML does not allow`);
      value = decodeEntities(value);
      if (/[\t\n\r]/.test(value)) value = value.replace(/\r\n|[\t\n\r]/g, ' ');
      if (Object.prototype.hasOwnProperty.call(attrs, attr)) throw wellFormed(`attribute ${attr} repeated in <${name}>`);
      if (attr === '__proto__') throw wellFormed('attribute name __proto__ is not accepted');
      attrs[attr] = value;
      p = q + 1;
      spaced = false;
    }
  }

  /** Records a cut start tag; the buffer is kept from `resumeAt` (an index into the current input). */
  private suspend(name: string, attrs: Record<string, string>, tagStart: number, resumeAt: number, quoteFrom: number, spaced: boolean): number {
    this.partial = { name, attrs, tagStart, quoteFrom, spaced };
    this.keepFrom = resumeAt;
    return -1;
  }

  /** `tagStart` is absolute; `end` is an index into the current input. */
  private opened(name: string, attrs: Record<string, string>, selfClosing: boolean, tagStart: number, end: number): void {
    if (!selfClosing) {
      if (this.stack.length >= this.maxDepth) throw new TokenError('policy-violation', `elements nested deeper than ${this.maxDepth}`);
      this.stack.push(name);
    }
    this.handler.open(name, attrs, selfClosing, tagStart);
    if (selfClosing) this.closed(name, this.base + end);
  }

  private closed(name: string, end: number): void {
    if (this.stack.length === 0) this.rootClosed = true;
    this.handler.close(name, end);
  }

  private endTag(s: string, i: number, n: number): number {
    const gt = s.indexOf('>', Math.max(i + 2, this.searchFrom));
    if (gt < 0) {
      if (n - i > MAX_NAME + 3) throw wellFormed('malformed end tag');
      this.searchFrom = n;
      this.awaiting = '>';
      return -1;
    }
    let e = gt;
    while (e > i + 2 && isWs(s.charCodeAt(e - 1))) e--;
    const name = s.slice(i + 2, e);
    const open = this.stack.pop();
    if (open === undefined) throw wellFormed(`end tag </${name}> without a start tag`);
    if (open !== name) throw wellFormed(`end tag </${name}> does not match <${open}>`);
    this.closed(name, this.base + gt + 1);
    return gt + 1;
  }

  private bang(s: string, i: number, n: number): number {
    const rest = n - i;
    if (s.startsWith('<![CDATA[', i)) {
      if (this.stack.length === 0) throw wellFormed('CDATA outside the root element');
      const end = s.indexOf(']]>', Math.max(i + 9, this.searchFrom));
      if (end < 0) {
        this.searchFrom = Math.max(i + 9, n - 2);
        this.awaiting = '>';
        return -1;
      }
      const t = s.slice(i + 9, end);
      if (BAD_CHAR_RE.test(t)) throw wellFormed('CDATA holds a character that XML does not allow');
      this.handler.text(t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t);
      return end + 3;
    }
    if (s.startsWith('<!--', i)) throw new TokenError('restricted-xml', 'comments are not allowed');
    if (s.startsWith('<!DOCTYPE', i)) throw new TokenError('restricted-xml', 'DTDs are not allowed');
    // Not enough input yet to tell which construct this is.
    if (rest < 9 && ('<![CDATA['.startsWith(s.slice(i)) || '<!DOCTYPE'.startsWith(s.slice(i)) || '<!--'.startsWith(s.slice(i)))) return -1;
    throw wellFormed('malformed markup after <!');
  }

  private declaration(s: string, i: number, n: number): number {
    const end = s.indexOf('?>', Math.max(i + 2, this.searchFrom));
    if (end < 0) {
      if (n - i > 256) throw new TokenError('restricted-xml', 'processing instructions are not allowed');
      this.searchFrom = Math.max(i + 2, n - 1);
      this.awaiting = '>';
      return -1;
    }
    const isXmlDecl = /^<\?xml[ \t\r\n]/.test(s.slice(i, i + 6));
    if (!isXmlDecl || this.base + i !== this.declarationAt) {
      throw new TokenError('restricted-xml', 'processing instructions are not allowed');
    }
    return end + 2;
  }
}
