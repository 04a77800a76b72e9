/**
 * The data forms of group chat (XEP-0004): the room configuration form (muc#roomconfig, with
 * ejabberd's own fields where XEP-0045 names none), the room information form (muc#roominfo) and
 * the voice request form (muc#request), and reading submitted forms.
 */
import { x, type Element } from '../../xmpp/xml/element.js';
import { StanzaError } from '../../xmpp/stanza.js';
import type { PrivateMessagePolicy, Role, RoomConfig } from './api.js';
import { MUC_NS } from './ns.js';

export const NS_DATA = 'jabber:x:data';

type FieldType = 'boolean' | 'text-single' | 'text-private' | 'list-single' | 'list-multi' | 'hidden' | 'jid-single' | 'fixed';

/** Appends a field to a form. */
export function field(form: Element, v: string, type: FieldType, value: string | readonly string[] | boolean | number, label?: string, options?: readonly [string, string][]): Element {
  const f = form.c('field', label !== undefined ? { var: v, type, label } : { var: v, type });
  if (options) for (const [val, lab] of options) f.c('option', { label: lab }).c('value').t(val);
  const values = typeof value === 'boolean' ? [value ? '1' : '0'] : typeof value === 'number' ? [String(value)] : typeof value === 'string' ? [value] : value;
  for (const val of values) f.c('value').t(val);
  return f;
}

/** A submitted form's fields: var → values. */
export function readForm(form: Element): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of form.getChildren('field')) {
    const v = f.attrs.var;
    if (v === undefined) continue;
    out.set(v, f.getChildren('value').map((e) => e.text()));
  }
  return out;
}

export function formType(form: Element): string | undefined {
  for (const f of form.getChildren('field')) if (f.attrs.var === 'FORM_TYPE') return f.getChildText('value');
  return undefined;
}

function bool(values: string[], name: string): boolean {
  const v = values[0];
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new StanzaError('bad-request', `${name} must be a boolean`);
}

const PM_OPTIONS: [string, string][] = [
  ['anyone', 'Anyone'],
  ['participants', 'Anyone with Voice'],
  ['moderators', 'Moderators Only'],
  ['none', 'Nobody'],
];
const VISITOR_PM_OPTIONS: [string, string][] = [
  ['anyone', 'Anyone'],
  ['moderators', 'Moderators Only'],
  ['nobody', 'Nobody'],
];
const ROLES: Role[] = ['moderator', 'participant', 'visitor'];

/** The configuration form an owner gets (XEP-0045 §10.2), filled with the room's current options. */
export function configForm(c: RoomConfig, maxUsersLimit: number, title: string): Element {
  const form = x('x', { xmlns: NS_DATA, type: 'form' });
  form.c('title').t(`Configuration of room ${title}`);
  field(form, 'FORM_TYPE', 'hidden', MUC_NS.roomconfig);
  field(form, 'muc#roomconfig_roomname', 'text-single', c.title, 'Room title');
  field(form, 'muc#roomconfig_roomdesc', 'text-single', c.description, 'Room description');
  field(form, 'muc#roomconfig_lang', 'text-single', c.lang, 'Natural language for room discussions');
  field(form, 'muc#roomconfig_persistentroom', 'boolean', c.persistent, 'Make room persistent');
  field(form, 'muc#roomconfig_publicroom', 'boolean', c.public, 'Make room public searchable');
  field(form, 'public_list', 'boolean', c.publicList, 'Make participants list public');
  field(form, 'muc#roomconfig_passwordprotectedroom', 'boolean', c.password !== '', 'Make room password protected');
  field(form, 'muc#roomconfig_roomsecret', 'text-private', c.password, 'Password');
  const sizes = [5, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000].filter((n) => n <= maxUsersLimit);
  field(form, 'muc#roomconfig_maxusers', 'list-single', c.maxUsers === 0 ? 'none' : String(c.maxUsers), 'Maximum Number of Occupants', [['none', 'No limit'], ...sizes.map((n): [string, string] => [String(n), String(n)])]);
  field(form, 'muc#roomconfig_whois', 'list-single', c.whois, 'Present real Jabber IDs to', [
    ['moderators', 'moderators only'],
    ['anyone', 'anyone'],
  ]);
  field(form, 'muc#roomconfig_presencebroadcast', 'list-multi', c.presenceBroadcast, 'Roles for which Presence is Broadcasted', ROLES.map((r): [string, string] => [r, r]));
  field(form, 'muc#roomconfig_membersonly', 'boolean', c.membersOnly, 'Make room members-only');
  field(form, 'muc#roomconfig_moderatedroom', 'boolean', c.moderated, 'Make room moderated');
  field(form, 'members_by_default', 'boolean', c.membersByDefault, 'Default users as participants');
  field(form, 'muc#roomconfig_changesubject', 'boolean', c.allowChangeSubject, 'Allow users to change the subject');
  field(form, 'muc#roomconfig_allowpm', 'list-single', c.allowPrivateMessages, 'Allow users to send private messages', PM_OPTIONS);
  field(form, 'allow_private_messages_from_visitors', 'list-single', c.allowPrivateMessagesFromVisitors === 'none' ? 'nobody' : c.allowPrivateMessagesFromVisitors, 'Allow visitors to send private messages to', VISITOR_PM_OPTIONS);
  field(form, 'allow_query_users', 'boolean', c.allowQueryUsers, 'Allow users to query other users');
  field(form, 'muc#roomconfig_allowinvites', 'boolean', c.allowInvites, 'Allow users to send invites');
  field(form, 'allow_visitor_status', 'boolean', c.allowVisitorStatus, 'Allow visitors to send status text in presence updates');
  field(form, 'allow_visitor_nickchange', 'boolean', c.allowVisitorNickchange, 'Allow visitors to change nickname');
  field(form, 'allow_voice_requests', 'boolean', c.allowVoiceRequests, 'Allow visitors to send voice requests');
  field(form, 'voice_request_min_interval', 'text-single', c.voiceRequestMinInterval, 'Minimum interval between voice requests (in seconds)');
  field(form, 'allow_subscription', 'boolean', c.allowSubscription, 'Allow subscription');
  field(form, 'muc#roomconfig_enablelogging', 'boolean', c.logging, 'Enable logging');
  field(form, 'mam', 'boolean', c.mam, 'Enable message archiving');
  field(form, 'muc#maxhistoryfetch', 'text-single', c.historyLength, 'Maximum number of history messages returned by room');
  return form;
}

