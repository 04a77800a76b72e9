import { Element, x } from '../../xmpp/xml/element.js';
import { badArgument } from '../../errors.js';

/**
 * The field paths of ejabberd's vCard commands (get/set_vcard, get/set_vcard2, the _multi
 * variants), over a `<vCard xmlns='vcard-temp'/>` element (XEP-0054):
 *
 * - `NAME`: the text of a top-level element (`FN`, `NICKNAME`, `BDAY`, `URL` ...);
 * - `NAME SUB`: the text of `SUB` children of the `NAME` elements (`N FAMILY`, `ORG ORGUNIT`,
 *   `EMAIL USERID`, `ADR CTRY` ...);
 * - `TEL FLAG`: XEP-0054 telephone entries carry their type as empty flag elements and the value
 *   in `NUMBER`: `TEL HOME` is the NUMBER of the `<TEL>` entries flagged `<HOME/>`;
 * - `TEL NUMBER`: the NUMBER of every telephone entry, whatever its flags.
 *
 * Writing keeps every other field and the order of the vCard's elements.
 */

/** XML names the commands may write: ASCII letters, digits, `_`, `-`, `.`, not starting with a digit, `-` or `.`. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export function checkFieldName(what: 'name' | 'subname', value: string): string {
  if (!FIELD_NAME.test(value)) throw badArgument(`Invalid vCard field ${what}: ${JSON.stringify(value)}`);
  return value;
}

/** The values at a path, in document order (empty when there are none). */
export function readField(vcard: Element, name: string, subname?: string): string[] {
  if (subname === undefined) return vcard.getChildren(name).map((el) => el.text());
  if (name === 'TEL') {
    return telEntries(vcard, subname).flatMap((tel) => tel.getChildren('NUMBER').map((n) => n.text()));
  }
  return vcard.getChildren(name).flatMap((el) => el.getChildren(subname).map((s) => s.text()));
}

/** Replaces the values at a path with `values` (none: the path's elements are removed). */
export function writeField(vcard: Element, name: string, subname: string | undefined, values: readonly string[]): void {
  if (subname === undefined) {
    replaceChildren(vcard, (el) => el.name === name, values.map((v) => x(name, null, v)));
    return;
  }
  if (name === 'TEL') {
    const flagged = new Set(telEntries(vcard, subname));
    const entries = values.map((v) => (subname === 'NUMBER' ? x('TEL', null, x('NUMBER', null, v)) : x('TEL', null, x(subname), x('NUMBER', null, v))));
    replaceChildren(vcard, (el) => flagged.has(el), entries);
    return;
  }
  let parent = vcard.getChild(name);
  if (!parent) parent = vcard.c(name);
  replaceChildren(parent, (el) => el.name === subname, values.map((v) => x(subname, null, v)));
}

/** The `<TEL>` entries a flag selects (`NUMBER`: all of them). */
function telEntries(vcard: Element, flag: string): Element[] {
  const tels = vcard.getChildren('TEL');
  return flag === 'NUMBER' ? tels : tels.filter((t) => t.getChild(flag) !== undefined);
}

/** Removes the children `match` selects and puts `replacement` where the first of them was (else at the end). */
function replaceChildren(parent: Element, match: (el: Element) => boolean, replacement: Element[]): void {
  const kept: (Element | string)[] = [];
  let at = -1;
  for (const c of parent.children) {
    if (typeof c !== 'string' && match(c)) {
      if (at < 0) at = kept.length;
      continue;
    }
    kept.push(c);
  }
  if (at < 0) at = kept.length;
  parent.children = [];
  parent.append(...kept.slice(0, at), ...replacement, ...kept.slice(at));
}
