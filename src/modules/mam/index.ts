import { defineModule } from '../module.js';
import { jsonCodec } from '../../storage/kinds.js';
import { MamService } from './service.js';
import { mamCommands } from './commands.js';

export { MamService } from './service.js';
export type { Prefs, Policy } from './service.js';
export type { RoomArchive } from './contract.js';
export type { MamStore, MamRow } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    mam: MamService;
  }
}

/** Message Archive Management (XEP-0313) for accounts and rooms, with retraction (XEP-0424). */
export const mamModule = defineModule({
  name: 'mam',
  summary: 'Message Archive Management (XEP-0313) of accounts and rooms, with message retraction (XEP-0424)',
  dependencies: ['accounts', 'roster', 'disco'],
  stores: ({ storage }) => ({ archive: storage.mam, prefs: storage.value('mam-prefs', jsonCodec) }),
  setup: (ctx) => new MamService(ctx),
  commands: mamCommands,
});
