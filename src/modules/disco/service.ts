import type { ModuleContext } from '../module.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf } from '../../xmpp/account.js';

/** Service discovery (XEP-0030) for the server and for accounts; features announce themselves here. */
export class DiscoService {
  readonly hostFeatures = new Set<string>([NS.discoInfo, NS.discoItems, 'iq', 'presence', 'msgoffline', NS.roster]);
  readonly accountFeatures = new Set<string>([NS.discoInfo, NS.discoItems]);

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
        return this.info(NS.discoInfo, [['account', 'registered', '']], this.accountFeatures);
      },
    });
    ctx.iq.register({
      xmlns: NS.discoItems,
      target: 'both',
      get: async ({ to, payload }) => {
        if (payload.attrs.node) throw new StanzaError('item-not-found');
        if (to.local !== '' && !(await accounts.exists(accountOf(to)))) throw new StanzaError('service-unavailable');
        return x('query', { xmlns: NS.discoItems });
      },
    });
  }

  private info(xmlns: string, identities: [string, string, string][], features: Set<string>): Element {
    const q = x('query', { xmlns });
    for (const [category, type, name] of identities) q.c('identity', name ? { category, type, name } : { category, type });
    for (const f of [...features].sort()) q.c('feature', { var: f });
    return q;
  }
}
