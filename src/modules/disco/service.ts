import type { ModuleContext } from '../module.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf, type AccountRef } from '../../xmpp/account.js';
import type { JID } from '../../xmpp/jid.js';

/** Lists items of an account for a requester (`from`, a full or bare JID). */
export type AccountItemsProvider = (account: AccountRef, from: JID) => Promise<{ jid: string; node?: string; name?: string }[]>;

function withoutUndefined(item: { jid: string; node?: string; name?: string }): Record<string, string> {
  const attrs: Record<string, string> = { jid: item.jid };
  if (item.node !== undefined) attrs.node = item.node;
  if (item.name !== undefined) attrs.name = item.name;
  return attrs;
}

/** Service discovery (XEP-0030) for the server and for accounts; features announce themselves here. */
export class DiscoService {
  readonly hostFeatures = new Set<string>([NS.discoInfo, NS.discoItems, 'iq', 'presence', 'msgoffline', NS.roster]);
  readonly accountFeatures = new Set<string>([NS.discoInfo, NS.discoItems]);
  /** Identities an account shows besides `account/registered` (PEP adds `pubsub/pep`). */
  readonly accountIdentities: [category: string, type: string, name: string][] = [['account', 'registered', '']];
  /** Services on domains of their own that the server lists in its items (`conference.<host>`, upload). */
  private readonly hostItems = new Map<string, { jid: string; name?: string }[]>();
  /** What lists items of an account's disco#items (PEP: its nodes), for the requester `from`. */
  private readonly accountItemProviders: AccountItemsProvider[] = [];

  constructor(ctx: ModuleContext<'accounts' | 'roster'>) {
    const { accounts, roster } = ctx.services;
    ctx.iq.register({
      xmlns: NS.discoInfo,
      target: 'both',
      get: async ({ to, from, payload }) => {
        if (payload.attrs.node) throw new StanzaError('item-not-found');
        if (to.local === '') return this.info(NS.discoInfo, [['server', 'im', 'Parley']], this.hostFeatures);
        if (!(await accounts.exists(accountOf(to)))) throw new StanzaError('service-unavailable');
        const mayKnow = from.bare === to.bare || (await roster.get(accountOf(to), from.bare))?.subscription.match(/from|both/);
        if (!mayKnow) throw new StanzaError('service-unavailable');
        return this.info(NS.discoInfo, this.accountIdentities, this.accountFeatures);
      },
    });
    ctx.iq.register({
      xmlns: NS.discoItems,
      target: 'both',
      get: async ({ to, from, payload }) => {
        if (payload.attrs.node) throw new StanzaError('item-not-found');
        if (to.local !== '' && !(await accounts.exists(accountOf(to)))) throw new StanzaError('service-unavailable');
        const q = x('query', { xmlns: NS.discoItems });
        if (to.local === '') for (const item of this.hostItems.get(to.domain) ?? []) q.c('item', item.name !== undefined ? { jid: item.jid, name: item.name } : { jid: item.jid });
        else for (const provider of this.accountItemProviders) for (const item of await provider(accountOf(to), from)) q.c('item', withoutUndefined(item));
        return q;
      },
    });
  }

  /** Lists a service's domain in the items of a host (XEP-0030 §4: services of the server). */
  addHostItem(host: string, jid: string, name?: string): void {
    const list = this.hostItems.get(host) ?? [];
    list.push(name !== undefined ? { jid, name } : { jid });
    this.hostItems.set(host, list);
  }

  /** Adds items to the disco#items of every account (XEP-0030 §4.2), as the provider lists them for the requester. */
  addAccountItems(provider: AccountItemsProvider): void {
    this.accountItemProviders.push(provider);
  }

  private info(xmlns: string, identities: [string, string, string][], features: Set<string>): Element {
    const q = x('query', { xmlns });
    for (const [category, type, name] of identities) q.c('identity', name ? { category, type, name } : { category, type });
    for (const f of [...features].sort()) q.c('feature', { var: f });
    return q;
  }
}
