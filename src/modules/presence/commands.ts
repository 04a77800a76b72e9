import { commandsIn, intResult, listOf, rescode, str, tupleOf } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import { x } from '../../xmpp/xml/element.js';
import type { CommandContext } from '../module.js';
import type { SessionRecord } from '../../router/session.js';
import { showOf, statusTextOf, type PresenceService } from './service.js';
import { bareOf } from '../../xmpp/account.js';

const SHOWS = new Set(['away', 'chat', 'dnd', 'xa']);

type Context = CommandContext<PresenceService, 'accounts'>;
const command = commandsIn<Context>();

/** The status values the status_* commands take: a session's show (as get_presence reports it), or all. */
const STATUSES = ['available', 'chat', 'away', 'dnd', 'xa', 'unavailable'];

const STATUS_LONGDESC =
  "STATUS is the presence of a session as get_presence reports it: available, chat, away, dnd, xa, or unavailable " +
  "(connected, but without available presence); 'all' matches every session. Sessions waiting for stream " +
  'resumption (XEP-0198) still count.';

const USER_STATUS = tupleOf('userstatus', [['user', 'string'], ['host', 'string'], ['resource', 'string'], ['priority', 'integer'], ['status', 'string']]);

interface UserStatus {
  user: string;
  host: string;
  resource: string;
  priority: number;
  status: string;
}

/**
 * The sessions (of one host, or all) whose show is `status`, as ejabberd's mod_admin_extra lists
 * them: the status text with newlines written as \n, priority -1 for a session without presence.
 */
function statusList({ sessions, prepareHost }: Context, host: string | undefined, status: string): UserStatus[] {
  if (status !== 'all' && !STATUSES.includes(status)) throw badArgument(`Invalid status: ${status} (expected ${STATUSES.join(', ')} or all)`);
  let pool: Iterable<SessionRecord> = sessions.all();
  if (host !== undefined) {
    const h = prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    pool = sessions.forHost(h);
  }
  const out: (UserStatus & { jid: string })[] = [];
  for (const s of pool) {
    if (status !== 'all' && showOf(s) !== status) continue;
    out.push({
      jid: s.jid.full,
      user: s.jid.local,
      host: s.jid.domain,
      resource: s.jid.resource,
      priority: s.presence === undefined ? -1 : s.priority,
      status: statusTextOf(s).replaceAll('\n', '\\n'),
    });
  }
  out.sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
  return out.map(({ jid: _, ...row }) => row);
}

const statusArg = str('status', 'Status type to check', 'dnd');
const hostArg = str('host', 'Server name', 'myserver.com');
const STATUS_EXAMPLE = [{ user: 'peter', host: 'myserver.com', resource: 'tka', priority: 6, status: 'Busy' }];

export const presenceCommands = [
  command({
    name: 'get_presence', tags: ['session'], policy: 'admin',
    desc: 'Retrieve the resource with highest priority, and its presence (show and status message) for a given user.',
    longdesc: "The 'jid' value contains the user jid with resource.\nThe 'show' value contains the user presence flag. It can take limited values:\n - available\n - chat (Free for chat)\n - away\n - dnd (Do not disturb)\n - xa (Not available, extended away)\n - unavailable (Not connected)\n\n'status' is a free text defined by the user client.",
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myexample.com')],
    result: tupleOf('presence', [['jid', 'string'], ['show', 'string'], ['status', 'string']]),
    resultExample: { jid: 'user1@myserver.com/tka', show: 'dnd', status: 'Busy' },
    exec: ({ user, host }, { services, sessions }) => {
      const p = services.accounts.prepare(user, host);
      const bare = bareOf(p);
      const available = sessions.available(bare);
      if (available.length === 0) return { jid: bare, show: 'unavailable', status: '' };
      let best = available[0]!;
      for (const s of available) if (s.priority > best.priority) best = s;
      return { jid: best.jid.full, show: showOf(best), status: statusTextOf(best) };
    },
  }),

  command({
    name: 'set_presence', tags: ['session'], policy: 'admin', desc: 'Set presence of a session',
    args: [
      str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com'), str('resource', 'Resource', 'tka1'),
      str('type', 'Type: available, error, probe...', 'available'), str('show', 'Show: away, chat, dnd, xa.', 'away'),
      str('status', 'Status text', 'BB'), str('priority', 'Priority, provide this value as an integer', '7'),
    ],
    result: rescode, resultExample: true,
    async exec({ user, host, resource, type, show, status, priority }, { services, sessions, service }) {
      const p = services.accounts.prepare(user, host);
      const session = sessions.get(bareOf(p), resource);
      if (!session) throw notFound(`User session not found: ${bareOf(p)}/${resource}`);
      if (show !== '' && !SHOWS.has(show)) throw badArgument(`Invalid show: ${show}`);
      const prio = priority === '' ? 0 : Number(priority);
      if (!Number.isInteger(prio) || prio < -128 || prio > 127) throw badArgument(`Invalid priority: ${priority}`);
      const presence = x('presence', type === 'available' || type === '' ? null : { type });
      if (show) presence.c('show').t(show);
      if (status) presence.c('status').t(status);
      presence.c('priority').t(String(prio));
      if (type === 'available' || type === '') await service.available(session, presence);
      else if (type === 'unavailable') await service.unavailable(session, presence);
      else await sessions.inject(session, presence);
      return true;
    },
  }),

  command({
    name: 'status_list', tags: ['session'], policy: 'admin', desc: 'List of logged users with this status', longdesc: STATUS_LONGDESC,
    args: [statusArg], result: listOf('users', USER_STATUS), resultExample: STATUS_EXAMPLE,
    exec: ({ status }, ctx) => statusList(ctx, undefined, status),
  }),

  command({
    name: 'status_list_host', tags: ['session'], policy: 'admin', desc: 'List of users logged in host with their statuses', longdesc: STATUS_LONGDESC,
    args: [hostArg, statusArg], result: listOf('users', USER_STATUS), resultExample: STATUS_EXAMPLE,
    exec: ({ host, status }, ctx) => statusList(ctx, host, status),
  }),

  command({
    name: 'status_num', tags: ['session', 'statistics'], policy: 'admin', desc: 'Number of logged users with this status', longdesc: STATUS_LONGDESC,
    args: [statusArg], result: intResult('users'), resultDesc: 'Number of connected sessions with given status type', resultExample: 23,
    exec: ({ status }, ctx) => statusList(ctx, undefined, status).length,
  }),

  command({
    name: 'status_num_host', tags: ['session', 'statistics'], policy: 'admin', desc: 'Number of logged users with this status in host', longdesc: STATUS_LONGDESC,
    args: [hostArg, statusArg], result: intResult('users'), resultDesc: 'Number of connected sessions with given status type', resultExample: 23,
    exec: ({ host, status }, ctx) => statusList(ctx, host, status).length,
  }),
];
