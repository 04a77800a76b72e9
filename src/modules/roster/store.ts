export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface RosterItem {
  /** Bare JID of the contact. */
  jid: string;
  name: string;
  subscription: Subscription;
  /** We asked the contact for a subscription and await the answer. */
  askOut: boolean;
  /** The contact asked to subscribe to us; awaiting the user's answer (RFC 6121 §3.1.3). */
  pendingIn: boolean;
  /** Pre-approved subscription request (RFC 6121 §3.4). */
  approved: boolean;
  groups: string[];
  /** False for an item that only records an inbound request: not shown in the roster (RFC 6121 §3.1.3). */
  visible: boolean;
}

/** Outcome of a put. */
export interface RosterPut {
  /** False when the item was new and the owner already had `maxItems` items: nothing was written. */
  stored: boolean;
  /** The roster version after the call (unchanged when nothing a client sees changed). */
  version: number;
}

/** Outcome of a delete. */
export interface RosterDelete {
  /** False when there was no such item. */
  deleted: boolean;
  /** The roster version after the call. */
  version: number;
}

/** Outcome of a putMany. */
export interface RosterPutMany {
  /** False when the new items would take the owner past `maxItems`: nothing was written. */
  stored: boolean;
  /** The roster version after each item, in the order given (one step per visible change). */
  versions: number[];
}

/** Pending-subscription states a scan can select (RFC 6121 §3): none, ours (`out`), theirs (`in`). */
export type Pending = 'none' | 'out' | 'in';

/** What a scan of every roster selects in storage; an absent field selects everything. */
export interface RosterScanFilter {
  subscriptions?: readonly Subscription[];
  /** `none`: neither flag; `out`: askOut; `in`: pendingIn (an item with both is `out` and `in`). */
  pending?: readonly Pending[];
}

/** A roster item with the bare JID of its owner, as a scan returns it. */
export interface OwnedRosterItem {
  owner: string;
  item: RosterItem;
}

/**
 * Roster items per owner, plus a per-owner metadata row holding the item count and the roster
 * version (RFC 6121 §2.6). The version is a counter that each backend increments in the same
 * transaction as the change, exactly when what a client sees changes: an item that is or was
 * visible is added, removed, or changed in a field a client is shown. Changes to invisible items
 * (pending inbound requests) and to `pendingIn` alone leave it as is. An owner without any write
 * yet has version 0 and count 0.
 */
export interface RosterStore {
  list(owner: string): Promise<RosterItem[]>;
  get(owner: string, jid: string): Promise<RosterItem | undefined>;
  /**
   * Inserts or updates an item. A new item is refused when the owner already has `maxItems`
   * items (visible or not); the check and the insert are atomic, also across connections and
   * processes. Updates of existing items are never refused.
   */
  put(owner: string, item: RosterItem, maxItems?: number): Promise<RosterPut>;
  /**
   * Inserts or updates several items of one owner (distinct JIDs) in one transaction: all are
   * written, or none when the new ones would take the owner past `maxItems`. Each visible change
   * moves the version one step, so every roster push can carry its own version (RFC 6121 §2.6.3).
   */
  putMany(owner: string, items: readonly RosterItem[], maxItems?: number): Promise<RosterPutMany>;
  /**
   * Items of every owner that the filter selects, ordered by (owner, jid) in the backend's order,
   * at most `limit`, starting after the item `after` (keyset paging: a caller pages through a
   * table of any size holding one page at a time).
   */
  scan(filter: RosterScanFilter, after: { owner: string; jid: string } | undefined, limit: number): Promise<OwnedRosterItem[]>;
  delete(owner: string, jid: string): Promise<RosterDelete>;
  /** Removes every item of the owner; the version keeps counting (a cached copy never matches again). */
  deleteAll(owner: string): Promise<void>;
  /** The current roster version, read from the metadata row (no scan of the items). */
  version(owner: string): Promise<number>;
  /** Number of stored items, visible or not, read from the metadata row. */
  count(owner: string): Promise<number>;
}
