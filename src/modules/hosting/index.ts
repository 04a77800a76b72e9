import { defineModule } from '../module.js';
import { HostingService } from './service.js';

export { HostingService, HostingError, type HostingErrorCode, type HostedUser, type UserStatus } from './service.js';
export type { ChangeAction, HostingQueueStore, PendingChange } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    hosting: HostingService;
  }
}

/**
 * The hosting-panel API's queue (seed 004): account changes waiting under service tokens, applied
 * by the accounts service once due. The jabber-* HTTP dialect over it is src/admin/hosting/.
 */
export const hostingModule = defineModule({
  name: 'hosting',
  summary: 'The hosting-panel jabber-* API: queued account changes under service tokens',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.hosting,
  setup: (ctx) => new HostingService(ctx),
});
