import { defineModule, type ModuleContext } from '../module.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';

/** Which messages are copied (XEP-0280 §6): chat messages not marked private or no-copy. */
function eligible(stanza: Element): boolean {
  if (stanza.attrs.type !== 'chat') return false;
  if (stanza.getChild('private', NS.carbons) || stanza.getChild('no-copy', NS.hints)) return false;
  if (stanza.getChild('received', NS.carbons) || stanza.getChild('sent', NS.carbons)) return false;
  return true;
}

function wrap(kind: 'sent' | 'received', stanza: Element, to: SessionRecord): Element {
  return x(
    'message',
    { from: to.jid.bare, to: to.jid.full, type: stanza.attrs.type ?? 'chat' },
    x(kind, { xmlns: NS.carbons }, x('forwarded', { xmlns: NS.forward }, stanza.clone())),
  );
}

/** XEP-0280 message carbons: every resource of an account sees its one-to-one chats. */
export const carbonsModule = defineModule({
  name: 'carbons',
  summary: 'Message Carbons (XEP-0280): copies of a chat to every resource of the account',
  dependencies: ['disco'],
  setup: setupCarbons,
});

function setupCarbons({ iq, router, sessions, services }: ModuleContext<'disco'>): void {
  services.disco.hostFeatures.add(NS.carbons);
  const toggle = (on: boolean) => ({ from, to, origin }: { from: import('../../xmpp/jid.js').JID; to: import('../../xmpp/jid.js').JID; origin?: SessionRecord }) => {
    if (!origin || from.bare !== to.bare) throw new StanzaError('not-allowed');
    sessions.setFlag(origin, 'carbons', on);
    return undefined;
  };
  iq.register({ xmlns: NS.carbons, target: 'bare', set: (ctx) => (ctx.payload.name === 'enable' ? toggle(true)(ctx) : ctx.payload.name === 'disable' ? toggle(false)(ctx) : (() => { throw new StanzaError('bad-request'); })()) });

  const copyTo = (bare: string, except: Set<string>, kind: 'sent' | 'received', stanza: Element) => {
    for (const s of sessions.resources(bare)) {
      if (s.flags.carbons && !except.has(s.id) && s.presence !== undefined) sessions.deliver(s, wrap(kind, stanza, s));
    }
  };

  router.on('message/out', (ctx: RouteContext) => {
    if (ctx.origin && eligible(ctx.stanza)) copyTo(ctx.from.bare, new Set([ctx.origin.id]), 'sent', ctx.stanza);
    return false;
  }, 10);
  router.on('message/full', (ctx) => {
    const target = sessions.get(ctx.to.bare, ctx.to.resource);
    if (target && eligible(ctx.stanza)) copyTo(ctx.to.bare, new Set([target.id]), 'received', ctx.stanza);
    return false;
  }, 10);
  router.on('message/bare', (ctx) => {
    if (!eligible(ctx.stanza)) return false;
    const targets = sessions.messageTargets(ctx.to.bare);
    if (targets.length) copyTo(ctx.to.bare, new Set(targets.map((s) => s.id)), 'received', ctx.stanza);
    return false;
  }, 10);
}
