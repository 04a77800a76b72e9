import type { AccountStore } from '../modules/accounts/store.js';
import type { RosterStore } from '../modules/roster/store.js';
import type { OfflineStore } from '../modules/offline/store.js';
import type { SharedGroupStore } from '../modules/sharedroster/store.js';
import type { OAuthStore } from '../modules/oauth/store.js';
import type { MamStore } from '../modules/mam/store.js';
import type { MucStore } from '../modules/muc/store.js';
import type { PushStore } from '../modules/push/store.js';
import type { UploadStore } from '../modules/upload/store.js';
import type { PepStore } from '../modules/pep/store.js';
import type { AuditStore } from '../admin/audit.js';
import type { HostingQueueStore } from '../modules/hosting/store.js';
import type { StoreKinds, Transaction } from './kinds.js';
import type { DatabaseAccess } from './database.js';

/**
 * Every feature's store, behind one handle. A feature whose state is a value, a map or an archive
 * per account takes a store of that kind (`value`, `map`, `archive`); others add their store here
 * and in each backend.
 */
export interface Storage extends StoreKinds {
  readonly backend: 'sqlite' | 'postgres';
  accounts: AccountStore;
  roster: RosterStore;
  offline: OfflineStore;
  /** Shared roster groups: per host, not per account (migration 5). */
  sharedGroups: SharedGroupStore;
  /** OAuth tokens and clients: per server (migration 6). */
  oauth: OAuthStore;
  /** The message archive (XEP-0313): per account and per room (migration 7). */
  mam: MamStore;
  /** Group chat rooms, affiliations, registered nicks, MUC/Sub subscriptions: per service (migration 7). */
  muc: MucStore;
  /** Push sessions (XEP-0357): per account (migration 7). */
  push: PushStore;
  /** HTTP upload slots (XEP-0363): per account (migration 9). */
  uploads: UploadStore;
  /** PEP nodes and items: per account (migration 10). */
  pep: PepStore;
  /** The admin audit log: per server (migration 11). */
  audit: AuditStore;
  /** The hosting API's pending account changes, by service token: per server (migration 12). */
  hosting: HostingQueueStore;
  /**
   * Runs `fn` in one transaction: everything it does through `tx` is committed together when it
   * resolves, or rolled back when it throws (and the error is rethrown). Statements made through
   * the storage itself meanwhile are not part of it (SQLite: they wait until it ends). Calls on
   * `tx` are made one after another, not concurrently.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Every table as rows, for backup, restore and exports (the backup module only). */
  readonly database: DatabaseAccess;
  close(): Promise<void>;
}
