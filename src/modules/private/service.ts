import type { ModuleContext } from '../module.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import { DomainError, type DomainErrorKind } from '../../errors.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import type { JID } from '../../xmpp/jid.js';
import { privateKey, type PrivateStore } from './store.js';

/** Namespaces no private data may be stored in (XEP-0049 §2.3: reserved; refused with not-acceptable). */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set([NS.client, NS.server, NS.private]);

/**
 * A refusal of private storage: a domain error for the admin surfaces, with the stanza error
 * condition XMPP answers with.
 */
export class PrivateStorageError extends DomainError {
  constructor(
    kind: DomainErrorKind,
    message: string,
    readonly condition: 'not-acceptable' | 'resource-constraint',
  ) {
    super(kind, message);
  }
}

/** An element name as XML allows it (no prefix: a prefixed element carries no `xmlns` of its own). */
const ELEMENT_NAME = /^[\p{L}_][\p{L}\p{N}_.\-\u00B7\u0300-\u036F\u203F-\u2040]*$/u;

/**
 * Private XML storage (XEP-0049): any element in a namespace of its own, kept per account under
 * its name and namespace, for the account's own clients (`jabber:iq:private`) and the admin
 * commands `private_get` and `private_set`.
 */
export class PrivateService {
  constructor(private readonly ctx: ModuleContext<'accounts', PrivateStore>) {
    ctx.iq.register({
      xmlns: NS.private,
      target: 'bare',
      get: ({ from, to, payload }) => this.iqGet(from, to, payload),
      set: ({ from, to, payload }) => this.iqSet(from, to, payload),
    });
  }

  /** limits.maxPrivateElements */
  get maxElements(): number {
    return this.ctx.config.limits.maxPrivateElements;
  }

  /** limits.maxPrivateElementSize */
  get maxElementSize(): number {
    return this.ctx.config.limits.maxPrivateElementSize;
  }

  /** The element stored under this name and namespace, or undefined. */
  async get(account: AccountRef, name: string, ns: string): Promise<Element | undefined> {
    const text = await this.ctx.store.get(account, privateKey(name, ns));
    return text === undefined ? undefined : parseElement(text, Number.MAX_SAFE_INTEGER);
  }

  /**
   * What a get answers for this name and namespace: the stored element, or the element empty when
   * nothing is stored (XEP-0049 §2.3; as ejabberd does).
   */
  async getOrEmpty(account: AccountRef, name: string, ns: string): Promise<Element> {
    this.checkName(name);
    this.checkNamespace(ns);
    return (await this.get(account, name, ns)) ?? x(name, { xmlns: ns });
  }

  /** Every element the account keeps (export_piefxis). */
  async all(account: AccountRef): Promise<Element[]> {
    return (await this.ctx.store.list(account)).map(({ value }) => parseElement(value, Number.MAX_SAFE_INTEGER));
  }

  /** Number of elements the account keeps. */
  count(account: AccountRef): Promise<number> {
    return this.ctx.store.count(account);
  }

  /**
   * Stores each element under its name and namespace, replacing what was there: all of them or,
   * on a refusal (reserved or missing namespace, too large, too many elements), none. An element
   * with no attribute but its namespace and no content removes what is stored (a get answers the
   * same empty element either way, and the account gets its room back).
   */
  async set(account: AccountRef, elements: readonly Element[]): Promise<void> {
    const writes = elements.map((el) => this.prepare(el));
    if (writes.length === 1) await this.write(this.ctx.store, account, writes[0]!);
    else {
      await this.ctx.transaction(async (tx) => {
        const store = this.ctx.store.in(tx);
        for (const w of writes) await this.write(store, account, w);
      });
    }
    await this.ctx.hooks.emit('private-stored', { account, elements });
  }

  private async write(store: PrivateStore, account: AccountRef, w: { key: string; text: string | undefined }): Promise<void> {
    if (w.text === undefined) {
      await store.delete(account, w.key);
      return;
    }
    if (!(await store.set(account, w.key, w.text, this.maxElements))) {
      throw new PrivateStorageError(
        'forbidden',
        `Private storage of ${bareOf(account)} is full (limits.maxPrivateElements: ${this.maxElements})`,
        'resource-constraint',
      );
    }
  }

  /** Checks an element to store; its key, and its text (undefined: an empty element, which removes). */
  private prepare(el: Element): { key: string; text: string | undefined } {
    const ns = el.attrs.xmlns;
    if (ns === undefined || ns === '') throw new PrivateStorageError('bad-argument', `The element <${el.name}/> has no namespace of its own (xmlns)`, 'not-acceptable');
    this.checkName(el.name);
    this.checkNamespace(ns);
    const key = privateKey(el.name, ns);
    if (el.children.length === 0 && Object.keys(el.attrs).length === 1) return { key, text: undefined };
    const text = detached(el).toString();
    const size = Buffer.byteLength(text, 'utf8');
    if (size > this.maxElementSize) {
      throw new PrivateStorageError('bad-argument', `The element <${el.name} xmlns='${ns}'/> is ${size} bytes, over limits.maxPrivateElementSize (${this.maxElementSize})`, 'not-acceptable');
    }
    return { key, text };
  }

  private checkName(name: string): void {
    if (!ELEMENT_NAME.test(name)) throw new PrivateStorageError('bad-argument', `Invalid element name: ${name}`, 'not-acceptable');
  }

  private checkNamespace(ns: string): void {
    if (ns === '') throw new PrivateStorageError('bad-argument', 'Empty namespace', 'not-acceptable');
    if (RESERVED_NAMESPACES.has(ns)) throw new PrivateStorageError('bad-argument', `The namespace ${ns} is reserved`, 'not-acceptable');
  }

  // ---- jabber:iq:private ---------------------------------------------------------------------

  private own(from: JID, to: JID): AccountRef {
    // XEP-0049 §2.3 and §4: another user's private data is neither read nor written.
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'Query to another users is forbidden');
    return accountOf(to);
  }

  private async iqGet(from: JID, to: JID, query: Element): Promise<Element> {
    const account = this.own(from, to);
    const wanted = query.elements();
    if (wanted.length === 0) throw new StanzaError('bad-request', 'No private data found in this query');
    const result = x('query', { xmlns: NS.private });
    for (const el of wanted) {
      const ns = el.attrs.xmlns;
      if (ns === undefined || ns === '') throw new StanzaError('not-acceptable', `The element <${el.name}/> has no namespace of its own (xmlns)`);
      result.append(await stanzaErrors(() => this.getOrEmpty(account, el.name, ns)));
    }
    return result;
  }

  private async iqSet(from: JID, to: JID, query: Element): Promise<undefined> {
    const account = this.own(from, to);
    const elements = query.elements();
    if (elements.length === 0) throw new StanzaError('not-acceptable', 'No private data found in this query');
    await stanzaErrors(() => this.set(account, elements));
    return undefined;
  }
}

/** Runs `fn`, answering its refusals with their stanza error. */
async function stanzaErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PrivateStorageError) throw new StanzaError(err.condition, err.message, err.condition === 'resource-constraint' ? 'cancel' : undefined);
    throw err;
  }
}

/**
 * A copy of the element that stands alone: the prefixes it may use that its ancestors declared
 * (`xmlns:p` on the query or the IQ) are declared on it.
 */
function detached(el: Element): Element {
  const copy = el.clone();
  for (let a = el.parent; a; a = a.parent) {
    for (const [k, v] of Object.entries(a.attrs)) if (k.startsWith('xmlns:') && !(k in copy.attrs)) copy.attrs[k] = v;
  }
  return copy;
}