function policy(v: string | undefined, name: string): PrivateMessagePolicy {
  if (v === 'nobody') return 'none';
  if (v === 'anyone' || v === 'participants' || v === 'moderators' || v === 'none') return v;
  throw new StanzaError('bad-request', `${name}: unknown value ${v ?? ''}`);
}

function integer(v: string | undefined, name: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0) throw new StanzaError('bad-request', `${name} must be a non-negative integer`);
  return n;
}

/** The options a submitted configuration form changes (fields it does not hold keep their values). */
export function parseConfigForm(form: Element, current: RoomConfig): Partial<RoomConfig> {
  const t = formType(form);
  if (t !== undefined && t !== MUC_NS.roomconfig) throw new StanzaError('bad-request', 'not a muc#roomconfig form');
  const f = readForm(form);
  const patch: Partial<RoomConfig> = {};
  const first = (k: string) => f.get(k)?.[0];
  for (const [k, vals] of f) {
    switch (k) {
      case 'muc#roomconfig_roomname':
        patch.title = vals[0] ?? '';
        break;
      case 'muc#roomconfig_roomdesc':
        patch.description = vals[0] ?? '';
        break;
      case 'muc#roomconfig_lang':
        patch.lang = vals[0] ?? '';
        break;
      case 'muc#roomconfig_persistentroom':
        patch.persistent = bool(vals, k);
        break;
      case 'muc#roomconfig_publicroom':
        patch.public = bool(vals, k);
        break;
      case 'public_list':
        patch.publicList = bool(vals, k);
        break;
      case 'muc#roomconfig_maxusers':
        patch.maxUsers = vals[0] === 'none' || vals[0] === '' || vals[0] === undefined ? 0 : integer(vals[0], k);
        break;
      case 'muc#roomconfig_whois':
        if (vals[0] !== 'moderators' && vals[0] !== 'anyone') throw new StanzaError('bad-request', `${k}: moderators or anyone`);
        patch.whois = vals[0];
        break;
      case 'muc#roomconfig_presencebroadcast':
        for (const r of vals) if (!ROLES.includes(r as Role)) throw new StanzaError('bad-request', `${k}: unknown role ${r}`);
        patch.presenceBroadcast = vals as Role[];
        break;
      case 'muc#roomconfig_membersonly':
        patch.membersOnly = bool(vals, k);
        break;
      case 'muc#roomconfig_moderatedroom':
        patch.moderated = bool(vals, k);
        break;
      case 'members_by_default':
        patch.membersByDefault = bool(vals, k);
        break;
      case 'muc#roomconfig_changesubject':
        patch.allowChangeSubject = bool(vals, k);
        break;
      case 'muc#roomconfig_allowpm':
        patch.allowPrivateMessages = policy(vals[0], k);
        break;
      case 'allow_private_messages':
        patch.allowPrivateMessages = bool(vals, k) ? 'anyone' : 'none';
        break;
      case 'allow_private_messages_from_visitors':
        patch.allowPrivateMessagesFromVisitors = policy(vals[0], k);
        break;
      case 'allow_query_users':
        patch.allowQueryUsers = bool(vals, k);
        break;
      case 'muc#roomconfig_allowinvites':
        patch.allowInvites = bool(vals, k);
        break;
      case 'allow_visitor_status':
        patch.allowVisitorStatus = bool(vals, k);
        break;
      case 'allow_visitor_nickchange':
        patch.allowVisitorNickchange = bool(vals, k);
        break;
      case 'allow_voice_requests':
      case 'muc#roomconfig_allowvoicerequests':
        patch.allowVoiceRequests = bool(vals, k);
        break;
      case 'voice_request_min_interval':
        patch.voiceRequestMinInterval = integer(vals[0], k);
        break;
      case 'allow_subscription':
        patch.allowSubscription = bool(vals, k);
        break;
      case 'muc#roomconfig_enablelogging':
        patch.logging = bool(vals, k);
        break;
      case 'mam':
        patch.mam = bool(vals, k);
        break;
      case 'muc#maxhistoryfetch':
      case 'muc#roomconfig_historylength':
        patch.historyLength = integer(vals[0], k);
        break;
      default:
        break; // fields of other servers' forms are not options here
    }
  }
  // The secret counts only when the room is (or becomes) password-protected.
  const prot = first('muc#roomconfig_passwordprotectedroom');
  const secret = f.get('muc#roomconfig_roomsecret')?.[0];
  if (prot !== undefined) {
    if (bool([prot], 'muc#roomconfig_passwordprotectedroom')) patch.password = secret ?? current.password;
    else patch.password = '';
  } else if (secret !== undefined && current.password !== '') patch.password = secret;
  return patch;
}

