import { commandsIn, int, listOf, restuple, str, tupleOf } from '../../admin/define.js';
import { badArgument } from '../../errors.js';
import { parseJID } from '../../xmpp/jid.js';
import { accountOf } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import { parseScopes, type OAuthService } from './service.js';

type Context = CommandContext<OAuthService, 'accounts'>;
const command = commandsIn<Context>();

const TOKENS = listOf('tokens', tupleOf('token', [['token', 'string'], ['user', 'string'], ['scope', 'string'], ['expires_in', 'string']]));
const TOKENS_EXAMPLE = [
  { token: '3f0c9a1e7b2d4c58', user: 'user1@localhost', scope: 'ejabberd:admin', expires_in: '3599' },
  { token: '9b1d2e4f6a8c0e13', user: 'user2@localhost', scope: 'get_roster', expires_in: '86399' },
];
const STORED_HASHED =
  'Parley stores only a hash of each token: the token column shows its id (the first 16 hex digits of its SHA-256), which oauth_revoke_token accepts as well as the token itself.';

export const oauthCommands = [
  command({
    name: 'oauth_issue_token', tags: ['oauth'], policy: 'admin', desc: 'Issue an oauth token for the given jid',
    longdesc:
      'Scopes are separated by ;. ejabberd:admin gives an admin account its admin rights over /api, ejabberd:user the commands an account may run on itself, and a command name that command only. ' +
      'The account must exist; TTL is 1 to limits.maxOAuthTokenTtl seconds; an account holds at most limits.maxOAuthTokensPerAccount tokens.',
    args: [str('jid', 'Jid for which issue token', 'user@server.com'), int('ttl', 'Time to live of generated token in seconds', 3600), str('scopes', "List of scopes to allow, separated by ';'", 'ejabberd:admin;get_roster')],
    result: tupleOf('result', [['token', 'string'], ['scopes', 'string'], ['expires_in', 'string']]),
    resultExample: { token: 'Z2Vocm9jbWNhbGVybmFsY2hhbmdlZA', scopes: 'ejabberd:admin;get_roster', expires_in: '3600' },
    async exec({ jid, ttl, scopes }, ctx) {
      let account;
      try {
        const j = parseJID(jid);
        if (j.local === '') throw new Error('no user name');
        account = accountOf(j);
      } catch (err) {
        throw badArgument(`Invalid jid: ${jid}: ${(err as Error).message}`);
      }
      if (!ctx.isLocalHost(account.host)) throw badArgument(`Unknown host: ${account.host}`);
      const issued = await ctx.service.issue(account, ttl, parseScopes(scopes, /;/));
      return { token: issued.token, scopes: issued.scopes.join(';'), expires_in: String(issued.expiresIn) };
    },
  }),
  command({
    name: 'oauth_list_tokens', tags: ['oauth'], policy: 'admin', desc: 'List oauth tokens, user, scope, and seconds to expire (only Mnesia)',
    longdesc: `List oauth tokens, their user and scope, and how many seconds remain until expiry (every backend). ${STORED_HASHED}`,
    args: [], result: TOKENS, resultExample: TOKENS_EXAMPLE,
    exec: (_, ctx) => ctx.service.list(),
  }),
  command({
    name: 'oauth_revoke_token', tags: ['oauth'], policy: 'admin', desc: 'Revoke authorization for a token (only Mnesia)',
    longdesc: `The token is refused from its next use on. Returns the remaining tokens; an unknown token is an error (404). ${STORED_HASHED}`,
    args: [str('token', 'OAuth token, or its id as oauth_list_tokens shows it', 'Z2Vocm9jbWNhbGVybmFsY2hhbmdlZA')],
    result: TOKENS, resultExample: TOKENS_EXAMPLE, resultDesc: 'List of remaining tokens',
    async exec({ token }, ctx) {
      await ctx.service.revoke(token);
      return ctx.service.list();
    },
  }),
  command({
    name: 'oauth_add_client_password', tags: ['oauth'], policy: 'admin', desc: 'Add OAUTH client_id with password grant type',
    longdesc: 'A client that asks /oauth/token for tokens with the password grant, authenticating with client_id and secret (the secret is stored hashed). Adding an existing client_id replaces it.',
    args: [str('client_id', 'Client ID', 'a92ef2a1-4da3-4a0b-8c7e-1b3bd9a2a5ab'), str('client_name', 'Client name', 'My Script'), str('secret', 'Secret', 'wMq2pSZc8mC4zE')],
    result: restuple, resultExample: 'Success',
    async exec({ client_id, client_name, secret }, ctx) {
      await ctx.service.addClient({ id: client_id, name: client_name, grant: 'password', secret });
      return 'Success';
    },
  }),
  command({
    name: 'oauth_add_client_implicit', tags: ['oauth'], policy: 'admin', desc: 'Add OAUTH client_id with implicit grant type',
    longdesc: 'A client that sends users to the authorization page (/oauth/authorize) and gets their token at redirect_uri (http or https, no fragment). Adding an existing client_id replaces it.',
    args: [str('client_id', 'Client ID', 'panel'), str('client_name', 'Client name', 'Web panel'), str('redirect_uri', 'Redirect URI', 'https://panel.example.com/oauth-callback')],
    result: restuple, resultExample: 'Success',
    async exec({ client_id, client_name, redirect_uri }, ctx) {
      await ctx.service.addClient({ id: client_id, name: client_name, grant: 'implicit', redirectUri: redirect_uri });
      return 'Success';
    },
  }),
  command({
    name: 'oauth_remove_client', tags: ['oauth'], policy: 'admin', desc: 'Remove OAUTH client_id',
    longdesc: 'Tokens the client obtained stay valid until they expire or are revoked. An unknown client is an error (404).',
    args: [str('client_id', 'Client ID', 'panel')],
    result: restuple, resultExample: 'Success',
    async exec({ client_id }, ctx) {
      await ctx.service.removeClient(client_id);
      return 'Success';
    },
  }),
];
