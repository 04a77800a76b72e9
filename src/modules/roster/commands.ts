import { commandsIn, listOf, rescode, str, tupleOf } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { readDataFile } from '../../admin/data-files.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import type { ContactEntry, RosterService } from './service.js';
import type { Pending, RosterItem, Subscription } from './store.js';
import { jidPatternList, PatternError } from './jid-patterns.js';
import { parseRosterTemplate, type TemplateEntry } from './template.js';

type Context = CommandContext<RosterService, 'accounts'>;
const command = commandsIn<Context>();

function askOf(i: RosterItem): string {
  if (i.askOut && i.pendingIn) return 'both';
  if (i.askOut) return 'out';
  if (i.pendingIn) return 'in';
  return 'none';
}

/** An existing account whose roster a command reads or changes. */
function owner({ services: { accounts } }: Context, user: string, host: string): Promise<AccountRef> {
  return accounts.existing(user, host);
}

/** A `:`-separated list of words from `allowed`, or `any` (undefined: no filter). ejabberd skips empty entries. */
function wordList<W extends string>(value: string, allowed: readonly W[], what: string): W[] | undefined {
  const words = value.split(':').filter((w) => w !== '');
  if (words.length === 0) throw badArgument(`Empty ${what}: give any, or ${allowed.join(', ')} separated by :`);
  if (words.includes('any')) return undefined;
  for (const w of words) if (!(allowed as readonly string[]).includes(w)) throw badArgument(`Invalid ${what}: ${w}`);
  return [...new Set(words)] as W[];
}

function patterns(value: string, what: string): (jid: string) => boolean {
  try {
    return jidPatternList(value, what);
  } catch (err) {
    if (err instanceof PatternError) throw badArgument(err.message);
    throw err;
  }
}

/** The entries of a template roster file inside the data directory, as contacts. */
async function templateContacts(ctx: Context, file: string): Promise<{ entry: TemplateEntry; contact: ContactEntry }[]> {
  const text = await readDataFile(ctx.dataDir, file, ctx.config.limits.maxCommandFileSize, 'limits.maxCommandFileSize');
  return parseRosterTemplate(text).map((entry, i) => {
    const jid = tryParseJID(entry.user === '' ? entry.host : `${entry.user}@${entry.host}`);
    if (!jid || jid.resource) throw badArgument(`Invalid roster file: entry ${i + 1}: not a JID: ${entry.user}@${entry.host}`);
    return { entry, contact: { jid: jid.bare, name: entry.nick, groups: entry.group.split(';') } };
  });
}

