import { defineModule } from '../module.js';
import { textCodec } from '../../storage/kinds.js';
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
  summary: 'Presence and subscriptions (RFC 6121)',
  dependencies: ['accounts', 'roster'],
  // Inbound subscription requests awaiting an answer, complete (RFC 6121 §3.1.3).
  stores: ({ storage }) => storage.map('subscription-requests', textCodec),
  setup: (ctx) => new PresenceService(ctx),
  commands: presenceCommands,
});
