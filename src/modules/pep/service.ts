import type { ModuleContext } from '../module.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import { JID, tryParseJID } from '../../xmpp/jid.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf, bareOf, jidOf, type AccountRef } from '../../xmpp/account.js';
import type { SessionRecord } from '../../router/session.js';
import type { RouteContext } from '../../router/router.js';
import type { RosterItem } from '../roster/index.js';
import type { PepStore, StoredItem } from './store.js';
import { CapsCache, capsClaim, capsVer, type CapsClaim } from './caps.js';
import {
  BOOKMARKS2_OPTIONS,
  NS_BOOKMARKS,
  NS_BOOKMARKS2,
  NS_BOOKMARKS2_COMPAT,
  bookmarkOfItem,
  bookmarksOfStorage,
  itemPayload,
  sameBookmark,
  storageOf,
  type Bookmark,
} from './bookmarks.js';
import {
  checkName,
  NS_PUBSUB,
  NS_PUBSUB_EVENT,
  decodeConfig,
  defaultConfig,
  pubsubError,
  unmetPreconditions,
  type NodeConfig,
} from './config.js';

/** What PEP answers to on an account's disco#info (XEP-0163 §6.1, XEP-0060 §10). */
const FEATURES = [
  'access-open',
  'access-presence',
  'access-roster',
  'access-whitelist',
  'auto-create',
  'auto-subscribe',
  'config-node',
  'create-and-configure',
  'create-nodes',
  'delete-items',
  'delete-nodes',
  'filtered-notifications',
  'item-ids',
  'last-published',
  'member-affiliation',
  'modify-affiliations',
  'outcast-affiliation',
  'persistent-items',
  'presence-notifications',
  'publish',
  'publish-options',
  'publisher-affiliation',
  'purge-nodes',
  'retract-items',
  'retrieve-affiliations',
  'retrieve-default',
  'retrieve-items',
  'retrieve-subscriptions',
].map((f) => `${NS_PUBSUB}#${f}`);

/** Nodes created with access model whitelist unless the client asks otherwise. */
const PRIVATE_NODES: ReadonlySet<string> = new Set([NS_BOOKMARKS, NS_BOOKMARKS2]);
/** Features (and their characters in all) of one caps entry; a client claiming more gets no notifications. */
const MAX_CAPS_FEATURES = 1000;
const MAX_CAPS_CHARS = 65_536;
/** How long a client has to answer the server's disco#info about its capabilities. */
const CAPS_QUERY_TIMEOUT_MS = 10_000;

const hasFrom = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'from' || i.subscription === 'both');
const hasTo = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'to' || i.subscription === 'both');

/** What a session's caps say, once known. */
interface SessionCaps {
  claim: CapsClaim;
  /** Undefined while the client's disco#info is awaited, or when it could not be verified. */
  features: ReadonlySet<string> | undefined;
  /** The accounts (bare JIDs) whose last items the session got for these features. */
  lastSent: Set<string>;
}

/** A node of an account, with its configuration decoded. */
interface Node {
  name: string;
  config: NodeConfig;
}

/** An item to publish. */
export interface NewItem {
  /** Generated when absent. */
  id?: string;
  payload: Element;
}

/**
 * The Personal Eventing Protocol (XEP-0163): a pubsub service (XEP-0060, the subset PEP needs) on
 * every account's bare JID, whose notifications go to the account's own resources and its
 * contacts' resources that ask for them through their entity capabilities (XEP-0115, `node+notify`).
 */
export class PepService {
  private readonly caps: CapsCache;
  /** By session id: the caps claim of its available presence and, once known, its features. */
  private readonly sessionCaps = new Map<string, SessionCaps>();
  /** Caps queries in flight, by cache key: one question per ver, however many clients claim it. */
  private readonly capsQueries = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  /** Accounts whose bookmarks are being copied between PEP and private storage: the copy's own echo is not copied back. */
  private readonly syncingBookmarks = new Set<string>();

