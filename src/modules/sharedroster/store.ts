import type { AccountRef } from '../../xmpp/account.js';

export type { AccountRef };

/** A shared roster group of a host (ejabberd's mod_shared_roster group, Openfire's shared group). */
export interface SharedGroup {
  host: string;
  /** The group's identifier, unique per host. */
  id: string;
  /** Shown as the roster group of its members in the rosters that display it (the id when empty). */
  name: string;
  description: string;
  /** Ids of the groups (of the same host) whose members this group's members see. */
  displayed: string[];
  /** The special member @all@: every account of the host is a member. */
  allUsers: boolean;
  /** The special member @online@: every account of the host with a session is a member. */
  onlineUsers: boolean;
}

export type GroupRef = Pick<SharedGroup, 'host' | 'id'>;

/** What a create did. */
export type CreateOutcome = 'created' | 'updated' | 'full';
/** What adding a member did. */
export type AddOutcome = 'added' | 'present' | 'full' | 'no-group';

/**
 * Groups per host and their explicit members. Limits are checked and applied atomically with the
 * write (concurrent writers of one host, or of one group, take turns).
 */
export interface SharedGroupStore {
  /**
   * Creates the group, or replaces the name, description and displayed groups of an existing one
   * (its members stay). A new group is refused ('full') when the host already has `maxGroups`.
   */
  put(group: Omit<SharedGroup, 'allUsers' | 'onlineUsers'>, maxGroups: number): Promise<CreateOutcome>;
  get(ref: GroupRef): Promise<SharedGroup | undefined>;
  /** Every group of the host, ordered by id byte-wise. */
  list(host: string): Promise<SharedGroup[]>;
  /** Removes the group and its members; false when there was none. */
  delete(ref: GroupRef): Promise<boolean>;
  /** Sets one of the special members; false when there is no such group. */
  setSpecial(ref: GroupRef, special: 'allUsers' | 'onlineUsers', on: boolean): Promise<boolean>;
  /** Adds an account; refused ('full') when the group already has `maxMembers` explicit members. */
  addMember(ref: GroupRef, member: AccountRef, maxMembers: number): Promise<AddOutcome>;
  /** False when the account was not a member. */
  removeMember(ref: GroupRef, member: AccountRef): Promise<boolean>;
  /** The explicit members, ordered by user then host. */
  members(ref: GroupRef): Promise<AccountRef[]>;
  /**
   * The groups an account may belong to: those with it as an explicit member (of any host), and
   * those of its own host with a special member.
   */
  candidateGroups(account: AccountRef): Promise<{ group: SharedGroup; explicit: boolean }[]>;
  /** Removes the account from every group (its account is being removed). */
  removeAccount(account: AccountRef): Promise<void>;
}
