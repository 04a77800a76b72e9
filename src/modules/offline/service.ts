import type { ModuleContext } from '../module.js';
import type { OfflineStore } from './store.js';
import { x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import { expiryOf, markStored, remainingOnDelivery } from './expiry.js';

const DAY_MS = 86_400_000;

/** ejabberd's words when the recipient's offline queue is full (mod_offline, discard_warn_sender). */
export const QUEUE_FULL_TEXT = 'Your contact offline message queue is full. The message has been discarded.';

/** Messages read from storage per step of a delivery; the event loop serves others between steps. */
const DELIVERY_BATCH = 100;

/** Whether a message is worth keeping for later (XEP-0160): chat or normal with content. */
function storable(ctx: RouteContext): boolean {
  const type = ctx.stanza.attrs.type ?? 'normal';
  if (type !== 'chat' && type !== 'normal') return false;
  const s = ctx.stanza;
  if (s.getChild('no-store', NS.hints)) return false;
  return s.getChild('body') !== undefined || s.getChild('subject') !== undefined || s.getChild('store', NS.hints) !== undefined;
}

/**
 * Offline storage: messages for accounts with no available resource, delivered on initial presence.
 *
 * A message leaves storage only once the client has it: with stream management (XEP-0198) when the
 * client acknowledges it, without it once it is written to the connection. Messages being delivered
 * are claimed, so two resources coming online together do not both get them; a claim ends when the
 * message is acknowledged (removed) or its session ends first (it stays stored for the next delivery).
 */
export class OfflineService {
  /** Ids being delivered, and deliveries running, per owner. */
  private claimed = new Map<string, { ids: Set<number>; deliveries: number }>();
  /** Acknowledged ids waiting to be removed, per owner: removed in one statement per turn of the event loop. */
  private acked = new Map<string, number[]>();
  private flushScheduled = false;

  constructor(private readonly ctx: ModuleContext<'accounts', OfflineStore>) {
    ctx.router.on('message/bare', (ctx) => this.store(ctx), -50);
    // Not awaited: delivery waits for the client to acknowledge, which the client's own stanza handling must be free to do.
    ctx.hooks.on('session-available', ({ session }) => {
      this.deliver(session).catch((err) => this.ctx.log.error({ err, jid: session.jid.full }, 'offline delivery failed'));
    });
    ctx.hooks.on('account-removing', ({ tx, ...account }) => tx.offline.deleteAll(bareOf(account)));
    // Acknowledged ids not yet removed were ids of the replaced data: removing them now could hit restored messages.
    ctx.hooks.on('caches-clear', ({ module }) => {
      if (module === undefined || module === ctx.name) this.acked.clear();
    });
  }

  private async store(ctx: RouteContext): Promise<boolean> {
    if (!storable(ctx)) return false;
    const owner = ctx.to.bare;
    if (!(await this.ctx.services.accounts.exists(accountOf(ctx.to)))) return false;
    const now = Date.now();
    const expiresAt = expiryOf(ctx.stanza, now);
    // Already expired: the sender asked for it not to be delivered after now (XEP-0079 §3.7.2, XEP-0023).
    if (expiresAt !== undefined && expiresAt <= now) return true;
    const stanza = ctx.stanza.clone();
    if (!stanza.getChild('delay', NS.delay)) {
      stanza.append(x('delay', { xmlns: NS.delay, from: ctx.to.domain, stamp: new Date(now).toISOString() }, 'Offline Storage'));
    }
    markStored(stanza, now);
    const text = stanza.toString();
    const { maxOfflineMessages: limit, maxOfflineChars: maxChars } = this.ctx.config.limits;
    const opts = { limit, maxChars, expiresAt };
    let stored = await this.ctx.store.add(owner, text, now, opts);
    // Expired messages wait for a purge but must not take the room of a deliverable one.
    if (!stored && (await this.ctx.store.deleteExpired(now, owner)) > 0) stored = await this.ctx.store.add(owner, text, now, opts);
    // RFC 6120 §8.3.3.18 and ejabberd's mod_offline: the sender learns the message was not kept.
    if (!stored) await this.ctx.router.bounce(ctx, 'resource-constraint', QUEUE_FULL_TEXT);
    else await this.ctx.hooks.emit('message-offline', { from: ctx.from, to: ctx.to, stanza: ctx.stanza });
    return true;
  }

  /** Sends the owner's stored messages to the session, in batches paced by what the session can take. */
  private async deliver(session: SessionRecord): Promise<void> {
    if (session.priority < 0) return;
    const owner = session.jid.bare;
    let claimed = this.claimed.get(owner);
    if (!claimed) this.claimed.set(owner, (claimed = { ids: new Set(), deliveries: 0 }));
    claimed.deliveries++;
    try {
      await this.deliverClaiming(session, owner, claimed.ids);
    } finally {
      claimed.deliveries--;
      this.forget(owner);
    }
  }

  private async deliverClaiming(session: SessionRecord, owner: string, claims: Set<number>): Promise<void> {
    let after = 0;
    for (;;) {
      if (!(await this.ctx.sessions.drained(session))) return;
      const batch = await this.ctx.store.list(owner, after, DELIVERY_BATCH);
      if (batch.length === 0) break;
      for (const m of batch) {
        after = m.id;
        if (claims.has(m.id)) continue;
        const now = Date.now();
        if (m.expiresAt !== undefined && m.expiresAt <= now) {
          // Expired in storage: never delivered; removed like a delivered one.
          this.ack(owner, m.id);
          continue;
        }
        let el;
        try {
          el = parseElement(m.stanza, Infinity);
        } catch (err) {
          this.ctx.log.warn({ err, id: m.id }, 'dropping an unreadable offline message');
          this.ack(owner, m.id);
          continue;
        }
        if (m.expiresAt !== undefined) remainingOnDelivery(el, m.expiresAt, now);
        claims.add(m.id);
        this.ctx.sessions.deliver(session, el, {
          acked: () => {
            claims.delete(m.id);
            this.ack(owner, m.id);
          },
          failed: () => this.unclaim(owner, m.id),
        });
      }
      if (batch.length < DELIVERY_BATCH) break;
      // Let everyone else's stanzas through between batches.
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Drops the owner's claim record once nothing is claimed or being delivered. */
  private forget(owner: string): void {
    const c = this.claimed.get(owner);
    if (c && c.ids.size === 0 && c.deliveries === 0) this.claimed.delete(owner);
  }

  private ack(owner: string, id: number): void {
    let ids = this.acked.get(owner);
    if (!ids) this.acked.set(owner, (ids = []));
    ids.push(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const all = [...this.acked];
    this.acked.clear();
    for (const [owner, ids] of all) {
      try {
        await this.ctx.store.remove(owner, ids);
      } catch (err) {
        this.ctx.log.error({ err, owner }, 'removing delivered offline messages failed');
      }
      this.forget(owner);
    }
  }

  /** The session ended before the client had the message: it stays stored, for another resource or the next login. */
  private unclaim(owner: string, id: number): void {
    const claims = this.claimed.get(owner);
    if (!claims) return;
    claims.ids.delete(id);
    if (claims.ids.size > 0 || claims.deliveries > 0) return;
    this.claimed.delete(owner);
    const next = this.ctx.sessions.messageTargets(owner)[0];
    if (next) {
      setImmediate(() => {
        this.deliver(next).catch((err) => this.ctx.log.error({ err, jid: next.jid.full }, 'offline delivery failed'));
      });
    }
  }

  /** The stored messages of an account, oldest first, as stored (export_piefxis). */
  async messages(owner: AccountRef, max = 100_000): Promise<{ stanza: string; createdAt: number }[]> {
    const out: { stanza: string; createdAt: number }[] = [];
    let after = 0;
    while (out.length < max) {
      const page = await this.ctx.store.list(bareOf(owner), after, Math.min(500, max - out.length));
      if (page.length === 0) break;
      for (const m of page) out.push({ stanza: m.stanza, createdAt: m.createdAt });
      after = page[page.length - 1]!.id;
    }
    return out;
  }

  /** Stores an imported message for the account within its limits; false when a limit refuses it. */
  importMessage(owner: AccountRef, stanza: string, createdAt: number): Promise<boolean> {
    const { maxOfflineMessages: limit, maxOfflineChars: maxChars } = this.ctx.config.limits;
    return this.ctx.store.add(bareOf(owner), stanza, createdAt, { limit, maxChars });
  }

  count(owner: AccountRef): Promise<number> {
    return this.ctx.store.count(bareOf(owner));
  }

  /** Removes every account's messages whose expiry has passed (delete_expired_messages); returns how many. */
  deleteExpired(): Promise<number> {
    return this.ctx.store.deleteExpired(Date.now());
  }

  /** Removes every account's messages stored more than `days` days ago (delete_old_messages); returns how many. */
  deleteOlderThan(days: number): Promise<number> {
    return this.ctx.store.deleteOlderThan(Date.now() - days * DAY_MS);
  }
}