const TEMPLATE_FILE =
  'The file is read from the data directory (dataDir): a relative path is taken from it, and a path that leads outside it ' +
  '(absolute elsewhere, .., a symbolic link pointing out) is refused; at most limits.maxCommandFileSize bytes of UTF-8. ' +
  'Strings may be written "...", <<"...">> or <<"..."/utf8>>; Group may hold several groups separated by ;. ';

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

  command({
    name: 'process_rosteritems', tags: ['roster'], policy: 'admin', desc: 'List/delete rosteritems that match filter',
    longdesc:
      'Explanation of each argument:\n - action: what to do with each rosteritem that matches all the filtering options\n - subs: subscription type\n' +
      ' - asks: pending subscription\n - users: the JIDs of the local user\n - contacts: the JIDs of the contact in the roster\n\n' +
      'Allowed values in the arguments:\n  ACTION = list | delete\n  SUBS = SUB[:SUB]* | any\n  SUB = none | from | to | both\n' +
      '  ASKS = ASK[:ASK]* | any\n  ASK = none | out | in\n  USERS = JID[:JID]* | any\n  CONTACTS = JID[:JID]* | any\n' +
      '  JID = characters valid in a JID, and can use the globs: *, ?, ! and [...]\n\n' +
      "This example will list roster items with subscription 'none', 'from' or 'to' that have any ask property, of local users " +
      "which JID is in the virtual host 'example.org' and that the contact JID is either a bare server name (without user part) " +
      "or that has a user part and the server part contains the word 'icq':\n  list none:from:to any *@example.org *:*@*icq*\n\n" +
      "A JID with % and none of * ? [ ! is matched as SQL LIKE against the whole JID (% any run, _ any one character), as " +
      'ejabberd does on SQL: list to any %@example.org %@%icq%\n\n' +
      'ASK out selects items waiting for the contact to answer our request, in those holding the contact\'s request to us ' +
      "(an item with both is selected by either). delete removes each item as a client's roster remove does: the subscriptions " +
      'are cancelled both ways (RFC 6121 §2.5.2) and the removal is pushed to the online resources.',
    args: [
      str('action', 'list or delete', 'list'),
      str('subs', 'Subscriptions: none, from, to, both separated by :, or any', 'none:from:to'),
      str('asks', 'Pending subscriptions: none, out, in separated by :, or any', 'any'),
      str('users', 'JID patterns of local users separated by :, or any', '*@example.org'),
      str('contacts', 'JID patterns of contacts separated by :, or any', '*:*@*icq*'),
    ],
    result: listOf('response', tupleOf('pairs', [['user', 'string'], ['contact', 'string']])),
    resultExample: [
      { user: 'user1@example.org', contact: 'icq.example.org' },
      { user: 'user2@example.org', contact: 'friend@icq.example.net' },
    ],
    async exec({ action, subs, asks, users, contacts }, ctx) {
      if (action !== 'list' && action !== 'delete') throw badArgument(`Invalid action: ${action}`);
      const found = await ctx.service.findItems({
        subscriptions: wordList<Subscription>(subs, ['none', 'from', 'to', 'both'], 'subs'),
        pending: wordList<Pending>(asks, ['none', 'out', 'in'], 'asks'),
        owner: patterns(users, 'users'),
        contact: patterns(contacts, 'contacts'),
      });
      if (action === 'delete') for (const { owner, item } of found) await ctx.service.removeItem(owner, item.jid);
      return found.map(({ owner, item }) => ({ user: bareOf(owner), contact: item.jid }));
    },
  }),

  command({
    name: 'push_roster', tags: ['roster'], policy: 'admin', desc: 'Push template roster from file to a user',
    longdesc:
      'The text file must contain an erlang term: a list of tuples with username, servername, group and nick. Example:\n' +
      '[{<<"user1">>, <<"localhost">>, <<"Workers">>, <<"User 1">>},\n {<<"user2">>, <<"localhost">>, <<"Workers">>, <<"User 2">>}].\n' +
      'When using UTF8 character encoding add /utf8 to certain string. Example:\n' +
      '[{<<"user2">>, <<"localhost">>, <<"Workers"/utf8>>, <<"User 2"/utf8>>}].\n\n' +
      TEMPLATE_FILE +
      "Every contact of the file (but the user) is set in the user's roster with subscription both, its nick and group, and " +
      "pushed to the user's online resources; the contacts' rosters are not changed (as ejabberd). A roster that would exceed " +
      'limits.maxRosterItems is refused whole.',
    args: [str('file', 'File path', '/home/ejabberd/roster.txt'), str('user', 'User name', 'user1'), str('host', 'Server name', 'localhost')],
    result: rescode, resultExample: true,
    async exec({ file, user, host }, ctx) {
      const account = await owner(ctx, user, host);
      const entries = await templateContacts(ctx, file);
      await ctx.service.setContacts([{ owner: account, contacts: entries.map((e) => e.contact) }], 'both');
      return true;
    },
  }),

  command({
    name: 'push_roster_all', tags: ['roster'], policy: 'admin', desc: 'Push template roster from file to all those users',
    longdesc:
      'The text file must contain an erlang term: a list of tuples with username, servername, group and nick. Example:\n' +
      '[{"user1", "localhost", "Workers", "User 1"},\n {"user2", "localhost", "Workers", "User 2"}].\n\n' +
      TEMPLATE_FILE +
      'Every user of the file gets every other one in the roster with subscription both, with that one\'s nick and group. ' +
      'Users of hosts served here must exist (else nothing is changed); users of other servers are only added as contacts. ' +
      'When a roster would exceed limits.maxRosterItems, nothing is changed.',
    args: [str('file', 'File path', '/home/ejabberd/roster.txt')],
    result: rescode, resultExample: true,
    async exec({ file }, ctx) {
      const entries = await templateContacts(ctx, file);
      const contacts = entries.map((e) => e.contact);
      const owners: AccountRef[] = [];
      for (const { contact } of entries) {
        const at = contact.jid.indexOf('@');
        const host = contact.jid.slice(at + 1);
        if (at < 0 || !ctx.isLocalHost(host)) continue;
        owners.push(await owner(ctx, contact.jid.slice(0, at), host));
      }
      await ctx.service.setContacts(owners.map((owner) => ({ owner, contacts })), 'both');
      return true;
    },
  }),

  command({
    name: 'push_alltoall', tags: ['roster'], policy: 'admin', desc: 'Add all the users to all the users of Host in Group',
    longdesc:
      'Every account of the host gets every other account in the roster with subscription both, named by its user name, ' +
      'in the group (several separated by ;), pushed to the online resources. When a roster would exceed ' +
      'limits.maxRosterItems, nothing is changed.',
    args: [str('host', 'Server name', 'myserver.com'), str('group', 'Group name', 'Everybody')],
    result: rescode, resultExample: true,
    async exec({ host, group }, ctx) {
      const h = ctx.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      const users = await ctx.services.accounts.list(h);
      const groups = group.split(';');
      const contacts = users.map((u) => ({ jid: `${u}@${h}`, name: u, groups }));
      await ctx.service.setContacts(users.map((user) => ({ owner: { user, host: h }, contacts })), 'both');
      return true;
    },
  }),
];
