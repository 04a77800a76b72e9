/**
 * The message archive's own table (`mam_messages`, migration 7): one row per archived message per
 * archive. An archive is an account's (owner = its bare JID) or a room's (owner = the room's bare JID).
 *
 * `id` is the archive's stanza id (XEP-0359) as a number: microseconds since the epoch when the
 * message was archived, made unique (across archives) and increasing by the writer. Ordering by id
 * is ordering by time, so the (owner, id) index serves paging, `start`/`end` and
 * `before-id`/`after-id` alike, and an age is an id range.
 */
export type MamKind = 'in' | 'out' | 'groupchat';

/** 0: as archived; 1: retracted by its sender (XEP-0424); 2: moderated in a room (XEP-0425). */
export type MamState = 0 | 1 | 2;

export interface MamRow {
  owner: string;
  id: number;
  /** The other party's bare JID (rooms: the sender's real bare JID). */
  peer: string;
  /** The other party's resource (rooms: the sender's nick), '' when none. */
  peerResource: string;
  kind: MamKind;
  /** The sender's XEP-0359 origin-id, else the message's id attribute: what a retraction names. */
  originId: string | null;
  createdAt: number;
  /** The message as archived, serialized with xmlns='jabber:client'. */
  stanza: string;
  state: MamState;
}

/** What a query selects in one archive (every bound inclusive of nothing: ids strictly between). */
export interface MamFilter {
  peer?: string;
  peerResource?: string;
  /** Ids strictly above / below. */
  afterId?: number;
  beforeId?: number;
  /** Ids from / to, inclusive (`start`/`end` as ids). */
  minId?: number;
  maxId?: number;
  /** Only these ids (XEP-0313 `ids`). */
  ids?: readonly number[];
  /** Stanzas containing this text (XML-escaped already). */
  text?: string;
  kinds?: readonly MamKind[];
}

export interface MamStore {
  /** Writes rows in one transaction; a row whose id exists is skipped. */
  insert(rows: readonly MamRow[]): Promise<void>;
  /**
   * When present (SQLite's archive thread), the archive writer hands each batch over with it, whole,
   * instead of `insert`: `accepted` once taken, `stored` once written with others later (rejected when lost);
   * `sync` writes what was handed over and resolves once it is stored.
   */
  queue?(rows: readonly MamRow[]): { accepted: Promise<void>; stored: Promise<void> };
  sync?(): Promise<void>;
  /** Up to `limit` rows of the archive matching the filter, by id ascending or descending. */
  page(owner: string, filter: MamFilter, limit: number, order: 'asc' | 'desc'): Promise<MamRow[]>;
  /** How many rows of the archive match the filter (at most `cap`, when given). */
  count(owner: string, filter: MamFilter, cap?: number): Promise<number>;
  get(owner: string, id: number): Promise<MamRow | undefined>;
  /** The newest row of the archive with this peer and kind whose origin id is `originId`. */
  findByOrigin(owner: string, peer: string, kind: MamKind, originId: string): Promise<MamRow | undefined>;
  /** Replaces a row's stanza and state; false when there is no such row. */
  replace(owner: string, id: number, stanza: string, state: MamState): Promise<boolean>;
  /** Removes the archive (with one peer only, when given); returns how many rows. */
  removeOwner(owner: string, peer?: string): Promise<number>;
  /** Removes rows of every archive created before `createdBefore`, of these kinds; returns how many. */
  removeOlderThan(createdBefore: number, kinds: readonly MamKind[]): Promise<number>;
  /** Keeps the newest `keep` rows of the archive; returns how many were removed. */
  trim(owner: string, keep: number): Promise<number>;
  /** The highest id of every archive (0 when empty): new ids are given above it. */
  maxId(): Promise<number>;
  /** The first and last ids of the archive (undefined when empty). */
  bounds(owner: string): Promise<{ first: MamRow; last: MamRow } | undefined>;
}
