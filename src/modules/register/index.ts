import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { defineModule, type ModuleContext } from '../module.js';
import type { AccountService } from '../accounts/index.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError, errorReply, iqResult } from '../../xmpp/stanza.js';
import { DomainError } from '../../errors.js';
import type { AccessRule } from '../../config/schema.js';
import { parseJID, type JID } from '../../xmpp/jid.js';
import { accountOf } from '../../xmpp/account.js';

function registrationForm(): Element {
  return x('query', { xmlns: NS.register }, x('instructions', null, 'Choose a username and password for use with this service.'), x('username'), x('password'));
}

/** What registration before authentication needs: the stream that receives it passes its server. */
export interface RegistrationHost {
  readonly config: Config;
  readonly log: Logger;
  readonly accounts: AccountService;
}

/** When each address last created an account in band (c2s.registrationTimeout). */
const lastRegistration = new WeakMap<RegistrationHost, Map<string, number>>();

function registrationAllowed(server: RegistrationHost, ip: string, now: number): boolean {
  const timeout = server.config.c2s.registrationTimeout * 1000;
  if (timeout === 0) return true;
  const seen = lastRegistration.get(server);
  const last = seen?.get(ip);
  if (seen && seen.size > 10_000) for (const [k, t] of seen) if (now - t >= timeout) seen.delete(k);
  return last === undefined || now - last >= timeout;
}

/** XEP-0077 before authentication: account creation, when `c2s.inBandRegistration` is on. */
export async function handlePreAuthRegistration(server: RegistrationHost, iq: Element, host: string, ip: string): Promise<Element> {
  const query = iq.getChild('query', NS.register)!;
  const reply = (el: Element) => {
    delete el.attrs.to;
    return el;
  };
  if (iq.attrs.type === 'get') return reply(iqResult(iq, registrationForm()));
  if (iq.attrs.type !== 'set') return reply(errorReply(iq, 'bad-request'));
  if (query.getChild('remove')) return reply(errorReply(iq, 'not-authorized', 'log in to remove an account'));
  const user = query.getChildText('username');
  const password = query.getChildText('password');
  if (!user || !password) return reply(errorReply(iq, 'not-acceptable', 'username and password are required'));
  const now = Date.now();
  if (!registrationAllowed(server, ip, now)) {
    return reply(errorReply(iq, 'resource-constraint', 'Users are not allowed to register accounts so quickly', 'wait'));
  }
  // The address's turn is taken before the account is created (which awaits): concurrent
  // requests from one address see it taken. A failed registration gives it back.
  let seen = lastRegistration.get(server);
  if (!seen) lastRegistration.set(server, (seen = new Map()));
  const previous = seen.get(ip);
  const timed = server.config.c2s.registrationTimeout > 0;
  if (timed) seen.set(ip, now);
  const giveBack = () => {
    if (!timed || seen.get(ip) !== now) return;
    if (previous === undefined) seen.delete(ip);
    else seen.set(ip, previous);
  };
  try {
    await server.accounts.register(server.accounts.prepare(user, host), password);
    server.log.info({ user, host, ip }, 'account created by in-band registration');
    return reply(iqResult(iq));
  } catch (err) {
    giveBack();
    if (err instanceof DomainError) {
      return reply(errorReply(iq, err.kind === 'conflict' ? 'conflict' : 'not-acceptable', err.message));
    }
    throw err;
  }
}

/** XEP-0077 after authentication: password change and account removal by the user. */
export const registerModule = defineModule({
  name: 'register',
  summary: 'In-Band Registration (XEP-0077): new accounts, password change, removal',
  dependencies: ['accounts', 'disco'],
  setup: setupRegister,
});

/**
 * Whether an access rule (`c2s.inBandPasswordChange`, `c2s.inBandRemoval`) lets an account (a
 * prepared bare JID) do it. The rule's JIDs (checked by the configuration schema; `admins` by the
 * server) are prepared once, so `Alice@Example.org` names alice@example.org.
 */
export function accessCheck(rule: AccessRule, admins: () => readonly string[]): (bare: string) => boolean {
  if (rule === 'all') return () => true;
  if (rule === 'none') return () => false;
  const allowed = new Set((rule === 'admin' ? admins() : rule.user).map((entry) => parseJID(entry).bare));
  return (bare) => allowed.has(bare);
}

function setupRegister(ctx: ModuleContext<'accounts' | 'disco'>): void {
  const { accounts, disco } = ctx.services;
  const admins = () => ctx.config.admins ?? [`admin@${ctx.hosts[0]}`];
  const mayChangePassword = accessCheck(ctx.config.c2s.inBandPasswordChange, admins);
  const mayRemove = accessCheck(ctx.config.c2s.inBandRemoval, admins);
  if (ctx.config.c2s.inBandRegistration) disco.hostFeatures.add(NS.register);
  /** Whether a <username/> names the account itself (prepared as a login is). */
  const isOwn = (user: string, from: JID) => accounts.tryPrepare(user, from.domain)?.user === from.local;
  ctx.iq.register({
    xmlns: NS.register,
    target: 'both',
    get: ({ from }) => x('query', { xmlns: NS.register }, x('registered'), x('username', null, from.local), x('password')),
    set: async ({ iq, from, to, payload, origin }) => {
      if (!origin || (to.local !== '' && to.bare !== from.bare)) throw new StanzaError('not-allowed', 'The query is only allowed from local users');
      const user = payload.getChildText('username');
      if (user !== undefined && !isOwn(user, from)) throw new StanzaError('forbidden', 'The username must be your own');
      if (payload.getChild('remove')) {
        // XEP-0077 §3.2; ejabberd's mod_register access_remove and its answer.
        if (!mayRemove(from.bare)) throw new StanzaError('forbidden', 'Access denied by service policy');
        if (!(await accounts.exists(accountOf(from)))) throw new StanzaError('item-not-found');
        // XEP-0077 §3.2: the client gets the result once the removal is committed, before it
        // closes its sessions (the result the IQ layer sends afterwards finds no session and is dropped).
        const done = iqResult(iq);
        done.attrs.from = to.toString();
        done.attrs.to = from.toString();
        try {
          await accounts.unregister(accountOf(from), () => ctx.sessions.deliver(origin, done));
        } catch (err) {
          // Nothing was removed (one transaction): the client is told so, and stays.
          ctx.log.error({ err, jid: from.bare }, 'in-band account removal failed');
          throw new StanzaError('internal-server-error');
        }
        return undefined;
      }
      // XEP-0077 §3.3: a password change.
      const password = payload.getChildText('password');
      if (user === undefined || !password) throw new StanzaError('bad-request', 'A password change carries your username and the new password');
      if (!mayChangePassword(from.bare)) throw new StanzaError('not-allowed', 'Changing password is not allowed');
      try {
        await accounts.changePassword(accountOf(from), password);
      } catch (err) {
        if (err instanceof DomainError) throw new StanzaError('not-acceptable', err.message);
        throw err;
      }
      ctx.log.info({ jid: from.bare }, 'password changed in band');
      return undefined;
    },
  });
}
