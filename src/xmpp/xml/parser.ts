import { SaxesParser } from 'saxes';
import { Element } from './element.js';

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
}

const FRAMING_NS = 'urn:ietf:params:xml:ns:xmpp-framing';
const SLICE = 16 * 1024;

class Abort extends Error {}

/**
 * Incremental XMPP stream parser: turns bytes-as-text into stream events,
 * enforcing the restricted XML profile of RFC 6120 §11 and a stanza size limit.
 */
export class StreamParser {
  private parser: SaxesParser;
  private depth = 0;
  private current: Element | undefined;
  private stanzaStart = 0;
  private failed = false;
  private readonly framed: boolean;

  constructor(private readonly events: StreamParserEvents, private readonly opts: StreamParserOptions) {
    this.framed = opts.mode === 'framed';
    this.parser = undefined as unknown as SaxesParser;
    this.freshParser();
  }

  private createParser(): SaxesParser {
    const p = new SaxesParser({ xmlns: false, position: true });
    // After reset() the old parser may still be finishing its chunk; its events are dropped.
    p.on('opentagstart', (tag) => {
      // A top-level start tag counts towards the stanza size from its '<' (attributes included).
      if (p === this.parser && this.depth <= 1) this.tagStart = Math.max(0, p.position - tag.name.length - 2);
    });
    p.on('opentag', (tag) => {
      if (p === this.parser) this.openTag(tag.name, tag.attributes as Record<string, string>, tag.isSelfClosing);
    });
    p.on('closetag', () => {
      if (p === this.parser) this.closeTag();
    });
    p.on('text', (t) => {
      if (p === this.parser) this.text(t);
    });
    p.on('cdata', (t) => {
      if (p === this.parser) this.text(t);
    });
    p.on('error', (err) => this.fail('not-well-formed', err.message.replace(/^undefined:/, '').trim()));
    p.on('doctype', () => this.fail('restricted-xml', 'DTDs are not allowed'));
    p.on('processinginstruction', () => this.fail('restricted-xml', 'processing instructions are not allowed'));
    p.on('comment', () => this.fail('restricted-xml', 'comments are not allowed'));
    return p;
  }

  private freshParser(): void {
    this.parser = this.createParser();
    if (this.framed) this.parser.write('<framing>');
  }

  private fail(condition: StreamErrorCondition, text: string): never {
    if (!this.failed) {
      this.failed = true;
      this.events.onError(condition, text);
    }
    throw new Abort();
  }

  private openTag(name: string, attrs: Record<string, string>, selfClosing: boolean): void {
    const depth = this.depth++;
    const tagStart = this.tagStart;
    this.tagStart = -1;
    this.mark = this.parser.position;
    if (this.framed) {
      if (depth === 0) return; // synthetic <framing> root
      if (depth === 1) {
        if (name === 'open') { // the stream checks the namespace (invalid-namespace)
          this.depth--; // handled as a header, never becomes a stanza
          if (!selfClosing) this.fail('not-well-formed', '<open/> must be empty');
          this.events.onStreamStart(name, attrs);
          this.skipClose = true;
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
      this.stanzaStart = tagStart >= 0 ? tagStart : this.parser.position;
    } else {
      el.parent = this.current;
      this.current!.children.push(el);
    }
    this.current = el;
  }

  private skipClose = false;
  /** Where the unfinished top-level start tag began, or -1. */
  private tagStart = -1;
  /** Position of the last top-level event: what lies beyond it is still buffered. */
  private mark = 0;

  private closeTag(): void {
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
      this.mark = this.parser.position;
      if (this.parser.position - this.stanzaStart > this.opts.maxStanzaSize) this.tooBig();
      el.parent = undefined;
      this.events.onStanza(el);
    } else {
      this.current = el.parent;
    }
  }

  private text(t: string): void {
    if (this.depth <= 1) this.mark = this.parser.position;
    if (this.depth >= 2 && this.current) this.current.children.push(t);
  }

  private tooBig(): never {
    this.fail('policy-violation', `stanza exceeds the limit of ${this.opts.maxStanzaSize} bytes`);
  }

  /** Feeds data; returns false once the stream has failed. */
  write(data: string): boolean {
    if (this.failed) return false;
    try {
      const parser = this.parser;
      for (let i = 0; i < data.length && parser === this.parser; i += SLICE) {
        parser.write(data.length <= SLICE ? data : data.slice(i, i + SLICE));
        const pos = this.parser.position;
        if (this.depth >= 2 && pos - this.stanzaStart > this.opts.maxStanzaSize) this.tooBig();
        // An unfinished top-level start tag, or text between stanzas, is buffered by the parser too.
        if (this.depth <= 1 && pos - (this.tagStart >= 0 ? this.tagStart : this.mark) > this.opts.maxStanzaSize) this.tooBig();
      }
      if (this.framed && this.depth > 1) {
        this.fail('not-well-formed', 'a WebSocket message must hold complete elements');
      }
    } catch (err) {
      if (!(err instanceof Abort)) {
        if (!this.failed) {
          this.failed = true;
          this.events.onError('not-well-formed', err instanceof Error ? err.message : String(err));
        }
      }
      return false;
    }
    return true;
  }

  /** Starts a fresh document, as after STARTTLS or SASL success (RFC 6120 §5.4.3.3, §6.4.6). */
  reset(): void {
    this.depth = 0;
    this.current = undefined;
    this.failed = false;
    this.skipClose = false;
    this.tagStart = -1;
    this.mark = 0;
    this.freshParser();
  }
}
