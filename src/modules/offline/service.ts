import type { Server } from '../../server.js';
import { x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import type { RouteContext } from '../../router/router.js';
import type { Session } from '../../router/session.js';

/** Whether a message is worth keeping for later (XEP-0160): chat or normal with content. */
function storable(ctx: RouteContext): boolean {
  const type = ctx.stanza.attrs.type ?? 'normal';
  if (type !== 'chat' && type !== 'normal') return false;
  const s = ctx.stanza;
  if (s.getChild('no-store', NS.hints)) return false;
  return s.getChild('body') !== undefined || s.getChild('subject') !== undefined || s.getChild('store', NS.hints) !== undefined;
}

/** Offline storage: messages for accounts with no available resource, delivered on initial presence. */
export class OfflineService {
  constructor(private readonly server: Server) {
    server.router.on('message/bare', (ctx) => this.store(ctx), -50);
    server.hooks.on('session-available', ({ session }) => this.deliver(session));
    server.hooks.on('account-removed', ({ user, host }) => this.server.storage.offline.deleteAll(`${user}@${host}`));
  }

  private async store(ctx: RouteContext): Promise<boolean> {
    if (!storable(ctx)) return false;
    const owner = ctx.to.bare;
    if (!(await this.server.accounts.exists(ctx.to.local, ctx.to.domain))) return false;
    const store = this.server.storage.offline;
    if ((await store.count(owner)) >= this.server.config.limits.maxOfflineMessages) {
      await this.server.router.bounce(ctx, 'service-unavailable', 'Your contact offline message queue is full');
      return true;
    }
    const stanza = ctx.stanza.clone();
    if (!stanza.getChild('delay', NS.delay)) {
      stanza.append(x('delay', { xmlns: NS.delay, from: ctx.to.domain, stamp: new Date().toISOString() }, 'Offline Storage'));
    }
    await store.add(owner, stanza.toString(), Date.now());
    return true;
  }

  private async deliver(session: Session): Promise<void> {
    if (session.priority < 0) return;
    const messages = await this.server.storage.offline.takeAll(session.jid.bare);
    for (const m of messages) {
      try {
        session.send(parseElement(m.stanza));
      } catch (err) {
        this.server.log.warn({ err, id: m.id }, 'dropping an unreadable offline message');
      }
    }
  }

  count(owner: string): Promise<number> {
    return this.server.storage.offline.count(owner);
  }
}
