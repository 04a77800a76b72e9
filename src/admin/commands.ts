import type { Server } from '../server.js';
import { registerAccountCommands } from '../modules/accounts/commands.js';
import { registerSessionCommands } from '../modules/sessions/commands.js';
import { registerPresenceCommands } from '../modules/presence/commands.js';
import { registerRosterCommands } from '../modules/roster/commands.js';
import { registerOfflineCommands } from '../modules/offline/commands.js';
import { registerStatsCommands } from '../modules/stats/commands.js';

/** Every feature declares its own commands; this only lists the features. */
export function registerCoreCommands(server: Server): void {
  registerAccountCommands(server);
  registerSessionCommands(server);
  registerPresenceCommands(server);
  registerRosterCommands(server);
  registerOfflineCommands(server);
  registerStatsCommands(server);
}
