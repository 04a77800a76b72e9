import { defineModule } from '../module.js';
import { textCodec } from '../../storage/kinds.js';
import { PrivateService } from './service.js';
import { privateCommands } from './commands.js';

export { PrivateService, PrivateStorageError, RESERVED_NAMESPACES } from './service.js';
export type { PrivateStore } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    private: PrivateService;
  }
}

/**
 * Private XML storage (XEP-0049): `jabber:iq:private` for an account's own clients, and the
 * `private_get` / `private_set` commands. A map per account (the storage's map kind), removed
 * with the account.
 */
export const privateModule = defineModule({
  name: 'private',
  summary: 'Private XML Storage (XEP-0049)',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.map('private', textCodec),
  setup: (ctx) => new PrivateService(ctx),
  commands: privateCommands,
});
