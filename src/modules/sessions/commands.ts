import type { Server } from '../../server.js';
import { command, intResult, listOf, rescode, str, int, strResult, tupleOf } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import { presenceOf, type SessionRecord } from '../../router/session.js';
import { tryParseJID, JID } from '../../xmpp/jid.js';
import { x } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';

/** `show` of a session as ejabberd reports it: the presence show, 'available', or 'unavailable'. */
export function showOf(s: SessionRecord): string {
  const presence = presenceOf(s);
  if (!presence) return 'unavailable';
  return presence.getChildText('show')?.trim() || 'available';
}

export function statusTextOf(s: SessionRecord): string {
  return presenceOf(s)?.getChildText('status') ?? '';
}

function sessionInfo(s: SessionRecord) {
  return {
    connection: s.connection,
    ip: s.ip,
    port: s.port,
    priority: s.priority,
    node: s.node,
    uptime: Math.floor((Date.now() - s.startedAt) / 1000),
    status: showOf(s),
    resource: s.jid.resource,
    statustext: statusTextOf(s),
  };
}

const SESSION_FIELDS: [string, 'string' | 'integer'][] = [
  ['connection', 'string'], ['ip', 'string'], ['port', 'integer'], ['priority', 'integer'], ['node', 'string'],
  ['uptime', 'integer'], ['status', 'string'], ['resource', 'string'], ['statustext', 'string'],
];

const byJid = (a: SessionRecord, b: SessionRecord) => (a.jid.full < b.jid.full ? -1 : a.jid.full > b.jid.full ? 1 : 0);