  constructor(private readonly ctx: ModuleContext<'accounts' | 'roster' | 'disco' | 'private', PepStore>) {
    this.caps = new CapsCache(() => ctx.config.pep.capsCacheSize);
    const disco = ctx.services.disco;
    disco.accountIdentities.push(['pubsub', 'pep', '']);
    disco.accountFeatures.add(NS_PUBSUB);
    for (const f of FEATURES) disco.accountFeatures.add(f);
    disco.accountFeatures.add(NS_BOOKMARKS2_COMPAT);
    disco.addAccountItems(async (account, from) => {
      const items: { jid: string; node: string; name?: string }[] = [];
      for (const node of await this.nodesOf(account)) {
        if ((await this.accessError(account, node.config, from.bare)) === undefined) {
          items.push(node.config.title ? { jid: bareOf(account), node: node.name, name: node.config.title } : { jid: bareOf(account), node: node.name });
        }
      }
      return items;
    });

    ctx.hooks.on('presence-available-out', ({ session, presence, resent }) => {
      if (!resent) this.sessionAvailable(session, presence);
    });
    ctx.router.on(
      'presence/out',
      ({ stanza, origin }) => {
        // A client going unavailable gets the last items again when it comes back.
        if (origin && stanza.attrs.to === undefined && stanza.attrs.type === 'unavailable') this.sessionCaps.delete(origin.id);
        return false;
      },
      10,
    );
    for (const event of ['presence/bare', 'presence/full'] as const) {
      ctx.router.on(
        event,
        (rc) => {
          this.contactPresence(rc);
          return false;
        },
        10,
      );
    }
    ctx.hooks.on('session-closed', ({ session }) => {
      this.sessionCaps.delete(session.id);
    });
    ctx.hooks.on('account-removing', ({ tx, ...account }) => tx.pep.removeAll(account));
    ctx.hooks.on('private-stored', async ({ account, elements }) => {
      const bookmarks = elements.find((e) => e.name === 'storage' && e.attrs.xmlns === NS_BOOKMARKS);
      if (bookmarks) await this.bookmarksFromPrivate(account, bookmarks);
    });
    ctx.hooks.on('caches-clear', ({ module }) => {
      if (module === undefined || module === 'pep') this.caps.clear();
    });
  }

  private get limits() {
    return this.ctx.config.pep;
  }

  // ---- nodes and items ----------------------------------------------------------------------

  async node(owner: AccountRef, name: string): Promise<Node | undefined> {
    const stored = await this.ctx.store.node(owner, name);
    return stored && { name: stored.node, config: decodeConfig(stored.config) };
  }

  async nodesOf(owner: AccountRef): Promise<Node[]> {
    return (await this.ctx.store.nodes(owner)).map((n) => ({ name: n.node, config: decodeConfig(n.config) }));
  }

  /** The node, or item-not-found. */
  async existingNode(owner: AccountRef, name: string): Promise<Node> {
    const node = await this.node(owner, name);
    if (!node) throw new StanzaError('item-not-found', `No node ${name}`);
    return node;
  }

  /** The number of items a node keeps: its max_items within pep.maxItemsPerNode, one when not persistent. */
  private keep(config: NodeConfig): number {
    if (!config.persistItems) return 1; // the last item, for those who come online later
    const max = this.limits.maxItemsPerNode;
    return config.maxItems === 'max' ? max : Math.min(config.maxItems, max);
  }

  /** Creates a node; refused when it exists (conflict) or the account has pep.maxNodes. */
  async createNode(owner: AccountRef, name: string, options: Partial<NodeConfig> = {}): Promise<Node> {
    checkName(name, 'node');
    // Bookmarks are private whatever a client forgets to ask (XEP-0048 §3.3, XEP-0402 §4).
    const privateByDefault: Partial<NodeConfig> = PRIVATE_NODES.has(name) ? { accessModel: 'whitelist' } : {};
    const config = { ...defaultConfig(), ...privateByDefault, ...options };
    const outcome = await this.ctx.store.createNode(owner, name, JSON.stringify(config), Date.now(), this.limits.maxNodes);
    if (outcome === 'exists') throw new StanzaError('conflict', `The node ${name} exists`);
    if (outcome === 'full') throw pubsubError('not-allowed', 'max-nodes-exceeded', `An account may have ${this.limits.maxNodes} nodes (pep.maxNodes)`);
    return { name, config };
  }

