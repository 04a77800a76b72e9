import type { Element } from '../xmpp/xml/element.js';
import type { JID } from '../xmpp/jid.js';
import type { SessionRecord } from './session.js';
import { errorReply, isErrorStanza } from '../xmpp/stanza.js';

/**
 * Where a stanza is going, Prosody style: `<kind>/<target>` where target is
 * `host` (the server itself), `bare` (an account), `full` (a resource), or `out` for
 * stanzas a local client sends, before they are routed.
 */
export type RouteEvent =
  | 'message/host' | 'message/bare' | 'message/full' | 'message/out'
  | 'presence/host' | 'presence/bare' | 'presence/full' | 'presence/out'
  | 'iq/host' | 'iq/bare' | 'iq/full' | 'iq/out';

export interface RouteContext {
  stanza: Element;
  from: JID;
  to: JID;
  /** The local session that sent the stanza, when it came from a client. */
  origin?: SessionRecord;
  /**
   * Sessions (ids) of the addressed account that must not get this stanza, although it is
   * delivered to the others: set by a handler that runs first (privacy lists, which are per
   * session) and honoured by delivery to a bare JID.
   */
  excluded?: ReadonlySet<string>;
}

/** Returns true when it took care of the stanza; later handlers are then skipped. */
export type RouteHandler = (ctx: RouteContext) => boolean | void | Promise<boolean | void>;

interface Entry {
  priority: number;
  fn: RouteHandler;
}

export interface RouterDeps {
  isLocalHost(domain: string): boolean;
}

/**
 * A domain served by a module of this node rather than by accounts (XEP-0045 rooms on
 * `conference.<host>`, an upload service): every stanza addressed to it goes to its handler,
 * which answers as the domain and never falls through to account delivery.
 */
export type DomainHandler = (ctx: RouteContext) => void | Promise<void>;

export class Router {
  private handlers = new Map<RouteEvent, Entry[]>();
  private readonly domains = new Map<string, DomainHandler>();

  constructor(private readonly deps: RouterDeps) {}

  /** Higher priority runs first. Features use 0..100; the router's own fallbacks run at -100. */
  on(event: RouteEvent, fn: RouteHandler, priority = 0): void {
    const list = this.handlers.get(event) ?? [];
    list.push({ priority, fn });
    list.sort((a, b) => b.priority - a.priority);
    this.handlers.set(event, list);
  }

  /** Serves a domain (prepared) with a module's handler; a domain is served by one module only. */
  addDomain(domain: string, handler: DomainHandler): void {
    if (this.deps.isLocalHost(domain) || this.domains.has(domain)) throw new Error(`domain ${domain} is already served`);
    this.domains.set(domain, handler);
  }

  /** Whether a module serves this domain (see addDomain). */
  isServedDomain(domain: string): boolean {
    return this.domains.has(domain);
  }

  /** The domains modules serve. */
  servedDomains(): string[] {
    return [...this.domains.keys()];
  }

  /** Fires an event; true when some handler took the stanza. */
  async fire(event: RouteEvent, ctx: RouteContext): Promise<boolean> {
    const list = this.handlers.get(event);
    if (!list) return false;
    for (const { fn } of list) {
      const r = fn(ctx);
      if (r === true || (r !== undefined && r !== false && (await r) === true)) return true;
    }
    return false;
  }

  /**
   * Routes a stanza whose `from` and `to` are already set and trusted.
   * Remote domains are not served yet (no s2s): the sender gets remote-server-not-found.
   */
  async route(stanza: Element, from: JID, to: JID, origin?: SessionRecord): Promise<void> {
    const kind = stanza.name;
    if (kind !== 'message' && kind !== 'presence' && kind !== 'iq') return;
    const domain = this.domains.get(to.domain);
    if (domain !== undefined) {
      await domain({ stanza, from, to, origin });
      return;
    }
    if (!this.deps.isLocalHost(to.domain)) {
      await this.bounce({ stanza, from, to, origin }, 'remote-server-not-found', `no route to ${to.domain}`);
      return;
    }
    const target = to.local === '' ? 'host' : to.resource === '' ? 'bare' : 'full';
    const ctx: RouteContext = { stanza, from, to, origin };
    const handled = await this.fire(`${kind}/${target}` as RouteEvent, ctx);
    if (!handled) await this.bounce(ctx, 'service-unavailable');
  }

  /** Answers a stanza with an error to its sender, unless it is an error itself (RFC 6120 §8.3.1). */
  async bounce(ctx: RouteContext, condition: string, text?: string): Promise<void> {
    const { stanza } = ctx;
    if (isErrorStanza(stanza)) return;
    if (stanza.name === 'presence' && stanza.attrs.type !== undefined && stanza.attrs.type !== 'unavailable' && condition === 'service-unavailable') return;
    if (stanza.name === 'iq' && stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set') return;
    const reply = errorReply(stanza, condition, text);
    reply.attrs.from = ctx.to.toString();
    reply.attrs.to = ctx.from.toString();
    await this.route(reply, ctx.to, ctx.from);
  }
}
