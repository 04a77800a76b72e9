import { defineModule } from '../module.js';
import { PresenceService } from './service.js';
import { presenceCommands } from './commands.js';

export { PresenceService, showOf, statusTextOf } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    presence: PresenceService;
  }
}

/** Presence broadcast, probes and subscriptions (RFC 6121 §3, §4); subscription state lives in the roster. */
export const presenceModule = defineModule({
  name: 'presence',
  dependencies: ['accounts', 'roster'],
  setup: (ctx) => new PresenceService(ctx),
  commands: presenceCommands,
});