  /**
   * Publishes an item as the owner (XEP-0060 §7.1): the node is created with the options when it
   * does not exist (XEP-0163 §7.1.1, auto-create), else it must meet them (publish-options,
   * precondition-not-met). Returns the item id. Notifies who is interested.
   */
  async publish(owner: AccountRef, nodeName: string, item: NewItem, options: Partial<NodeConfig> = {}, publisher: JID = jidOf(owner)): Promise<string> {
    checkName(nodeName, 'node');
    const id = item.id ?? this.ctx.randomId(12);
    checkName(id, 'item');
    const payload = detached(item.payload).toString();
    const size = Buffer.byteLength(payload, 'utf8');
    if (size > this.limits.maxItemSize) {
      throw pubsubError('not-acceptable', 'payload-too-big', `The item is ${size} bytes, over pep.maxItemSize (${this.limits.maxItemSize})`);
    }
    let node = await this.node(owner, nodeName);
    if (!node) {
      try {
        node = await this.createNode(owner, nodeName, options);
      } catch (err) {
        if (!(err instanceof StanzaError && err.condition === 'conflict')) throw err;
        node = await this.existingNode(owner, nodeName); // created meanwhile by another publish
      }
    }
    const unmet = unmetPreconditions(node.config, options);
    if (unmet.length) throw pubsubError('conflict', 'precondition-not-met', `The node's configuration differs in ${unmet.join(', ')}`);
    const stored: StoredItem = { id, payload, publishedAt: Date.now(), publisher: publisher.bare };
    await this.ctx.store.publish(owner, nodeName, stored, this.keep(node.config));
    await this.notify(owner, node, () => x('items', { node: nodeName }, this.itemElement(node!.config, stored)));
    await this.nodeChanged(owner, nodeName);
    return id;
  }

  /** Retracts an item (XEP-0060 §7.2); notifies when asked or configured. */
  async retract(owner: AccountRef, nodeName: string, id: string, notify: boolean): Promise<void> {
    const node = await this.existingNode(owner, nodeName);
    if (!(await this.ctx.store.retract(owner, nodeName, id))) throw new StanzaError('item-not-found', `No item ${id} in ${nodeName}`);
    if (notify || node.config.notifyRetract) await this.notify(owner, node, () => x('items', { node: nodeName }, x('retract', { id })));
    await this.nodeChanged(owner, nodeName);
  }

  /** Items of a node as `requester` (a bare JID) may see them, oldest first. */
  async items(owner: AccountRef, nodeName: string, requester: string, opts: { max?: number; ids?: readonly string[] } = {}): Promise<{ node: Node; items: StoredItem[] }> {
    const node = await this.existingNode(owner, nodeName);
    const refused = await this.accessError(owner, node.config, requester);
    if (refused) throw refused;
    let items: StoredItem[];
    if (opts.ids && opts.ids.length) {
      const ids = [...new Set(opts.ids)];
      // No node holds more: a longer list asks for what cannot be there.
      if (ids.length > this.limits.maxItemsPerNode) throw new StanzaError('bad-request', `At most ${this.limits.maxItemsPerNode} items per request (pep.maxItemsPerNode)`);
      items = await this.ctx.store.itemsById(owner, nodeName, ids);
      if (items.length === 0) throw new StanzaError('item-not-found', 'No such item');
    } else {
      items = await this.ctx.store.items(owner, nodeName, opts.max);
    }
    return { node, items: items.reverse() };
  }

  async deleteNode(owner: AccountRef, nodeName: string): Promise<void> {
    const node = await this.existingNode(owner, nodeName);
    // Who may know of the node is worked out before it is gone.
    const recipients = node.config.notifyDelete ? await this.recipients(owner, node) : [];
    await this.ctx.store.deleteNode(owner, nodeName);
    await this.deliverEvent(owner, recipients, x('delete', { node: nodeName }));
    await this.nodeChanged(owner, nodeName);
  }

  async purge(owner: AccountRef, nodeName: string): Promise<void> {
    const node = await this.existingNode(owner, nodeName);
    await this.ctx.store.purge(owner, nodeName);
    if (node.config.notifyRetract) await this.notify(owner, node, () => x('purge', { node: nodeName }));
    await this.nodeChanged(owner, nodeName);
  }

  async configure(owner: AccountRef, nodeName: string, options: Partial<NodeConfig>): Promise<void> {
    const node = await this.existingNode(owner, nodeName);
    const config = { ...node.config, ...options };
    await this.ctx.store.setConfig(owner, nodeName, JSON.stringify(config));
    await this.ctx.store.trim(owner, nodeName, this.keep(config));
  }

