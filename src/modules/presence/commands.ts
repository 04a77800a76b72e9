import { commandsIn, rescode, str, tupleOf } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import { x } from '../../xmpp/xml/element.js';
import type { CommandContext } from '../module.js';
import { showOf, statusTextOf, type PresenceService } from './service.js';
import { bareOf } from '../../xmpp/account.js';

const SHOWS = new Set(['away', 'chat', 'dnd', 'xa']);

const command = commandsIn<CommandContext<PresenceService, 'accounts'>>();

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
];
