import { Element } from './element.js';
import { StreamParser } from './parser.js';

export class XmlParseError extends Error {}

/** Parses one complete element from a string (admin arguments, stored stanzas). */
export function parseElement(xml: string, maxSize = 1 << 20): Element {
  let result: Element | undefined;
  let count = 0;
  let error: string | undefined;
  const parser = new StreamParser(
    {
      onStreamStart: () => (error ??= 'unexpected <open/>'),
      onStanza: (el) => {
        result = el;
        count++;
      },
      onStreamEnd: () => (error ??= 'unexpected <close/>'),
      onError: (_cond, text) => (error ??= text || 'not well-formed'),
    },
    { maxStanzaSize: maxSize, mode: 'framed' },
  );
  parser.write(xml);
  if (error) throw new XmlParseError(error);
  if (count !== 1 || !result) throw new XmlParseError(count === 0 ? 'no element found' : 'more than one element');
  return result;
}
