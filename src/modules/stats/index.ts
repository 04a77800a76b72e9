import { defineModule } from '../module.js';
import { statsCommands } from './commands.js';

/** Server status and statistics commands. */
export const statsModule = defineModule({
  name: 'stats',
  dependencies: ['accounts'],
  commands: statsCommands,
});
