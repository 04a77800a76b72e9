import { Element } from './element.js';
import { TokenError, XmlTokenizer, type TokenHandler } from './tokenizer.js';

export type StreamErrorCondition = 'not-well-formed' | 'restricted-xml' | 'policy-violation';

export interface StreamParserEvents {
  /** The stream header (`<stream:stream>` over TCP, `<open/>` over WebSocket). */
  onStreamStart(name: string, attrs: Record<string, string>): void;
  onStanza(el: Element): void;
  /** The stream's closing tag (`</stream:stream>`), or `<close/>` over WebSocket. */
  onStreamEnd(): void;
  onError(condition: StreamErrorCondition, text: string): void;
}

export interface StreamParserOptions {
  /** Largest top-level element accepted, in characters of XML. */
  maxStanzaSize: number;
  /**
   * `stream`: one XML document whose root is the stream header (TCP, TLS).
   * `framed`: a sequence of complete top-level elements (WebSocket, RFC 7395);
   * `<open/>` and `<close/>` become stream start and end.
   */
  mode?: 'stream' | 'framed';
  /** Deepest element nesting accepted (default 64); deeper is a policy violation. */
  maxDepth?: number;
}

const FRAMING_NS = 'urn:ietf:params:xml:ns:xmpp-framing';

class Abort extends Error {}

/**
 * Incremental XMPP stream parser: turns text into stream events, enforcing the restricted
 * XML profile of RFC 6120 §11, a stanza size limit and a nesting limit.
 */
export class StreamParser implements TokenHandler {
  private tokenizer!: XmlTokenizer;
  private depth = 0;
  private current: Element | undefined;
  /** Absolute offset of the `<` of the stanza being read. */
  private stanzaStart = 0;
  private failed = false;
  private skipClose = false;
  private readonly framed: boolean;

  constructor(private readonly events: StreamParserEvents, private readonly opts: StreamParserOptions) {
    this.framed = opts.mode === 'framed';
    this.freshTokenizer();
  }

  private freshTokenizer(): void {
    // +2: the stream root (or the synthetic framing root) and the stanza itself sit above the limit's levels.
    this.tokenizer = new XmlTokenizer(this, (this.opts.maxDepth ?? 64) + 2);
    if (this.framed) this.tokenizer.write('<framing>');
  }

  private report(condition: StreamErrorCondition, text: string): void {
    if (!this.failed) {
      this.failed = true;
      this.events.onError(condition, text);
    }
  }

  private fail(condition: StreamErrorCondition, text: string): never {
    this.report(condition, text);
    throw new Abort();
  }

  open(name: string, attrs: Record<string, string>, selfClosing: boolean, start: number): void {
    const depth = this.depth++;
    if (this.framed) {
      if (depth === 0) return; // synthetic <framing> root
      if (depth === 1) {
        if (name === 'open') {
          // The stream checks the namespace (invalid-namespace).
          this.depth--;
          if (!selfClosing) this.fail('not-well-formed', '<open/> must be empty');
          this.skipClose = true;
          this.events.onStreamStart(name, attrs);
          return;
        }
        if (name === 'close' && attrs.xmlns === FRAMING_NS) {
          this.depth--;
          this.skipClose = true;
          this.events.onStreamEnd();
          return;
        }
      }
    } else if (depth === 0) {
      this.events.onStreamStart(name, attrs);
      return;
    }
    const el = new Element(name, attrs);
    if (depth === 1) {
      this.stanzaStart = start;
    } else {
      el.parent = this.current;
      this.current!.children.push(el);
    }
    this.current = el;
  }

  close(_name: string, end: number): void {
    if (this.skipClose) {
      this.skipClose = false;
      return;
    }
    const depth = --this.depth;
    if (depth === 0) {
      if (!this.framed) this.events.onStreamEnd();
      return;
    }
    const el = this.current!;
    if (depth === 1) {
      this.current = undefined;
      if (end - this.stanzaStart > this.opts.maxStanzaSize) this.tooBig();
      el.parent = undefined;
      this.events.onStanza(el);
    } else {
      this.current = el.parent;
    }
  }

  text(t: string): void {
    const el = this.current;
    if (this.depth < 2 || !el) return; // white space between stanzas
    const children = el.children;
    const last = children.length - 1;
    if (last >= 0 && typeof children[last] === 'string') children[last] += t;
    else children.push(t);
  }

  private tooBig(): never {
    this.fail('policy-violation', `stanza exceeds the limit of ${this.opts.maxStanzaSize} bytes`);
  }

  /** Feeds data; returns false once the stream has failed. */
  write(data: string): boolean {
    if (this.failed) return false;
    const tokenizer = this.tokenizer;
    try {
      const rest = tokenizer.write(data);
      // reset() by a handler: the rest of the input belongs to the new document.
      if (tokenizer !== this.tokenizer) return rest ? this.write(rest) : !this.failed;
      // What is read of an unfinished stanza, or an unfinished tag between stanzas, is bounded too.
      const end = tokenizer.consumed + tokenizer.buffered;
      if (this.depth >= 2 && end - this.stanzaStart > this.opts.maxStanzaSize) this.tooBig();
      if (this.depth <= 1 && end - tokenizer.heldFrom > this.opts.maxStanzaSize) this.tooBig();
      if (this.framed && (this.depth > 1 || tokenizer.pending)) {
        this.fail('not-well-formed', 'a WebSocket message must hold complete elements');
      }
    } catch (err) {
      if (err instanceof Abort) return false;
      if (err instanceof TokenError) this.report(err.condition, err.message);
      else this.report('not-well-formed', err instanceof Error ? err.message : String(err));
      return false;
    }
    return true;
  }

  /** Starts a fresh document, as after STARTTLS or SASL success (RFC 6120 §5.4.3.3, §6.4.6). */
  reset(): void {
    this.tokenizer.stop();
    this.depth = 0;
    this.current = undefined;
    this.failed = false;
    this.skipClose = false;
    this.freshTokenizer();
  }
}
