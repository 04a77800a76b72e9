import { defineModule } from '../module.js';
import { jsonCodec } from '../../storage/kinds.js';
import { AccountService } from './service.js';
import { accountCommands } from './commands.js';
import type { DisabledMark } from './store.js';

export { AccountService } from './service.js';
export type { AccountRecord, AccountStore, StoredCredentials, DisabledMark } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    accounts: AccountService;
  }
}

/** Accounts: creation, removal and passwords. */
export const accountsModule = defineModule({
  name: 'accounts',
  summary: 'Accounts and their credentials (SCRAM-SHA-1/256, PLAIN), registration and removal',
  // The disabled mark is a value per account (store kind), so it goes with the account's other data.
  stores: ({ storage }) => ({ accounts: storage.accounts, disabled: storage.value<DisabledMark>('account-disabled', jsonCodec) }),
  setup: (ctx) => new AccountService(ctx),
  commands: accountCommands,
});
