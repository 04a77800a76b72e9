import { commandsIn, rescode, str, strResult } from '../../admin/define.js';
import { badArgument } from '../../errors.js';
import type { AccountRef } from '../../xmpp/account.js';
import { x } from '../../xmpp/xml/element.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';
import { NS } from '../../xmpp/ns.js';
import type { CommandContext } from '../module.js';
import type { PrivateService } from './service.js';

type Context = CommandContext<PrivateService, 'accounts'>;
const command = commandsIn<Context>();

/** An existing account named by a command's arguments. */
function account({ services: { accounts } }: Context, user: string, host: string): Promise<AccountRef> {
  return accounts.existing(user, host);
}

export const privateCommands = [
  command({
    name: 'private_get', tags: ['private'], policy: 'admin', desc: 'Get some information from a user private storage',
    longdesc: "The answer is what a jabber:iq:private get returns, as ejabberd gives it: the <query xmlns='jabber:iq:private'/> holding the stored element, or the element empty when nothing is stored.",
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com'), str('element', 'Element name', 'storage'), str('ns', 'Namespace', 'storage:rosternotes')],
    result: strResult('res'),
    resultExample: `<query xmlns="jabber:iq:private"><storage xmlns="storage:rosternotes"><note jid="user2@myserver.com">met at the conference</note></storage></query>`,
    async exec({ user, host, element, ns }, ctx) {
      const stored = await ctx.service.getOrEmpty(await account(ctx, user, host), element, ns);
      return x('query', { xmlns: NS.private }, stored).toString();
    },
  }),

  command({
    name: 'private_set', tags: ['private'], policy: 'admin', desc: 'Set to the user private storage',
    longdesc: 'The element replaces what the account stores under its name and namespace (an empty element removes it), as a jabber:iq:private set from one of its clients would.',
    args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com'), str('element', 'XML storage element', "<storage xmlns='storage:rosternotes'/>")],
    result: rescode, resultExample: true,
    async exec({ user, host, element }, ctx) {
      const owner = await account(ctx, user, host);
      let el;
      try {
        el = parseElement(element);
      } catch (err) {
        if (err instanceof XmlParseError) throw badArgument(`Invalid XML element: ${err.message}`);
        throw err;
      }
      await ctx.service.set(owner, [el]);
      return true;
    },
  }),
];
