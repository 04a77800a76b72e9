/**
 * Typed events between features (guide principle 5): a feature reacts to what happened
 * instead of being called by the feature where it happened.
 */
import type { SessionRecord } from './router/session.js';
import type { Transaction } from './storage/kinds.js';
import type { Element } from './xmpp/xml/element.js';
import type { AccountRef } from './xmpp/account.js';
import type { JID } from './xmpp/jid.js';

export interface HookMap {
  /** An account was created (any surface: API, in-band registration, import). */
  'account-created': AccountRef;
  /**
   * An account is being renamed: `to` exists (created with `from`'s credentials) and `from` is
   * removed once the handlers ran. A feature whose data moves with the account copies it here.
   */
  'account-renaming': { from: AccountRef; to: AccountRef };
  /** An account was removed (committed, with everything it owned: see 'account-removing'). */
  'account-removed': AccountRef;
  /** A session bound a resource and can send and receive stanzas. */
  'session-opened': { session: SessionRecord };
  /** A session ended (after any stream-management hibernation). */
  'session-closed': { session: SessionRecord; reason: string };
  /** A session sent its first available presence. */
  'session-available': { session: SessionRecord };
  /**
   * A session's broadcast available presence (built from what the client sent, or resent by
   * `PresenceService.rebroadcast`), before it is sent to contacts and to the account's resources:
   * handlers may change `presence` in place, like ejabberd's `c2s_self_presence` (XEP-0153: the
   * vCard module puts the avatar hash in it); what they change is also what the session's stored
   * presence becomes. `resent`: the server is sending the stored presence again, so what it holds
   * is the server's doing, not the client's.
   */
  'presence-available-out': { session: SessionRecord; presence: Element; resent: boolean };
  /**
   * Drop what is kept in memory in front of storage: after `clear_cache` or `restart_module`
   * (every module, or only `module`), or after `restore`/`load` replaced stored data wholesale
   * (`tables`: the tables replaced). What is read next comes from storage again.
   */
  'caches-clear': { module?: string; tables?: readonly string[] };
  /** The node is stopping: sessions are closed and storage is still open (write what is held in memory). */
  'node-stopping': Record<string, never>;
  /** The node is stopping and its sessions are still open: features tell them what ends (rooms send status 332). */
  'node-closing-sessions': Record<string, never>;
  /**
   * A message for an account with no resource to take it was kept in offline storage (push
   * notifications tell the account's app servers, XEP-0357).
   */
  'message-offline': { from: JID; to: JID; stanza: Element };
  /**
   * A session's connection dropped and it waits for XEP-0198 resumption, holding messages the client
   * may never have received (sent but not acknowledged): their count, and the last of them.
   */
  'session-hibernating': { session: SessionRecord; unackedMessages: number; lastMessage: Element | undefined };
  /**
   * Elements were stored in an account's private XML storage (XEP-0049), committed, by a client or
   * a command; an element with no content means it was removed (XEP-0402 compat keeps PEP
   * bookmarks in step with `storage:bookmarks`).
   */
  'private-stored': { account: AccountRef; elements: readonly Element[] };
}

/**
 * Hooks whose handlers run inside a storage transaction, each doing its part of one change:
 * a handler that throws rolls the whole transaction back.
 */
export interface TransactionalHookMap {
  /**
   * An account is being removed, in the transaction that deletes its accounts row: each feature
   * removes what it holds for the account through `tx`, and only through it (the storage itself
   * is outside the transaction). Kind stores are emptied before the handlers run.
   * `account-removed` follows the commit.
   */
  'account-removing': AccountRef & { tx: Transaction };
}

type Handler<T> = (payload: T) => void | Promise<void>;
type AnyHookMap = HookMap & TransactionalHookMap;

/** Told about a handler that threw (and whose error was not allowed to stop the others). */
export type HookErrorSink = (err: unknown, hook: string) => void;

export class Hooks {
  private handlers = new Map<keyof AnyHookMap, Handler<any>[]>();

  constructor(private readonly onError: HookErrorSink = () => {}) {}

  on<K extends keyof AnyHookMap>(name: K, handler: Handler<AnyHookMap[K]>): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler);
    this.handlers.set(name, list);
  }

  /**
   * Runs handlers in registration order, awaiting each. A handler that throws is reported to
   * `onError` and the others still run: what happened has happened, each reaction is its own.
   */
  async emit<K extends keyof HookMap>(name: K, payload: HookMap[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const h of list) {
      try {
        await h(payload);
      } catch (err) {
        this.onError(err, name);
      }
    }
  }

  /**
   * Runs the handlers of a transactional hook in registration order, awaiting each. The first
   * that throws stops the rest and its error propagates, so the caller's transaction rolls back.
   */
  async emitInTransaction<K extends keyof TransactionalHookMap>(name: K, payload: TransactionalHookMap[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const h of list) await h(payload);
  }
}
