import type { Server } from '../../server.js';
import { command, listOf, rescode, str, tupleOf } from '../../admin/define.js';
import { notFound } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import type { RosterItem } from './store.js';

function askOf(i: RosterItem): string {
  if (i.askOut && i.pendingIn) return 'both';
  if (i.askOut) return 'out';
  if (i.pendingIn) return 'in';
  return 'none';
}

export function registerRosterCommands(server: Server): void {
  const owner = async (user: string, host: string): Promise<string> => {
    const p = server.accounts.prepare(user, host);
    if (!(await server.accounts.exists(p.user, p.host))) throw notFound(`User ${p.user}@${p.host} does not exist`);
    return `${p.user}@${p.host}`;
  };

  server.commands.add(command({
    name: 'add_rosteritem', tags: ['roster'], policy: 'admin', desc: "Add an item to a user's roster (supports ODBC)",
    longdesc: 'Group can be several groups separated by ; for example: "g1;g2;g3"',
    args: [
      str('localuser', 'User name', 'user1'), str('localhost', 'Server name', 'myserver.com'), str('user', 'Contact user name', 'user2'),
      str('host', 'Contact server name', 'myserver.com'), str('nick', 'Nickname', 'User 2'), str('group', 'Group', 'Friends'), str('subs', 'Subscription', 'both'),
    ],
    argAliases: { localserver: 'localhost', server: 'host' },
    result: rescode,
    async exec({ localuser, localhost, user, host, nick, group, subs }) {
      const o = await owner(localuser, localhost);
      await server.roster.adminSet(o, `${user}@${host}`, nick, group.split(';'), subs);
      return true;
    },
  }));

  server.commands.add(command({
    name: 'delete_rosteritem', tags: ['roster'], policy: 'admin', desc: "Delete an item from a user's roster (supports ODBC)",
    args: [str('localuser', 'User name', 'user1'), str('localhost', 'Server name', 'myserver.com'), str('user', 'Contact user name', 'user2'), str('host', 'Contact server name', 'myserver.com')],
    argAliases: { localserver: 'localhost', server: 'host' },
    result: rescode,
    async exec({ localuser, localhost, user, host }) {
      const o = await owner(localuser, localhost);
      // The contact may be remote (not a served host): prepare it as a JID, as add_rosteritem does.
      const contact = tryParseJID(`${user}@${host}`);
      if (!contact) return false;
      await server.roster.adminDelete(o, contact.bare);
      return true;
    },
  }));

  server.commands.add(command({
    name: 'get_roster', tags: ['roster'], policy: 'user', desc: 'Get roster of a local user',
    args: [str('user', undefined, 'aaaaa'), str('server', undefined, 'bbbbb')],
    argAliases: { host: 'server' },
    result: listOf('contacts', tupleOf('contact', [['jid', 'string'], ['nick', 'string'], ['subscription', 'string'], ['ask', 'string'], ['group', 'string']])),
    async exec({ user, server: host }) {
      const o = await owner(user, host);
      const rows: Record<string, string>[] = [];
      for (const i of await server.roster.list(o)) {
        const groups = i.groups.length ? i.groups : [''];
        for (const g of groups) rows.push({ jid: i.jid, nick: i.name, subscription: i.subscription, ask: askOf(i), group: g });
      }
      return rows;
    },
  }));
}
