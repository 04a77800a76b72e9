import { createHash } from 'node:crypto';
import type { ModuleContext } from '../module.js';
import type { SessionRecord } from '../../router/session.js';
import { Element, x } from '../../xmpp/xml/element.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { DomainError, badArgument, notFound } from '../../errors.js';
import type { Transaction, ValueStore } from '../../storage/kinds.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import { readField, writeField } from './fields.js';

export const NS_VCARD = 'vcard-temp';
export const NS_VCARD_UPDATE = 'vcard-temp:x:update';

/**
 * What the module keeps per account, in two values of the storage's value kind: the vCard as
 * serialized XML, and what XEP-0153 advertises of its photo (kept apart so that each presence
 * a client sends reads a few bytes, not the photo): the SHA-1 of the photo's decoded BINVAL in
 * hex, `''` for a vCard without a photo, `external` for a photo given only by EXTVAL URL.
 */
export interface VcardStores {
  vcards: ValueStore<string>;
  avatars: ValueStore<string>;
}

const EXTERNAL = 'external';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What XEP-0153 advertises for a vCard (see VcardStores.avatars). */
export function avatarOf(vcard: Element): string {
  const photo = vcard.getChild('PHOTO');
  if (!photo) return '';
  const binval = (photo.getChildText('BINVAL') ?? '').replace(/[\s]+/g, '');
  if (binval !== '') return BASE64.test(binval) ? createHash('sha1').update(Buffer.from(binval, 'base64')).digest('hex') : '';
  return (photo.getChildText('EXTVAL') ?? '').trim() !== '' ? EXTERNAL : '';
}

const emptyVcard = () => x('vCard', { xmlns: NS_VCARD });

/**
 * vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153), as ejabberd's mod_vcard and
 * mod_vcard_xupdate: accounts set their own vCard and read anyone's; the server puts the avatar
 * hash of the vCard's photo in the presence its clients broadcast, and broadcasts it again when
 * the vCard's photo changes. The admin commands read and write fields through the same service.
 */
export class VcardService {
  constructor(private readonly ctx: ModuleContext<'accounts' | 'presence' | 'disco', VcardStores>) {
    const { accounts, disco } = ctx.services;
    disco.hostFeatures.add(NS_VCARD);
    disco.accountFeatures.add(NS_VCARD);
    ctx.iq.register({
      xmlns: NS_VCARD,
      target: 'both',
      get: async ({ to, payload }) => {
        checkPayload(payload);
        if (to.local === '') return this.hostVcard();
        // RFC 6121 §8.5.1: an IQ to the bare JID of an account that does not exist is answered
        // service-unavailable (ejabberd answers an empty vCard, which tells nothing either).
        const account = accountOf(to);
        if (!(await accounts.exists(account))) throw new StanzaError('service-unavailable');
        return (await this.get(account)) ?? emptyVcard();
      },
      set: async ({ from, to, payload }) => {
        checkPayload(payload);
        if (to.local === '') throw new StanzaError('not-allowed', 'the server vCard is not set over XMPP');
        if (from.bare !== to.bare) throw new StanzaError('forbidden', 'a vCard is set by its own account only');
        try {
          await this.set(accountOf(to), payload);
        } catch (err) {
          // Over the size limit: the request is understood but not within what the server takes
          // (RFC 6120 §8.3.3.9; XEP-0060 answers a too large payload the same way).
          if (err instanceof DomainError && err.kind === 'bad-argument') throw new StanzaError('not-acceptable', err.message);
          throw err;
        }
      },
    });
    ctx.hooks.on('presence-available-out', ({ session, presence, resent }) => this.stampAvatar(session, presence, resent));
  }

  private get store(): VcardStores {
    return this.ctx.store;
  }

  /** limits.maxVcardSize: bytes of one serialized vCard. */
  get maxSize(): number {
    return this.ctx.config.limits.maxVcardSize;
  }

