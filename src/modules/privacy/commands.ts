import { commandsIn, rescode, str } from '../../admin/define.js';
import { badArgument, fromStanzaCondition, type DomainError } from '../../errors.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { parseElement, XmlParseError } from '../../xmpp/xml/parse.js';
import type { CommandContext } from '../module.js';
import type { PrivacyService } from './service.js';
import { NS_PRIVACY } from './lists.js';

type Context = CommandContext<PrivacyService, 'accounts' | 'roster' | 'disco'>;
const command = commandsIn<Context>();

/** The API's answer to what XEP-0016 refuses with a stanza error (a malformed list otherwise). */
function domainError(err: StanzaError): DomainError {
  return fromStanzaCondition(err.condition, err.text ?? err.condition, 'bad-argument');
}

export const privacyCommands = [
  command({
    name: 'privacy_set', tags: ['stanza'], policy: 'admin', desc: 'Send a IQ set privacy stanza for a local account',
    longdesc:
      "The query is handled as an IQ set of jabber:iq:privacy (XEP-0016) from the account's bare JID: <list/> with items creates or replaces a list, " +
      'an empty <list/> removes it, <default/> sets or clears the default list. <active/> belongs to a client session and is refused here.',
    args: [
      str('user', 'Username', 'user1'),
      str('host', 'Server name', 'myserver.com'),
      str('xmlquery', 'Query XML element', "<query xmlns='jabber:iq:privacy'><list name='blocked'><item type='jid' value='spam@example.org' action='deny' order='1'/></list></query>"),
    ],
    result: rescode, resultExample: true,
    async exec({ user, host, xmlquery }, ctx) {
      const { accounts } = ctx.services;
      const p = await accounts.existing(user, host);
      let query;
      try {
        query = parseElement(xmlquery, ctx.config.limits.maxStanzaSize);
      } catch (err) {
        if (err instanceof XmlParseError) throw badArgument(`Invalid XML in xmlquery: ${err.message}`);
        throw err;
      }
      if (query.name !== 'query' || query.attrs.xmlns !== NS_PRIVACY) throw badArgument(`xmlquery is not a <query xmlns='${NS_PRIVACY}'/>: <${query.name}/>`);
      try {
        await ctx.service.apply(p, query);
      } catch (err) {
        if (err instanceof StanzaError) throw domainError(err);
        throw err;
      }
      return true;
    },
  }),
];
