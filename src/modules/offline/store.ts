export interface OfflineMessage {
  id: number;
  /** Bare JID of the recipient. */
  owner: string;
  /** Serialized stanza, with its delay stamp already added. */
  stanza: string;
  createdAt: number;
}

export interface OfflineStore {
  add(owner: string, stanza: string, createdAt: number): Promise<void>;
  count(owner: string): Promise<number>;
  /** Returns and removes all stored messages of the owner, oldest first. */
  takeAll(owner: string): Promise<OfflineMessage[]>;
  deleteAll(owner: string): Promise<void>;
  deleteOlderThan(createdBefore: number): Promise<number>;
}
