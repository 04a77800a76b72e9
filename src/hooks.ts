/**
 * Typed events between features (guide principle 5): a feature reacts to what happened
 * instead of being called by the feature where it happened.
 */
import type { SessionRecord } from './router/session.js';

export interface HookMap {
  /** An account was created (any surface: API, in-band registration, import). */
  'account-created': { user: string; host: string };
  /** An account was removed; each feature removes what it holds for it. */
  'account-removed': { user: string; host: string };
  /** A session bound a resource and can send and receive stanzas. */
  'session-opened': { session: SessionRecord };
  /** A session ended (after any stream-management hibernation). */
  'session-closed': { session: SessionRecord; reason: string };
  /** A session sent its first available presence. */
  'session-available': { session: SessionRecord };
}

type Handler<T> = (payload: T) => void | Promise<void>;

export class Hooks {
  private handlers = new Map<keyof HookMap, Handler<any>[]>();

  on<K extends keyof HookMap>(name: K, handler: Handler<HookMap[K]>): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler);
    this.handlers.set(name, list);
  }

  /** Runs handlers in registration order, awaiting each. */
  async emit<K extends keyof HookMap>(name: K, payload: HookMap[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const h of list) await h(payload);
  }
}
