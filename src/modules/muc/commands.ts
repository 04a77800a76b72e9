/**
 * The ejabberd commands of group chat (seed 000, H21–H25), over the room service (`api.ts`):
 * ejabberd's option names and argument shapes are mapped here and nowhere else.
 *
 * Errors follow ejabberd 23.01's mod_muc_admin: what it throws as `{error, Text}` is a 400 with that
 * very text ("Room doesn't exists", "room_not_found", "The room does not exist." — each command has
 * its own words, kept so scripts that match them keep working). Where ejabberd crashes (an unknown
 * service for the listing commands, a malformed JID, an unknown option: 500 "internal_error"),
 * Parley answers a 400 that says what is wrong (docs/ejabberd-api.md).
 */
import { readDataFile } from '../../admin/data-files.js';
import { commandsIn, int, intResult, listOf, rescode, str, strResult, tupleOf } from '../../admin/define.js';
import type { ArgSpec } from '../../admin/registry.js';
import { badArgument, DomainError, type DomainErrorKind } from '../../errors.js';
import { nodeprep, tryParseJID, type JID } from '../../xmpp/jid.js';
import type { CommandContext } from '../module.js';
import type { Affiliation, PrivateMessagePolicy, Role, RoomConfig, RoomInfo, RoomService } from './api.js';

type Context = CommandContext<RoomService, 'accounts'>;
const command = commandsIn<Context>();

const DAY_MS = 24 * 60 * 60 * 1000;
/** Longest regexp muc_online_rooms_by_regex compiles (as the docs commands bound theirs). */
const MAX_REGEXP = 256;
const NS_MUCSUB_NODES = 'urn:xmpp:mucsub:nodes:';
const AFFILIATIONS: readonly Affiliation[] = ['owner', 'admin', 'member', 'outcast', 'none'];
const ROLES: readonly Role[] = ['moderator', 'participant', 'visitor'];

// ---------------------------------------------------------------------------
// Addresses and errors in ejabberd's words

/** Runs a service call, giving the domain errors named in `texts` ejabberd's 400 and wording. */
async function worded<T>(call: Promise<T>, texts: Partial<Record<DomainErrorKind, string>>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const text = err instanceof DomainError ? texts[err.kind] : undefined;
    if (text !== undefined) throw badArgument(text);
    throw err;
  }
}

/** The prepared MUC service domain `service` names on this node, or undefined. */
function serviceDomain(ctx: Context, service: string): string | undefined {
  const j = tryParseJID(service);
  if (!j || j.local || j.resource) return undefined;
  return ctx.service.serviceDomains().includes(j.domain) ? j.domain : undefined;
}

/** The services an argument names: every one for `global` (ejabberd's word), otherwise that one. */
function servicesOf(ctx: Context, service: string): readonly string[] {
  if (service === 'global') return ctx.service.serviceDomains();
  const d = serviceDomain(ctx, service);
  // ejabberd crashes here (500); the other room commands word it so.
  if (!d) throw badArgument("Invalid 'service'");
  return [d];
}

/** A room's name prepared (nodeprep), or undefined when it cannot be a room's name. */
function roomName(name: string): string | undefined {
  try {
    const local = nodeprep(name);
    return local === '' ? undefined : local;
  } catch {
    return undefined;
  }
}

interface RoomTexts {
  /** The room does not exist (also said for a name that cannot be one, unless `name` is given). */
  missing: string;
  /** The service is not a MUC service of this node. */
  service: string;
  name?: string;
}

/** The room `name@service` as it exists, or the command's error. */
async function existingRoom(ctx: Context, name: string, service: string, t: RoomTexts): Promise<RoomInfo> {
  const local = roomName(name);
  if (local === undefined) throw badArgument(t.name ?? t.missing);
  const domain = serviceDomain(ctx, service);
  if (!domain) throw badArgument(t.service);
  const room = await ctx.service.room(`${local}@${domain}`);
  if (!room) throw badArgument(t.missing);
  return room;
}

/** A bare JID (a resource is dropped, as a room keeps affiliations and subscriptions per bare JID), or undefined. */
function bareJid(s: string): JID | undefined {
  const j = tryParseJID(s);
  return j ? j.bareJID() : undefined;
}

/** A room address as subscribe_room and unsubscribe_room take it (`room@service`). */
function roomAddress(ctx: Context, room: string): { jid: string; known: boolean } {
  const j = tryParseJID(room);
  if (!j || !j.local) throw badArgument('Malformed room JID');
  return { jid: j.bare, known: ctx.service.serviceDomains().includes(j.domain) };
}

// ---------------------------------------------------------------------------
// Room options: ejabberd's names and string values <-> RoomConfig

type BooleanKey = { [K in keyof RoomConfig]: RoomConfig[K] extends boolean ? K : never }[keyof RoomConfig];

interface RoomOption {
  /** The option's value as ejabberd shows it. */
  get(c: RoomConfig): string;
  /**
   * The change a value makes; `current` is what the room has (at creation: what the options given
   * so far set, password first).
   */
  set(value: string, current: Partial<RoomConfig>): Partial<RoomConfig>;
}

