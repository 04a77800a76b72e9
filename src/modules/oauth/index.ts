import { defineModule } from '../module.js';
import { OAuthService } from './service.js';
import { oauthCommands } from './commands.js';

export { OAuthService, parseScopes, type TokenGrant } from './service.js';
export type { OAuthClient, OAuthStore, OAuthToken } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    oauth: OAuthService;
  }
}

/**
 * OAuth 2 tokens for the admin API (ejabberd's ejabberd_oauth): the six commands, the token store
 * (hashed, expiring, revocable), and what /oauth/token, the authorization page and the bearer
 * scheme of /api ask of it (src/admin/oauth/).
 */
export const oauthModule = defineModule({
  name: 'oauth',
  summary: 'OAuth 2 tokens for the admin API: issue, list, revoke; password and implicit clients',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.oauth,
  setup: (ctx) => new OAuthService(ctx),
  commands: oauthCommands,
});
