import { commandsIn, intResult, str } from '../../admin/define.js';
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
];
