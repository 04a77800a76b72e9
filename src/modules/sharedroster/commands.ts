import { commandsIn, listOf, rescode, str, strResult, tupleOf } from '../../admin/define.js';
import { notFound } from '../../errors.js';
import type { CommandContext } from '../module.js';
import type { GroupMember, SharedGroupService } from './service.js';

type Context = CommandContext<SharedGroupService, 'accounts'>;
const command = commandsIn<Context>();

/** ejabberd's names of the special members, as `srg_user_add` and `srg_user_del` take them. */
const SPECIAL: Readonly<Record<string, GroupMember>> = { '@all@': 'allUsers', '@online@': 'onlineUsers' };

/**
 * The member a user and host name: a special member (on a served host), or an existing account
 * (ejabberd takes any name; an account that does not exist could never be removed with its account).
 */
async function memberOf(ctx: Context, user: string, host: string, mustExist = true): Promise<GroupMember> {
  const special = SPECIAL[user];
  if (special !== undefined) {
    if (ctx.prepareHost(host) === undefined) throw notFound(`Unknown host: ${host}`);
    return special;
  }
  const { accounts } = ctx.services;
  const p = accounts.prepare(user, host);
  return mustExist ? accounts.mustExist(p) : p;
}

/**
 * `display`: group ids separated by the two characters `\n` (what `"group1\\ngroup2"` is in JSON and
 * `\"group1\\ngroup2\"` on ejabberdctl's command line, split as ejabberd does), or by newlines.
 */
export function parseDisplay(display: string): string[] {
  return display.split(/\\n|\n/).filter((d) => d !== '');
}

export const sharedRosterCommands = [
  command({
    name: 'srg_create', tags: ['shared_roster_group'], policy: 'admin', desc: 'Create a Shared Roster Group',
    longdesc:
      'If you want to specify several group identifiers in the Display argument,\nput  \\ " around the argument and\nseparate the identifiers with \\ \\ n\n' +
      'For example:\n  ejabberdctl srg_create group3 myserver.com name desc \\"group1\\\\ngroup2\\"\n' +
      'An existing group keeps its members and gets the new name, description and displayed groups.',
    args: [
      str('group', 'Group identifier', 'group3'), str('host', 'Group server name', 'myserver.com'), str('name', 'Group name', 'Group3'),
      str('description', 'Group description', 'Third group'), str('display', 'Groups to display', 'group1\\ngroup2'),
    ],
    result: rescode, resultExample: true,
    async exec({ group, host, name, description, display }, { service }) {
      await service.put(service.ref(host, group), { name, description, displayed: parseDisplay(display) });
      return true;
    },
  }),

  command({
    name: 'srg_delete', tags: ['shared_roster_group'], policy: 'admin', desc: 'Delete a Shared Roster Group',
    args: [str('group', 'Group identifier', 'group3'), str('host', 'Group server name', 'myserver.com')],
    result: rescode, resultExample: true,
    async exec({ group, host }, { service }) {
      await service.delete(service.ref(host, group));
      return true;
    },
  }),

  command({
    name: 'srg_list', tags: ['shared_roster_group'], policy: 'admin', desc: 'List the Shared Roster Groups in Host',
    args: [str('host', 'Server name', 'myserver.com')],
    result: listOf('groups', strResult('id')), resultExample: ['group1', 'group2'], resultDesc: 'List of group identifiers',
    async exec({ host }, { service }) {
      return (await service.list(host)).map((g) => g.id);
    },
  }),

  command({
    name: 'srg_get_info', tags: ['shared_roster_group'], policy: 'admin', desc: 'Get info of a Shared Roster Group',
    longdesc: 'The keys are name, displayed_groups (the identifiers separated by newlines) and description, then all_users and online_users ("true") when @all@ or @online@ is a member.',
    args: [str('group', 'Group identifier', 'group3'), str('host', 'Group server name', 'myserver.com')],
    result: listOf('informations', tupleOf('information', [['key', 'string'], ['value', 'string']])),
    resultExample: [{ key: 'name', value: 'Group 3' }, { key: 'displayed_groups', value: 'group1' }],
    resultDesc: 'List of group informations, as key and value',
    async exec({ group, host }, { service }) {
      const g = await service.get(service.ref(host, group));
      const info = [
        { key: 'name', value: g.name },
        { key: 'displayed_groups', value: g.displayed.join('\n') },
        { key: 'description', value: g.description },
      ];
      if (g.allUsers) info.push({ key: 'all_users', value: 'true' });
      if (g.onlineUsers) info.push({ key: 'online_users', value: 'true' });
      return info;
    },
  }),

  command({
    name: 'srg_get_members', tags: ['shared_roster_group'], policy: 'admin', desc: 'Get members of a Shared Roster Group',
    longdesc: 'The accounts added as members, as JIDs (@all@ and @online@ show in srg_get_info).',
    args: [str('group', 'Group identifier', 'group3'), str('host', 'Group server name', 'myserver.com')],
    result: listOf('members', strResult('member')), resultExample: ['user1@localhost', 'user2@localhost'], resultDesc: 'List of group identifiers',
    async exec({ group, host }, { service }) {
      return (await service.members(service.ref(host, group))).accounts.map((a) => `${a.user}@${a.host}`);
    },
  }),

  command({
    name: 'srg_user_add', tags: ['shared_roster_group'], policy: 'admin', desc: 'Add the JID user@host to the Shared Roster Group',
    longdesc: 'The user @all@ stands for every account of the group\'s host, @online@ for every online one.',
    args: [
      str('user', 'Username', 'user1'), str('host', 'User server name', 'myserver.com'),
      str('group', 'Group identifier', 'group3'), str('grouphost', 'Group server name', 'myserver.com'),
    ],
    result: rescode, resultExample: true,
    async exec({ user, host, group, grouphost }, ctx) {
      const ref = ctx.service.ref(grouphost, group);
      await ctx.service.addMember(ref, await memberOf(ctx, user, host));
      return true;
    },
  }),

  command({
    name: 'srg_user_del', tags: ['shared_roster_group'], policy: 'admin', desc: 'Delete this JID user@host from the Shared Roster Group',
    args: [
      str('user', 'Username', 'user1'), str('host', 'User server name', 'myserver.com'),
      str('group', 'Group identifier', 'group3'), str('grouphost', 'Group server name', 'myserver.com'),
    ],
    result: rescode, resultExample: true,
    async exec({ user, host, group, grouphost }, ctx) {
      const ref = ctx.service.ref(grouphost, group);
      // A removed account is no longer a member of anything: an existing one is not required here.
      await ctx.service.removeMember(ref, await memberOf(ctx, user, host, false));
      return true;
    },
  }),
];