/** The room information form of disco#info (XEP-0045 §15.5.4). */
export function roomInfoForm(c: RoomConfig, occupants: number, subject: string): Element {
  const form = x('x', { xmlns: NS_DATA, type: 'result' });
  field(form, 'FORM_TYPE', 'hidden', MUC_NS.roominfo);
  field(form, 'muc#roomconfig_roomname', 'text-single', c.title, 'Room title');
  field(form, 'muc#roominfo_description', 'text-single', c.description, 'Room description');
  field(form, 'muc#roominfo_occupants', 'text-single', occupants, 'Number of occupants');
  field(form, 'muc#roominfo_subject', 'text-single', subject, 'Current subject');
  field(form, 'muc#roomconfig_changesubject', 'boolean', c.allowChangeSubject, 'Occupants may change the subject');
  if (c.lang) field(form, 'muc#roominfo_lang', 'text-single', c.lang, 'Language');
  field(form, 'muc#roomconfig_allowinvites', 'boolean', c.allowInvites, 'Occupants are allowed to invite others');
  if (c.maxUsers) field(form, 'muc#roomconfig_maxusers', 'text-single', c.maxUsers, 'Maximum number of occupants');
  field(form, 'muc#roomconfig_whois', 'list-single', c.whois, 'Real JIDs visible to');
  field(form, 'muc#roomconfig_allowpm', 'list-single', c.allowPrivateMessages, 'Private messages');
  return form;
}

/** The voice request a moderator gets (XEP-0045 §8.6). */
export function voiceRequestForm(jid: string, nick: string): Element {
  const form = x('x', { xmlns: NS_DATA, type: 'form' });
  form.c('title').t('Voice request');
  form.c('instructions').t('To approve this request for voice, select the "Grant voice to this person?" checkbox and click OK. To skip this request, click the cancel button.');
  field(form, 'FORM_TYPE', 'hidden', MUC_NS.request);
  field(form, 'muc#role', 'list-single', 'participant', 'Requested role', [['participant', 'participant']]);
  field(form, 'muc#jid', 'jid-single', jid, 'User ID');
  field(form, 'muc#roomnick', 'text-single', nick, 'Room Nickname');
  field(form, 'muc#request_allow', 'boolean', false, 'Grant voice to this person?');
  return form;
}

export { bool as formBoolean };
