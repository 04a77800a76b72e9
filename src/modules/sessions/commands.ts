import { commandsIn, intResult, listOf, rescode, str, int, strResult, tupleOf } from '../../admin/define.js';
import { badArgument, DomainError, notFound } from '../../errors.js';
import { errorReply } from '../../xmpp/stanza.js';
import type { SessionRecord } from '../../router/session.js';
import { tryParseJID, JID } from '../../xmpp/jid.js';
import { x } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';
import type { CommandContext, ServiceMap } from '../module.js';
import { showOf, statusTextOf } from '../presence/index.js';
import { bareOf } from '../../xmpp/account.js';

type Context = CommandContext<void, 'accounts'>;
const command = commandsIn<Context>();

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

const SESSION_FIELDS = [
  ['connection', 'string'], ['ip', 'string'], ['port', 'integer'], ['priority', 'integer'], ['node', 'string'],
  ['uptime', 'integer'], ['status', 'string'], ['resource', 'string'], ['statustext', 'string'],
] as const;

const SESSION_EXAMPLE = {
  connection: 'c2s', ip: '127.0.0.1', port: 42656, priority: 8, node: 'parley@myserver.com', uptime: 231, status: 'dnd', resource: 'tka', statustext: '',
};

const byJid = (a: SessionRecord, b: SessionRecord) => (a.jid.full < b.jid.full ? -1 : a.jid.full > b.jid.full ? 1 : 0);

/** The sessions of an account, by full JID; none for a name that is not an account's. */
function userSessions({ services, sessions }: Context, user: string, host: string): SessionRecord[] {
  const p = services.accounts.tryPrepare(user, host);
  if (!p) return [];
  return sessions.resources(bareOf(p)).sort(byJid);
}

function parseArgJID(value: string, what: string): JID {
  const j = tryParseJID(value);
  if (!j) throw badArgument(`Invalid ${what} JID: ${value}`);
  return j;
}

