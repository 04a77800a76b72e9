import { defineModule } from '../module.js';
import { MucService } from './service.js';
import { mucCommands } from './commands.js';

export { MucService } from './service.js';
export type * from './api.js';

declare module '../module.js' {
  interface ServiceMap {
    muc: MucService;
  }
}

/**
 * Group chat (XEP-0045) on `conference.<host>` for every host: rooms with their configuration,
 * affiliations, roles, history and subject, registered nicks, invitations, voice requests,
 * self-ping (XEP-0410), message moderation (XEP-0425), the room archive through the archive module
 * when it runs, and ejabberd's MUC/Sub. Persistent rooms are stored (migration 7).
 */
export const mucModule = defineModule({
  name: 'muc',
  summary: 'Multi-User Chat (XEP-0045) with MUC/Sub',
  dependencies: ['accounts', 'disco'],
  stores: ({ storage }) => storage.muc,
  setup: (ctx) => new MucService(ctx),
  commands: mucCommands,
});
