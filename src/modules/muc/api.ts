/**
 * The room service's contract (XEP-0045 rooms on `conference.<host>`), in the room's own words:
 * the XMPP handlers, the ejabberd commands (`commands.ts` maps ejabberd's option names and
 * argument shapes onto these) and, later, Openfire's chat-room endpoints all call it. Nothing here
 * knows a dialect. Rooms are addressed by bare JID (`room@conference.example.com`), people by
 * JID strings. Errors are DomainErrors (`src/errors.ts`): notFound (no such room or service),
 * conflict (room exists, nick taken), badArgument (bad JID, option value), forbidden.
 *
 * A change made here is what a client's change would be: occupants get the same presence
 * broadcasts with the same status codes (affiliation change, kick by ban, 104 on configuration,
 * destruction with the reason and alternate venue), and the change is stored when the room persists.
 */
export type Affiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';
export type Role = 'moderator' | 'participant' | 'visitor' | 'none';

/** Who may send private messages to occupants (muc#roomconfig_allowpm). */
export type PrivateMessagePolicy = 'anyone' | 'participants' | 'moderators' | 'none';

/** A room's configuration (muc#roomconfig), with Parley's names. */
export interface RoomConfig {
  title: string;
  description: string;
  /** Stays when the last occupant leaves, and across restarts. */
  persistent: boolean;
  /** Listed in the room directory (disco#items of the service). */
  public: boolean;
  /** Whether the occupant list is visible to non-occupants (disco#items of the room). */
  publicList: boolean;
  membersOnly: boolean;
  /** New occupants who are not members join as visitors when the room is moderated. */
  moderated: boolean;
  /** Members join moderated rooms as participants (otherwise as visitors). */
  membersByDefault: boolean;
  /** Empty: no password. */
  password: string;
  /** 0: no limit beyond the server's `muc.maxOccupantsPerRoom`. */
  maxUsers: number;
  /** Who sees occupants' real JIDs: semi-anonymous ('moderators') or non-anonymous ('anyone'). */
  whois: 'moderators' | 'anyone';
  /** Messages kept for discussion history on join (bounded by `muc.maxHistory`). */
  historyLength: number;
  /** Public logging (ejabberd's `logging`: kept as an option). */
  logging: boolean;
  /** Messages are archived (XEP-0313 for the room). */
  mam: boolean;
  allowChangeSubject: boolean;
  allowPrivateMessages: PrivateMessagePolicy;
  allowPrivateMessagesFromVisitors: PrivateMessagePolicy;
  allowInvites: boolean;
  allowQueryUsers: boolean;
  allowVisitorStatus: boolean;
  allowVisitorNickchange: boolean;
  allowVoiceRequests: boolean;
  /** Seconds between two voice requests of one visitor. */
  voiceRequestMinInterval: number;
  /** MUC/Sub (ejabberd): occupants may subscribe to the room's nodes without being present. */
  allowSubscription: boolean;
  /** Roles whose presence is broadcast (all three by default). */
  presenceBroadcast: Role[];
  lang: string;
}

/** A room as the service reports it. */
export interface RoomInfo {
  /** The room's bare JID. */
  jid: string;
  config: RoomConfig;
  subject: string;
  /** The nick (or the service, when set by an admin command) that set the subject. */
  subjectBy: string;
  createdAt: number;
  /** Time (ms) of the room's last message, or its creation when none was sent. */
  lastMessageAt: number;
  /** Occupants present now. */
  occupants: number;
  /** A new room not yet configured by its owner (XEP-0045 §10.1.2: locked). */
  locked: boolean;
}

export interface OccupantInfo {
  nick: string;
  /** The occupant's real full JID. */
  jid: string;
  role: Role;
  affiliation: Affiliation;
}

export interface AffiliationEntry {
  /** A bare JID (or a server, for a server-wide ban). */
  jid: string;
  affiliation: Exclude<Affiliation, 'none'>;
  reason: string;
}

export interface RoomService {
  /** The MUC service domains of this node (`conference.<host>` per host, `muc.domain` configured). */
  serviceDomains(): readonly string[];
  /** Creates a room as its owner would (instant room, unlocked); conflict when it exists. */
  createRoom(room: string, owner: string | undefined, config?: Partial<RoomConfig>): Promise<RoomInfo>;
  /** Destroys a room: occupants get the destruction presence (reason, alternate venue); its state and archive go. */
  destroyRoom(room: string, reason?: string, alternate?: string): Promise<void>;
  /** The room, or undefined. */
  room(room: string): Promise<RoomInfo | undefined>;
  /** Every room of the service (or every service): the persistent ones and those with occupants. */
  rooms(service?: string): Promise<RoomInfo[]>;
  /** Changes options like an owner's configuration form; occupants get status 104 (and 170-174 as they apply). */
  configure(room: string, patch: Partial<RoomConfig>): Promise<RoomInfo>;
  /** Sets the subject as the service (or a nick). */
  setSubject(room: string, subject: string, by?: string): Promise<void>;
  affiliations(room: string): Promise<AffiliationEntry[]>;
  affiliationOf(room: string, jid: string): Promise<Affiliation>;
  /** Changes an affiliation as an owner would: present occupants get the presence with status 321/301 as it applies. */
  setAffiliation(room: string, jid: string, affiliation: Affiliation, reason?: string): Promise<void>;
  occupants(room: string): Promise<OccupantInfo[]>;
  /** Rooms where the account (bare JID) has an occupant now. */
  roomsOf(account: string): Promise<string[]>;
  /** Registers a nick for the account on a service (XEP-0045 §7.10); conflict when another owns it. */
  registerNick(service: string, account: string, nick: string): Promise<void>;
  /** Forgets the account's registered nick on the service; notFound when it had none. */
  unregisterNick(service: string, account: string): Promise<void>;
  registeredNick(service: string, account: string): Promise<string | undefined>;
  /** MUC/Sub: subscribes `jid` under `nick` to the nodes; returns the nodes subscribed. */
  subscribe(room: string, jid: string, nick: string, nodes: readonly string[], password?: string): Promise<string[]>;
  unsubscribe(room: string, jid: string): Promise<void>;
  /** MUC/Sub subscribers' bare JIDs. */
  subscribers(room: string): Promise<string[]>;
  /** Sends a direct invitation (XEP-0249) from `from` to each of `to`. */
  inviteDirect(room: string, from: string, to: readonly string[], reason?: string, password?: string): Promise<void>;
  /**
   * Posts a groupchat message to the room from `from`: a present occupant (full JID), a subscriber
   * or a service admin (bare JID); forbidden otherwise (ejabberd's send_message rules).
   */
  postMessage(room: string, from: string, body: string, subject?: string): Promise<void>;
}