  /** The account's vCard, or undefined when it has none. */
  async get(account: AccountRef): Promise<Element | undefined> {
    const text = await this.store.vcards.get(account);
    return text === undefined ? undefined : parseElement(text, Infinity);
  }

  /**
   * Stores `vcard` (a `<vCard xmlns='vcard-temp'/>`; its attributes other than the namespace are
   * dropped) as the account's vCard. Throws bad-argument when it is larger than limits.maxVcardSize.
   */
  async set(account: AccountRef, vcard: Element): Promise<void> {
    const clean = emptyVcard();
    for (const c of vcard.children) clean.append(typeof c === 'string' ? c : c.clone());
    await this.change(account, () => clean);
  }

  /** Changes the account's vCard in place (created empty when it has none), atomically. */
  update(account: AccountRef, edit: (vcard: Element) => void): Promise<void> {
    return this.change(account, (current) => {
      const vcard = current ?? emptyVcard();
      edit(vcard);
      return vcard;
    });
  }

  /** The values at a field path (see fields.ts); not-found when the account has no vCard. */
  async read(account: AccountRef, name: string, subname?: string): Promise<string[]> {
    const vcard = await this.get(account);
    if (!vcard) throw notFound('error_no_vcard_found');
    return readField(vcard, name, subname);
  }

  /** Replaces the values at a field path, keeping the rest of the vCard. */
  write(account: AccountRef, name: string, subname: string | undefined, values: readonly string[]): Promise<void> {
    return this.update(account, (vcard) => writeField(vcard, name, subname, values));
  }

  private async change(account: AccountRef, next: (current: Element | undefined) => Element): Promise<void> {
    const changed = await this.ctx.transaction(async (tx: Transaction) => {
      await tx.lock(`vcard:${bareOf(account)}`);
      const vcards = this.store.vcards.in(tx);
      const avatars = this.store.avatars.in(tx);
      const text = await vcards.get(account);
      const vcard = next(text === undefined ? undefined : parseElement(text, Infinity));
      const serialized = vcard.toString();
      const size = Buffer.byteLength(serialized);
      if (size > this.maxSize) {
        throw badArgument(`vCard of ${size} bytes is larger than the limit of ${this.maxSize} bytes (limits.maxVcardSize)`);
      }
      const before = await avatars.get(account);
      const avatar = avatarOf(vcard);
      await vcards.set(account, serialized);
      await avatars.set(account, avatar);
      return before !== avatar;
    });
    // The contacts learn the new avatar at once (ejabberd's force_update_presence).
    if (changed) await this.ctx.services.presence.rebroadcast(account);
  }

  /**
   * XEP-0153 §4.2, as ejabberd's mod_vcard_xupdate: the server puts the `vcard-temp:x:update`
   * element of the account's vCard in the presence its clients broadcast, replacing the client's,
   * except an empty `<photo/>` the client sent itself (XEP-0398 §4: it must not be overwritten).
   * No photo: `<photo/>`; a photo only by URL: no element. An account without a vCard has nothing
   * to advertise: its presence is left as the client sent it (ejabberd adds an empty `<x/>`, which
   * says the same: no information).
   */
  private async stampAvatar(session: SessionRecord, presence: Element, resent: boolean): Promise<void> {
    const own = presence.getChild('x', NS_VCARD_UPDATE);
    if (!resent && own?.getChild('photo')?.text() === '') return;
    const avatar = await this.store.avatars.get(accountOf(session.jid));
    if (avatar === undefined) return;
    presence.removeChildren('x', NS_VCARD_UPDATE);
    if (avatar === EXTERNAL) return;
    presence.append(x('x', { xmlns: NS_VCARD_UPDATE }, avatar === '' ? x('photo') : x('photo', null, avatar)));
  }

  private hostVcard(): Element {
    return x('vCard', { xmlns: NS_VCARD }, x('FN', null, 'Parley'), x('DESC', null, 'XMPP server'));
  }
}

function checkPayload(payload: Element): void {
  if (payload.name !== 'vCard') throw new StanzaError('bad-request', 'the vcard-temp payload is <vCard/>');
}
