import { Element } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';

/**
 * XML-RPC values (xmlrpc.com/spec) as ejabberd's fxmlrpc decodes them: typed scalars, an untyped
 * value as a string, arrays, and structs as ordered member lists (a repeated name is kept, so that the
 * command layer can report it as ejabberd does).
 */
export type XValue =
  | { kind: 'string'; value: string }
  | { kind: 'int'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'double'; value: number }
  | { kind: 'array'; items: XValue[] }
  | { kind: 'struct'; members: [string, XValue][] }
  /** base64, dateTime.iso8601, nil: decoded for completeness; no command takes them. */
  | { kind: 'other'; type: string; text: string };

export interface MethodCall {
  methodName: string;
  params: XValue[];
}

/** A request that is not XML (`Malformed XML`) or not an XML-RPC call (`Malformed Request`), as ejabberd words them. */
export class XmlRpcDecodeError extends Error {
  constructor(readonly malformed: 'xml' | 'request', detail: string) {
    super(detail);
  }
}

export const string = (value: string): XValue => ({ kind: 'string', value });
export const int = (value: number): XValue => ({ kind: 'int', value });
export const array = (items: XValue[]): XValue => ({ kind: 'array', items });
export const struct = (members: [string, XValue][]): XValue => ({ kind: 'struct', members });

/**
 * Parses a `methodCall` document (strict UTF-8 text) with the server's own XML parser: DTDs (hence
 * entity declarations), comments and processing instructions are refused, nesting is limited to 64
 * elements, and the text to `maxSize` characters.
 */
export function decodeMethodCall(text: string, maxSize: number): MethodCall {
  let root: Element;
  try {
    const body = text.replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '').trim();
    root = parseElement(body, maxSize + 1);
  } catch (err) {
    if (err instanceof XmlParseError) throw new XmlRpcDecodeError('xml', err.message);
    throw err;
  }
  if (root.name !== 'methodCall') throw new XmlRpcDecodeError('request', `the root element is <${root.name}>, not <methodCall>`);
  const name = root.getChild('methodName');
  if (!name || name.elements().length > 0) throw new XmlRpcDecodeError('request', 'no <methodName>');
  const methodName = name.text().trim();
  const paramsEl = root.getChild('params');
  const params = (paramsEl?.getChildren('param') ?? []).map((p) => {
    const v = p.getChild('value');
    if (!v) throw new XmlRpcDecodeError('request', '<param> without <value>');
    return decodeValue(v);
  });
  return { methodName, params };
}

function decodeValue(el: Element): XValue {
  const typed = el.elements();
  if (typed.length === 0) return string(el.text());
  if (typed.length > 1) throw new XmlRpcDecodeError('request', '<value> with more than one type');
  const t = typed[0]!;
  const text = t.text();
  switch (t.name) {
    case 'string':
      return string(text);
    case 'int':
    case 'i4':
    case 'i8':
    case 'integer': {
      const s = text.trim();
      const n = Number(s);
      if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(n)) throw new XmlRpcDecodeError('request', `<${t.name}>${s}</${t.name}> is not an integer`);
      return int(n);
    }
    case 'boolean': {
      const s = text.trim();
      if (s === '1' || s === 'true') return { kind: 'boolean', value: true };
      if (s === '0' || s === 'false') return { kind: 'boolean', value: false };
      throw new XmlRpcDecodeError('request', `<boolean>${s}</boolean> is not 0 or 1`);
    }
    case 'double': {
      const n = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(n)) throw new XmlRpcDecodeError('request', `<double>${text.trim()}</double> is not a number`);
      return { kind: 'double', value: n };
    }
    case 'array': {
      const data = t.getChild('data');
      if (!data) throw new XmlRpcDecodeError('request', '<array> without <data>');
      return array(data.getChildren('value').map(decodeValue));
    }
    case 'struct':
      return struct(
        t.getChildren('member').map((m): [string, XValue] => {
          const n = m.getChild('name');
          const v = m.getChild('value');
          if (!n || !v) throw new XmlRpcDecodeError('request', '<member> without <name> or <value>');
          return [n.text(), decodeValue(v)];
        }),
      );
    case 'base64':
    case 'dateTime.iso8601':
    case 'nil':
      return { kind: 'other', type: t.name, text };
    default:
      throw new XmlRpcDecodeError('request', `unknown value type <${t.name}>`);
  }
}

function valueElement(v: XValue): Element {
  const value = new Element('value');
  switch (v.kind) {
    case 'string':
      return value.append(new Element('string').t(v.value));
    case 'int':
      return value.append(new Element('int').t(String(v.value)));
    case 'boolean':
      return value.append(new Element('boolean').t(v.value ? '1' : '0'));
    case 'double':
      return value.append(new Element('double').t(String(v.value)));
    case 'array':
      return value.append(new Element('array').append(new Element('data').append(...v.items.map(valueElement))));
    case 'struct':
      return value.append(
        new Element('struct').append(...v.members.map(([n, x]) => new Element('member').append(new Element('name').t(n), valueElement(x)))),
      );
    case 'other':
      return value.append(new Element(v.type).t(v.text));
  }
}

const DECLARATION = '<?xml version="1.0"?>';

/** A `methodResponse` with one value. */
export function encodeResponse(v: XValue): string {
  return DECLARATION + new Element('methodResponse').append(new Element('params').append(new Element('param').append(valueElement(v)))).toString();
}

/** A `methodResponse` fault. */
export function encodeFault(code: number, text: string): string {
  const body = struct([
    ['faultCode', int(code)],
    ['faultString', string(text)],
  ]);
  return DECLARATION + new Element('methodResponse').append(new Element('fault').append(valueElement(body))).toString();
}

/**
 * A value as Erlang's `~p` prints what fxmlrpc decoded (strings are binaries, member names atoms):
 * ejabberd's fault strings show the offending arguments this way.
 */
export function erlangTerm(v: XValue): string {
  switch (v.kind) {
    case 'string':
      return `<<${JSON.stringify(v.value)}>>`;
    case 'int':
    case 'double':
      return String(v.value);
    case 'boolean':
      return String(v.value);
    case 'array':
      return `{array,[${v.items.map(erlangTerm).join(',')}]}`;
    case 'struct':
      return `{struct,${memberList(v.members)}}`;
    case 'other':
      return `{${v.type},<<${JSON.stringify(v.text)}>>}`;
  }
}

export const memberList = (members: [string, XValue][]): string => `[${members.map(([k, x]) => `{${atom(k)},${erlangTerm(x)}}`).join(',')}]`;

/** An atom as `~p` prints it: quoted unless a plain lower-case name. */
export const atom = (name: string): string => (/^[a-z][A-Za-z0-9_@]*$/.test(name) ? name : `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
