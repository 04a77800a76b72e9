export interface OfflineMessage {
  id: number;
  /** Bare JID of the recipient. */
  owner: string;
  /** Serialized stanza, with its delay stamp already added. */
  stanza: string;
  createdAt: number;
  /** When the message expires (ms since the epoch; XEP-0079 expire-at, XEP-0023): never delivered after it. Absent: never. */
  expiresAt?: number;
}

export interface OfflineStore {
  /**
   * Stores a message unless the owner already has `limit` of them (checked and written atomically,
   * so concurrent writers cannot exceed it). Returns false when the limit refused it.
   * `expiresAt` (ms since the epoch) is when the message stops being deliverable.
   */
  add(owner: string, stanza: string, createdAt: number, limit?: number, expiresAt?: number): Promise<boolean>;
  count(owner: string): Promise<number>;
  /** Up to `limit` messages of the owner with an id above `afterId`, oldest first. Nothing is removed. */
  list(owner: string, afterId: number, limit: number): Promise<OfflineMessage[]>;
  /** Removes these messages of the owner (delivered and acknowledged); returns how many were removed. */
  remove(owner: string, ids: readonly number[]): Promise<number>;
  deleteAll(owner: string): Promise<void>;
  /** Removes every owner's messages stored before `createdBefore`; returns how many. */
  deleteOlderThan(createdBefore: number): Promise<number>;
  /** Removes the messages (of one owner, or of every owner) whose expiry is at or before `now`; returns how many. */
  deleteExpired(now: number, owner?: string): Promise<number>;
}