  /**
   * Whether `requester` (a bare JID) may retrieve the node's items and be notified: undefined when
   * it may, else the error to refuse it with (XEP-0060 §6.5.9, §4.5).
   */
  async accessError(owner: AccountRef, config: NodeConfig, requester: string, known?: { item: RosterItem | undefined }): Promise<StanzaError | undefined> {
    if (requester === bareOf(owner)) return undefined;
    const contact = async () => (known ? known.item : this.ctx.services.roster.contact(owner, requester));
    const affiliation = config.affiliations[requester];
    if (affiliation === 'outcast') return new StanzaError('forbidden', 'Banned from this node');
    switch (config.accessModel) {
      case 'open':
        return undefined;
      case 'presence': {
        const item = await contact();
        return hasFrom(item) ? undefined : pubsubError('not-authorized', 'presence-subscription-required', 'Only contacts subscribed to the presence of the owner may see this node');
      }
      case 'roster': {
        const item = await contact();
        const allowed = hasFrom(item) && item!.groups.some((g) => config.rosterGroupsAllowed.includes(g));
        return allowed ? undefined : pubsubError('not-authorized', 'not-in-roster-group', 'Only contacts in some of the roster groups of the owner may see this node');
      }
      case 'whitelist':
        return affiliation === 'member' || affiliation === 'publisher' ? undefined : pubsubError('not-allowed', 'closed-node', 'This node is private');
    }
  }

  // ---- notifications ------------------------------------------------------------------------

  /** An item as notifications and retrievals carry it. */
  itemElement(config: NodeConfig, item: StoredItem): Element {
    const el = x('item', { id: item.id, publisher: item.publisher });
    if (config.deliverPayloads) el.append(parseElement(item.payload, Number.MAX_SAFE_INTEGER));
    return el;
  }

  /** Whether a session's client asked for notifications of a node (XEP-0163 §4.3.3, filtered notifications). */
  private wants(session: SessionRecord, node: string): boolean {
    return this.sessionCaps.get(session.id)?.features?.has(`${node}+notify`) ?? false;
  }

  /**
   * The available resources that get a node's notifications: the owner's, and its local contacts'
   * with a presence subscription to it whose access the node allows (XEP-0163 §4.3), each only when
   * its caps ask for `node+notify`.
   */
  private async recipients(owner: AccountRef, node: Node): Promise<SessionRecord[]> {
    const out = this.ctx.sessions.available(bareOf(owner)).filter((s) => this.wants(s, node.name));
    for (const contact of await this.ctx.services.roster.contacts(owner)) {
      if (!hasFrom(contact)) continue;
      const jid = tryParseJID(contact.jid);
      if (!jid || jid.local === '' || !this.ctx.isLocalHost(jid.domain)) continue;
      const sessions = this.ctx.sessions.available(contact.jid).filter((s) => this.wants(s, node.name));
      if (sessions.length === 0) continue;
      if ((await this.accessError(owner, node.config, contact.jid, { item: contact })) !== undefined) continue;
      out.push(...sessions);
    }
    return out;
  }

  private async notify(owner: AccountRef, node: Node, event: () => Element): Promise<void> {
    await this.deliverEvent(owner, await this.recipients(owner, node), event());
  }

  private async deliverEvent(owner: AccountRef, recipients: readonly SessionRecord[], event: Element, delay?: number): Promise<void> {
    const from = jidOf(owner);
    for (const s of recipients) {
      const message = x('message', { type: 'headline', id: this.ctx.randomId() }, x('event', { xmlns: NS_PUBSUB_EVENT }, event.clone()));
      if (delay !== undefined) message.append(x('delay', { xmlns: NS.delay, from: from.bare, stamp: new Date(delay).toISOString() }));
      await this.ctx.send(message, from, s.jid);
    }
  }

  // ---- entity capabilities ------------------------------------------------------------------

  /** A session's available presence: learn what its caps claim, then send it the last items it wants. */
  private sessionAvailable(session: SessionRecord, presence: Element): void {
    const claim = capsClaim(presence);
    const known = this.sessionCaps.get(session.id);
    if (!claim) {
      this.sessionCaps.delete(session.id);
      return;
    }
    if (known && known.claim.key === claim.key) return;
    const entry: SessionCaps = { claim, features: claim.hash !== undefined ? this.caps.get(claim.key) : undefined, lastSent: new Set() };
    this.sessionCaps.set(session.id, entry);
    const run = async () => {
      if (entry.features === undefined) entry.features = await this.resolveCaps(session, claim);
      if (this.sessionCaps.get(session.id) !== entry || entry.features === undefined) return;
      await this.sendLastItems(session);
    };
    run().catch((err) => this.ctx.log.warn({ err, session: session.jid.full }, 'PEP: caps or last items failed'));
  }

