import { defineModule } from '../module.js';
import { jsonCodec } from '../../storage/kinds.js';
import { LastService, type LastActivity } from './service.js';
import { lastCommands } from './commands.js';

export { LastService, type LastActivity } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    last: LastService;
  }
}

/**
 * Last activity (XEP-0012): when each account's last session ended and with which status, the
 * server's uptime, and the commands that read, set and act on it (get_last, set_last,
 * delete_old_users, delete_old_users_vhost). One value per account (store kind `last`).
 */
export const lastModule = defineModule({
  name: 'last',
  summary: 'Last Activity (XEP-0012) and the commands on idle accounts',
  dependencies: ['accounts', 'roster', 'disco'],
  stores: ({ storage }) => storage.value<LastActivity>('last', jsonCodec),
  setup: (ctx) => new LastService(ctx),
  commands: lastCommands,
});
