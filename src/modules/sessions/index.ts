import { defineModule } from '../module.js';
import { sessionCommands } from './commands.js';

/** The session commands: who is connected, kicking, and sending stanzas on a user's behalf. */
export const sessionsModule = defineModule({
  name: 'sessions',
  summary: 'Client sessions: listing, kicking, presence and messages sent by the server',
  dependencies: ['accounts'],
  commands: sessionCommands,
});
