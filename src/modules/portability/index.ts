import { defineModule } from '../module.js';
import { portabilityCommands, type PortabilityOptions } from './commands.js';

declare module '../module.js' {
  interface ServiceMap {
    portability: PortabilityOptions;
  }
}

/**
 * Moving accounts in and out: XEP-0227 (PIEFXIS) export and import, Prosody data directories and
 * jabberd14 spool files, through the features' services (accounts, roster, vCard, private storage,
 * offline messages) and within their limits.
 */
export const portabilityModule = defineModule({
  name: 'portability',
  summary: 'Import and export of accounts: XEP-0227 (PIEFXIS), Prosody, jabberd14',
  dependencies: ['accounts', 'roster', 'vcard', 'private', 'offline'],
  setup: (ctx) => ({ overwrite: ctx.config.portability.overwrite }),
  commands: portabilityCommands,
});