export function registerSessionCommands(server: Server): void {
  const { commands, sessions } = server;
  const userSessions = (user: string, host: string): SessionRecord[] => {
    const p = server.accounts.tryPrepare(user, host);
    if (!p) return [];
    return sessions.resources(`${p.user}@${p.host}`).sort(byJid);
  };
  const parseArgJID = (value: string, what: string): JID => {
    const j = tryParseJID(value);
    if (!j) throw badArgument(`Invalid ${what} JID: ${value}`);
    return j;
  };

  commands.add(command({
    name: 'connected_users', tags: ['session'], policy: 'admin', desc: 'List all established sessions',
    args: [], result: listOf('connected_users', strResult('sessions')), resultExample: ['user1@example.com/res', 'user2@example.com/res'],
    exec: () => [...sessions.all()].sort(byJid).map((s) => s.jid.full),
  }));

  commands.add(command({
    name: 'connected_users_number', tags: ['session', 'statistics'], policy: 'admin', desc: 'Get the number of established sessions',
    args: [], result: intResult('num_sessions'), resultExample: 2,
    exec: () => sessions.count(),
  }));

  commands.add(command({
    name: 'connected_users_info', tags: ['session'], policy: 'admin', desc: 'List all established sessions and their information',
    args: [],
    result: listOf('connected_users_info', tupleOf('session', [['jid', 'string'], ...SESSION_FIELDS])),
    exec: () => [...sessions.all()].sort(byJid).map((s) => ({ jid: s.jid.full, ...sessionInfo(s) })),
  }));

  commands.add(command({
    name: 'connected_users_vhost', tags: ['session'], policy: 'admin', desc: 'Get the list of established sessions in a vhost',
    args: [str('host', 'Server name', 'myexample.com')],
    result: listOf('connected_users_vhost', strResult('sessions')),
    exec: ({ host }) => {
      const h = server.prepareHost(host);
      return h === undefined ? [] : [...sessions.forHost(h)].sort(byJid).map((s) => s.jid.full);
    },
  }));

  commands.add(command({
    name: 'user_resources', tags: ['session'], policy: 'user', desc: "List user's connected resources",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'example.com')],
    result: listOf('resources', strResult('resource')), resultExample: ['tka1', 'Gajim', 'mobile-app'],
    exec: ({ user, host }) => userSessions(user, host).map((s) => s.jid.resource),
  }));

  commands.add(command({
    name: 'user_sessions_info', tags: ['session'], policy: 'admin', desc: 'Get information about all sessions of a user',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com')],
    result: listOf('sessions_info', tupleOf('session', SESSION_FIELDS)),
    exec: ({ user, host }) => userSessions(user, host).map((s) => sessionInfo(s)),
  }));

  commands.add(command({
    name: 'num_resources', tags: ['session'], policy: 'admin', desc: 'Get the number of resources of a user',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com')],
    result: intResult('resources'), resultExample: 5,
    exec: ({ user, host }) => userSessions(user, host).length,
  }));

  commands.add(command({
    name: 'resource_num', tags: ['session'], policy: 'admin', desc: 'Resource string of a session number',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), int('num', 'ID of resource to return', 2)],
    result: strResult('resource'), resultExample: 'Psi',
    exec: ({ user, host, num }) => {
      // ejabberd numbers sessions from the most recently opened one.
      const list = userSessions(user, host).sort((a, b) => b.startedAt - a.startedAt);
      if (num < 1 || num > list.length) throw badArgument(`Wrong resource number: ${num}`);
      return list[num - 1]!.jid.resource;
    },
  }));

  commands.add(command({
    name: 'kick_session', tags: ['session'], policy: 'admin', desc: 'Kick a user session',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), str('resource', "User's resource", 'Psi'), str('reason', 'Reason for closing session', 'Stuck connection')],
    result: rescode,
    exec: ({ user, host, resource, reason }) => {
      const s = userSessions(user, host).find((x) => x.jid.resource === resource);
      if (!s) return false;
      // ejabberd closes a kicked session with <conflict/> and the reason as text.
      sessions.close(s, 'conflict', reason || 'Kicked by administrator');
      return true;
    },
  }));

  commands.add(command({
    name: 'kick_user', tags: ['session'], policy: 'admin', desc: "Disconnect user's active sessions",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'example.com')],
    result: intResult('num_resources'), resultExample: 3,
    exec: ({ user, host }) => {
      const list = userSessions(user, host);
      for (const s of list) sessions.close(s, 'policy-violation', 'has been kicked');
      return list.length;
    },
  }));

  commands.add(command({
    name: 'send_message', tags: ['stanza'], policy: 'admin', desc: 'Send a message to a local or remote bare of full JID',
    longdesc: 'When sending a groupchat message to a MUC room, FROM must be the full JID of a room occupant, or the bare JID of a MUC service admin, or the bare JID of a MUC/Sub subscribed user.',
    args: [
      str('type', 'Message type: normal, chat, headline, groupchat', 'headline'), str('from', 'Sender JID', 'admin@localhost'),
      str('to', 'Receiver JID', 'user1@localhost'), str('subject', 'Subject, or empty string', 'Restart'), str('body', 'Body', 'In 5 minutes'),
    ],
    result: rescode,
    async exec({ type, from, to, subject, body }) {
      if (!['normal', 'chat', 'headline', 'groupchat'].includes(type)) throw badArgument(`Invalid message type: ${type}`);
      const f = parseArgJID(from, 'from');
      const t = parseArgJID(to, 'to');
      const msg = x('message', { type, id: server.randomId() });
      if (subject) msg.c('subject').t(subject);
      msg.c('body').t(body);
      await server.send(msg, f, t);
      return true;
    },
  }));

  commands.add(command({
    name: 'send_stanza', tags: ['stanza'], policy: 'admin', desc: 'Send a stanza; provide From JID and valid To JID',
    args: [str('from', 'Sender JID', 'admin@localhost'), str('to', 'Destination JID', 'user1@localhost'), str('stanza', 'Stanza', "<message><ext attr='value'/></message>")],
    result: rescode,
    async exec({ from, to, stanza }) {
      const f = parseArgJID(from, 'from');
      const t = parseArgJID(to, 'to');
      const el = parseStanza(stanza);
      await server.send(el, f, t);
      return true;
    },
  }));

  commands.add(command({
    name: 'send_stanza_c2s', tags: ['stanza', 'session'], policy: 'admin', desc: 'Send a stanza as if sent from a c2s session',
    args: [str('user', 'Username', 'admin'), str('host', 'Server name', 'myserver.com'), str('resource', 'Resource', 'bot'), str('stanza', 'Stanza', "<message to='user1@localhost'><ext attr='value'/></message>")],
    result: rescode,
    async exec({ user, host, resource, stanza }) {
      const el = parseStanza(stanza);
      const s = userSessions(user, host).find((x) => x.jid.resource === resource);
      if (!s || !(await sessions.inject(s, el))) throw notFound(`User session not found: ${user}@${host}/${resource}`);
      return true;
    },
  }));
}

function parseStanza(text: string) {
  let el;
  try {
    el = parseElement(text);
  } catch (err) {
    if (err instanceof XmlParseError) throw badArgument(`Invalid stanza: ${err.message}`);
    throw err;
  }
  if (el.name !== 'message' && el.name !== 'presence' && el.name !== 'iq') throw badArgument(`Not a stanza: <${el.name}/>`);
  if (el.attrs.xmlns === 'jabber:client' || el.attrs.xmlns === 'jabber:server') delete el.attrs.xmlns;
  return el;
}
