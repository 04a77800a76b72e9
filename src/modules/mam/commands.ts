import { commandsIn, int, outcome, rescode, str } from '../../admin/define.js';
import { badArgument } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import type { CommandContext } from '../module.js';
import type { MamService } from './service.js';

const command = commandsIn<CommandContext<MamService, 'accounts' | 'roster' | 'disco'>>();

/** ejabberd's answer when an archive was removed (mod_mam, whether or not it held anything). */
const REMOVED = 'MAM archive removed';

export const mamCommands = [
  command({
    name: 'delete_old_mam_messages', tags: ['purge'], policy: 'admin', desc: 'Delete MAM messages older than DAYS',
    longdesc:
      'Valid message TYPEs: "chat", "groupchat", "all". Removes, on every host, the archived messages stored more than DAYS days (of 24 hours) ago: ' +
      'of one-to-one chats (chat), of rooms (groupchat), or both (all). Another type answers 1, as ejabberd does.',
    args: [str('type', 'Type of messages to delete (chat, groupchat, all)', 'all'), int('days', 'Days to keep messages', 31)],
    result: rescode, resultExample: true,
    async exec({ type, days }, { service }) {
      if (type !== 'chat' && type !== 'groupchat' && type !== 'all') return false;
      await service.deleteOlderThan(type, days);
      return true;
    },
  }),

  command({
    name: 'remove_mam_for_user', tags: ['mam'], policy: 'admin', desc: 'Remove mam archive for user',
    longdesc: 'Removes every message of the account\'s archive. An account without an archive (or unknown) answers the same.',
    args: [str('user', 'Username', 'bob'), str('host', 'Server', 'example.com')],
    result: outcome<string>(), resultExample: REMOVED,
    async exec({ user, host }, { service, services }) {
      await service.removeFor(services.accounts.prepare(user, host));
      return REMOVED;
    },
  }),

  command({
    name: 'remove_mam_for_user_with_peer', tags: ['mam'], policy: 'admin', desc: 'Remove mam archive for user with peer',
    longdesc: "Removes the messages of the account's archive exchanged with the peer (its bare JID: every resource).",
    args: [str('user', 'Username', 'bob'), str('host', 'Server', 'example.com'), str('with', 'Peer', 'anne@example.com')],
    result: outcome<string>(), resultExample: REMOVED,
    async exec({ user, host, with: peer }, { service, services }) {
      const account = services.accounts.prepare(user, host);
      const jid = tryParseJID(peer);
      if (!jid) throw badArgument('Invalid peer JID');
      await service.removeFor(account, jid);
      return REMOVED;
    },
  }),
];
