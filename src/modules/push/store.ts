/** A field of the publish-options form a client gave when it enabled push (XEP-0357 §5, e.g. `secret`). */
export interface PublishOption {
  readonly var: string;
  readonly values: readonly string[];
}

/**
 * One enabled push registration (XEP-0357): the app server and node the account's notifications go
 * to. It outlives the session that enabled it.
 */
export interface PushSession {
  /** The account's bare JID. */
  readonly owner: string;
  /** The app server's JID (XEP-0357's XMPP Push Service), as the client gave it, prepared. */
  readonly service: string;
  readonly node: string;
  /** The publish-options form fields (FORM_TYPE excluded), sent with every notification. */
  readonly options: readonly PublishOption[];
  /** The resource of the session that enabled it: notified while that session hibernates. */
  readonly resource: string;
  /** The id of that session in the directory (diagnostics: it changes with every login). */
  readonly sessionId: string;
  /** When it was enabled (enabling again renews it); what delete_old_push_sessions counts from. */
  readonly createdAt: number;
  /** When a notification last went to it (0: never). */
  readonly lastUsed: number;
}

export type PushKey = Pick<PushSession, 'owner' | 'service' | 'node'>;

/** What enabling did. */
export type PutOutcome = 'created' | 'updated' | 'full';

/** Push sessions per account (migration 7). The limit is checked and applied atomically with the write. */
export interface PushStore {
  /**
   * Creates the registration, or replaces the one with the same owner, service and node. A new one
   * is refused ('full') when the owner already has `max`.
   */
  put(session: PushSession, max: number): Promise<PutOutcome>;
  /** The owner's registrations, oldest first. */
  list(owner: string): Promise<PushSession[]>;
  /** Removes the owner's registrations with that service (and that node, when given); how many. */
  remove(owner: string, service: string, node?: string): Promise<number>;
  removeAll(owner: string): Promise<number>;
  touch(key: PushKey, at: number): Promise<void>;
  /** Removes every registration enabled before `before`; how many. */
  removeOlderThan(before: number): Promise<number>;
  count(): Promise<number>;
}
