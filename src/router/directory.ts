import type { Element } from '../xmpp/xml/element.js';
import type { JID } from '../xmpp/jid.js';
import type { ConnectionKind, DeliveryReceipt, SessionFlags, SessionHandle, SessionRecord } from './session.js';

/** What a stream knows when it binds a resource; the directory makes the record from it. */
export interface NewSession {
  id: string;
  jid: JID;
  connection: ConnectionKind;
  ip: string;
  port: number;
  startedAt: number;
}

/**
 * Where bound sessions are found, and the only way to change them or reach them. The router and
 * features ask it; streams register here when they bind.
 *
 * Reads are synchronous: they are on the routing hot path (every message looks up its target).
 * The in-process directory answers from its maps; a directory shared by several nodes keeps a
 * replica of the records on each node, fed by the other nodes' changes (as ejabberd's session
 * table is replicated in every node's memory), and forwards `deliver`, `close` and `inject` for a
 * record of another node to that node. Those forwards, and the updates, need no answer the caller
 * waits for, so they stay synchronous too; only `inject` and `drained` are promises, as they are
 * already for local sessions.
 */
export interface SessionDirectory {
  /**
   * Registers a bound session with the live handle that delivers to it. Returns its record and the
   * session it replaces (same full JID), which the caller must close.
   */
  add(init: NewSession, handle: SessionHandle): { record: SessionRecord; replaced: SessionRecord | undefined };
  /** Removes the session if it is still the one registered under its full JID; true if it was. */
  remove(session: SessionRecord): boolean;

  get(bare: string, resource: string): SessionRecord | undefined;
  /** Sessions of an account, in binding order. */
  resources(bare: string): SessionRecord[];
  hasSessions(bare: string): boolean;
  /** Sessions of an account that sent available presence. */
  available(bare: string): SessionRecord[];
  /**
   * Sessions that get a message addressed to the bare JID (RFC 6121 §8.5.2.1.1):
   * the available resources with the highest non-negative priority.
   */
  messageTargets(bare: string): SessionRecord[];
  count(): number;
  countForHost(host: string): number;
  all(): Iterable<SessionRecord>;
  forHost(host: string): Iterable<SessionRecord>;

  /** The session's current presence as a new element (the caller may change it); undefined when unavailable. */
  presenceOf(session: SessionRecord): Element | undefined;
  /** The presence the session broadcast (undefined: unavailable), and its priority (kept when omitted). */
  setPresence(session: SessionRecord, presence: Element | undefined, priority?: number): void;
  setFlag<K extends keyof SessionFlags>(session: SessionRecord, flag: K, value: SessionFlags[K]): void;
  /** Records that the session sent directed available presence to `to` (or unavailable: `sent` false). */
  setDirectedPresence(session: SessionRecord, to: string, sent: boolean): void;
  clearDirectedPresence(session: SessionRecord): void;

  /** Delivers a stanza to the session's client (see `SessionHandle.send`); a receipt fails if the session is gone. */
  deliver(session: SessionRecord, stanza: Element, receipt?: DeliveryReceipt): void;
  /** True once the session can take more output; false once it has ended (see `SessionHandle.drained`). */
  drained(session: SessionRecord): Promise<boolean>;
  /** Handles a stanza as if the session's client had sent it; false if the session is gone. */
  inject(session: SessionRecord, stanza: Element): Promise<boolean>;
  /** Ends the session, with a stream error condition when given. */
  close(session: SessionRecord, condition?: string, text?: string): void;
}
