import type { AccountRef } from '../../xmpp/account.js';

export type { AccountRef };

/** A node of an account's PEP service as stored: its name and its configuration (JSON, see NodeConfig). */
export interface StoredNode {
  readonly node: string;
  readonly config: string;
  readonly createdAt: number;
}

/** A published item as stored. */
export interface StoredItem {
  readonly id: string;
  /** The payload element, serialized with its own `xmlns`. */
  readonly payload: string;
  readonly publishedAt: number;
  /** The bare JID that published it. */
  readonly publisher: string;
}

/**
 * The PEP nodes and items of accounts (migration 10): nodes by owner and name, items by owner, node
 * and item id, in the order they were published (a republished id moves to the end).
 */
export interface PepStore {
  node(owner: AccountRef, node: string): Promise<StoredNode | undefined>;
  /** The account's nodes, by name. */
  nodes(owner: AccountRef): Promise<StoredNode[]>;
  /** Creates a node unless it exists or the account already has `maxNodes`; atomic. */
  createNode(owner: AccountRef, node: string, config: string, createdAt: number, maxNodes: number): Promise<'created' | 'exists' | 'full'>;
  /** Replaces a node's configuration; false when there is no such node. */
  setConfig(owner: AccountRef, node: string, config: string): Promise<boolean>;
  /** Removes a node and its items; false when there was none. */
  deleteNode(owner: AccountRef, node: string): Promise<boolean>;
  /**
   * Stores an item (replacing one with the same id, which becomes the newest) and then removes the
   * oldest items beyond `maxItems`; atomic.
   */
  publish(owner: AccountRef, node: string, item: StoredItem, maxItems: number): Promise<void>;
  /** Removes the oldest items beyond `maxItems`; how many were removed. */
  trim(owner: AccountRef, node: string, maxItems: number): Promise<number>;
  /** Removes an item; false when there was none. */
  retract(owner: AccountRef, node: string, id: string): Promise<boolean>;
  /** The newest `limit` items (all without a limit), newest first. */
  items(owner: AccountRef, node: string, limit?: number): Promise<StoredItem[]>;
  /** The items with these ids that exist, newest first. */
  itemsById(owner: AccountRef, node: string, ids: readonly string[]): Promise<StoredItem[]>;
  /** Removes every item of the node; how many. */
  purge(owner: AccountRef, node: string): Promise<number>;
  /** Removes every node and item of the account. */
  removeAll(owner: AccountRef): Promise<void>;
}
