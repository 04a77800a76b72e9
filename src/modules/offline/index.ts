import { defineModule } from '../module.js';
import { OfflineService } from './service.js';
import { offlineCommands } from './commands.js';

export { OfflineService } from './service.js';
export type { OfflineAddOptions, OfflineMessage, OfflineStore } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    offline: OfflineService;
  }
}

/** Offline storage (XEP-0160): messages kept for accounts with no available resource. */
export const offlineModule = defineModule({
  name: 'offline',
  summary: 'Offline message storage, with expiry (XEP-0160, XEP-0079)',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.offline,
  setup: (ctx) => new OfflineService(ctx),
  commands: offlineCommands,
});
