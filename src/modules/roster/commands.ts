import { commandsIn, listOf, rescode, str, tupleOf } from '../../admin/define.js';
import { notFound } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import type { RosterService } from './service.js';
import type { RosterItem } from './store.js';

type Context = CommandContext<RosterService, 'accounts'>;
const command = commandsIn<Context>();

function askOf(i: RosterItem): string {
  if (i.askOut && i.pendingIn) return 'both';
  if (i.askOut) return 'out';
  if (i.pendingIn) return 'in';
  return 'none';
}

/** An existing account whose roster a command reads or changes. */
async function owner({ services: { accounts } }: Context, user: string, host: string): Promise<AccountRef> {
  const p = accounts.prepare(user, host);
  if (!(await accounts.exists(p))) throw notFound(`User ${bareOf(p)} does not exist`);
  return p;
}

export const rosterCommands = [
  command({
    name: 'add_rosteritem', tags: ['roster'], policy: 'admin', desc: "Add an item to a user's roster (supports ODBC)",
    longdesc: 'Group can be several groups separated by ; for example: "g1;g2;g3"',
    args: [
      str('localuser', 'User name', 'user1'), str('localhost', 'Server name', 'myserver.com'), str('user', 'Contact user name', 'user2'),
      str('host', 'Contact server name', 'myserver.com'), str('nick', 'Nickname', 'User 2'), str('group', 'Group', 'Friends'), str('subs', 'Subscription', 'both'),
    ],
    result: rescode, resultExample: true,
    async exec({ localuser, localhost, user, host, nick, group, subs }, ctx) {
      const o = await owner(ctx, localuser, localhost);
      await ctx.service.adminSet(o, `${user}@${host}`, nick, group.split(';'), subs);
      return true;
    },
  }),

  command({
    name: 'delete_rosteritem', tags: ['roster'], policy: 'admin', desc: "Delete an item from a user's roster (supports ODBC)",
    args: [str('localuser', 'User name', 'user1'), str('localhost', 'Server name', 'myserver.com'), str('user', 'Contact user name', 'user2'), str('host', 'Contact server name', 'myserver.com')],
    result: rescode, resultExample: true,
    async exec({ localuser, localhost, user, host }, ctx) {
      const o = await owner(ctx, localuser, localhost);
      // The contact may be remote (not a served host): prepare it as a JID, as add_rosteritem does.
      const contact = tryParseJID(`${user}@${host}`);
      if (!contact) return false;
      await ctx.service.adminDelete(o, contact.bare);
      return true;
    },
  }),

  command({
    name: 'get_roster', tags: ['roster'], policy: 'user', account: ['user', 'server'], desc: 'Get roster of a local user',
    args: [str('user', 'User name', 'user1'), str('server', 'Server name', 'myserver.com')],
    result: listOf('contacts', tupleOf('contact', [['jid', 'string'], ['nick', 'string'], ['subscription', 'string'], ['ask', 'string'], ['group', 'string']])),
    resultExample: [
      { jid: 'user2@myserver.com', nick: 'User 2', subscription: 'both', ask: 'none', group: 'Friends' },
      { jid: 'user3@myserver.com', nick: 'User 3', subscription: 'to', ask: 'none', group: 'Work' },
    ],
    async exec({ user, server: host }, ctx) {
      const o = await owner(ctx, user, host);
      const rows: { jid: string; nick: string; subscription: string; ask: string; group: string }[] = [];
      // As clients see it: shared contacts included (ejabberd's get_roster runs the roster_get hook).
      for (const i of await ctx.service.contacts(o)) {
        const groups = i.groups.length ? i.groups : [''];
        for (const g of groups) rows.push({ jid: i.jid, nick: i.name, subscription: i.subscription, ask: askOf(i), group: g });
      }
      return rows;
    },
  }),
];
