import { defineModule } from '../module.js';
import { PushService } from './service.js';
import { pushCommands } from './commands.js';

export { PushService, NS_PUSH } from './service.js';
export type { PushSession, PushStore, PublishOption } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    push: PushService;
  }
}

/** Push notifications (XEP-0357): app servers told about messages an account's phone would miss. */
export const pushModule = defineModule({
  name: 'push',
  summary: 'Push Notifications (XEP-0357)',
  dependencies: ['accounts', 'disco'],
  stores: ({ storage }) => storage.push,
  setup: (ctx) => new PushService(ctx),
  commands: pushCommands,
});
