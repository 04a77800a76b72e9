import type { ModuleContext } from '../module.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { tryParseJID, type JID } from '../../xmpp/jid.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import { badArgument } from '../../errors.js';
import type { PublishOption, PushSession, PushStore } from './store.js';

export const NS_PUSH = 'urn:xmpp:push:0';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_DATA = 'jabber:x:data';
const NS_HINTS = 'urn:xmpp:hints';
const PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';
const SUMMARY = 'urn:xmpp:push:summary';
/** OMEMO: an encrypted message has no readable body but is news all the same. */
const NS_OMEMO = 'eu.siacs.conversations.axolotl';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Which messages are news for a phone (XEP-0357 §7, as ejabberd's mod_push): chat or normal with a body or encrypted payload. */
function notifiable(stanza: Element): boolean {
  const type = stanza.attrs.type ?? 'normal';
  if (type !== 'chat' && type !== 'normal') return false;
  if (stanza.getChild('no-store', NS_HINTS)) return false;
  return stanza.getChild('body') !== undefined || stanza.getChild('encrypted', NS_OMEMO) !== undefined;
}

/** The publish-options form of an enable request (XEP-0357 §5): its fields besides FORM_TYPE; undefined without a form. */
function publishOptions(enable: Element): PublishOption[] {
  const form = enable.getChild('x', NS_DATA);
  if (!form) return [];
  const type = form.attrs.type ?? 'submit';
  if (type !== 'submit') throw new StanzaError('bad-request', 'the publish options are a submitted data form');
  const fields = form.getChildren('field');
  const formType = fields.find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value');
  if (formType !== PUBLISH_OPTIONS) throw new StanzaError('bad-request', `the publish options form has FORM_TYPE ${PUBLISH_OPTIONS}`);
  const out: PublishOption[] = [];
  for (const f of fields) {
    const name = f.attrs.var;
    if (name === undefined || name === '' || name === 'FORM_TYPE') continue;
    out.push({ var: name, values: f.getChildren('value').map((v) => v.text()) });
  }
  return out;
}

/** What a notification says about the messages the account missed. */
interface Summary {
  count: number;
  sender: string;
  body: string | undefined;
}

/**
 * Push notifications (XEP-0357): a client registers an app server and node (`enable`); while the
 * account has no session to take a message (it went to offline storage), or the session that
 * registered hibernates under stream management, each new message becomes a summary published to
 * that node, from the account's bare JID. An app server that answers with an error loses its
 * registration (XEP-0357 §8, as ejabberd), except for errors that say "later" (type wait) or that
 * this server cannot reach it (no server-to-server yet).
 */
export class PushService {
  /** Messages notified per account since it last had an available session: the `message-count`. */
  private readonly pending = new Map<string, number>();
  /** Notifications sent per registration in the current minute: `push.notificationsPerMinute`. */
  private readonly sent = new Map<string, { start: number; count: number }>();

  constructor(private readonly ctx: ModuleContext<'accounts' | 'disco', PushStore>) {
    ctx.services.disco.accountFeatures.add(NS_PUSH);
    ctx.services.disco.hostFeatures.add(NS_PUSH);
    ctx.iq.register({
      xmlns: NS_PUSH,
      target: 'bare',
      set: async ({ payload, from, to, origin }) => {
        if (from.bare !== to.bare || !origin) throw new StanzaError('not-allowed', 'push notifications are enabled by the account itself');
        if (payload.name === 'enable') await this.enable(origin, payload);
        else if (payload.name === 'disable') await this.disable(from, payload);
        else throw new StanzaError('bad-request', 'expected enable or disable');
        return undefined;
      },
    });
    ctx.hooks.on('message-offline', ({ to, from, stanza }) => {
      if (notifiable(stanza)) this.notifyAll(to.bare, from, stanza, () => true);
    });
    // Before delivery (0): a message queued for a hibernating session is news for the registrations it made.
    ctx.router.on('message/bare', (route) => this.toHibernating(route, ctx.sessions.messageTargets(route.to.bare)), 5);
    ctx.router.on('message/full', (route) => {
      const target = ctx.sessions.get(route.to.bare, route.to.resource);
      return this.toHibernating(route, target ? [target] : []);
    }, 5);
    // Messages the phone may not have got before its connection dropped (XEP-0198: not acknowledged).
    ctx.hooks.on('session-hibernating', ({ session, unackedMessages, lastMessage }) => {
      if (unackedMessages === 0 || !lastMessage || !notifiable(lastMessage)) return;
      const from = tryParseJID(lastMessage.attrs.from ?? '');
      if (!from) return;
      this.notifyAll(session.jid.bare, from, lastMessage, (p) => p.resource === session.jid.resource, unackedMessages);
    });
    ctx.hooks.on('session-available', ({ session }) => {
      this.pending.delete(session.jid.bare);
    });
    ctx.hooks.on('account-removing', async ({ tx, ...account }) => {
      await tx.push.removeAll(bareOf(account));
    });
    ctx.hooks.on('account-removed', (account) => {
      this.pending.delete(bareOf(account));
    });
  }

  private async enable(origin: SessionRecord, enable: Element): Promise<void> {
    const service = tryParseJID(enable.attrs.jid ?? '');
    if (!service) throw new StanzaError('jid-malformed', 'the jid attribute names the app server');
    const node = enable.attrs.node ?? '';
    // As ejabberd: without a node there is nothing to publish to.
    if (node === '') throw new StanzaError('feature-not-implemented', "enabling push without a 'node' attribute is not supported");
    const now = Date.now();
    const session: PushSession = {
      owner: origin.jid.bare,
      service: service.full,
      node,
      options: publishOptions(enable),
      resource: origin.jid.resource,
      sessionId: origin.id,
      createdAt: now,
      lastUsed: 0,
    };
    const max = this.ctx.config.push.maxSessionsPerAccount;
    const outcome = await this.ctx.store.put(session, max);
    if (outcome === 'full') throw new StanzaError('resource-constraint', `at most ${max} push registrations per account: disable one first`);
    this.ctx.log.debug({ owner: session.owner, service: session.service, node }, 'push enabled');
  }

  private async disable(from: JID, disable: Element): Promise<void> {
    const service = tryParseJID(disable.attrs.jid ?? '');
    if (!service) throw new StanzaError('jid-malformed', 'the jid attribute names the app server');
    const node = disable.attrs.node;
    await this.ctx.store.remove(from.bare, service.full, node === '' ? undefined : node);
  }

  /** Notifies the registrations made by the hibernating sessions among `targets`; never takes the message. */
  private toHibernating(route: RouteContext, targets: readonly SessionRecord[]): false {
    const resources = new Set<string>();
    for (const s of targets) if (s.flags.hibernating === true && !route.excluded?.has(s.id)) resources.add(s.jid.resource);
    if (resources.size > 0 && notifiable(route.stanza)) this.notifyAll(route.to.bare, route.from, route.stanza, (p) => resources.has(p.resource));
    return false;
  }

  /** Sends a notification to the owner's registrations that `which` selects, in the background. */
  private notifyAll(owner: string, from: JID, stanza: Element, which: (p: PushSession) => boolean, messages = 1): void {
    const count = (this.pending.get(owner) ?? 0) + messages;
    this.pending.set(owner, count);
    const summary: Summary = { count, sender: from.bare, body: stanza.getChildText('body') };
    this.ctx.store
      .list(owner)
      .then((sessions) => Promise.all(sessions.filter(which).map((p) => this.notify(p, summary))))
      .catch((err) => this.ctx.log.error({ err, owner }, 'push notification failed'));
  }

  private keyOf(p: PushSession): string {
    return `${p.owner}\n${p.service}\n${p.node}`;
  }

  /** Within `push.notificationsPerMinute` for this registration (and counts this one). */
  private allowed(p: PushSession, now: number): boolean {
    const key = this.keyOf(p);
    let w = this.sent.get(key);
    if (!w || now - w.start >= MINUTE_MS) {
      // Forget the windows that are over, so the map holds only registrations notified this minute.
      for (const [k, v] of this.sent) if (now - v.start >= MINUTE_MS) this.sent.delete(k);
      this.sent.set(key, (w = { start: now, count: 0 }));
    }
    if (w.count >= this.ctx.config.push.notificationsPerMinute) return false;
    w.count++;
    return true;
  }

  private async notify(p: PushSession, summary: Summary): Promise<void> {
    const now = Date.now();
    if (!this.allowed(p, now)) {
      this.ctx.log.debug({ owner: p.owner, service: p.service }, 'push notification dropped: rate limit');
      return;
    }
    const owner = tryParseJID(p.owner);
    const to = tryParseJID(p.service);
    if (!owner || !to) return;
    const iq = x('iq', { type: 'set', from: owner.bare, to: to.full }, this.publish(p, summary));
    await this.ctx.store.touch(p, now);
    let reply: Element;
    try {
      reply = await this.ctx.iq.request(iq, owner, to, this.ctx.config.push.replyTimeout * 1000);
    } catch (err) {
      this.ctx.log.warn({ owner: p.owner, service: p.service, err: (err as Error).message }, 'push notification not answered');
      return;
    }
    if (reply.attrs.type !== 'error') return;
    const error = reply.getChild('error');
    const type = error?.attrs.type;
    const condition = error?.elements().find((e) => e.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas' && e.name !== 'text')?.name;
    if (type === 'wait' || condition === 'remote-server-not-found' || condition === 'remote-server-timeout') {
      // Not the app server refusing: it is out of reach for now (no server-to-server yet) or busy.
      this.ctx.log.warn({ owner: p.owner, service: p.service, condition }, 'push notification not delivered; the registration is kept');
      return;
    }
    await this.ctx.store.remove(p.owner, p.service, p.node);
    this.ctx.log.info({ owner: p.owner, service: p.service, node: p.node, condition }, 'the app server refused a notification: push disabled');
  }

  /** The XEP-0357 §7 publish: the summary form and the registration's publish options. */
  private publish(p: PushSession, summary: Summary): Element {
    const { includeBody, includeSender } = this.ctx.config.push;
    const form = x('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', [SUMMARY]), field('message-count', [String(summary.count)]));
    if (includeSender) form.append(field('last-message-sender', [summary.sender]));
    const body = includeBody === true ? summary.body : includeBody === false ? undefined : includeBody;
    if (body !== undefined && body !== '') form.append(field('last-message-body', [body]));
    const pubsub = x('pubsub', { xmlns: NS_PUBSUB }, x('publish', { node: p.node }, x('item', null, x('notification', { xmlns: NS_PUSH }, form))));
    if (p.options.length > 0) {
      const options = x('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', [PUBLISH_OPTIONS], 'hidden'));
      for (const o of p.options) options.append(field(o.var, o.values));
      pubsub.append(x('publish-options', null, options));
    }
    return pubsub;
  }

  /** The account's registrations (tests, diagnostics). */
  sessionsOf(account: AccountRef): Promise<PushSession[]> {
    return this.ctx.store.list(bareOf(account));
  }

  /** delete_old_push_sessions: removes registrations enabled more than `days` days ago; how many. */
  deleteOlderThan(days: number): Promise<number> {
    if (!Number.isInteger(days) || days < 0) throw badArgument(`Invalid number of days: ${days}`);
    return this.ctx.store.removeOlderThan(Date.now() - days * DAY_MS);
  }
}

function field(name: string, values: readonly string[], type?: string): Element {
  const f = x('field', type ? { var: name, type } : { var: name });
  for (const v of values) f.append(x('value', null, v));
  return f;
}
