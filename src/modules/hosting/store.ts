/** What a queued change does to its account when its token is applied. */
export type ChangeAction = 'add' | 'remove' | 'deactivate' | 'reactivate';

export interface PendingChange {
  id: number;
  token: string;
  /** The API key (by name) that queued it. */
  keyName: string;
  host: string;
  user: string;
  action: ChangeAction;
  /**
   * The new account's credentials (add only), as the accounts service derived them when the change
   * was queued: opaque here, stored as JSON.
   */
  credentials?: { plain?: string };
  createdAt: number;
}

export type NewChange = Omit<PendingChange, 'id' | 'token' | 'createdAt'>;

export interface EnqueueOptions {
  now: number;
  maxPendingPerKey: number;
  maxChangesPerToken: number;
  /** A fresh token, for when the key has no open one. */
  newToken(): string;
}

/** `pending`: the account has a change queued already; `key-full`: the key has maxPendingPerKey waiting. */
export type EnqueueOutcome = { ok: true; token: string } | { ok: false; reason: 'pending' | 'key-full' };

/**
 * The hosting API's queue: changes under service tokens. A key's open token (unclaimed, not full)
 * gathers its changes; a due token is claimed by one node, which applies its changes and removes
 * each when done, the token going with its last change.
 */
export interface HostingQueueStore {
  /** Queues a change in the key's open token, or a new one; atomic with the checks of `EnqueueOutcome`. */
  enqueue(change: NewChange, opts: EnqueueOptions): Promise<EnqueueOutcome>;
  /** The changes waiting on these hosts, oldest first. */
  pending(hosts: readonly string[]): Promise<PendingChange[]>;
  /** The change waiting for this account, if any. */
  pendingFor(host: string, user: string): Promise<PendingChange | undefined>;
  /**
   * Tokens opened at or before `openedBefore` (the delay is the configured one, read when they are
   * due, so a restart with another delay applies it), not held back by a retry at `now`, that no
   * node holds (or whose holder claimed them before `staleBefore`).
   */
  due(openedBefore: number, now: number, staleBefore: number): Promise<string[]>;
  /** Takes a token for `node`: false when another node holds it (or it is gone). */
  claim(token: string, node: string, now: number, staleBefore: number): Promise<boolean>;
  /** Lets the tokens `node` held go (that node restarted: it is applying none of them). */
  release(node: string): Promise<number>;
  /** Gives a claimed token back, held until `notBefore` (its application failed). */
  retry(token: string, notBefore: number): Promise<void>;
  /** A token's changes, oldest first. */
  changes(token: string): Promise<PendingChange[]>;
  /** Removes an applied change, and its token with its last change. */
  done(change: PendingChange): Promise<void>;
}
