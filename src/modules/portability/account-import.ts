import type { StoredCredentials } from '../accounts/index.js';
import type { ScramCredentials } from '../../c2s/sasl.js';
import { DomainError } from '../../errors.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import { parseJID } from '../../xmpp/jid.js';
import type { Element } from '../../xmpp/xml/element.js';
import { isSubscription, type RosterItem, type Subscription } from '../roster/index.js';
import type { CommandContext } from '../module.js';

/** What an importer read of one account, whatever the source format. */
export interface ImportedAccount {
  /** As written in the source (prepared on import). */
  user: string;
  host: string;
  credentials?: { password: string } | StoredCredentials;
  roster: RosterItem[];
  vcard?: Element;
  privates: Element[];
  offline: { stanza: Element; createdAt: number }[];
}

export type ImportStatus = 'imported' | 'skipped' | 'refused';

/** What became of one account: said per account, in the log and on `parley ctl`. */
export interface ImportReport {
  jid: string;
  status: ImportStatus;
  /** Why it was skipped or refused; for an imported account, what of it could not be kept. */
  notes: string[];
  counts: { roster: number; vcard: number; privates: number; offline: number };
}

/** Totals of a whole import. */
export interface ImportSummary {
  imported: number;
  skipped: number;
  refused: number;
  reports: ImportReport[];
}

type Ctx = CommandContext<unknown, 'accounts' | 'roster' | 'vcard' | 'private' | 'offline'>;

/** A subscription state as a source file writes it; anything else counts as none. */
export function subscriptionOf(text: string | undefined): Subscription {
  return isSubscription(text) ? text : 'none';
}

/** The bare, prepared JID of a contact, or undefined when it is not a JID. */
export function contactJid(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    return parseJID(text).bare;
  } catch {
    return undefined;
  }
}

/**
 * SCRAM keys as another server exported them, base64. ejabberd's piefxis encodes its keys, which it
 * already keeps in base64, in base64 a second time: a value that decodes to the base64 text of a key
 * of the right length is decoded twice. Returns undefined for keys of the wrong length.
 */
export function scramFromBase64(hash: 'sha1' | 'sha256', salt: string, storedKey: string, serverKey: string, iterations: number): ScramCredentials | undefined {
  const len = hash === 'sha1' ? 20 : 32;
  const once = (b64: string) => Buffer.from(b64.trim(), 'base64');
  const key = (b64: string): string | undefined => {
    const a = once(b64);
    if (a.length === len) return a.toString('base64');
    const inner = a.toString('latin1');
    if (/^[A-Za-z0-9+/]+=*$/.test(inner)) {
      const b = Buffer.from(inner, 'base64');
      if (b.length === len) return b.toString('base64');
    }
    return undefined;
  };
  const sk = key(storedKey);
  const vk = key(serverKey);
  if (!sk || !vk || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) return undefined;
  // The salt has no fixed length: decoded twice when ejabberd's second encoding is recognisable (the
  // keys were double-encoded), once otherwise.
  const doubled = once(storedKey).length !== len;
  let saltBytes = once(salt);
  if (doubled) saltBytes = Buffer.from(saltBytes.toString('latin1'), 'base64');
  if (saltBytes.length === 0) return undefined;
  return { salt: saltBytes.toString('base64'), iterations, storedKey: sk, serverKey: vk };
}

/**
 * Imports accounts into the running server through the features' services, each within the
 * configured limits. An existing account is skipped unless `overwrite`; whatever of an account a
 * limit refuses is named in its report, and the rest is kept.
 */
export class AccountImporter {
  readonly summary: ImportSummary = { imported: 0, skipped: 0, refused: 0, reports: [] };

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: { overwrite: boolean; progress?: (r: ImportReport, summary: ImportSummary) => void },
  ) {}

  private record(r: ImportReport): ImportReport {
    this.summary[r.status]++;
    // The whole list is kept up to a bound; the totals always.
    if (this.summary.reports.length < 100_000) this.summary.reports.push(r);
    this.ctx.log.info({ jid: r.jid, status: r.status, notes: r.notes, counts: r.counts }, 'import: account');
    this.opts.progress?.(r, this.summary);
    return r;
  }

  /** An account the source could not be read for (a broken file): reported, the import goes on. */
  refuse(jid: string, reason: string): ImportReport {
    return this.record({ jid, status: 'refused', notes: [reason], counts: { roster: 0, vcard: 0, privates: 0, offline: 0 } });
  }

  async import(a: ImportedAccount): Promise<ImportReport> {
    const counts = { roster: 0, vcard: 0, privates: 0, offline: 0 };
    const { accounts, roster, vcard, private: priv, offline } = this.ctx.services;
    const host = this.ctx.prepareHost(a.host);
    const name = `${a.user}@${a.host}`;
    if (host === undefined) return this.record({ jid: name, status: 'refused', notes: [`host ${a.host} is not served here`], counts });
    let account: AccountRef;
    try {
      account = accounts.prepare(a.user, host);
    } catch (err) {
      return this.record({ jid: name, status: 'refused', notes: [(err as Error).message], counts });
    }
    const jid = bareOf(account);
    if (!a.credentials) return this.record({ jid, status: 'refused', notes: ['no password or SCRAM credentials'], counts });
    const notes: string[] = [];
    try {
      if (!(await accounts.createImported(account, a.credentials))) {
        if (!this.opts.overwrite) return this.record({ jid, status: 'skipped', notes: ['already exists'], counts });
        await accounts.replaceCredentials(account, a.credentials);
        notes.push('existed: credentials replaced, data merged');
      }
    } catch (err) {
      return this.record({ jid, status: 'refused', notes: [(err as Error).message], counts });
    }
    const attempt = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        if (!(err instanceof DomainError) && !(err instanceof Error)) throw err;
        notes.push(`${what}: ${(err as Error).message}`);
      }
    };
    // One item per contact (the last one read wins).
    const items = [...new Map(a.roster.map((i) => [i.jid, i])).values()].filter((i) => i.jid !== jid);
    await attempt('roster', async () => {
      if (await roster.importItems(account, items)) counts.roster = items.length;
      else notes.push(`roster: ${items.length} items refused, more than limits.maxRosterItems`);
    });
    if (a.vcard) await attempt('vCard', async () => {
      await vcard.set(account, a.vcard!);
      counts.vcard = 1;
    });
    if (a.privates.length > 0) await attempt('private storage', async () => {
      await priv.set(account, a.privates);
      counts.privates = a.privates.length;
    });
    let refusedOffline = 0;
    for (const m of a.offline) {
      if (await offline.importMessage(account, m.stanza.toString(), m.createdAt)) counts.offline++;
      else refusedOffline++;
    }
    if (refusedOffline > 0) notes.push(`offline: ${refusedOffline} messages refused by limits.maxOfflineMessages / maxOfflineChars`);
    return this.record({ jid, status: 'imported', notes, counts });
  }
}

/** A roster item as every importer makes one. */
export function importedItem(jid: string, fields: Partial<Omit<RosterItem, 'jid'>>): RosterItem {
  const subscription = fields.subscription ?? 'none';
  const askOut = fields.askOut ?? false;
  const pendingIn = fields.pendingIn ?? false;
  return {
    jid,
    name: fields.name ?? '',
    subscription,
    askOut,
    pendingIn,
    approved: fields.approved ?? false,
    groups: [...new Set(fields.groups ?? [])],
    // An item that only holds the contact's request is not shown (RFC 6121 §3.1.3).
    visible: fields.visible ?? !(subscription === 'none' && !askOut && pendingIn && !fields.name && (fields.groups ?? []).length === 0),
  };
}
