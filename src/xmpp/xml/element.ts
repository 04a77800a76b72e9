import { escapeAttr, escapeText } from './escape.js';

export type Node = Element | string;
export type Attrs = Record<string, string>;

/** A parsed or built XML element. Namespaces are carried as plain `xmlns` attributes, as XMPP uses them. */
export class Element {
  readonly name: string;
  attrs: Attrs;
  children: Node[];
  parent?: Element;

  constructor(name: string, attrs?: Attrs | null, children?: Node[]) {
    this.name = name;
    this.attrs = attrs ?? {};
    this.children = children ?? [];
  }

  get xmlns(): string | undefined {
    return this.attrs.xmlns;
  }

  /** Namespace of this element, inherited from ancestors when not declared on it. */
  getNS(): string | undefined {
    let el: Element | undefined = this;
    while (el) {
      const ns = el.attrs.xmlns;
      if (ns !== undefined) return ns;
      el = el.parent;
    }
    return undefined;
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  getChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== 'string' && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)) return c;
    }
    return undefined;
  }

  getChildren(name: string, xmlns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c !== 'string' && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)) out.push(c);
    }
    return out;
  }

  /** First child element in the given namespace, whatever its name. */
  getChildByNS(xmlns: string): Element | undefined {
    for (const c of this.children) if (typeof c !== 'string' && c.attrs.xmlns === xmlns) return c;
    return undefined;
  }

  elements(): Element[] {
    const out: Element[] = [];
    for (const c of this.children) if (typeof c !== 'string') out.push(c);
    return out;
  }

  /** Concatenated direct text children. */
  text(): string {
    let s = '';
    for (const c of this.children) if (typeof c === 'string') s += c;
    return s;
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  append(...nodes: (Node | undefined | null | false)[]): this {
    for (const n of nodes) {
      if (n === undefined || n === null || n === false) continue;
      if (typeof n !== 'string') n.parent = this;
      this.children.push(n);
    }
    return this;
  }

  /** Appends and returns a new child element (builder style). */
  c(name: string, attrs?: Attrs | null): Element {
    const el = new Element(name, attrs);
    el.parent = this;
    this.children.push(el);
    return el;
  }

  /** Appends text and returns this element. */
  t(text: string): this {
    this.children.push(text);
    return this;
  }

  removeChildren(name: string, xmlns?: string): void {
    this.children = this.children.filter(
      (c) => typeof c === 'string' || !(c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)),
    );
  }

  /** Deep copy without parent link. */
  clone(): Element {
    const el = new Element(this.name, { ...this.attrs });
    for (const c of this.children) el.append(typeof c === 'string' ? c : c.clone());
    return el;
  }

  toString(): string {
    let s = '<' + this.name;
    const attrs = this.attrs;
    for (const k in attrs) {
      const v = attrs[k];
      if (v !== undefined) s += ' ' + k + '="' + escapeAttr(v) + '"';
    }
    const children = this.children;
    if (children.length === 0) return s + '/>';
    s += '>';
    for (const c of children) s += typeof c === 'string' ? escapeText(c) : c.toString();
    return s + '</' + this.name + '>';
  }
}

/** Builder shorthand: `x('iq', {type: 'result'}, x('query', {xmlns}))`. */
export function x(name: string, attrs?: Attrs | null, ...children: (Node | undefined | null | false)[]): Element {
  return new Element(name, attrs).append(...children);
}