const invalid = (option: string, value: string, expected: string) =>
  badArgument(`Invalid value for that option: ${option} = ${JSON.stringify(value)} (${expected})`);

function parseBoolean(option: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(option, value, 'true or false');
}

const text = (key: 'title' | 'description' | 'lang'): RoomOption => ({ get: (c) => c[key], set: (v) => ({ [key]: v }) });

const flag = (option: string, key: BooleanKey): RoomOption => ({
  get: (c) => String(c[key]),
  set: (v) => ({ [key]: parseBoolean(option, v) }),
});

const count = (option: string, key: 'maxUsers' | 'voiceRequestMinInterval'): RoomOption => ({
  get: (c) => String(c[key]),
  set: (v) => {
    if (!/^\d{1,9}$/.test(v)) throw invalid(option, v, 'a whole number');
    return { [key]: Number(v) };
  },
});

/** ejabberd 23.01's allow_private_messages is a boolean; its later `allowpm` values are taken too. */
const privateMessages: RoomOption = {
  get: (c) => String(c.allowPrivateMessages !== 'none'),
  set: (v) => {
    if (v === 'true' || v === 'false') return { allowPrivateMessages: v === 'true' ? 'anyone' : 'none' };
    if (v === 'anyone' || v === 'participants' || v === 'moderators' || v === 'none') return { allowPrivateMessages: v };
    throw invalid('allow_private_messages', v, 'true or false');
  },
};

/** ejabberd's `nobody` is Parley's 'none'; visitors writing to participants is writing to anyone but visitors. */
const visitorMessages: RoomOption = {
  get: (c) => ({ anyone: 'anyone', participants: 'anyone', moderators: 'moderators', none: 'nobody' })[c.allowPrivateMessagesFromVisitors],
  set: (v) => {
    const policy = ({ anyone: 'anyone', moderators: 'moderators', nobody: 'none' } as Record<string, PrivateMessagePolicy>)[v];
    if (!policy) throw invalid('allow_private_messages_from_visitors', v, 'anyone, moderators or nobody');
    return { allowPrivateMessagesFromVisitors: policy };
  },
};

/**
 * ejabberd keeps a password and a separate password_protected flag; a Parley room is protected
 * exactly when it has a password. So password_protected=false clears the password, and =true needs one.
 */
const passwordProtected: RoomOption = {
  get: (c) => String(c.password !== ''),
  set: (v, current) => {
    if (!parseBoolean('password_protected', v)) return { password: '' };
    if (!current.password) throw badArgument('A password-protected room needs a password: set the option password too');
    return {};
  },
};

/** Shown as ejabberd 23.01 prints the list (`[moderator,participant,visitor]`); taken with or without brackets, separated by `,` or `;`. */
const presenceBroadcast: RoomOption = {
  get: (c) => `[${c.presenceBroadcast.join(',')}]`,
  set: (v) => {
    const inner = /^\s*\[(.*)\]\s*$/s.exec(v)?.[1] ?? v;
    const roles = inner.split(/[;,]/).map((r) => r.trim()).filter((r) => r !== '');
    for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw invalid('presence_broadcast', v, 'roles among moderator, participant, visitor');
    return { presenceBroadcast: [...new Set(roles)] as Role[] };
  },
};

/** The options, in the order ejabberd's get_room_options lists them. */
const OPTIONS: Readonly<Record<string, RoomOption>> = {
  title: text('title'),
  description: text('description'),
  allow_change_subj: flag('allow_change_subj', 'allowChangeSubject'),
  allow_query_users: flag('allow_query_users', 'allowQueryUsers'),
  allow_private_messages: privateMessages,
  allow_private_messages_from_visitors: visitorMessages,
  allow_visitor_status: flag('allow_visitor_status', 'allowVisitorStatus'),
  allow_visitor_nickchange: flag('allow_visitor_nickchange', 'allowVisitorNickchange'),
  public: flag('public', 'public'),
  public_list: flag('public_list', 'publicList'),
  persistent: flag('persistent', 'persistent'),
  moderated: flag('moderated', 'moderated'),
  members_by_default: flag('members_by_default', 'membersByDefault'),
  members_only: flag('members_only', 'membersOnly'),
  allow_user_invites: flag('allow_user_invites', 'allowInvites'),
  allow_subscription: flag('allow_subscription', 'allowSubscription'),
  password_protected: passwordProtected,
  password: { get: (c) => c.password, set: (v) => ({ password: v }) },
  anonymous: {
    get: (c) => String(c.whois === 'moderators'),
    set: (v) => ({ whois: parseBoolean('anonymous', v) ? 'moderators' : 'anyone' }),
  },
  presence_broadcast: presenceBroadcast,
  allow_voice_requests: flag('allow_voice_requests', 'allowVoiceRequests'),
  voice_request_min_interval: count('voice_request_min_interval', 'voiceRequestMinInterval'),
  max_users: count('max_users', 'maxUsers'),
  logging: flag('logging', 'logging'),
  mam: flag('mam', 'mam'),
  lang: text('lang'),
};

