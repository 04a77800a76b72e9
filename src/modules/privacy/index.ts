import { defineModule } from '../module.js';
import { jsonCodec } from '../../storage/kinds.js';
import { PrivacyService, type PrivacyStore } from './service.js';
import { privacyCommands } from './commands.js';

export { PrivacyService } from './service.js';
export type { PrivacyData, PrivacyItem } from './lists.js';

declare module '../module.js' {
  interface ServiceMap {
    privacy: PrivacyService;
  }
}

declare module '../../router/session.js' {
  interface SessionFlags {
    /** XEP-0016 active list of the session; undefined: the account's default list applies. */
    privacyActive: string | undefined;
    /** Requested the XEP-0191 block list: receives block and unblock pushes. */
    blocklistRequested: boolean;
  }
}

/**
 * Privacy lists (XEP-0016) and blocking (XEP-0191), one value per account, enforced on the
 * routing path in both directions by one check (the block list is part of the default list).
 */
export const privacyModule = defineModule({
  name: 'privacy',
  summary: 'Privacy Lists (XEP-0016) and Blocking Command (XEP-0191)',
  dependencies: ['accounts', 'roster', 'disco'],
  stores: ({ storage }): PrivacyStore => storage.value('privacy', jsonCodec),
  setup: (ctx) => new PrivacyService(ctx),
  commands: privacyCommands,
});
