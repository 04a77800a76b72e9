import type { Element } from '../xmpp/xml/element.js';
import type { JID } from '../xmpp/jid.js';
import type { SessionRecord } from './session.js';
import type { Router, RouteContext } from './router.js';
import { StanzaError, errorReply, iqResult } from '../xmpp/stanza.js';

export interface IqContext {
  iq: Element;
  payload: Element;
  from: JID;
  to: JID;
  origin?: SessionRecord;
}

/** Returns the payload of the result (or nothing for an empty result); throws StanzaError to refuse. */
export type IqHandler = (ctx: IqContext) => Element | undefined | void | Promise<Element | undefined | void>;

export interface IqRegistration {
  xmlns: string;
  /** Where the handler answers: the server itself (`to` = host) and/or an account (`to` = bare JID). */
  target: 'host' | 'bare' | 'both';
  get?: IqHandler;
  set?: IqHandler;
}

/**
 * Server-side IQ handling, keyed by payload namespace. It also answers the result/error
 * of IQs the server itself sent (see `request`).
 */
export class IqHandlers {
  private host = new Map<string, IqRegistration>();
  private bare = new Map<string, IqRegistration>();
  private pending = new Map<string, (reply: Element) => void>();
  private nextId = 0;

  constructor(private readonly router: Router, private readonly send: (el: Element, from: JID, to: JID) => Promise<void>) {
    router.on('iq/host', (ctx) => this.dispatch(this.host, ctx), -10);
    router.on('iq/bare', (ctx) => this.dispatch(this.bare, ctx), -10);
  }

  register(reg: IqRegistration): void {
    if (reg.target !== 'bare') this.host.set(reg.xmlns, reg);
    if (reg.target !== 'host') this.bare.set(reg.xmlns, reg);
  }

  /** Sends an IQ from the server and resolves with the reply (or rejects on timeout). */
  request(iq: Element, from: JID, to: JID, timeoutMs = 30_000): Promise<Element> {
    const id = `parley-${++this.nextId}`;
    iq.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('iq timeout'));
      }, timeoutMs);
      timer.unref?.();
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send(iq, from, to).catch(reject);
    });
  }

  private async dispatch(table: Map<string, IqRegistration>, ctx: RouteContext): Promise<boolean> {
    const iq = ctx.stanza;
    const type = iq.attrs.type;
    if (type === 'result' || type === 'error') {
      const id = iq.attrs.id;
      const waiter = id !== undefined ? this.pending.get(id) : undefined;
      if (waiter) {
        this.pending.delete(id!);
        waiter(iq);
      }
      return true;
    }
    const children = iq.elements();
    if ((type !== 'get' && type !== 'set') || children.length !== 1 || iq.attrs.id === undefined) {
      await this.reply(errorReply(iq, 'bad-request', 'an IQ get or set carries exactly one payload and an id'), ctx);
      return true;
    }
    const payload = children[0]!;
    const reg = table.get(payload.attrs.xmlns ?? '');
    if (!reg) return false;
    const handler = type === 'get' ? reg.get : reg.set;
    if (!handler) {
      await this.reply(errorReply(iq, 'bad-request', `${type} is not allowed here`), ctx);
      return true;
    }
    let reply: Element;
    try {
      const result = await handler({ iq, payload, from: ctx.from, to: ctx.to, origin: ctx.origin });
      reply = iqResult(iq, result ?? undefined);
    } catch (err) {
      if (err instanceof StanzaError) reply = errorReply(iq, err.condition, err.text, err.type, err.appCondition);
      else throw err;
    }
    await this.reply(reply, ctx);
    return true;
  }

  private async reply(reply: Element, ctx: RouteContext): Promise<void> {
    reply.attrs.from = ctx.to.toString();
    reply.attrs.to = ctx.from.toString();
    await this.send(reply, ctx.to, ctx.from);
  }
}
