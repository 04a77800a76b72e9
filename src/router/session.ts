import type { Element } from '../xmpp/xml/element.js';
import type { JID } from '../xmpp/jid.js';

export type ConnectionKind = 'c2s' | 'c2s_tls' | 'websocket' | 'bosh' | 'http_api';

/** A bound client resource, as the router and features see it, whatever carries it. */
export interface Session {
  readonly id: string;
  readonly jid: JID;
  readonly connection: ConnectionKind;
  readonly ip: string;
  readonly port: number;
  readonly startedAt: number;
  /** Last available presence broadcast by this resource; undefined before initial presence or after unavailable. */
  presence: import('../xmpp/xml/element.js').Element | undefined;
  priority: number;
  /** Requested the roster: receives roster pushes (RFC 6121 §2.1.6). */
  rosterRequested: boolean;
  /** XEP-0280 message carbons enabled. */
  carbons: boolean;
  /** Full JIDs this resource sent directed presence to, which must learn when it goes offline. */
  directedPresence: Set<string>;
  /**
   * Delivers a stanza to the client. With a receipt, the sender learns whether the client got it:
   * `acked` once it is known to have arrived (with XEP-0198, when the client acknowledges it;
   * without, once it is written), `failed` when the session ends first. Stanzas sent with a
   * receipt are the sender's to deliver again: the session does not reroute them when it ends.
   */
  send(stanza: Element, receipt?: DeliveryReceipt): void;
  /**
   * Resolves true once the session can take more output without nearing its limits (output
   * buffer, unacknowledged stanzas), false once it has ended. Producers of many stanzas (offline
   * delivery) wait on it between batches.
   */
  drained?(): Promise<boolean>;
  /** Bound but without a connection: waiting for XEP-0198 resumption. */
  readonly hibernating?: boolean;
  /** Processes a stanza as if this client had sent it (send_stanza_c2s, set_presence). */
  inject?(stanza: Element): Promise<void>;
  /** Ends the session with a stream error condition (e.g. 'conflict', 'policy-violation'). */
  close(condition?: string, text?: string): void;
}

export interface DeliveryReceipt {
  acked(): void;
  failed(): void;
}

export function isAvailable(s: Session): boolean {
  return s.presence !== undefined;
}
