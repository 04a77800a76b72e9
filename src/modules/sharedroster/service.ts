import type { ModuleContext } from '../module.js';
import type { RosterProvider } from '../roster/index.js';
import type { Transaction } from '../../storage/index.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import { badArgument, forbidden, notFound } from '../../errors.js';
import { x } from '../../xmpp/xml/element.js';
import { tryParseJID } from '../../xmpp/jid.js';
import type { GroupRef, SharedGroup, SharedGroupStore } from './store.js';

/** The two special members: every account of the group's host, every online account of it. */
export type SpecialMember = 'allUsers' | 'onlineUsers';
/** A member of a group: an account, or one of the special members. */
export type GroupMember = AccountRef | SpecialMember;

/** What a group is made of, for those who edit it. */
export interface GroupFields {
  name: string;
  description: string;
  /** Ids of the groups of the same host whose members the members of this group see. */
  displayed: string[];
}

/** The members of a group as they were named: accounts and the special members. */
export interface GroupMembers {
  accounts: AccountRef[];
  allUsers: boolean;
  onlineUsers: boolean;
}

/** Longest group id, name, description, in characters (like roster names and groups). */
const MAX_TEXT = 1024;


/**
 * The reads the views of accounts need, each made once for one computation over many accounts
 * (a change concerning every online member of a big group reads the host's groups once).
 */
class Reads {
  private readonly groups = new Map<string, Promise<Map<string, SharedGroup>>>();
  private readonly members = new Map<string, Promise<AccountRef[]>>();
  private readonly accounts = new Map<string, Promise<string[]>>();
  constructor(
    readonly store: SharedGroupStore,
    private readonly listAccounts: (host: string) => Promise<string[]>,
  ) {}
  hostGroups(host: string): Promise<Map<string, SharedGroup>> {
    let p = this.groups.get(host);
    if (!p) this.groups.set(host, (p = this.store.list(host).then((gs) => new Map(gs.map((g) => [g.id, g])))));
    return p;
  }
  groupMembers(g: GroupRef): Promise<AccountRef[]> {
    const key = `${g.host}\0${g.id}`;
    let p = this.members.get(key);
    if (!p) this.members.set(key, (p = this.store.members(g)));
    return p;
  }
  hostAccounts(host: string): Promise<string[]> {
    let p = this.accounts.get(host);
    if (!p) this.accounts.set(host, (p = this.listAccounts(host)));
    return p;
  }
}
const labelOf = (g: SharedGroup) => g.name || g.id;

/**
 * Shared roster groups (ejabberd's mod_shared_roster; Openfire's shared groups): groups of a host
 * whose members see the members of the groups each group displays in their rosters, subscribed both
 * ways, without anything stored in their rosters. The operations are by host and group id and know
 * nothing of any admin dialect. As a roster provider, it gives the roster module those contacts;
 * after a change it pushes the difference to the online accounts concerned and routes the presence
 * a new (or lost) subscription implies, as ejabberd's roster pushes do.
 */
export class SharedGroupService implements RosterProvider {
  /** Online accounts that saw a removed account, between its removal and the commit. */
  private readonly removing = new Map<string, Set<string>>();

  constructor(private readonly ctx: ModuleContext<'accounts' | 'roster', SharedGroupStore>) {
    ctx.services.roster.addProvider(this);
    ctx.hooks.on('account-created', (a) => this.accountCreated(a));
    ctx.hooks.on('account-removing', (p) => this.accountRemoving(p));
    ctx.hooks.on('account-removed', (a) => this.accountRemoved(a));
    ctx.hooks.on('storage-replaced', () => this.forgetGroupsExist());
    ctx.hooks.on('session-opened', ({ session }) => this.onlineChanged(session.jid.bare, session.jid.full, true));
    ctx.hooks.on('session-closed', ({ session }) => this.onlineChanged(session.jid.bare, session.jid.full, false));
  }

  private get store(): SharedGroupStore {
    return this.ctx.store;
  }

  private reads(store = this.store): Reads {
    return new Reads(store, (host) => this.ctx.services.accounts.list(host));
  }

  private get limits() {
    return this.ctx.config.limits;
  }

  // ---- the groups ------------------------------------------------------------------------

  /** A group reference on a served host (the host prepared), or a not-found error. */
  ref(host: string, id: string): GroupRef {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    if (id === '') throw badArgument('Invalid group identifier: empty');
    if (id.length > MAX_TEXT) throw badArgument(`Invalid group identifier: longer than ${MAX_TEXT} characters`);
    return { host: h, id };
  }

  /** Groups of a host, by id. */
  async list(host: string): Promise<SharedGroup[]> {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    return this.store.list(h);
  }

  async get(ref: GroupRef): Promise<SharedGroup> {
    const g = await this.store.get(ref);
    if (!g) throw notFound(`Group ${ref.id} does not exist on ${ref.host}`);
    return g;
  }

