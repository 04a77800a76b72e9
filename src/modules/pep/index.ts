import { defineModule } from '../module.js';
import { PepService } from './service.js';
import { PubsubIq } from './iq.js';
import { pepCommands } from './commands.js';

export { PepService } from './service.js';
export { NS_BOOKMARKS, NS_BOOKMARKS2 } from './bookmarks.js';
export type { NewItem } from './service.js';
export type { NodeConfig, AccessModel } from './config.js';
export type { PepStore, StoredItem, StoredNode } from './store.js';
export { capsVer, verificationString } from './caps.js';

declare module '../module.js' {
  interface ServiceMap {
    pep: PepService;
  }
}

/**
 * The Personal Eventing Protocol (XEP-0163) on every account, with the entity capabilities
 * (XEP-0115) its filtered notifications need; what clients keep there: avatars (XEP-0084),
 * nicknames (XEP-0172), bookmarks (XEP-0048 in PEP, XEP-0402). The `bookmarks_to_pep` command.
 */
export const pepModule = defineModule({
  name: 'pep',
  summary: 'Personal Eventing Protocol (XEP-0163) with entity capabilities (XEP-0115)',
  dependencies: ['accounts', 'roster', 'disco', 'private'],
  stores: ({ storage }) => storage.pep,
  setup: (ctx) => {
    const pep = new PepService(ctx);
    new PubsubIq(pep, ctx.services.accounts, ctx.iq);
    return pep;
  },
  commands: pepCommands,
});
