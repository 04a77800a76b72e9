import type { ModuleContext } from '../module.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf } from '../../xmpp/account.js';

/** Service discovery (XEP-0030) for the server and for accounts; features announce themselves here. */
export class DiscoService {
  readonly hostFeatures = new Set<string>([NS.discoInfo, NS.discoItems, 'iq', 'presence', 'msgoffline', NS.roster]);
  readonly accountFeatures = new Set<string>([NS.discoInfo, NS.discoItems]);
  /** Identities an account shows besides `account/registered` (PEP adds `pubsub/pep`). */
  readonly accountIdentities: [category: string, type: string, name: string][] = [['account', 'registered', '']];
  /** Services on domains of their own that the server lists in its items (`conference.<host>`, upload). */
  private readonly hostItems = new Map<string, { jid: string; name?: string }[]>();

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
      get: async ({ to, payload }) => {
        if (payload.attrs.node) throw new StanzaError('item-not-found');
        if (to.local !== '' && !(await accounts.exists(accountOf(to)))) throw new StanzaError('service-unavailable');
        const q = x('query', { xmlns: NS.discoItems });
        if (to.local === '') for (const item of this.hostItems.get(to.domain) ?? []) q.c('item', item.name !== undefined ? { jid: item.jid, name: item.name } : { jid: item.jid });
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

  private info(xmlns: string, identities: [string, string, string][], features: Set<string>): Element {
    const q = x('query', { xmlns });
    for (const [category, type, name] of identities) q.c('identity', name ? { category, type, name } : { category, type });
    for (const f of [...features].sort()) q.c('feature', { var: f });
    return q;
  }
}
