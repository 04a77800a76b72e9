import { commandsIn, listOf, rescode, str, strResult } from '../../admin/define.js';
import { notFound } from '../../errors.js';
import type { AccountRef } from '../../xmpp/account.js';
import type { CommandContext } from '../module.js';
import type { VcardService } from './service.js';
import { checkFieldName } from './fields.js';

type Context = CommandContext<VcardService, 'accounts'>;
const command = commandsIn<Context>();

const XEP = 'For a full list of vCard fields check XEP-0054: vcard-temp at http://www.xmpp.org/extensions/xep-0054.html';

const FIELDS = `Some vcard field names in get/set_vcard are:

* FN           - Full Name
* NICKNAME     - Nickname
* BDAY         - Birthday
* TITLE        - Work: Position
* ROLE         - Work: Role

${XEP}`;

const SUBFIELDS = `Some vcard field names and subnames in get/set_vcard2 are:

* N FAMILY     - Family name
* N GIVEN      - Given name
* N MIDDLE     - Middle name
* ADR CTRY     - Address: Country
* ADR LOCALITY - Address: City
* TEL HOME     - Telephone: Home
* TEL CELL     - Telephone: Cellphone
* TEL WORK     - Telephone: Work
* TEL VOICE    - Telephone: Voice
* EMAIL USERID - E-Mail Address
* ORG ORGNAME  - Work: Company
* ORG ORGUNIT  - Work: Department

${XEP}

TEL takes a type (HOME, CELL, WORK, VOICE ...: the telephone entries flagged with it) or NUMBER (every telephone entry).`;

const user = str('user', 'User name', 'user1');
const host = str('host', 'Server name', 'myserver.com');
const name = str('name', 'Field name', 'NICKNAME');
const subname = str('subname', 'Subfield name', 'FAMILY');

/** An existing account, named by the command's arguments. */
function accountOf({ services: { accounts } }: Context, user: string, host: string): Promise<AccountRef> {
  return accounts.existing(user, host);
}

/** The first value at a path, as ejabberd's get_vcard and get_vcard2 answer. */
function first(values: string[]): string {
  if (values.length === 0) throw notFound('error_no_value_found_in_vcard');
  return values[0]!;
}

export const vcardCommands = [
  command({
    name: 'get_vcard', tags: ['vcard'], policy: 'admin', desc: 'Get content from a vCard field', longdesc: FIELDS,
    args: [user, host, name],
    result: strResult('content'), resultDesc: 'Field content', resultExample: 'User 1',
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      return first(await ctx.service.read(account, checkFieldName('name', a.name)));
    },
  }),

  command({
    name: 'get_vcard2', tags: ['vcard'], policy: 'admin', desc: 'Get content from a vCard subfield', longdesc: SUBFIELDS,
    args: [user, host, str('name', 'Field name', 'N'), subname],
    result: strResult('content'), resultDesc: 'Field content', resultExample: 'Schubert',
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      return first(await ctx.service.read(account, checkFieldName('name', a.name), checkFieldName('subname', a.subname)));
    },
  }),

  command({
    name: 'get_vcard2_multi', tags: ['vcard'], policy: 'admin', desc: 'Get multiple contents from a vCard field', longdesc: SUBFIELDS,
    args: [user, host, str('name', 'Field name', 'EMAIL'), str('subname', 'Subfield name', 'USERID')],
    result: listOf('contents', strResult('value')), resultExample: ['user1@myserver.com', 'user1@example.org'],
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      const values = await ctx.service.read(account, checkFieldName('name', a.name), checkFieldName('subname', a.subname));
      if (values.length === 0) throw notFound('error_no_value_found_in_vcard');
      return values;
    },
  }),

  command({
    name: 'set_nickname', tags: ['vcard'], policy: 'admin', desc: "Set nickname in a user's vCard",
    args: [user, host, str('nickname', 'Nickname', 'User 1')],
    result: rescode, resultExample: true,
    async exec(a, ctx) {
      await ctx.service.write(await accountOf(ctx, a.user, a.host), 'NICKNAME', undefined, [a.nickname]);
      return true;
    },
  }),

  command({
    name: 'set_vcard', tags: ['vcard'], policy: 'admin', desc: 'Set content in a vCard field', longdesc: FIELDS,
    args: [user, host, str('name', 'Field name', 'URL'), str('content', 'Value', 'www.example.com')],
    result: rescode, resultExample: true,
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      await ctx.service.write(account, checkFieldName('name', a.name), undefined, [a.content]);
      return true;
    },
  }),

  command({
    name: 'set_vcard2', tags: ['vcard'], policy: 'admin', desc: 'Set content in a vCard subfield', longdesc: SUBFIELDS,
    args: [user, host, str('name', 'Field name', 'TEL'), str('subname', 'Subfield name', 'NUMBER'), str('content', 'Value', '123456')],
    result: rescode, resultExample: true,
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      await ctx.service.write(account, checkFieldName('name', a.name), checkFieldName('subname', a.subname), [a.content]);
      return true;
    },
  }),

  command({
    name: 'set_vcard2_multi', tags: ['vcard'], policy: 'admin', desc: 'Set multiple contents in a vCard subfield', longdesc: SUBFIELDS,
    args: [
      user, host, str('name', 'Field name', 'ORG'), str('subname', 'Subfield name', 'ORGUNIT'),
      { name: 'contents', type: { list: { name: 'value', type: 'string' } }, desc: 'Values', example: ['Sales', 'Marketing'] },
    ],
    result: rescode, resultExample: true,
    async exec(a, ctx) {
      const account = await accountOf(ctx, a.user, a.host);
      await ctx.service.write(account, checkFieldName('name', a.name), checkFieldName('subname', a.subname), a.contents);
      return true;
    },
  }),
];
