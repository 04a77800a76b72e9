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

export interface OfflineAddOptions {
  /** Refused when the owner already has this many messages. */
  limit?: number;
  /** Refused when the owner's stored stanzas, with this one, would exceed this many characters. */
  maxChars?: number;
  /** When the message stops being deliverable (ms since the epoch); absent: never. */
  expiresAt?: number;
}

export interface OfflineStore {
  /**
   * Stores a message unless a limit refuses it (checked and written atomically, so concurrent
   * writers cannot exceed them). Returns false when a limit refused it.
   */
  add(owner: string, stanza: string, createdAt: number, opts?: OfflineAddOptions): Promise<boolean>;
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
