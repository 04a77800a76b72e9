/** Namespaces of group chat and the protocols it carries. */
export const MUC_NS = {
  muc: 'http://jabber.org/protocol/muc',
  user: 'http://jabber.org/protocol/muc#user',
  admin: 'http://jabber.org/protocol/muc#admin',
  owner: 'http://jabber.org/protocol/muc#owner',
  roomconfig: 'http://jabber.org/protocol/muc#roomconfig',
  roominfo: 'http://jabber.org/protocol/muc#roominfo',
  request: 'http://jabber.org/protocol/muc#request',
  register: 'jabber:iq:register',
  conference: 'jabber:x:conference',
  mucsub: 'urn:xmpp:mucsub:0',
  pubsubEvent: 'http://jabber.org/protocol/pubsub#event',
  mam: 'urn:xmpp:mam:2',
  sid: 'urn:xmpp:sid:0',
  moderate: 'urn:xmpp:message-moderate:1',
  retract: 'urn:xmpp:message-retract:1',
  delay: 'urn:xmpp:delay',
  ping: 'urn:xmpp:ping',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
} as const;

/** MUC/Sub nodes (ejabberd). */
export const MUCSUB_NODES = {
  messages: 'urn:xmpp:mucsub:nodes:messages',
  presence: 'urn:xmpp:mucsub:nodes:presence',
  affiliations: 'urn:xmpp:mucsub:nodes:affiliations',
  subject: 'urn:xmpp:mucsub:nodes:subject',
  config: 'urn:xmpp:mucsub:nodes:config',
  subscribers: 'urn:xmpp:mucsub:nodes:subscribers',
  system: 'urn:xmpp:mucsub:nodes:system',
} as const;

export const ALL_MUCSUB_NODES: readonly string[] = Object.values(MUCSUB_NODES);