  /**
   * Creates a group, or changes the name, description and displayed groups of an existing one
   * (its members stay), as ejabberd's create_group overwrites. Returns whether it was new.
   */
  async put(ref: GroupRef, fields: GroupFields): Promise<boolean> {
    if (fields.name.length > MAX_TEXT) throw badArgument(`Group name longer than ${MAX_TEXT} characters`);
    if (fields.description.length > MAX_TEXT) throw badArgument(`Group description longer than ${MAX_TEXT} characters`);
    const displayed = [...new Set(fields.displayed.filter((d) => d !== ''))];
    if (displayed.some((d) => d.length > MAX_TEXT)) throw badArgument(`Displayed group identifier longer than ${MAX_TEXT} characters`);
    // A group displays at most every group its host may have.
    if (displayed.length > this.limits.maxSharedRosterGroups) {
      throw badArgument(`Too many displayed groups: ${displayed.length} (limits.maxSharedRosterGroups: ${this.limits.maxSharedRosterGroups})`);
    }
    const outcome = await this.changing(this.concerned(ref), () => this.store.put({ ...ref, ...fields, displayed }, this.limits.maxSharedRosterGroups));
    if (outcome === 'full') throw forbidden(`Too many shared roster groups on ${ref.host} (limits.maxSharedRosterGroups: ${this.limits.maxSharedRosterGroups})`);
    return outcome === 'created';
  }

  /** Removes a group and its members. */
  async delete(ref: GroupRef): Promise<void> {
    const deleted = await this.changing(this.concerned(ref), () => this.store.delete(ref));
    if (!deleted) throw notFound(`Group ${ref.id} does not exist on ${ref.host}`);
  }

  async members(ref: GroupRef): Promise<GroupMembers> {
    const g = await this.get(ref);
    return { accounts: await this.store.members(ref), allUsers: g.allUsers, onlineUsers: g.onlineUsers };
  }

  /** Adds a member (adding one already there changes nothing). */
  async addMember(ref: GroupRef, member: GroupMember): Promise<void> {
    if (typeof member === 'string') return this.setSpecial(ref, member, true);
    const outcome = await this.changing(this.concerned(ref, member), () => this.store.addMember(ref, member, this.limits.maxSharedRosterGroupMembers));
    if (outcome === 'no-group') throw notFound(`Group ${ref.id} does not exist on ${ref.host}`);
    if (outcome === 'full') {
      throw forbidden(`Group ${ref.id} on ${ref.host} is full (limits.maxSharedRosterGroupMembers: ${this.limits.maxSharedRosterGroupMembers})`);
    }
  }

  async removeMember(ref: GroupRef, member: GroupMember): Promise<void> {
    if (typeof member === 'string') return this.setSpecial(ref, member, false);
    await this.get(ref);
    const removed = await this.changing(this.concerned(ref, member), () => this.store.removeMember(ref, member));
    if (!removed) throw notFound(`${bareOf(member)} is not a member of group ${ref.id} on ${ref.host}`);
  }

  private async setSpecial(ref: GroupRef, special: SpecialMember, on: boolean): Promise<void> {
    const g = await this.get(ref);
    if (!on && !g[special]) throw notFound(`${special === 'allUsers' ? '@all@' : '@online@'} is not a member of group ${ref.id} on ${ref.host}`);
    if (g[special] === on) return;
    // Everyone online on the host may join or leave the group.
    const concerned = async () => new Set([...(await this.concerned(ref)()), ...this.onlineOn(ref.host)]);
    await this.changing(concerned, () => this.store.setSpecial(ref, special, on));
  }

  // ---- what members see (the roster provider) ----------------------------------------------

  private online(account: AccountRef): boolean {
    return this.ctx.sessions.hasSessions(bareOf(account));
  }

  /** Bare JIDs of the accounts of a host with a session. */
  private onlineOn(host: string): Set<string> {
    const bares = new Set<string>();
    for (const s of this.ctx.sessions.forHost(host)) bares.add(s.jid.bare);
    return bares;
  }

  /**
   * Whether any shared group exists, on any host, kept in memory: most servers have none, and then a
   * login, a presence broadcast or a roster read costs no query here. Every group write forgets it
   * (before and after the write, so a read that overlapped one is not kept). It is this node's
   * knowledge: a cluster will have to share the forgetting.
   */
  private groupsExist: boolean | undefined;
  private groupWrites = 0;

  private async anyGroups(): Promise<boolean> {
    if (this.groupsExist !== undefined) return this.groupsExist;
    const epoch = this.groupWrites;
    let any = false;
    for (const h of this.ctx.hosts) {
      if ((await this.store.list(h)).length > 0) {
        any = true;
        break;
      }
    }
    if (epoch === this.groupWrites) this.groupsExist = any;
    return any;
  }

