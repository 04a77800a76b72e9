import { defineModule } from '../module.js';
import { jsonCodec } from '../../storage/kinds.js';
import { AccountService } from './service.js';
import { accountCommands } from './commands.js';

export { AccountService, type AccountStores } from './service.js';
export type { AccountRecord, AccountStore, AccountLock, AccountProfile, StoredCredentials } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    accounts: AccountService;
  }
}

/** Accounts: creation, removal and passwords. */
export const accountsModule = defineModule({
  name: 'accounts',
  summary: 'Accounts and their credentials (SCRAM-SHA-1/256, PLAIN), registration and removal',
  stores: ({ storage }) => ({ accounts: storage.accounts, locks: storage.value('lockout', jsonCodec), profiles: storage.value('profile', jsonCodec) }),
  setup: (ctx) => new AccountService(ctx),
  commands: accountCommands,
});
