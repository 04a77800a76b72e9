/**
 * What the group chat module asks of the message archive (XEP-0313 for rooms), so the two are
 * built apart: rooms use it through `ctx.optional('mam')` when the archive module runs, and
 * archive nothing otherwise. The room module decides who may read a room's archive; the archive
 * stores, pages and answers.
 */
import type { Element } from '../../xmpp/xml/element.js';
import type { JID } from '../../xmpp/jid.js';

export interface RoomArchive {
  /**
   * Stores a groupchat message of `room` (its bare JID) as the occupants get it (`from` is
   * room/nick). `senderJid` is the occupant's real bare JID (kept for moderators and retraction).
   * Returns the message's stanza id (XEP-0359), which the room adds as
   * `<stanza-id xmlns='urn:xmpp:sid:0' by='<room>' id='<id>'/>` before broadcasting it, or
   * undefined when the archive refused it (a limit).
   */
  archiveRoomMessage(room: string, stanza: Element, senderJid: string): Promise<string | undefined>;
  /**
   * Answers a XEP-0313 query (`payload`: `<query xmlns='urn:xmpp:mam:2'>` with its form and RSM)
   * that `requester` sent to `room`: sends each result message to the requester from the room's
   * JID and returns the IQ result's payload (`<fin/>`); throws StanzaError on a bad query.
   * The caller has already checked that the requester may read the archive.
   */
  queryRoom(room: string, requester: JID, iq: Element, payload: Element): Promise<Element | undefined>;
  /**
   * Replaces an archived room message by a moderation tombstone (XEP-0425): its body is gone and
   * `<moderated by=... >` with the reason says who removed it. False when the id is not in the room's archive.
   */
  moderateRoomMessage(room: string, stanzaId: string, moderator: string, reason?: string): Promise<boolean>;
  /** Removes a room's whole archive (the room was destroyed); returns how many messages. */
  removeRoomArchive(room: string): Promise<number>;
}
