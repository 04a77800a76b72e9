import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Element } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';
import { contactJid, importedItem, subscriptionOf, type AccountImporter, type ImportedAccount } from './account-import.js';

/**
 * jabberd14 spool files: HOST/USER.xml, one `<xdb>` document per account whose children are tagged
 * with the namespace they were stored under (`xdbns`): `jabber:iq:auth` (the password),
 * `jabber:iq:roster`, `vcard-temp`, `jabber:x:offline` (messages), `jabber:iq:last`; anything else
 * is the account's private XML storage (as ejabberd's jd2ejd reads it).
 */
export class Jabberd14Error extends Error {}

export function accountOfSpool(xdb: Element, user: string, host: string): ImportedAccount {
  if (xdb.name !== 'xdb') throw new Jabberd14Error(`not a jabberd14 spool file (root <${xdb.name}>)`);
  const a: ImportedAccount = { user, host, roster: [], privates: [], offline: [] };
  for (const el of xdb.elements()) {
    const ns = el.attr('xdbns') ?? el.attr('xmlns');
    switch (ns) {
      case 'jabber:iq:auth': {
        const pw = el.text();
        if (pw !== '') a.credentials = { password: pw };
        break;
      }
      case 'jabber:iq:roster':
        for (const item of el.getChildren('item')) {
          const jid = contactJid(item.attr('jid'));
          if (!jid) continue;
          a.roster.push(importedItem(jid, {
            name: item.attr('name') ?? '',
            subscription: subscriptionOf(item.attr('subscription')),
            askOut: item.attr('ask') === 'subscribe',
            // jabberd14 keeps a contact's pending request in a `subscribe` attribute (its text, maybe empty).
            pendingIn: item.attr('subscribe') !== undefined,
            groups: item.getChildren('group').map((g) => g.text()).filter((g) => g !== ''),
          }));
        }
        break;
      case 'vcard-temp':
        delete el.attrs.xdbns;
        a.vcard = el;
        break;
      case 'jabber:x:offline':
        for (const m of el.getChildren('message')) {
          if (!m.attr('xmlns')) m.attrs.xmlns = 'jabber:client';
          a.offline.push({ stanza: m, createdAt: Date.now() });
        }
        break;
      case 'jabber:iq:last':
      case 'jabber:x:filter':
      case undefined:
        break;
      default:
        delete el.attrs.xdbns;
        a.privates.push(el);
    }
  }
  return a;
}

async function readSpool(path: string, maxBytes: number): Promise<Element> {
  const st = await stat(path);
  if (st.size > maxBytes) throw new Jabberd14Error(`${basename(path)} is larger than ${maxBytes} bytes`);
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '').trim();
  try {
    return parseElement(text, maxBytes + 1);
  } catch (err) {
    if (err instanceof XmlParseError) throw new Jabberd14Error(`${basename(path)}: ${err.message}`);
    throw err;
  }
}

/** One spool file: the user is its name, the host the name of its directory. */
export async function importJabberd14File(path: string, imp: AccountImporter, maxBytes: number): Promise<void> {
  if (!path.endsWith('.xml')) throw new Jabberd14Error(`${basename(path)} is not a USER.xml spool file`);
  const user = basename(path, '.xml');
  const host = basename(dirname(path));
  await imp.import(accountOfSpool(await readSpool(path, maxBytes), user, host));
}

/** A spool directory: DIR/HOST/USER.xml, or DIR/USER.xml when DIR is a host's own directory. */
export async function importJabberd14Dir(dir: string, imp: AccountImporter, maxBytes: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.xml'));
  for (const f of files) await importOne(join(dir, f.name), imp, maxBytes);
  for (const d of entries.filter((e) => e.isDirectory())) {
    for (const f of (await readdir(join(dir, d.name), { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.xml'))) {
      await importOne(join(dir, d.name, f.name), imp, maxBytes);
    }
  }
}

/** A file that cannot be read is reported as its account refused; the others go on. */
async function importOne(path: string, imp: AccountImporter, maxBytes: number): Promise<void> {
  try {
    await importJabberd14File(path, imp, maxBytes);
  } catch (err) {
    if (!(err instanceof Jabberd14Error)) throw err;
    imp.refuse(`${basename(path, '.xml')}@${basename(dirname(path))}`, err.message);
  }
}
