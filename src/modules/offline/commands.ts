import { commandsIn, int, intResult, rescode, str } from '../../admin/define.js';
import { badArgument } from '../../errors.js';
import type { CommandContext } from '../module.js';
import type { OfflineService } from './service.js';

const command = commandsIn<CommandContext<OfflineService, 'accounts'>>();

export const offlineCommands = [
  command({
    name: 'get_offline_count', tags: ['offline'], policy: 'user', account: ['user', 'server'], desc: 'Get the number of unread offline messages',
    args: [str('user', 'User name', 'user1'), str('server', 'Server name', 'myserver.com')],
    result: intResult('value'), resultExample: 5,
    async exec({ user, server: host }, { services, service }) {
      const p = services.accounts.tryPrepare(user, host);
      return p ? service.count(p) : 0;
    },
  }),

  command({
    name: 'delete_expired_messages', tags: ['offline', 'purge'], policy: 'admin', desc: 'Delete expired offline messages from database',
    longdesc:
      "A message stored offline expires at the earliest of its XEP-0079 rules with condition 'expire-at' and its " +
      "XEP-0023 `<x xmlns='jabber:x:expire' seconds='N'/>` (N seconds after it was stored). An expired message is " +
      'never delivered (whatever the rule\'s action: it is dropped, as with action=\'drop\'); one already expired on ' +
      'arrival is not stored. This command removes the expired ones still stored, on every host.',
    args: [],
    result: rescode, resultExample: true,
    async exec(_, { service }) {
      await service.deleteExpired();
      return true;
    },
  }),

  command({
    name: 'delete_old_messages', tags: ['offline', 'purge'], policy: 'admin', desc: 'Delete offline messages older than DAYS',
    longdesc: 'Removes, on every host, the offline messages stored more than DAYS days (of 24 hours) ago; 0 removes them all.',
    args: [int('days', 'Number of days', 31)],
    result: rescode, resultExample: true,
    async exec({ days }, { service }) {
      if (days < 0) throw badArgument(`Invalid number of days: ${days}`);
      await service.deleteOlderThan(days);
      return true;
    },
  }),
];
