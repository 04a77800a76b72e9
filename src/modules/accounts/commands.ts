import { commandsIn, listOf, outcome, rescode, str, strResult } from '../../admin/define.js';
import type { AccountRef } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import type { AccountService } from './service.js';

const command = commandsIn<CommandContext<AccountService>>();

export const accountCommands = [
  command({
    name: 'register', tags: ['accounts'], policy: 'admin', desc: 'Register a user',
    args: [str('user', 'Username', 'bob'), str('host', 'Local vhost served by ejabberd', 'example.com'), str('password', 'Password', 'SomEPass44')],
    result: outcome<AccountRef>(), resultExample: { user: 'bob', host: 'example.com' },
    exec: ({ user, host, password }, { service }) => service.register(service.prepare(user, host), password),
  }),

  command({
    name: 'unregister', tags: ['accounts'], policy: 'admin', desc: 'Unregister a user',
    args: [str('user', 'Username', 'bob'), str('host', 'Local vhost served by ejabberd', 'example.com')],
    result: outcome<AccountRef>(), resultExample: { user: 'bob', host: 'example.com' },
    async exec({ user, host }, { service }) {
      const account = service.prepare(user, host);
      await service.unregister(account);
      return account;
    },
  }),

  command({
    name: 'registered_users', tags: ['accounts'], policy: 'admin', desc: 'List all registered users in HOST',
    args: [str('host', 'Local vhost', 'example.com')],
    result: listOf('users', strResult('username')), resultExample: ['user1', 'user2'],
    exec: ({ host }, { service }) => service.list(host),
  }),

  command({
    name: 'registered_vhosts', tags: ['server'], policy: 'admin', desc: 'List all registered vhosts in SERVER',
    args: [], result: listOf('vhosts', strResult('vhost')), resultExample: ['example.com', 'anon.example.com'],
    exec: (_, { hosts }) => [...hosts],
  }),

  command({
    name: 'check_account', tags: ['accounts'], policy: 'admin', desc: 'Check if an account exists or not',
    args: [str('user', 'User name to check', 'peter'), str('host', 'Server to check', 'myserver.com')],
    result: rescode, resultExample: true,
    async exec({ user, host }, { service }) {
      const account = service.tryPrepare(user, host);
      return account !== undefined && service.exists(account);
    },
  }),

  command({
    name: 'check_password', tags: ['accounts'], policy: 'admin', desc: 'Check if a password is correct',
    args: [str('user', 'User name to check', 'peter'), str('host', 'Server to check', 'myserver.com'), str('password', 'Password to check', 'secret')],
    result: rescode, resultExample: true,
    async exec({ user, host, password }, { service }) {
      const account = service.tryPrepare(user, host);
      return account !== undefined && service.checkPassword(account, password);
    },
  }),

  command({
    name: 'change_password', tags: ['accounts'], policy: 'admin', desc: 'Change the password of an account',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), str('newpass', 'New password for user', 'blank')],
    result: rescode, resultExample: true,
    async exec({ user, host, newpass }, { service }) {
      await service.changePassword(service.prepare(user, host), newpass);
      return true;
    },
  }),
];
