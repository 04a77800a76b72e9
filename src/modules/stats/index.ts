import { defineModule } from '../module.js';
import { statsCommands } from './commands.js';

/** Server status and statistics commands. */
export const statsModule = defineModule({
  name: 'stats',
  summary: 'Statistics: registered and online users, uptime',
  dependencies: ['accounts'],
  commands: statsCommands,
});
