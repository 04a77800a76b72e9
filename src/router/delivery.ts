import type { Router, RouteContext } from './router.js';
import type { SessionDirectory } from './directory.js';
import type { AccountService } from '../modules/accounts/index.js';
import { accountOf } from '../xmpp/account.js';

/** What delivery needs of the node: its router, its sessions and whether an account exists. */
export interface DeliveryHost {
  readonly router: Router;
  readonly sessions: SessionDirectory;
  readonly accounts: AccountService;
}

/**
 * Default delivery to local users (RFC 6121 §8.5): what happens to a stanza that no
 * feature took. Features hook the same events at higher priority.
 */
export function setupDelivery(server: DeliveryHost): void {
  const { router, sessions } = server;

  // A resource that is online gets what is addressed to it.
  router.on('message/full', (ctx) => deliverToFull(server, ctx), -100);
  router.on('presence/full', (ctx) => {
    const s = sessions.get(ctx.to.bare, ctx.to.resource);
    if (s) sessions.deliver(s, ctx.stanza);
    return true; // presence to an unavailable resource is silently dropped (§8.5.3.2.2)
  }, -100);
  router.on('iq/full', (ctx) => {
    const s = sessions.get(ctx.to.bare, ctx.to.resource);
    if (!s) return false; // the router answers service-unavailable
    sessions.deliver(s, ctx.stanza);
    return true;
  }, -100);

  // Messages to the bare JID go to the most available resources.
  router.on('message/bare', (ctx) => {
    const type = ctx.stanza.attrs.type ?? 'normal';
    if (type === 'groupchat') return false;
    let targets = type === 'headline' ? sessions.available(ctx.to.bare).filter((s) => s.priority >= 0) : sessions.messageTargets(ctx.to.bare);
    if (ctx.excluded && targets.length > 0) {
      targets = targets.filter((s) => !ctx.excluded!.has(s.id));
      if (targets.length === 0) return true; // the resources it was for refuse it (privacy lists)
    }
    if (targets.length === 0) return false;
    for (const s of targets) sessions.deliver(s, ctx.stanza);
    return true;
  }, 0);
  // Nobody online and the offline store did not take it: drop silently for an existing
  // account (headline, error), bounce for an unknown one.
  router.on('message/bare', async (ctx) => {
    if (ctx.stanza.attrs.type === 'groupchat') return false;
    return server.accounts.exists(accountOf(ctx.to));
  }, -100);

  // Presence to the bare JID that is not subscription traffic: to every available resource.
  router.on('presence/bare', (ctx) => {
    for (const s of sessions.available(ctx.to.bare)) if (!ctx.excluded?.has(s.id)) sessions.deliver(s, ctx.stanza);
    return true;
  }, -100);

  // Messages to the server itself are not answered; presence to it is ignored.
  router.on('message/host', () => true, -100);
  router.on('presence/host', () => true, -100);
}

function deliverToFull(server: DeliveryHost, ctx: RouteContext): boolean | Promise<boolean> {
  const s = server.sessions.get(ctx.to.bare, ctx.to.resource);
  if (s) {
    server.sessions.deliver(s, ctx.stanza);
    return true;
  }
  const type = ctx.stanza.attrs.type ?? 'normal';
  if (type === 'chat' || type === 'normal') {
    // §8.5.3.2.1: treat as if addressed to the bare JID.
    return server.router.fire('message/bare', { ...ctx, to: ctx.to.bareJID() });
  }
  return type !== 'groupchat'; // headline and error are dropped; groupchat bounces
}
