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

export interface RosterStore {
  list(owner: string): Promise<RosterItem[]>;
  get(owner: string, jid: string): Promise<RosterItem | undefined>;
  put(owner: string, item: RosterItem): Promise<void>;
  /** Returns false when there was no such item. */
  delete(owner: string, jid: string): Promise<boolean>;
  deleteAll(owner: string): Promise<void>;
}
