import { defineModule } from '../module.js';
import { s2sCommands } from './commands.js';

/**
 * Server-to-server federation. There is none yet: this module answers the s2s admin commands
 * honestly (no connections, nothing to stop) until the s2s transport arrives and takes them over.
 */
export const s2sModule = defineModule({
  name: 's2s',
  summary: 'Server-to-server connections and their commands',
  commands: s2sCommands,
});
