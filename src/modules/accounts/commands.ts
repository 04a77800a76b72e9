import { BlockList, isIP } from 'node:net';
import { commandsIn, intResult, listOf, outcome, rescode, str, strResult } from '../../admin/define.js';
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

  command({
    name: 'ban_account', tags: ['accounts'], policy: 'admin', desc: 'Ban an account: kick sessions and set random password',
    longdesc: 'Every session of the account is closed with a conflict stream error carrying the reason, and its password becomes a random one (BANNED_ACCOUNT--<UTC time>--<random>--<reason>), so it can no longer log in until an admin changes the password. An unknown account is an error: nothing is created.',
    args: [str('user', 'User name to ban', 'attacker'), str('host', 'Server name', 'myserver.com'), str('reason', 'Reason for banning user', 'Spaming other users')],
    result: rescode, resultExample: true,
    async exec({ user, host, reason }, { service }) {
      await service.ban(service.prepare(user, host), reason);
      return true;
    },
  }),

  command({
    name: 'check_password_hash', tags: ['accounts'], policy: 'admin', desc: 'Check if the password hash is correct',
    longdesc:
      'Allows hash methods from crypto application: md5, sha (SHA-1), sha1, sha224, sha256, sha384, sha512; the hash is given in hexadecimal, in either case. ' +
      'It needs the password in cleartext: when an account\'s password is stored as SCRAM only (auth.passwordFormat: scram, the default, or after convert_to_scram) the command fails with an error saying so, as ejabberd does. ' +
      'An unknown hash method is an error; an unknown user or host answers 1, like check_password.',
    args: [
      str('user', 'User name to check', 'peter'), str('host', 'Server to check', 'myserver.com'),
      str('passwordhash', "Password's hash value", '5ebe2294ecd0e0f08eab7690d2a6ee69'), str('hashmethod', 'Name of hash method', 'md5'),
    ],
    result: rescode, resultExample: true,
    exec: ({ user, host, passwordhash, hashmethod }, { service }) => service.checkPasswordHash(service.tryPrepare(user, host), passwordhash, hashmethod),
  }),

  command({
    name: 'convert_to_scram', tags: ['accounts'], policy: 'admin', desc: 'Convert the passwords of users to SCRAM',
    longdesc:
      'Every account of the vhost whose password is stored in cleartext keeps only its SCRAM-SHA-1 and SCRAM-SHA-256 keys; logins keep working, check_password_hash no longer can. ' +
      'Passwords set afterwards are stored as auth.passwordFormat says: set it to scram as well.',
    args: [str('host', "Vhost which users' passwords will be scrammed", 'example.com')],
    result: rescode, resultExample: true,
    async exec({ host }, { service }) {
      await service.convertToScram(host);
      return true;
    },
  }),

  command({
    name: 'unban_ip', tags: ['accounts'], policy: 'admin', desc: 'Remove banned IP addresses from the fail2ban table',
    longdesc:
      'Accepts an IP address with a network mask. Returns the number of unbanned addresses, or a negative integer if there were any error. ' +
      'The table is the per-address count of failed logins (limits.authFailuresPerMinute); every address with failures that matches is forgotten, banned or not yet. ' +
      'IPv4 addresses may be written IPv4-mapped (::FFFF:127.0.0.1/128).',
    args: [str('address', 'IP address, optionally with network mask.', '::FFFF:127.0.0.1/128')],
    result: intResult('unbanned'), resultExample: 3,
    exec({ address }, { authFailures }) {
      const match = addressMatcher(address);
      return match === undefined ? -1 : authFailures.clear(match);
    },
  }),
];

/**
 * A predicate over the addresses the limiter keeps (IPv4 plain, IPv6) for `address[/prefix]`, or
 * undefined when it is not one. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, prefix 96 or more) means IPv4.
 */
export function addressMatcher(text: string): ((ip: string) => boolean) | undefined {
  const [addrText = '', prefixText, ...rest] = text.trim().split('/');
  if (rest.length) return undefined;
  let addr = addrText;
  let version = isIP(addr);
  if (version === 0) return undefined;
  let prefix = version === 4 ? 32 : 128;
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > prefix) return undefined;
    prefix = Number(prefixText);
  }
  const mapped = /^::ffff:([0-9.]+)$/i.exec(addr);
  if (version === 6 && mapped && isIP(mapped[1]!) === 4 && prefix >= 96) {
    addr = mapped[1]!;
    version = 4;
    prefix -= 96;
  }
  const list = new BlockList();
  const type = version === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(addr, prefix, type);
  return (ip) => {
    const v = isIP(ip);
    return v === (version === 4 ? 4 : 6) && list.check(ip, type);
  };
}
