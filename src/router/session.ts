import type { Element } from '../xmpp/xml/element.js';
import { JID } from '../xmpp/jid.js';
import { parseElement } from '../xmpp/xml/parse.js';

export type ConnectionKind = 'c2s' | 'c2s_tls' | 'websocket' | 'bosh' | 'http_api';

/**
 * Per-session state that features keep, set only through `SessionDirectory.setFlag`. A feature
 * that needs one more declares it where it lives, by interface merging:
 * `declare module '../../router/session.js' { interface SessionFlags { myFlag: boolean } }`.
 */
export interface SessionFlags {
  /** Requested the roster: receives roster pushes (RFC 6121 §2.1.6). */
  rosterRequested: boolean;
  /** XEP-0280 message carbons enabled. */
  carbons: boolean;
  /** Bound but without a connection: waiting for XEP-0198 resumption. */
  hibernating: boolean;
}

/**
 * A bound client resource as the router and features see it, whatever node and stream carry it:
 * plain data, which a directory shared by several nodes can store and send as JSON
 * (`encodeSessionRecord`). Records are read-only here; every change goes through the directory.
 * Compare records by `id`, not by identity: a shared directory may hand out copies.
 */
export interface SessionRecord {
  readonly id: string;
  /** The bound full JID (serialized as its parts). */
  readonly jid: JID;
  /** The node whose process holds the stream (`Server.nodeName`). */
  readonly node: string;
  readonly connection: ConnectionKind;
  readonly ip: string;
  readonly port: number;
  readonly startedAt: number;
  /** Last available presence broadcast by this resource, serialized; undefined before initial presence or after unavailable. */
  readonly presence: string | undefined;
  readonly priority: number;
  readonly flags: Readonly<Partial<SessionFlags>>;
  /** Full JIDs this resource sent directed presence to, which must learn when it goes offline. */
  readonly directedPresence: readonly string[];
}

/**
 * The live side of a session on the node that holds it: what the directory calls to deliver to the
 * client, end the session or act as it. In-process only; never part of a record.
 */
export interface SessionHandle {
  /**
   * Delivers a stanza to the client. With a receipt, the sender learns whether the client got it:
   * `acked` once it is known to have arrived (with XEP-0198, when the client acknowledges it;
   * without, once it is written), `failed` when the session ends first. Stanzas sent with a
   * receipt are the sender's to deliver again: the session does not reroute them when it ends.
   */
  send(stanza: Element, receipt?: DeliveryReceipt): void;
  /**
   * Resolves true once the session can take more output without nearing its limits (output
   * buffer, unacknowledged stanzas), false once it has ended.
   */
  drained(): Promise<boolean>;
  /** Processes a stanza as if this client had sent it. */
  inject(stanza: Element): Promise<void>;
  /** Ends the session with a stream error condition (e.g. 'conflict', 'policy-violation'). */
  close(condition?: string, text?: string): void;
}

export interface DeliveryReceipt {
  acked(): void;
  failed(): void;
}

export function isAvailable(s: SessionRecord): boolean {
  return s.presence !== undefined;
}

/**
 * The presence of a record, parsed: a new element (callers may change it), or undefined when
 * unavailable. `SessionDirectory.presenceOf` is the cheaper way for records of a directory.
 */
export function presenceOf(s: SessionRecord): Element | undefined {
  return s.presence === undefined ? undefined : parseElement(s.presence, Infinity);
}

/** A record as JSON, for a directory that keeps records outside this process. */
export function encodeSessionRecord(s: SessionRecord): string {
  return JSON.stringify({ ...s, jid: { local: s.jid.local, domain: s.jid.domain, resource: s.jid.resource } });
}

export function decodeSessionRecord(json: string): SessionRecord {
  const o = JSON.parse(json) as Omit<SessionRecord, 'jid'> & { jid: { local: string; domain: string; resource: string } };
  return { ...o, jid: new JID(o.jid.local, o.jid.domain, o.jid.resource) };
}