  private forgetGroupsExist(): void {
    this.groupWrites++;
    this.groupsExist = undefined;
  }

  /** The groups an account is a member of, explicitly or through a special member. */
  private async groupsOfAccount(account: AccountRef, reads: Reads): Promise<SharedGroup[]> {
    if (!(await this.anyGroups())) return [];
    const candidates = await reads.store.candidateGroups(account);
    return candidates
      .filter(({ group: g, explicit }) => explicit || (g.host === account.host && (g.allUsers || (g.onlineUsers && this.online(account)))))
      .map((c) => c.group);
  }

  /** The existing groups the given groups display (each resolved on its own host). */
  private async displayedBy(groups: SharedGroup[], reads: Reads): Promise<SharedGroup[]> {
    const out = new Map<string, SharedGroup>();
    for (const g of groups) {
      const all = await reads.hostGroups(g.host);
      for (const id of g.displayed) {
        const d = all.get(id);
        if (d) out.set(`${d.host}\0${d.id}`, d);
      }
    }
    return [...out.values()];
  }

  /** Bare JIDs of a group's members: the named accounts, and every (online) account of the host for the special members. */
  private async memberJids(g: SharedGroup, reads: Reads, onlineOnly = false): Promise<Set<string>> {
    const bares = new Set<string>();
    for (const m of await reads.groupMembers(g)) if (!onlineOnly || this.online(m)) bares.add(bareOf(m));
    if (g.allUsers && !onlineOnly) for (const u of await reads.hostAccounts(g.host)) bares.add(`${u}@${g.host}`);
    if (g.onlineUsers || (g.allUsers && onlineOnly)) for (const b of this.onlineOn(g.host)) bares.add(b);
    return bares;
  }

  contacts(owner: AccountRef): Promise<Map<string, string[]>> {
    return this.view(owner, this.reads());
  }

