import { defineModule } from '../module.js';
import { AccountService } from './service.js';
import { accountCommands } from './commands.js';

export { AccountService } from './service.js';
export type { AccountRecord, AccountStore, StoredCredentials } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    accounts: AccountService;
  }
}

/** Accounts: creation, removal and passwords. */
export const accountsModule = defineModule({
  name: 'accounts',
  summary: 'Accounts and their credentials (SCRAM-SHA-1/256, PLAIN), registration and removal',
  stores: ({ storage }) => storage.accounts,
  setup: (ctx) => new AccountService(ctx),
  commands: accountCommands,
});
