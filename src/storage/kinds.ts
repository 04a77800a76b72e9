/**
 * The three kinds of state most features keep (guide principle 6), implemented once over SQL
 * (`kinds-sql.ts`) for every backend, so a feature of one of these kinds writes no SQL of its own
 * and needs no migration: its rows live in generic tables keyed by the feature's name.
 *
 * - a value per account (vCard, last activity, privacy lists, push settings): `ValueStore`
 * - a map per account, by key (private XML by namespace, bookmarks): `MapStore`
 * - an archive per account, append-only with increasing ids (offline messages, MAM): `ArchiveStore`
 *
 * The roster is not a map of this kind: its version counter (RFC 6121 §2.6) moves in the same
 * transaction as an item, and only when a change is visible to clients, which needs the item's
 * fields as columns; it keeps its own tables and store (`roster_items`, `roster_meta`).
 *
 * Every kind store is bound either to the storage (each call is its own statement or transaction)
 * or to a transaction (`in(tx)`, or the same factory on the transaction handle).
 */

/** The account a kind's data belongs to (prepared user and host). */
export type { AccountRef } from '../xmpp/account.js';
import type { AccountRef } from '../xmpp/account.js';
import { bareOf } from '../xmpp/account.js';

/** How a feature's values are written to and read from the text column. */
export interface Codec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** Values that are JSON. */
export const jsonCodec: Codec<any> = { encode: (v) => JSON.stringify(v), decode: (t) => JSON.parse(t) };
/** Values that are already text (serialized XML, for instance). */
export const textCodec: Codec<string> = { encode: (v) => v, decode: (t) => t };

export interface ValueStore<T> {
  get(account: AccountRef): Promise<T | undefined>;
  set(account: AccountRef, value: T): Promise<void>;
  /** Returns false when there was no value. */
  delete(account: AccountRef): Promise<boolean>;
  in(tx: Transaction): ValueStore<T>;
}

export interface MapStore<T> {
  get(account: AccountRef, key: string): Promise<T | undefined>;
  /**
   * Inserts or replaces the value under `key`. A new key is refused (false, nothing written) when
   * the account already has `maxItems` keys; the check and the insert are atomic. Replacing an
   * existing key is never refused.
   */
  set(account: AccountRef, key: string, value: T, maxItems?: number): Promise<boolean>;
  /** Returns false when there was no such key. */
  delete(account: AccountRef, key: string): Promise<boolean>;
  /** Every entry of the account, ordered by key byte-wise. */
  list(account: AccountRef): Promise<{ key: string; value: T }[]>;
  count(account: AccountRef): Promise<number>;
  in(tx: Transaction): MapStore<T>;
}

export interface ArchiveItem<T> {
  /** Increases with every append, across accounts; never reused. */
  id: number;
  value: T;
  createdAt: number;
}

export interface ArchiveStore<T> {
  /**
   * Appends an item unless the account already holds `limit` of them (checked and written
   * atomically). Returns the new item's id, or undefined when the limit refused it.
   */
  append(account: AccountRef, value: T, createdAt: number, limit?: number): Promise<number | undefined>;
  /** Up to `limit` items with an id above `afterId`, oldest first. */
  list(account: AccountRef, afterId: number, limit: number): Promise<ArchiveItem<T>[]>;
  /** Removes these items of the account; returns how many were removed. */
  remove(account: AccountRef, ids: readonly number[]): Promise<number>;
  count(account: AccountRef): Promise<number>;
  removeAll(account: AccountRef): Promise<number>;
  /** Removes every account's items created before `createdBefore`; returns how many. */
  removeOlderThan(createdBefore: number): Promise<number>;
  in(tx: Transaction): ArchiveStore<T>;
}

/** Makes kind stores for features, bound to the storage or to one transaction. */
export interface StoreKinds {
  value<T>(feature: string, codec: Codec<T>): ValueStore<T>;
  map<T>(feature: string, codec: Codec<T>): MapStore<T>;
  archive<T>(feature: string, codec: Codec<T>): ArchiveStore<T>;
}

/**
 * The handle a `storage.transaction` callback receives: the same stores as the storage, with
 * every statement inside the transaction. Valid only until the callback's promise settles.
 */
export interface Transaction extends StoreKinds {
  readonly accounts: import('../modules/accounts/store.js').AccountStore;
  readonly roster: import('../modules/roster/store.js').RosterStore;
  readonly offline: import('../modules/offline/store.js').OfflineStore;
  readonly sharedGroups: import('../modules/sharedroster/store.js').SharedGroupStore;
  readonly oauth: import('../modules/oauth/store.js').OAuthStore;
  readonly mam: import('../modules/mam/store.js').MamStore;
  readonly muc: import('../modules/muc/store.js').MucStore;
  readonly push: import('../modules/push/store.js').PushStore;
  readonly uploads: import('../modules/upload/store.js').UploadStore;
  readonly pep: import('../modules/pep/store.js').PepStore;
  /** Removes what the account holds in every kind store, of every feature. */
  removeAccountData(account: AccountRef): Promise<void>;
  /**
   * Makes transactions that take the same key take turns until this one ends, for a
   * read-modify-write. (SQLite runs one transaction at a time anyway; PostgreSQL runs them
   * concurrently under READ COMMITTED, where this takes an advisory lock.)
   */
  lock(key: string): Promise<void>;
}

/** The key the SQL tables use for an account: its bare JID, as in the roster and offline tables. */
export const ownerKey: (account: AccountRef) => string = bareOf;
