import { commandsIn, int, rescode } from '../../admin/define.js';
import type { CommandContext } from '../module.js';
import type { PushService } from './service.js';

const command = commandsIn<CommandContext<PushService, 'accounts' | 'disco'>>();

export const pushCommands = [
  command({
    name: 'delete_old_push_sessions', tags: ['purge'], policy: 'admin', desc: 'Remove push sessions older than DAYS',
    longdesc:
      'Removes, on every host, the push registrations (XEP-0357 enable) made more than DAYS days (of 24 hours) ago; ' +
      'enabling the same app server and node again renews a registration. 0 removes them all; a negative number is an error.',
    args: [int('days', 'Number of days', 1)],
    result: rescode, resultExample: true,
    async exec({ days }, { service }) {
      await service.deleteOlderThan(days);
      return true;
    },
  }),
];
