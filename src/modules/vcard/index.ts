import { defineModule } from '../module.js';
import { textCodec } from '../../storage/kinds.js';
import { VcardService } from './service.js';
import { vcardCommands } from './commands.js';

export { VcardService, NS_VCARD, NS_VCARD_UPDATE, avatarOf } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    vcard: VcardService;
  }
}

/**
 * vcard-temp (XEP-0054) with vCard-based avatars (XEP-0153), and ejabberd's vCard commands. Both
 * values are of the storage's value kind: they go with the account.
 */
export const vcardModule = defineModule({
  name: 'vcard',
  summary: 'vCard-temp (XEP-0054) and avatar hashes in presence (XEP-0153)',
  dependencies: ['accounts', 'presence', 'disco'],
  stores: ({ storage }) => ({ vcards: storage.value('vcard', textCodec), avatars: storage.value('vcard-avatar', textCodec) }),
  setup: (ctx) => new VcardService(ctx),
  commands: vcardCommands,
});
