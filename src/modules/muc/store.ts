import type { AffiliationEntry, RoomConfig } from './api.js';

export type { AffiliationEntry, RoomConfig } from './api.js';

/** A MUC/Sub subscription (ejabberd): who, under which nick, to which nodes. */
export interface StoredSubscriber {
  /** The subscriber's bare JID. */
  jid: string;
  nick: string;
  nodes: string[];
}

/** A persistent room as stored (migration 7). */
export interface StoredRoom {
  /** The service domain (`conference.<host>`). */
  service: string;
  /** The room's localpart. */
  name: string;
  config: RoomConfig;
  subject: string;
  subjectBy: string;
  createdAt: number;
}

export interface StoredRoomState extends StoredRoom {
  affiliations: AffiliationEntry[];
  subscribers: StoredSubscriber[];
}

/**
 * Group chat state that outlives a process: persistent rooms with their affiliations and MUC/Sub
 * subscriptions, and nicknames registered on a service (XEP-0045 §7.10). Rooms that do not persist
 * live only in memory and never reach it.
 */
export interface MucStore {
  /** Every persistent room of these services, with its affiliations and subscriptions. */
  loadRooms(services: readonly string[]): Promise<StoredRoomState[]>;
  /** Writes a room whole (it became persistent, or was restored): its row, affiliations and subscriptions replace what was stored. */
  putRoom(room: StoredRoomState): Promise<void>;
  /** Updates the room's own row (configuration, subject). */
  updateRoom(room: StoredRoom): Promise<void>;
  deleteRoom(service: string, name: string): Promise<void>;
  /** 'none' removes the entry. */
  setAffiliation(service: string, room: string, entry: AffiliationEntry | { jid: string; affiliation: 'none' }): Promise<void>;
  /** undefined removes the subscription of `jid`. */
  setSubscriber(service: string, room: string, jid: string, sub: StoredSubscriber | undefined): Promise<void>;
  /** Registers `nick` for the account on the service (replacing its previous one); 'taken' when another account holds it. */
  registerNick(service: string, jid: string, nick: string): Promise<'ok' | 'taken'>;
  unregisterNick(service: string, jid: string): Promise<boolean>;
  nickOf(service: string, jid: string): Promise<string | undefined>;
  /** The account (bare JID) that registered the nick on the service. */
  nickOwner(service: string, nick: string): Promise<string | undefined>;
  /** Forgets everything the account holds: affiliations, registered nicks, subscriptions. */
  removeAccount(jid: string): Promise<void>;
}