  /** The features a claim stands for: from the cache, else asked of the client and verified. */
  private resolveCaps(session: SessionRecord, claim: CapsClaim): Promise<ReadonlySet<string> | undefined> {
    // A legacy claim is the client's word only: asked of each client, never shared.
    const key = claim.hash !== undefined ? claim.key : `${session.id} ${claim.key}`;
    let pending = this.capsQueries.get(key);
    if (!pending) {
      pending = this.queryCaps(session, claim).finally(() => this.capsQueries.delete(key));
      this.capsQueries.set(key, pending);
    }
    return pending;
  }

  private async queryCaps(session: SessionRecord, claim: CapsClaim): Promise<ReadonlySet<string> | undefined> {
    const iq = x('iq', { type: 'get' }, x('query', { xmlns: NS.discoInfo, node: `${claim.node}#${claim.ver}` }));
    const host = new JID('', session.jid.domain, '');
    iq.attrs.from = host.toString();
    iq.attrs.to = session.jid.full;
    let reply: Element;
    try {
      reply = await this.ctx.iq.request(iq, host, session.jid, CAPS_QUERY_TIMEOUT_MS);
    } catch {
      return undefined;
    }
    const query = reply.attrs.type === 'result' ? reply.getChild('query', NS.discoInfo) : undefined;
    if (!query) return undefined;
    const features = new Set(query.getChildren('feature').map((f) => f.attrs.var ?? ''));
    // What is kept per ver is bounded: a client could otherwise make each cache entry as large as a stanza.
    let chars = 0;
    for (const f of features) chars += f.length;
    if (features.size > MAX_CAPS_FEATURES || chars > MAX_CAPS_CHARS) return undefined;
    if (claim.hash === undefined) return features;
    // XEP-0115 §5.4: what does not hash to the ver claimed is not believed, nor cached.
    if (capsVer(query, claim.hash) !== claim.ver) {
      this.ctx.log.debug({ session: session.jid.full, ver: claim.ver }, 'PEP: caps verification failed');
      return undefined;
    }
    this.caps.set(claim.key, features);
    return features;
  }

  /**
   * The last item of each node the session wants, of its own account and of the contacts whose
   * presence it receives (send_last_published_item on_sub_and_presence, XEP-0163 §4.3.2).
   */
  private async sendLastItems(session: SessionRecord): Promise<void> {
    const account = accountOf(session.jid);
    const owners: AccountRef[] = [account];
    for (const contact of await this.ctx.services.roster.contacts(account)) {
      if (!hasTo(contact)) continue;
      const jid = tryParseJID(contact.jid);
      if (jid && jid.local !== '' && jid.resource === '' && this.ctx.isLocalHost(jid.domain)) owners.push(accountOf(jid));
    }
    for (const owner of owners) await this.sendLastItemsOnce(owner, session);
  }

  /** The last items of the owner's nodes the session wants, unless it got them already. */
  private async sendLastItemsOnce(owner: AccountRef, session: SessionRecord): Promise<void> {
    const entry = this.sessionCaps.get(session.id);
    const bare = bareOf(owner);
    if (!entry?.features || entry.lastSent.has(bare)) return;
    entry.lastSent.add(bare);
    for (const node of await this.nodesOf(owner)) {
      if (node.config.sendLastPublishedItem !== 'on_sub_and_presence' || !this.wants(session, node.name)) continue;
      if ((await this.accessError(owner, node.config, session.jid.bare)) !== undefined) continue;
      const [last] = await this.ctx.store.items(owner, node.name, 1);
      if (last) await this.deliverEvent(owner, [session], x('items', { node: node.name }, this.itemElement(node.config, last)), last.publishedAt);
    }
  }

  /**
   * Available presence of a local account reaching a session of another: when the session has not
   * had that account's last items (a subscription just approved, the account's first presence
   * since), it gets them now (XEP-0163 §4.3.2, on_sub_and_presence).
   */
  private contactPresence({ stanza, from, to }: RouteContext): void {
    if (stanza.attrs.type !== undefined || from.local === '' || from.bare === to.bare || !this.ctx.isLocalHost(from.domain)) return;
    const targets = to.resource !== '' ? [this.ctx.sessions.get(to.bare, to.resource)] : this.ctx.sessions.available(to.bare);
    for (const session of targets) {
      if (!session || this.sessionCaps.get(session.id)?.lastSent.has(from.bare) !== false) continue;
      this.sendLastItemsOnce(accountOf(from), session).catch((err) => this.ctx.log.warn({ err, session: session.jid.full }, 'PEP: last items failed'));
    }
  }