/** Options that only create_room_with_opts takes: they are not settings of the room but its first people. */
const AT_CREATION = ['affiliations', 'subscribers'];

function optionNamed(name: string): RoomOption {
  if (Object.hasOwn(OPTIONS, name)) return OPTIONS[name]!;
  if (AT_CREATION.includes(name)) throw badArgument(`The option ${name} is only taken by create_room_with_opts`);
  throw badArgument(`Unknown room option: ${name} (known: ${[...Object.keys(OPTIONS), ...AT_CREATION].join(', ')})`);
}

/** A room's options as ejabberd names and shows them. */
function optionsOf(c: RoomConfig): { name: string; value: string }[] {
  return Object.entries(OPTIONS).map(([name, o]) => ({ name, value: o.get(c) }));
}

interface Creation {
  config: Partial<RoomConfig>;
  affiliations: { jid: string; affiliation: Exclude<Affiliation, 'none'> }[];
  subscribers: { jid: string; nick: string; nodes: string[] }[];
}

/**
 * `affiliations`: `owner:jid;member:jid` (or `owner=jid`), entries separated by `;` or `,` — and
 * `subscribers`: `jid=nick=node=node` (or with `:`), nodes by their short names (`messages`) — as
 * ejabberd's later versions take them at creation.
 */
