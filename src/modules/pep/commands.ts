import { commandsIn, restuple, str } from '../../admin/define.js';
import { badArgument, forbidden, notFound } from '../../errors.js';
import { StanzaError } from '../../xmpp/stanza.js';
import type { CommandContext } from '../module.js';
import type { PepService } from './service.js';

type Context = CommandContext<PepService, 'accounts'>;
const command = commandsIn<Context>();

export const pepCommands = [
  command({
    name: 'bookmarks_to_pep', tags: ['private'], policy: 'admin', desc: 'Export private XML storage bookmarks to PEP',
    longdesc:
      "The account's XEP-0048 bookmarks, as its clients stored them in private XML storage (<storage xmlns='storage:bookmarks'/> in jabber:iq:private), are published to its PEP node storage:bookmarks as the item `current`, persistent and readable by the account only (access model whitelist), as ejabberd 23.01 does. Its clients with storage:bookmarks+notify are told. An account without stored bookmarks is an error; a node storage:bookmarks configured otherwise is left alone (an error naming the options that differ).",
    args: [str('user', 'Username', 'bob'), str('host', 'Server', 'example.com')],
    result: restuple, resultExample: 'Bookmarks exported to PEP node',
    async exec({ user, host }, ctx) {
      const account = await ctx.services.accounts.existing(user, host);
      let exported: boolean;
      try {
        exported = await ctx.service.bookmarksToPep(account);
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        const message = err.text ?? err.condition;
        throw err.condition === 'forbidden' || err.condition === 'not-allowed' ? forbidden(message) : badArgument(message);
      }
      if (!exported) throw notFound('Cannot retrieve bookmarks from private XML storage');
      return 'Bookmarks exported to PEP node';
    },
  }),
];
