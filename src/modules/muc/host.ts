import type { Element } from '../../xmpp/xml/element.js';
import type { JID } from '../../xmpp/jid.js';
import type { Config } from '../../config/schema.js';
import type { RoomArchive } from '../mam/contract.js';
import type { Affiliation, RoomConfig } from './api.js';
import type { StoredSubscriber } from './store.js';
import type { Room } from './room.js';

export type MucLimits = Config['muc'];

/** What a room asks of its service: delivery, storage, the archive and the limits across rooms. */
export interface RoomHost {
  readonly limits: MucLimits;
  randomId(): string;
  /** A configured server admin: an owner of every room, as in ejabberd. */
  isServiceAdmin(bare: string): boolean;
  /** Delivers a stanza (its `to` set) to a full JID now, without routing: the fan-out path. */
  deliver(to: JID, el: Element): void;
  /** Routes a stanza (offline storage, privacy lists apply): invitations, MUC/Sub events. */
  sendTo(el: Element, from: JID, to: JID): void;
  sendToBare(el: Element, from: JID, to: string): void;
  archive(): RoomArchive | undefined;
  nickOwner(service: string, nick: string): Promise<string | undefined>;
  mayJoinAnother(bare: string, room: Room): boolean;
  mayPersist(room: Room, by: string | undefined): boolean;
  joined(full: string, room: Room): void;
  left(full: string, room: Room): void;
  /** The last occupant left: a room that does not persist goes. */
  emptied(room: Room): void;
  saveRoom(room: Room): Promise<void>;
  saveAffiliation(room: Room, bare: string, affiliation: Affiliation, reason: string): Promise<void>;
  saveSubscriber(room: Room, jid: string, sub: StoredSubscriber | undefined): Promise<void>;
  /** The room's options changed (from `before`): what is stored follows. */
  configured(room: Room, before: RoomConfig): Promise<void>;
  destroy(room: Room, reason: string, alternate: string, password: string): Promise<void>;
}