function creationOf(options: readonly { name: string; value: string }[]): Creation {
  const given = new Map(options.map((o) => [o.name, o.value]));
  // password first: password_protected is checked against it.
  const names = [...given.keys()].sort((a, b) => Number(b === 'password') - Number(a === 'password'));
  const out: Creation = { config: {}, affiliations: [], subscribers: [] };
  for (const name of names) {
    const value = given.get(name)!;
    if (name === 'affiliations') {
      for (const entry of value.split(/[;,]/).filter((e) => e.trim() !== '')) {
        const m = /^\s*(owner|admin|member|outcast)[:=](.+)$/.exec(entry);
        if (!m) throw badArgument(`Invalid 'affiliation': ${entry} (owner, admin, member or outcast, then : or = and a JID)`);
        const jid = bareJid(m[2]!.trim());
        if (!jid) throw badArgument(`Malformed JID in affiliation: ${m[2]}`);
        out.affiliations.push({ jid: jid.bare, affiliation: m[1] as Exclude<Affiliation, 'none'> });
      }
    } else if (name === 'subscribers') {
      for (const entry of value.split(/[;,]/).filter((e) => e.trim() !== '')) {
        const [jidText, nick, ...nodes] = entry.trim().split(/[=:]/).filter((p) => p !== '');
        if (nick === undefined) throw badArgument(`Invalid 'subscribers' - missing nick: ${entry}`);
        if (nodes.length === 0) throw badArgument(`Invalid 'subscribers' - missing nodes: ${entry}`);
        const jid = bareJid(jidText!);
        if (!jid) throw badArgument(`Malformed JID in 'subscribers': ${jidText}`);
        const known = ['presence', 'messages', 'participants', 'affiliations', 'subject', 'config', 'system', 'subscribers'];
        for (const n of nodes) if (!known.includes(n)) throw badArgument(`Invalid 'subscribers' - unknown node name used: ${n}`);
        out.subscribers.push({ jid: jid.bare, nick, nodes: nodes.map((n) => NS_MUCSUB_NODES + n) });
      }
    } else {
      Object.assign(out.config, optionNamed(name).set(value, out.config));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Housekeeping

/**
 * Rooms with no message in their archive: rooms that archive their messages (option mam, as
 * ejabberd asks) where no message was ever sent, which the room knows whether or not the archive
 * module runs (ejabberd, which asks the archive, counts none without it).
 */
async function emptyRooms(ctx: Context, service: string): Promise<RoomInfo[]> {
  const services = servicesOf(ctx, service);
  const rooms = (await Promise.all(services.map((s) => ctx.service.rooms(s)))).flat();
  return rooms.filter((r) => r.config.mam && r.lastMessageAt <= r.createdAt).sort(byJid);
}

/** Rooms nobody is in, without a message for `days` days or more. */
async function unusedRooms(ctx: Context, service: string, days: number): Promise<RoomInfo[]> {
  if (days < 0) throw badArgument(`Invalid number of days: ${days}`);
  const services = servicesOf(ctx, service);
  const before = Date.now() - days * DAY_MS;
  const rooms = (await Promise.all(services.map((s) => ctx.service.rooms(s)))).flat();
  return rooms.filter((r) => r.occupants === 0 && r.lastMessageAt <= before).sort(byJid);
}

async function destroyAll(ctx: Context, rooms: readonly RoomInfo[], command: string): Promise<string[]> {
  const destroyed: string[] = [];
  for (const r of rooms) {
    try {
      await ctx.service.destroyRoom(r.jid, `Room destroyed by ${command}.`);
      destroyed.push(r.jid);
    } catch (err) {
      // Gone meanwhile (its last occupant left a temporary room): nothing to destroy.
      if (!(err instanceof DomainError && err.kind === 'not-found')) throw err;
    }
  }
  return destroyed;
}

const byJid = (a: { jid: string }, b: { jid: string }) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0);

/**
 * The rooms a file names, one JID per line (its first word; lines without `@` are skipped, as
 * ejabberd does), each on a MUC service of this node; the file lies in the data directory.
 */
async function roomsInFile(ctx: Context, file: string): Promise<string[]> {
  const content = await readDataFile(ctx.dataDir, file, ctx.config.limits.maxCommandFileSize, 'limits.maxCommandFileSize');
  const rooms = new Set<string>();
  for (const [i, line] of content.split(/\r?\n/).entries()) {
    const word = line.trim().split(/\s+/)[0] ?? '';
    if (!word.includes('@')) continue;
    const j = tryParseJID(word);
    if (!j || !j.local || j.resource) throw badArgument(`Invalid room JID on line ${i + 1} of ${file}: ${word}`);
    if (!ctx.service.serviceDomains().includes(j.domain)) throw badArgument(`Invalid 'service' on line ${i + 1} of ${file}: ${j.domain}`);
    rooms.add(j.bare);
  }
  return [...rooms];
}

const FILE_RULES =
  'The file is read from the data directory (dataDir): a relative path is taken from it, and a path that leads outside it is refused; ' +
  'at most limits.maxCommandFileSize bytes of UTF-8. Each line holds a room JID (its first word); lines without @ are skipped.';

// ---------------------------------------------------------------------------

const nameArg = str('name', 'Room name', 'room1');
const serviceArg = str('service', 'MUC service', 'muc.example.com');
const globalServiceArg = str('service', "MUC service, or 'global' for all", 'muc.example.com');
const roomList = listOf('rooms', strResult('room'));
const ROOMS_EXAMPLE = ['room1@muc.example.com', 'room2@muc.example.com'];
const optionArg = { name: 'option', type: { tuple: [{ name: 'name', type: 'string' }, { name: 'value', type: 'string' }] } } as const satisfies ArgSpec;
const OPTION_NAMES = `Options: ${Object.keys(OPTIONS).join(', ')}.`;

async function create(ctx: Context, name: string, service: string, host: string, options: readonly { name: string; value: string }[]): Promise<true> {
  const local = roomName(name);
  if (local === undefined) throw badArgument("Invalid 'name'");
  if (!tryParseJID(service)) throw badArgument("Invalid 'host'");
  if (!ctx.prepareHost(host)) throw badArgument("Invalid 'serverhost'");
  const domain = serviceDomain(ctx, service);
  if (!domain) throw badArgument("Invalid 'service'");
  const room = `${local}@${domain}`;
  if (await ctx.service.room(room)) throw badArgument('Room already exists');
  const { config, affiliations, subscribers } = creationOf(options);
  await worded(ctx.service.createRoom(room, undefined, config), { conflict: 'Room already exists' });
  try {
    for (const a of affiliations) await ctx.service.setAffiliation(room, a.jid, a.affiliation);
    for (const s of subscribers) await ctx.service.subscribe(room, s.jid, s.nick, s.nodes, config.password || undefined);
  } catch (err) {
    // The room comes with its people or not at all.
    await ctx.service.destroyRoom(room).catch(() => undefined);
    if (err instanceof DomainError && err.kind !== 'unavailable' && err.kind !== 'internal') throw badArgument(err.message);
    throw err;
  }
  return true;
}

export const mucCommands = [
  command({
    name: 'create_room', tags: ['muc_room'], policy: 'admin', desc: 'Create a MUC room name@service in host',
    longdesc: 'The room is created with the default options, with no owner, and is open at once (an instant room).',
    args: [nameArg, serviceArg, str('host', 'Server host', 'example.com')],
    result: rescode, resultExample: true,
    exec: ({ name, service, host }, ctx) => create(ctx, name, service, host, []),
  }),

  command({
    name: 'create_room_with_opts', tags: ['muc_room'], policy: 'admin', desc: 'Create a MUC room name@service in host with given options',
    longdesc:
      `Each option is a name and a string value, as get_room_options shows them; booleans are true or false. ${OPTION_NAMES} ` +
      'A room is password-protected when it has a password (password_protected=false drops it). At creation only: ' +
      'affiliations (owner:JID;member:JID — or owner=JID — entries separated by ; or ,) and subscribers ' +
      '(JID=Nick=node=node with the short node names messages, presence, participants, affiliations, subject, config, system, subscribers). ' +
      'An unknown option or a bad value is refused and nothing is created.',
    args: [
      nameArg, serviceArg, str('host', 'Server host', 'localhost'),
      { name: 'options', type: { list: optionArg }, desc: 'List of options', example: [{ name: 'members_only', value: 'true' }] },
    ],
    result: rescode, resultExample: true,
    exec: ({ name, service, host, options }, ctx) => create(ctx, name, service, host, options),
  }),

  command({
    name: 'create_rooms_file', tags: ['muc'], policy: 'admin', desc: 'Create the rooms indicated in file',
    longdesc:
      `Provide one room JID per line. ${FILE_RULES} Each room is created at once (ejabberd waits for a restart), persistent, ` +
      'with the default options; rooms that exist are left as they are. A line naming no MUC service of this server refuses the whole file.',
    args: [str('file', 'Path to the text file with one room JID per line', '/home/ejabberd/rooms.txt')],
    result: rescode, resultExample: true,
    async exec({ file }, ctx) {
      for (const room of await roomsInFile(ctx, file)) {
        if (await ctx.service.room(room)) continue;
        await ctx.service.createRoom(room, undefined, { persistent: true }).catch((err) => {
          if (!(err instanceof DomainError && err.kind === 'conflict')) throw err; // created meanwhile
        });
      }
      return true;
    },
  }),

  command({
    name: 'destroy_room', tags: ['muc_room'], policy: 'admin', desc: 'Destroy a MUC room',
    longdesc: 'Its occupants get the destruction presence; its configuration, affiliations and archive are gone.',
    args: [nameArg, serviceArg],
    result: rescode, resultExample: true,
    async exec({ name, service }, ctx) {
      const t = { name: "Invalid 'name'", service: "Invalid 'service'", missing: "Room doesn't exists" };
      const room = await existingRoom(ctx, name, service, t);
      await worded(ctx.service.destroyRoom(room.jid), { 'not-found': t.missing });
      return true;
    },
  }),

  command({
    name: 'destroy_rooms_file', tags: ['muc'], policy: 'admin', desc: 'Destroy the rooms indicated in file',
    longdesc: `Provide one room JID per line. ${FILE_RULES} When a room of the file does not exist, none is destroyed.`,
    args: [str('file', 'Path to the text file with one room JID per line', '/home/ejabberd/rooms.txt')],
    result: rescode, resultExample: true,
    async exec({ file }, ctx) {
      const rooms = await roomsInFile(ctx, file);
      for (const room of rooms) if (!(await ctx.service.room(room))) throw badArgument(`Room doesn't exists: ${room}`);
      for (const room of rooms) await worded(ctx.service.destroyRoom(room), { 'not-found': `Room doesn't exists: ${room}` });
      return true;
    },
  }),

  command({
    name: 'change_room_option', tags: ['muc_room'], policy: 'admin', desc: 'Change an option in a MUC room',
    longdesc: `The option takes its name and string value as get_room_options shows them. ${OPTION_NAMES} Occupants are told of the change (status 104).`,
    args: [nameArg, serviceArg, str('option', 'Option name', 'members_only'), str('value', 'Value to assign', 'true')],
    result: rescode, resultExample: true,
    async exec({ name, service, option, value }, ctx) {
      const room = await existingRoom(ctx, name, service, { service: "Invalid 'service'", missing: 'Room not found' });
      const patch = optionNamed(option).set(value, room.config);
      await worded(ctx.service.configure(room.jid, patch), { 'not-found': 'Room not found' });
      return true;
    },
  }),

  command({
    name: 'get_room_options', tags: ['muc_room'], policy: 'admin', desc: 'Get options from a MUC room',
    longdesc: `${OPTION_NAMES} A room that does not exist has none (as in ejabberd).`,
    args: [nameArg, serviceArg],
    result: { ...listOf('options', tupleOf('option', [['name', 'string'], ['value', 'string']])), keyed: true },
    resultExample: [{ name: 'members_only', value: 'true' }],
    async exec({ name, service }, ctx) {
      const local = roomName(name);
      const domain = serviceDomain(ctx, service);
      const room = local !== undefined && domain ? await ctx.service.room(`${local}@${domain}`) : undefined;
      return room ? optionsOf(room.config) : [];
    },
  }),

  command({
    name: 'get_room_affiliation', tags: ['muc_room'], policy: 'admin', desc: 'Get affiliation of a user in MUC room',
    args: [nameArg, serviceArg, str('jid', 'User JID', 'user1@example.com')],
    result: strResult('affiliation'), resultExample: 'member',
    async exec({ name, service, jid }, ctx) {
      const missing = 'The room does not exist.';
      const room = await existingRoom(ctx, name, service, { service: missing, missing });
      const user = bareJid(jid);
      if (!user) throw badArgument("Invalid 'jid'");
      return worded(ctx.service.affiliationOf(room.jid, user.bare), { 'not-found': missing });
    },
  }),

  command({
    name: 'get_room_affiliations', tags: ['muc_room'], policy: 'admin', desc: 'Get the list of affiliations of a MUC room',
    args: [nameArg, serviceArg],
    result: listOf('affiliations', tupleOf('affiliation', [['username', 'string'], ['domain', 'string'], ['affiliation', 'string'], ['reason', 'string']])),
    resultDesc: 'The list of affiliations with username, domain, affiliation and reason',
    resultExample: [{ username: 'user1', domain: 'example.com', affiliation: 'member', reason: 'member' }],
    async exec({ name, service }, ctx) {
      const missing = 'The room does not exist.';
      const room = await existingRoom(ctx, name, service, { service: missing, missing });
      const entries = await worded(ctx.service.affiliations(room.jid), { 'not-found': missing });
      return entries.map((e) => {
        const at = e.jid.indexOf('@');
        // A server-wide ban names a server alone.
        return { username: at < 0 ? '' : e.jid.slice(0, at), domain: at < 0 ? e.jid : e.jid.slice(at + 1), affiliation: e.affiliation, reason: e.reason };
      });
    },
  }),

  command({
    name: 'set_room_affiliation', tags: ['muc_room'], policy: 'admin', desc: 'Change an affiliation in a MUC room',
    longdesc:
      'AFFILIATION is owner, admin, member, outcast or none (none removes it). Occupants see the change as they would an owner\'s: ' +
      'an outcast present is banned from the room (status 301), and in a members-only room someone no longer a member is removed (321).',
    args: [nameArg, serviceArg, str('jid', 'User JID', 'user2@example.com'), str('affiliation', 'Affiliation to set', 'member')],
    result: rescode, resultExample: true,
    async exec({ name, service, jid, affiliation }, ctx) {
      if (!(AFFILIATIONS as readonly string[]).includes(affiliation)) throw badArgument('Invalid affiliation');
      const missing = "Room doesn't exists";
      const room = await existingRoom(ctx, name, service, { service: "Invalid 'service'", missing });
      const user = bareJid(jid);
      if (!user) throw badArgument("Invalid 'jid'");
      await worded(ctx.service.setAffiliation(room.jid, user.bare, affiliation as Affiliation), {
        'not-found': missing,
        conflict: 'Unable to perform change',
        forbidden: 'Unable to perform change',
        'bad-argument': 'Unable to perform change',
      });
      return true;
    },
  }),

  command({
    name: 'get_room_occupants', tags: ['muc_room'], policy: 'admin', desc: 'Get the list of occupants of a MUC room',
    longdesc: "Each occupant's real full JID, nick and role (moderator, participant or visitor).",
    args: [nameArg, serviceArg],
    result: listOf('occupants', tupleOf('occupant', [['jid', 'string'], ['nick', 'string'], ['role', 'string']])),
    resultDesc: 'The list of occupants with JID, nick and affiliation',
    resultExample: [{ jid: 'user1@example.com/psi', nick: 'User 1', role: 'moderator' }],
    async exec({ name, service }, ctx) {
      const t = { service: 'room_not_found', missing: 'room_not_found' };
      const room = await existingRoom(ctx, name, service, t);
      const occupants = await worded(ctx.service.occupants(room.jid), { 'not-found': t.missing });
      return occupants.map((o) => ({ jid: o.jid, nick: o.nick, role: o.role })).sort((a, b) => (a.nick < b.nick ? -1 : a.nick > b.nick ? 1 : 0));
    },
  }),

  command({
    name: 'get_room_occupants_number', tags: ['muc_room'], policy: 'admin', desc: 'Get the number of occupants of a MUC room',
    args: [nameArg, serviceArg],
    result: intResult('occupants'), resultDesc: 'Number of room occupants', resultExample: 7,
    async exec({ name, service }, ctx) {
      const room = await existingRoom(ctx, name, service, { service: 'room_not_found', missing: 'room_not_found' });
      return room.occupants;
    },
  }),

  command({
    name: 'get_user_rooms', tags: ['muc'], policy: 'admin', desc: 'Get the list of rooms where this user is occupant',
    args: [str('user', 'Username', 'tom'), str('host', 'Server host', 'example.com')],
    result: listOf('rooms', strResult('room')), resultExample: ROOMS_EXAMPLE,
    async exec({ user, host }, ctx) {
      const account = tryParseJID(`${user}@${host}`);
      // ejabberd answers no rooms for a name that cannot be an account's.
      if (!account || !account.local || account.resource) return [];
      return [...(await ctx.service.roomsOf(account.bare))].sort();
    },
  }),

  command({
    name: 'muc_online_rooms', tags: ['muc'], policy: 'admin', desc: "List existing rooms ('global' to get all vhosts)",
    longdesc: 'Rooms that exist now: the persistent ones and those with occupants.',
    args: [globalServiceArg],
    result: roomList, resultDesc: 'List of rooms', resultExample: ROOMS_EXAMPLE,
    async exec({ service }, ctx) {
      const rooms = await Promise.all(servicesOf(ctx, service).map((s) => ctx.service.rooms(s)));
      return rooms.flat().map((r) => r.jid).sort();
    },
  }),

  command({
    name: 'muc_online_rooms_by_regex', tags: ['muc'], policy: 'admin', desc: "List existing rooms ('global' to get all vhosts) by regex",
    longdesc: `REGEX (a JavaScript regular expression of at most ${MAX_REGEXP} characters) is searched for in each room's name (the part before @).`,
    args: [globalServiceArg, str('regex', 'Regex pattern for room name', '^prefix')],
    result: listOf('rooms', tupleOf('room', [['jid', 'string'], ['public', 'string'], ['participants', 'integer']])),
    resultDesc: 'List of rooms with summary',
    resultExample: [{ jid: 'room1@muc.example.com', public: 'true', participants: 10 }, { jid: 'room2@muc.example.com', public: 'false', participants: 10 }],
    async exec({ service, regex }, ctx) {
      if (regex.length > MAX_REGEXP) throw badArgument(`regex is longer than ${MAX_REGEXP} characters`);
      let pattern: RegExp;
      try {
        pattern = new RegExp(regex, 'u');
      } catch (err) {
        throw badArgument(`Invalid regex: ${(err as Error).message}`);
      }
      const rooms = (await Promise.all(servicesOf(ctx, service).map((s) => ctx.service.rooms(s)))).flat();
      return rooms
        .filter((r) => pattern.test(r.jid.slice(0, r.jid.indexOf('@'))))
        .sort(byJid)
        .map((r) => ({ jid: r.jid, public: String(r.config.public), participants: r.occupants }));
    },
  }),

  command({
    name: 'muc_register_nick', tags: ['muc'], policy: 'admin', desc: 'Register a nick to a User JID in a MUC service',
    longdesc: 'Only that account may then use the nick in the rooms of the service. An empty nick unregisters it.',
    args: [str('nick', 'Nick', 'Tim'), str('jid', 'User JID', 'tim@example.org'), str('service', 'Service', 'muc.example.org')],
    result: rescode, resultExample: true,
    async exec({ nick, jid, service }, ctx) {
      const domain = serviceDomain(ctx, service);
      if (!domain) throw badArgument("Invalid 'service'");
      const account = bareJid(jid);
      if (!account) throw badArgument("Invalid 'jid'");
      if (nick === '') return unregisterNick(ctx, domain, account.bare);
      await worded(ctx.service.registerNick(domain, account.bare, nick), { conflict: 'Nick already registered' });
      return true;
    },
  }),

  command({
    name: 'muc_unregister_nick', tags: ['muc'], policy: 'admin', desc: 'Unregister the nick registered by that account in the MUC service',
    longdesc: 'An account with no nick registered is left as it is (success).',
    args: [str('jid', 'User JID', 'tim@example.org'), serviceArg],
    result: rescode, resultExample: true,
    async exec({ jid, service }, ctx) {
      const domain = serviceDomain(ctx, service);
      if (!domain) throw badArgument("Invalid 'service'");
      const account = bareJid(jid);
      if (!account) throw badArgument("Invalid 'jid'");
      return unregisterNick(ctx, domain, account.bare);
    },
  }),

  command({
    name: 'rooms_empty_list', tags: ['muc'], policy: 'admin', desc: 'List the rooms that have no messages in archive',
    longdesc:
      "The MUC service argument can be 'global' to get all hosts. As in ejabberd, only rooms that archive their messages (option mam) " +
      'count: those of them where no message was ever sent.',
    args: [globalServiceArg],
    result: roomList, resultDesc: 'List of empty rooms', resultExample: ROOMS_EXAMPLE,
    exec: async ({ service }, ctx) => (await emptyRooms(ctx, service)).map((r) => r.jid),
  }),

  command({
    name: 'rooms_empty_destroy', tags: ['muc'], policy: 'admin', desc: 'Destroy the rooms that have no messages in archive',
    longdesc: "The MUC service argument can be 'global' to get all hosts. The rooms rooms_empty_list lists are destroyed; their occupants are told why.",
    args: [globalServiceArg],
    result: roomList, resultDesc: 'List of empty rooms that have been destroyed', resultExample: ROOMS_EXAMPLE,
    exec: async ({ service }, ctx) => destroyAll(ctx, await emptyRooms(ctx, service), 'rooms_empty_destroy'),
  }),

  command({
    name: 'rooms_unused_list', tags: ['muc'], policy: 'admin', desc: 'List the rooms that are unused for many days in the service',
    longdesc:
      "The MUC service argument can be 'global' to get all hosts. A room is unused when nobody is in it and its last message " +
      '(or its creation, when it has none) is DAYS days old or older.',
    args: [globalServiceArg, int('days', 'Number of days', 31)],
    result: roomList, resultDesc: 'List of unused rooms', resultExample: ROOMS_EXAMPLE,
    exec: async ({ service, days }, ctx) => (await unusedRooms(ctx, service, days)).map((r) => r.jid),
  }),

  command({
    name: 'rooms_unused_destroy', tags: ['muc'], policy: 'admin', desc: 'Destroy the rooms that are unused for many days in the service',
    longdesc: "The MUC service argument can be 'global' to get all hosts. The rooms rooms_unused_list lists are destroyed.",
    args: [globalServiceArg, int('days', 'Number of days', 31)],
    result: roomList, resultDesc: 'List of unused rooms that has been destroyed', resultExample: ROOMS_EXAMPLE,
    exec: async ({ service, days }, ctx) => destroyAll(ctx, await unusedRooms(ctx, service, days), 'rooms_unused_destroy'),
  }),

  command({
    name: 'send_direct_invitation', tags: ['muc_room'], policy: 'admin', desc: 'Send a direct invitation to several destinations',
    longdesc:
      'Password and Message can also be: none. Users JIDs are separated with : — each gets a direct invitation (XEP-0249) from the room; ' +
      'users who are in the room already, and addresses without a user part, are skipped.',
    args: [
      nameArg, serviceArg, str('password', 'Password, or none', ''), str('reason', 'Reason text, or none', 'Check this out!'),
      str('users', 'Users JIDs separated with : characters', 'user2@localhost:user3@example.com'),
    ],
    result: rescode, resultExample: true,
    async exec({ name, service, password, reason, users }, ctx) {
      if (roomName(name) === undefined || !tryParseJID(service)) throw badArgument("Invalid 'roomname' or 'service'");
      const room = await existingRoom(ctx, name, service, { service: 'room_not_found', missing: 'room_not_found' });
      const present = new Set((await ctx.service.occupants(room.jid)).map((o) => bareJid(o.jid)?.bare));
      const invitees: string[] = [];
      for (const u of users.split(':')) {
        if (u === '') continue;
        const j = tryParseJID(u);
        if (!j) throw badArgument(`Invalid JID in 'users': ${u}`);
        if (j.local && !present.has(j.bare)) invitees.push(j.full);
      }
      const none = (s: string) => (s === 'none' ? '' : s);
      // An empty password is none: the invitation does not carry the room's (as in ejabberd).
      await worded(ctx.service.inviteDirect(room.jid, room.jid, [...new Set(invitees)], none(reason) || undefined, none(password)), { 'not-found': 'room_not_found' });
      return true;
    },
  }),

  command({
    name: 'subscribe_room', tags: ['muc_room'], policy: 'admin', desc: 'Subscribe to a MUC conference',
    longdesc:
      'MUC/Sub: the user gets the events of the nodes (urn:xmpp:mucsub:nodes:messages, ...:affiliations, ...) without being in the room. ' +
      'The room must allow subscriptions (allow_subscription). As for an admin in ejabberd, its password is not asked of the user; ' +
      'a members-only room subscribes only its members.',
    args: [
      str('user', 'User JID', 'tom@localhost'), str('nick', "a user's nick", 'Tom'), str('room', 'the room to subscribe', 'room1@conference.localhost'),
      str('nodes', 'nodes separated by commas: ,', 'urn:xmpp:mucsub:nodes:messages,urn:xmpp:mucsub:nodes:affiliations'),
    ],
    result: listOf('nodes', strResult('node')), resultDesc: 'The list of nodes that has subscribed',
    resultExample: ['urn:xmpp:mucsub:nodes:messages', 'urn:xmpp:mucsub:nodes:affiliations'],
    async exec({ user, nick, room, nodes }, ctx) {
      if (nick === '') throw badArgument('Nickname must be set');
      const r = roomAddress(ctx, room);
      const account = bareJid(user);
      if (!account) throw badArgument('Malformed user JID');
      const missing = 'The room does not exist';
      const info = r.known ? await ctx.service.room(r.jid) : undefined;
      if (!info) throw badArgument(missing);
      const list = nodes.split(/[ \t]*,[ \t]*/).map((n) => n.trim()).filter((n) => n !== '');
      try {
        // The admin vouches for the user: the room's password is not asked of them, as in ejabberd.
        return await ctx.service.subscribe(r.jid, account.bare, nick, list, info.config.password || undefined);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        throw badArgument(err.kind === 'not-found' ? missing : err.message);
      }
    },
  }),

  command({
    name: 'unsubscribe_room', tags: ['muc_room'], policy: 'admin', desc: 'Unsubscribe from a MUC conference',
    longdesc: 'A user who is not subscribed is left as is (success).',
    args: [str('user', 'User JID', 'tom@localhost'), str('room', 'the room to subscribe', 'room1@conference.localhost')],
    result: rescode, resultExample: true,
    async exec({ user, room }, ctx) {
      const r = roomAddress(ctx, room);
      const account = bareJid(user);
      if (!account) throw badArgument('Malformed user JID');
      const missing = 'The room does not exist';
      if (!r.known || !(await ctx.service.room(r.jid))) throw badArgument(missing);
      if (!(await ctx.service.subscribers(r.jid)).includes(account.bare)) return true;
      await ctx.service.unsubscribe(r.jid, account.bare).catch((err) => {
        if (err instanceof DomainError && err.kind === 'not-found') return; // unsubscribed meanwhile
        throw err;
      });
      return true;
    },
  }),

  command({
    name: 'get_subscribers', tags: ['muc_room'], policy: 'admin', desc: 'List subscribers of a MUC conference',
    args: [nameArg, serviceArg],
    result: listOf('subscribers', strResult('jid')), resultDesc: 'The list of users that are subscribed to that room',
    resultExample: ['user2@example.com', 'user3@example.com'],
    async exec({ name, service }, ctx) {
      const missing = 'The room does not exist';
      const room = await existingRoom(ctx, name, service, { service: missing, missing });
      return [...(await worded(ctx.service.subscribers(room.jid), { 'not-found': missing }))].sort();
    },
  }),
];

async function unregisterNick(ctx: Context, service: string, account: string): Promise<true> {
  if ((await ctx.service.registeredNick(service, account)) === undefined) return true;
  await ctx.service.unregisterNick(service, account).catch((err) => {
    // Unregistered meanwhile: the outcome asked for.
    if (!(err instanceof DomainError && err.kind === 'not-found')) throw err;
  });
  return true;
}
