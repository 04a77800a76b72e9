import type { AccountStore } from '../modules/accounts/store.js';
import type { RosterStore } from '../modules/roster/store.js';
import type { OfflineStore } from '../modules/offline/store.js';

/** Every feature's store, behind one handle. A new feature adds its store here and in each backend. */
export interface Storage {
  readonly backend: 'sqlite' | 'postgres';
  accounts: AccountStore;
  roster: RosterStore;
  offline: OfflineStore;
  close(): Promise<void>;
}
