import type { Session } from './session.js';
import { isAvailable } from './session.js';

/** All bound sessions of this node, by bare JID then resource. */
export class SessionRegistry {
  private byBare = new Map<string, Map<string, Session>>();
  private total = 0;

  /** Adds a session; returns the session it replaces (same full JID), which the caller must close. */
  add(session: Session): Session | undefined {
    const bare = session.jid.bare;
    let resources = this.byBare.get(bare);
    if (!resources) {
      resources = new Map();
      this.byBare.set(bare, resources);
    }
    const old = resources.get(session.jid.resource);
    if (!old) this.total++;
    resources.set(session.jid.resource, session);
    return old;
  }

  /** Removes the session if it is still the one registered under its full JID. */
  remove(session: Session): boolean {
    const bare = session.jid.bare;
    const resources = this.byBare.get(bare);
    if (!resources || resources.get(session.jid.resource) !== session) return false;
    resources.delete(session.jid.resource);
    this.total--;
    if (resources.size === 0) this.byBare.delete(bare);
    return true;
  }

  get(bare: string, resource: string): Session | undefined {
    return this.byBare.get(bare)?.get(resource);
  }

  /** Sessions of an account, in binding order. */
  resources(bare: string): Session[] {
    const r = this.byBare.get(bare);
    return r ? [...r.values()] : [];
  }

  hasSessions(bare: string): boolean {
    return this.byBare.has(bare);
  }

  available(bare: string): Session[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    const out: Session[] = [];
    for (const s of r.values()) if (isAvailable(s)) out.push(s);
    return out;
  }

  /**
   * Sessions that get a message addressed to the bare JID (RFC 6121 §8.5.2.1.1):
   * the available resources with the highest non-negative priority.
   */
  messageTargets(bare: string): Session[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    let best = -1;
    let out: Session[] = [];
    for (const s of r.values()) {
      if (!isAvailable(s) || s.priority < 0) continue;
      if (s.priority > best) {
        best = s.priority;
        out = [s];
      } else if (s.priority === best) out.push(s);
    }
    return out;
  }

  count(): number {
    return this.total;
  }

  *all(): Iterable<Session> {
    for (const r of this.byBare.values()) yield* r.values();
  }

  *forHost(host: string): Iterable<Session> {
    for (const r of this.byBare.values()) for (const s of r.values()) if (s.jid.domain === host) yield s;
  }
}
