import { commandsIn, int, intResult, outcome, rescode, str, tupleOf } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import type { AccountRef } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import type { LastService } from './service.js';

type Context = CommandContext<LastService, 'accounts'>;
const command = commandsIn<Context>();

/** XEP-0082 date-time in UTC with microseconds, as ejabberd writes it: 2017-06-30T14:32:16.060684Z. */
export function xep82Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Deletes the idle accounts of the given hosts (see LastService.idleAccounts); returns them. */
async function deleteOld(ctx: Context, hosts: readonly string[], days: number): Promise<AccountRef[]> {
  if (days < 0) throw badArgument(`Invalid days: ${days} (a number of days, 0 or more)`);
  const before = Date.now() - days * 86_400_000;
  const deleted: AccountRef[] = [];
  for (const host of hosts) {
    for (const account of await ctx.service.idleAccounts(host, before)) {
      try {
        await ctx.services.accounts.unregister(account);
        deleted.push(account);
      } catch (err) {
        // Removed meanwhile by someone else: not ours to report.
        if (!(await ctx.services.accounts.exists(account))) continue;
        throw err;
      }
    }
  }
  return deleted;
}

const PROTECTED =
  'Accounts with a session are never deleted, nor the configured admins (as ejabberd with the access rule protect_old_users: allow admin). ' +
  "An account that never logged in counts from its creation (ejabberd records \"Registered but didn't login\" then). " +
  'The result lists the deleted accounts: Deleted 2 users: ["oldman@myserver.com", "test@myserver.com"].';

export const lastCommands = [
  command({
    name: 'get_last', tags: ['last'], policy: 'admin', desc: 'Get last activity information',
    longdesc:
      'Timestamp is UTC and XEP-0082 format, for example: 2017-02-23T22:25:28.063062Z     ONLINE. ' +
      'While the account has a session: the current time and ONLINE; otherwise when its last session ended and the status of its last unavailable presence ' +
      "(\"Registered but didn't login\" for an account that never logged in; the current time and NOT FOUND when nothing was recorded). An unknown account is an error.",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com')],
    result: tupleOf('last_activity', [['timestamp', 'string'], ['status', 'string']]),
    resultExample: { timestamp: '2017-06-30T14:32:16.060684Z', status: 'ONLINE' },
    resultDesc: 'Last activity timestamp and status',
    async exec({ user, host }, { service, services: { accounts } }) {
      const last = await service.report(accounts.prepare(user, host));
      return { timestamp: xep82Micro(last.at), status: last.status };
    },
  }),

  command({
    name: 'set_last', tags: ['last'], policy: 'admin', desc: 'Set last activity information',
    longdesc:
      'Timestamp is the seconds since 1970-01-01 00:00:00 UTC, for example: date +%s. ' +
      'The status may hold up to limits.maxLastStatusLength characters. An unknown account is an error.',
    args: [
      str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com'),
      int('timestamp', 'Number of seconds since epoch', 1500045311), str('status', 'Status message', 'GoSleeping'),
    ],
    result: rescode, resultExample: true,
    async exec({ user, host, timestamp, status }, { service, services: { accounts } }) {
      await service.set(accounts.prepare(user, host), timestamp, status);
      return true;
    },
  }),

  command({
    name: 'delete_old_users', tags: ['accounts', 'purge'], policy: 'admin', desc: "Delete users that didn't log in last days, or that never logged",
    longdesc: `Every vhost: the accounts whose last session ended at least DAYS days ago, or that never logged in and were created at least DAYS days ago. ${PROTECTED}`,
    args: [int('days', 'Last login age in days of accounts that should be removed', 30)],
    result: outcome<AccountRef[]>(),
    resultExample: [{ user: 'oldman', host: 'myserver.com' }, { user: 'test', host: 'myserver.com' }],
    exec: ({ days }, ctx) => deleteOld(ctx, ctx.hosts, days),
  }),

  command({
    name: 'delete_old_users_vhost', tags: ['accounts', 'purge'], policy: 'admin', desc: "Delete users that didn't log in last days in vhost, or that never logged",
    longdesc: `The accounts of HOST whose last session ended at least DAYS days ago, or that never logged in and were created at least DAYS days ago. An unknown host is an error. ${PROTECTED}`,
    args: [str('host', 'Server name', 'myserver.com'), int('days', 'Last login age in days of accounts that should be removed', 30)],
    result: outcome<AccountRef[]>(),
    resultExample: [{ user: 'oldman', host: 'myserver.com' }, { user: 'test', host: 'myserver.com' }],
    async exec({ host, days }, ctx) {
      const h = ctx.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      return deleteOld(ctx, [h], days);
    },
  }),
  command({
    name: 'num_active_users', tags: ['accounts', 'statistics'], policy: 'admin', desc: 'Get number of users active in the last days',
    longdesc: 'Seed 001. Accounts of HOST connected now or whose last session ended within DAYS days; an account that never logged in counts from its registration, as ejabberd records it. An unknown host is an error (404).',
    args: [str('host', 'Name of host to check', 'myserver.com'), int('days', 'Number of days to calculate sum', 3)],
    result: intResult('users'), resultExample: 123, resultDesc: 'Number of users active on given server in last n days',
    async exec({ host, days }, ctx) {
      const h = ctx.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      if (days < 0) throw badArgument(`Invalid days: ${days} (a number of days, 0 or more)`);
      return ctx.service.activeCount(h, Date.now() - days * 86_400_000);
    },
  }),
];
