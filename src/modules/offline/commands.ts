import type { Server } from '../../server.js';
import { command, intResult, str } from '../../admin/define.js';

export function registerOfflineCommands(server: Server): void {
  server.commands.add(command({
    name: 'get_offline_count', tags: ['offline'], policy: 'user', desc: 'Get the number of unread offline messages',
    args: [str('user', undefined, 'aaaaa'), str('server', undefined, 'bbbbb')],
    argAliases: { host: 'server' },
    result: intResult('value'), resultExample: 5,
    async exec({ user, server: host }) {
      const p = server.accounts.tryPrepare(user, host);
      return p ? server.offline.count(`${p.user}@${p.host}`) : 0;
    },
  }));
}