  private async view(owner: AccountRef, reads: Reads): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const mine = await this.groupsOfAccount(owner, reads);
    if (mine.length === 0) return out;
    const self = bareOf(owner);
    for (const d of await this.displayedBy(mine, reads)) {
      for (const jid of await this.memberJids(d, reads)) {
        if (jid === self) continue;
        const groups = out.get(jid);
        if (groups) groups.push(labelOf(d));
        else out.set(jid, [labelOf(d)]);
      }
    }
    return out;
  }

  async groupsOf(owner: AccountRef, contact: string): Promise<string[]> {
    const jid = tryParseJID(contact);
    if (!jid || !jid.local || jid.resource || !this.ctx.isLocalHost(jid.domain) || jid.bare === bareOf(owner)) return [];
    const reads = this.reads();
    const mine = await this.groupsOfAccount(owner, reads);
    if (mine.length === 0) return [];
    const displayed = await this.displayedBy(mine, reads);
    if (displayed.length === 0) return [];
    const account = { user: jid.local, host: jid.domain };
    const theirs = new Set((await this.groupsOfAccount(account, reads)).map((g) => `${g.host}\0${g.id}`));
    const labels = displayed.filter((d) => theirs.has(`${d.host}\0${d.id}`)).map(labelOf);
    // @all@ makes every name of the host a candidate: only an existing account is a member.
    if (labels.length && !(await this.ctx.services.accounts.exists(account))) return [];
    return [...new Set(labels)];
  }

  // ---- telling online accounts what changed --------------------------------------------------

  /**
   * The online accounts whose rosters a change of this group (or of this member of it) may change:
   * its members (what they see) and the members of the groups displaying it (how they see it).
   */
  private concerned(ref: GroupRef, member?: AccountRef): () => Promise<Set<string>> {
    return async () => {
      const out = new Set<string>();
      if (member && this.online(member)) out.add(bareOf(member));
      const reads = this.reads();
      for (const g of (await reads.hostGroups(ref.host)).values()) {
        if (g.id === ref.id || g.displayed.includes(ref.id)) for (const b of await this.memberJids(g, reads, true)) out.add(b);
      }
      return out;
    };
  }

  /**
   * Runs a change, then pushes to each concerned account the contacts it gained, lost or sees in
   * other groups; a contact gained gets the account's presence, a contact lost (and not subscribed
   * otherwise) its unavailability (ejabberd's route_presence_change).
   */
  private async changing<T>(concerned: () => Promise<Set<string>>, apply: () => Promise<T>): Promise<T> {
    const viewers = [...(await concerned())];
    const before = new Map<string, Map<string, string[]>>();
    const readsBefore = this.reads();
    for (const v of viewers) before.set(v, await this.view(accountOfBare(v), readsBefore));
    this.forgetGroupsExist();
    let result: T;
    try {
      result = await apply();
    } finally {
      this.forgetGroupsExist();
    }
    const readsAfter = this.reads();
    for (const v of viewers) {
      const was = before.get(v)!;
      const now = await this.view(accountOfBare(v), readsAfter);
      const changed = [...new Set([...was.keys(), ...now.keys()])].filter((jid) => String(was.get(jid)?.sort()) !== String(now.get(jid)?.sort()));
      if (changed.length === 0) continue;
      await this.ctx.services.roster.refresh(accountOfBare(v), changed);
      for (const jid of changed) {
        if (was.has(jid) && now.has(jid)) continue;
        if (now.has(jid)) await this.sendPresence(v, jid);
        else if (!(await this.ctx.services.roster.contact(accountOfBare(v), jid))) await this.sendUnavailable(v, jid);
      }
    }
    return result;
  }

  /** The viewer's available resources send their presence to a contact it now sees. */
  private async sendPresence(viewer: string, contact: string): Promise<void> {
    const to = tryParseJID(contact);
    if (!to) return;
    for (const s of this.ctx.sessions.available(viewer)) {
      const p = this.ctx.sessions.presenceOf(s);
      if (p) await this.ctx.send(p, s.jid, to);
    }
  }

  private async sendUnavailable(viewer: string, contact: string): Promise<void> {
    const to = tryParseJID(contact);
    if (!to) return;
    for (const s of this.ctx.sessions.available(viewer)) await this.ctx.send(x('presence', { type: 'unavailable' }), s.jid, to);
  }

  /** Online members of the groups displaying any of these groups (of one host). */
  private async viewersOf(host: string, ids: Set<string>, store = this.store): Promise<Set<string>> {
    const out = new Set<string>();
    if (ids.size === 0) return out;
    const reads = this.reads(store);
    for (const g of (await reads.hostGroups(host)).values()) {
      if (g.displayed.some((d) => ids.has(d))) for (const b of await this.memberJids(g, reads, true)) out.add(b);
    }
    return out;
  }

  /** A new account is a member of the @all@ groups of its host: who sees them sees it now. */
  private async accountCreated(account: AccountRef): Promise<void> {
    if (!(await this.anyGroups())) return;
    const all = (await this.store.candidateGroups(account)).filter((c) => c.group.allUsers).map((c) => c.group.id);
    const bare = bareOf(account);
    for (const v of await this.viewersOf(account.host, new Set(all))) if (v !== bare) await this.ctx.services.roster.refresh(accountOfBare(v), [bare]);
  }

  private async accountRemoving({ user, host, tx }: AccountRef & { tx: Transaction }): Promise<void> {
    const account = { user, host };
    const bare = bareOf(account);
    const store = tx.sharedGroups;
    // Who saw the account, read before its memberships go.
    const ids = new Map<string, Set<string>>();
    for (const { group: g } of await store.candidateGroups(account)) {
      const set = ids.get(g.host) ?? new Set<string>();
      set.add(g.id);
      ids.set(g.host, set);
    }
    const viewers = new Set<string>();
    for (const [h, set] of ids) for (const v of await this.viewersOf(h, set, store)) if (v !== bare) viewers.add(v);
    await store.removeAccount(account);
    this.removing.set(bare, viewers);
  }

  private async accountRemoved(account: AccountRef): Promise<void> {
    const bare = bareOf(account);
    const viewers = this.removing.get(bare);
    this.removing.delete(bare);
    for (const v of viewers ?? []) await this.ctx.services.roster.refresh(accountOfBare(v), [bare]);
  }

  /**
   * An account's first session opened or its last one closed: it joined or left the @online@
   * groups of its host, and who sees them learns it. Presence follows its own broadcast when it
   * comes online; when it leaves, those who no longer see it are told it is unavailable.
   */
  private async onlineChanged(bare: string, full: string, opened: boolean): Promise<void> {
    const account = accountOfBare(bare);
    if (this.ctx.sessions.resources(bare).length !== (opened ? 1 : 0)) return;
    if (!(await this.anyGroups())) return;
    const online = (await this.store.candidateGroups(account)).filter((c) => c.group.onlineUsers && c.group.host === account.host).map((c) => c.group.id);
    if (online.length === 0) return;
    const from = tryParseJID(full);
    for (const v of await this.viewersOf(account.host, new Set(online))) {
      if (v === bare) continue;
      await this.ctx.services.roster.refresh(accountOfBare(v), [bare]);
      if (!opened && from && !(await this.ctx.services.roster.contact(accountOfBare(v), bare))) {
        for (const s of this.ctx.sessions.available(v)) this.ctx.sessions.deliver(s, x('presence', { type: 'unavailable', from: from.full, to: s.jid.full }));
      }
    }
  }
}

/** The account of a bare JID this module made from one (a key of its sets). */
function accountOfBare(bare: string): AccountRef {
  const at = bare.indexOf('@');
  return { user: bare.slice(0, at), host: bare.slice(at + 1) };
}