  /** Features of a session's client as the caps told (for tests and diagnostics). */
  featuresOf(session: SessionRecord): ReadonlySet<string> | undefined {
    return this.sessionCaps.get(session.id)?.features;
  }

  get capsCacheSize(): number {
    return this.caps.size;
  }

  // ---- XEP-0402 compat: bookmarks in step with private XML storage ---------------------------

  private async nodeChanged(owner: AccountRef, nodeName: string): Promise<void> {
    if (nodeName === NS_BOOKMARKS2 && !this.syncingBookmarks.has(bareOf(owner))) await this.bookmarksToPrivate(owner);
  }

  /** XEP-0402 §5.3: what PEP now holds, written to `storage:bookmarks` in private storage (its URLs kept). */
  private async bookmarksToPrivate(owner: AccountRef): Promise<void> {
    const bookmarks: Bookmark[] = [];
    for (const item of await this.ctx.store.items(owner, NS_BOOKMARKS2)) {
      const b = bookmarkOfItem(item.id, parseElement(item.payload, Number.MAX_SAFE_INTEGER));
      if (b) bookmarks.push(b);
    }
    const previous = await this.ctx.services.private.get(owner, 'storage', NS_BOOKMARKS);
    await this.syncing(owner, () => this.ctx.services.private.set(owner, [storageOf(bookmarks.reverse(), previous)]));
  }

  /** XEP-0402 §5.3: what a client stored in private storage, published (and retracted) item by item. */
  private async bookmarksFromPrivate(owner: AccountRef, storage: Element): Promise<void> {
    const bare = bareOf(owner);
    if (this.syncingBookmarks.has(bare)) return;
    const wanted = bookmarksOfStorage(storage);
    const node = await this.node(owner, NS_BOOKMARKS2);
    const current = new Map<string, { bookmark: Bookmark; payload: Element }>();
    if (node) {
      for (const item of await this.ctx.store.items(owner, NS_BOOKMARKS2)) {
        const payload = parseElement(item.payload, Number.MAX_SAFE_INTEGER);
        const bookmark = bookmarkOfItem(item.id, payload);
        if (bookmark) current.set(item.id, { bookmark, payload });
      }
    }
    await this.syncing(owner, async () => {
      for (const [jid, b] of wanted) {
        const have = current.get(jid);
        if (have && sameBookmark(have.bookmark, b)) continue;
        await this.publish(owner, NS_BOOKMARKS2, { id: jid, payload: itemPayload(b, have?.payload) }, BOOKMARKS2_OPTIONS);
      }
      for (const id of current.keys()) if (!wanted.has(id)) await this.retract(owner, NS_BOOKMARKS2, id, true);
    });
  }

  private async syncing(owner: AccountRef, fn: () => Promise<void>): Promise<void> {
    const bare = bareOf(owner);
    this.syncingBookmarks.add(bare);
    try {
      await fn();
    } catch (err) {
      // The client's own write succeeded; the copy is best effort (a node configured otherwise, a full storage).
      this.ctx.log.warn({ err, account: bare }, 'PEP: bookmarks not copied between PEP and private storage');
    } finally {
      this.syncingBookmarks.delete(bare);
    }
  }

  // ---- bookmarks_to_pep -----------------------------------------------------------------------

  /**
   * Publishes the account's XEP-0048 bookmarks kept in private XML storage to its PEP node
   * `storage:bookmarks`, item `current`, persistent and private (what ejabberd 23.01's
   * mod_private does); false when private storage holds none.
   */
  async bookmarksToPep(account: AccountRef): Promise<boolean> {
    const bookmarks = await this.ctx.services.private.get(account, 'storage', NS_BOOKMARKS);
    if (!bookmarks) return false;
    await this.publish(account, NS_BOOKMARKS, { id: 'current', payload: bookmarks }, { persistItems: true, accessModel: 'whitelist' });
    return true;
  }
}







/**
 * A copy of the element that stands alone: the prefixes it may use that its ancestors declared
 * are declared on it, and its namespace when it inherited it.
 */
function detached(el: Element): Element {
  const copy = el.clone();
  for (let a = el.parent; a; a = a.parent) {
    for (const [k, v] of Object.entries(a.attrs)) if (k.startsWith('xmlns:') && !(k in copy.attrs)) copy.attrs[k] = v;
  }
  if (copy.attrs.xmlns === undefined) {
    const ns = el.getNS();
    if (ns !== undefined) copy.attrs.xmlns = ns;
  }
  return copy;
}
