import type { Server } from '../../server.js';
import { command, listOf, rescode, restuple, str, strResult } from '../../admin/define.js';

export function registerAccountCommands(server: Server): void {
  const { commands } = server;
  const accounts = () => server.accounts;

  commands.add(command({
    name: 'register', tags: ['accounts'], policy: 'admin', desc: 'Register a user',
    args: [str('user', 'Username', 'bob'), str('host', 'Local vhost served by ejabberd', 'example.com'), str('password', 'Password', 'SomEPass44')],
    result: restuple, resultExample: 'User bob@example.com successfully registered',
    async exec({ user, host, password }) {
      const p = await accounts().register(user, host, password);
      return `User ${p.user}@${p.host} successfully registered`;
    },
  }));

  commands.add(command({
    name: 'unregister', tags: ['accounts'], policy: 'admin', desc: 'Unregister a user',
    args: [str('user', 'Username', 'bob'), str('host', 'Local vhost served by ejabberd', 'example.com')],
    result: restuple, resultExample: '',
    async exec({ user, host }) {
      await accounts().unregister(user, host);
      return '';
    },
  }));

  commands.add(command({
    name: 'registered_users', tags: ['accounts'], policy: 'admin', desc: 'List all registered users in HOST',
    args: [str('host', 'Local vhost', 'example.com')],
    result: listOf('users', strResult('username')), resultExample: ['user1', 'user2'],
    exec: ({ host }) => accounts().list(host),
  }));

  commands.add(command({
    name: 'registered_vhosts', tags: ['server'], policy: 'admin', desc: 'List all registered vhosts in SERVER',
    args: [], result: listOf('vhosts', strResult('vhost')), resultExample: ['example.com', 'anon.example.com'],
    exec: () => server.hosts,
  }));

  commands.add(command({
    name: 'check_account', tags: ['accounts'], policy: 'admin', desc: 'Check if an account exists or not',
    args: [str('user', 'User name to check', 'peter'), str('host', 'Server to check', 'myserver.com')],
    result: rescode,
    exec: ({ user, host }) => accounts().exists(user, host),
  }));

  commands.add(command({
    name: 'check_password', tags: ['accounts'], policy: 'admin', desc: 'Check if a password is correct',
    args: [str('user', 'User name to check', 'peter'), str('host', 'Server to check', 'myserver.com'), str('password', 'Password to check', 'secret')],
    result: rescode,
    exec: ({ user, host, password }) => accounts().checkPassword(user, host, password),
  }));

  commands.add(command({
    name: 'change_password', tags: ['accounts'], policy: 'admin', desc: 'Change the password of an account',
    args: [str('user', 'User name', 'peter'), str('host', 'Server name', 'myserver.com'), str('newpass', 'New password for user', 'blank')],
    result: rescode,
    async exec({ user, host, newpass }) {
      await accounts().changePassword(user, host, newpass);
      return true;
    },
  }));
}