export const sessionCommands = [
  command({
    name: 'connected_users', tags: ['session'], policy: 'admin', desc: 'List all established sessions',
    args: [], result: listOf('connected_users', strResult('sessions')), resultExample: ['user1@example.com/res', 'user2@example.com/res'],
    exec: (_, { sessions }) => [...sessions.all()].sort(byJid).map((s) => s.jid.full),
  }),

  command({
    name: 'connected_users_number', tags: ['session', 'statistics'], policy: 'admin', desc: 'Get the number of established sessions',
    args: [], result: intResult('num_sessions'), resultExample: 2,
    exec: (_, { sessions }) => sessions.count(),
  }),

  command({
    name: 'connected_users_info', tags: ['session'], policy: 'admin', desc: 'List all established sessions and their information',
    args: [],
    result: listOf('connected_users_info', tupleOf('session', [['jid', 'string'], ...SESSION_FIELDS])),
    resultExample: [{ jid: 'user1@myserver.com/tka', ...SESSION_EXAMPLE }],
    exec: (_, ctx) => [...ctx.sessions.all()].sort(byJid).map((s) => ({ jid: s.jid.full, ...sessionInfo(s) })),
  }),

  command({
    name: 'connected_users_vhost', tags: ['session'], policy: 'admin', desc: 'Get the list of established sessions in a vhost',
    args: [str('host', 'Server name', 'myexample.com')],
    result: listOf('connected_users_vhost', strResult('sessions')), resultExample: ['user1@myserver.com/tka', 'user2@myserver.com/tka'],
    exec: ({ host }, { prepareHost, sessions }) => {
      const h = prepareHost(host);
      return h === undefined ? [] : [...sessions.forHost(h)].sort(byJid).map((s) => s.jid.full);
    },
  }),

  command({
    name: 'user_resources', tags: ['session'], policy: 'user', account: ['user', 'host'], desc: "List user's connected resources",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'example.com')],
    result: listOf('resources', strResult('resource')), resultExample: ['tka1', 'Gajim', 'mobile-app'],
    exec: ({ user, host }, ctx) => userSessions(ctx, user, host).map((s) => s.jid.resource),
  }),

  command({
    name: 'user_sessions_info', tags: ['session'], policy: 'admin', desc: 'Get information about all sessions of a user',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com')],
    result: listOf('sessions_info', tupleOf('session', SESSION_FIELDS)), resultExample: [SESSION_EXAMPLE],
    exec: ({ user, host }, ctx) => userSessions(ctx, user, host).map((s) => sessionInfo(s)),
  }),

  command({
    name: 'num_resources', tags: ['session'], policy: 'admin', desc: 'Get the number of resources of a user',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com')],
    result: intResult('resources'), resultExample: 5,
    exec: ({ user, host }, ctx) => userSessions(ctx, user, host).length,
  }),

  command({
    name: 'resource_num', tags: ['session'], policy: 'admin', desc: 'Resource string of a session number',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), int('num', 'ID of resource to return', 2)],
    result: strResult('resource'), resultExample: 'Psi',
    exec: ({ user, host, num }, ctx) => {
      // ejabberd numbers sessions from the most recently opened one.
      const list = userSessions(ctx, user, host).sort((a, b) => b.startedAt - a.startedAt);
      if (num < 1 || num > list.length) throw badArgument(`Wrong resource number: ${num}`);
      return list[num - 1]!.jid.resource;
    },
  }),

  command({
    name: 'kick_session', tags: ['session'], policy: 'admin', desc: 'Kick a user session',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), str('resource', "User's resource", 'Psi'), str('reason', 'Reason for closing session', 'Stuck connection')],
    result: rescode, resultExample: true,
    exec: ({ user, host, resource, reason }, ctx) => {
      const s = userSessions(ctx, user, host).find((x) => x.jid.resource === resource);
      if (!s) return false;
      // ejabberd closes a kicked session with <conflict/> and the reason as text.
      ctx.sessions.close(s, 'conflict', reason || 'Kicked by administrator');
      return true;
    },
  }),

  command({
    name: 'kick_user', tags: ['session'], policy: 'admin', desc: "Disconnect user's active sessions",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'example.com')],
    result: intResult('num_resources'), resultExample: 3,
    exec: ({ user, host }, ctx) => {
      const list = userSessions(ctx, user, host);
      for (const s of list) ctx.sessions.close(s, 'policy-violation', 'has been kicked');
      return list.length;
    },
  }),

  command({
    name: 'send_message', tags: ['stanza'], policy: 'admin', desc: 'Send a message to a local or remote bare of full JID',
    longdesc: 'When sending a groupchat message to a MUC room, FROM must be the full JID of a room occupant, or the bare JID of a MUC service admin, or the bare JID of a MUC/Sub subscribed user.',
    args: [
      str('type', 'Message type: normal, chat, headline, groupchat', 'headline'), str('from', 'Sender JID', 'admin@localhost'),
      str('to', 'Receiver JID', 'user1@localhost'), str('subject', 'Subject, or empty string', 'Restart'), str('body', 'Body', 'In 5 minutes'),
    ],
    result: rescode, resultExample: true,
    async exec({ type, from, to, subject, body }, ctx) {
      if (!['normal', 'chat', 'headline', 'groupchat'].includes(type)) throw badArgument(`Invalid message type: ${type}`);
      const f = parseArgJID(from, 'from');
      const t = parseArgJID(to, 'to');
      const muc = type === 'groupchat' && t.local && !t.resource ? ctx.optional('muc') : undefined;
      if (muc?.serviceDomains().includes(t.domain)) {
        await postToRoom(ctx, muc, f, t, subject, body);
        return true;
      }
      const msg = x('message', { type, id: ctx.randomId() });
      if (subject) msg.c('subject').t(subject);
      msg.c('body').t(body);
      await ctx.send(msg, f, t);
      return true;
    },
  }),

  command({
    name: 'send_stanza', tags: ['stanza'], policy: 'admin', desc: 'Send a stanza; provide From JID and valid To JID',
    args: [str('from', 'Sender JID', 'admin@localhost'), str('to', 'Destination JID', 'user1@localhost'), str('stanza', 'Stanza', "<message><ext attr='value'/></message>")],
    result: rescode, resultExample: true,
    async exec({ from, to, stanza }, ctx) {
      const f = parseArgJID(from, 'from');
      const t = parseArgJID(to, 'to');
      const el = parseStanza(stanza);
      await ctx.send(el, f, t);
      return true;
    },
  }),

  command({
    name: 'send_stanza_c2s', tags: ['stanza', 'session'], policy: 'admin', desc: 'Send a stanza as if sent from a c2s session',
    args: [str('user', 'Username', 'admin'), str('host', 'Server name', 'myserver.com'), str('resource', 'Resource', 'bot'), str('stanza', 'Stanza', "<message to='user1@localhost'><ext attr='value'/></message>")],
    result: rescode, resultExample: true,
    async exec({ user, host, resource, stanza }, ctx) {
      const el = parseStanza(stanza);
      const s = userSessions(ctx, user, host).find((x) => x.jid.resource === resource);
      if (!s || !(await ctx.sessions.inject(s, el))) throw notFound(`User session not found: ${user}@${host}/${resource}`);
      return true;
    },
  }),
];

/**
 * A groupchat message to a room goes through the room's rules (H21): from an occupant's full JID,
 * a service admin's or a MUC/Sub subscriber's bare JID. Otherwise ejabberd routes it all the same
 * and the room bounces it to the sender with an error, while the command answers 0: so here.
 */
async function postToRoom(ctx: Context, muc: ServiceMap['muc'], from: JID, room: JID, subject: string, body: string): Promise<void> {
  try {
    await muc.postMessage(room.bare, from.full, body, subject || undefined);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const condition = err.kind === 'not-found' ? 'item-not-found' : err.kind === 'forbidden' ? 'not-acceptable' : 'bad-request';
    const sent = x('message', { type: 'groupchat', id: ctx.randomId(), from: from.full, to: room.bare });
    if (subject) sent.c('subject').t(subject);
    sent.c('body').t(body);
    await ctx.send(errorReply(sent, condition, err.message), room, from);
  }
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
