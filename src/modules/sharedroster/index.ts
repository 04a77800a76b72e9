import { defineModule } from '../module.js';
import { SharedGroupService } from './service.js';
import { sharedRosterCommands } from './commands.js';

export { SharedGroupService } from './service.js';
export type { GroupFields, GroupMember, GroupMembers, SpecialMember } from './service.js';
export type { GroupRef, SharedGroup, SharedGroupStore } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    sharedroster: SharedGroupService;
  }
}

/**
 * Shared roster groups (ejabberd's mod_shared_roster, Openfire's shared groups): members of a group
 * see the members of the groups it displays in their rosters, with presence both ways; the srg_*
 * commands.
 */
export const sharedRosterModule = defineModule({
  name: 'sharedroster',
  summary: 'Shared roster groups (ejabberd mod_shared_roster)',
  dependencies: ['accounts', 'roster'],
  stores: ({ storage }) => storage.sharedGroups,
  setup: (ctx) => new SharedGroupService(ctx),
  commands: sharedRosterCommands,
});
