import { defineModule } from '../module.js';
import { RosterService } from './service.js';
import { rosterCommands } from './commands.js';

export { RosterService, isSubscription, newItem } from './service.js';
export type { ContactEntry, RosterItemFilter } from './service.js';
export type { OwnedRosterItem, Pending, RosterItem, RosterScanFilter, RosterStore, Subscription } from './store.js';
export type { RosterProvider } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    roster: RosterService;
  }
}

/** Rosters (RFC 6121 §2): the jabber:iq:roster handler, roster pushes, and the roster commands. */
export const rosterModule = defineModule({
  name: 'roster',
  summary: 'Roster management (RFC 6121), roster versioning',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.roster,
  setup: (ctx) => new RosterService(ctx),
  commands: rosterCommands,
});
