import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminHost } from '../host.js';
import type { Args } from '../registry.js';
import { runCommand } from '../execute.js';
import { badArgument, notFound, unavailable, DomainError } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import type { RoomConfig, Role, Affiliation } from '../../modules/muc/index.js';
import { bool, collection, Entity, int, objectOf, properties, text, texts } from './format.js';
import { OpenfireError, type Call, type Endpoint } from './endpoint.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import type { Element } from '../../xmpp/xml/element.js';

const USER = { 'not-found': 'UserNotFoundException', conflict: 'UserAlreadyExistsException' };
const GROUP = { 'not-found': 'GroupNotFoundException', conflict: 'GroupAlreadyExistsException' };
const ROOM = { 'not-found': 'RoomNotFoundException', conflict: 'AlreadyExistsException' };
const PROPERTY = { 'not-found': 'PropertyNotFoundException', conflict: 'AlreadyExistsException' };

/** Openfire's numeric subscription types (RosterItem.subscriptionType). */
const SUBSCRIPTION_TYPE: Record<string, number> = { none: 0, to: 1, from: 2, both: 3 };
const SUBSCRIPTION_NAME = ['none', 'to', 'from', 'both'];

/** Openfire's room fields that are booleans, and the Parley option each is (where there is one). */
const ROOM_FLAGS: [string, keyof RoomConfig | undefined][] = [
  ['persistent', 'persistent'],
  ['publicRoom', 'public'],
  ['registrationEnabled', undefined],
  ['canAnyoneDiscoverJID', undefined],
  ['canOccupantsChangeSubject', 'allowChangeSubject'],
  ['canOccupantsInvite', 'allowInvites'],
  ['canChangeNickname', 'allowVisitorNickchange'],
  ['logEnabled', 'logging'],
  ['loginRestrictedToNickname', undefined],
  ['membersOnly', 'membersOnly'],
  ['moderated', 'moderated'],
];

const ROLE_PATHS: Record<string, Affiliation> = { owners: 'owner', admins: 'admin', members: 'member', outcasts: 'outcast' };

/** Messages one chathistory answer carries at most (the newest). */
const MAX_HISTORY = 1000;

function tryParseXml(text: string): Element | undefined {
  try {
    return parseElement(text);
  } catch {
    return undefined;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');

export function openfireEndpoints(server: AdminHost): Endpoint[] {
  const svc = <N extends Parameters<AdminHost['optionalService']>[0]>(name: N) => {
    const s = server.optionalService(name);
    if (!s) throw unavailable(`The ${name} module does not run`);
    return s;
  };
  const accounts = server.accounts;
  /** Runs a registry command on the API's behalf; its domain error is the endpoint's. */
  const cmd = async (name: string, args: Args, c: Call): Promise<unknown> => {
    const def = server.commands.get(name);
    if (!def) throw unavailable(`The command ${name} is not available`);
    const out = await runCommand(server, def, args, { surface: 'http', admin: true, ip: c.ctx.ip });
    if (out.ok) return out.value;
    if (out.error === 'internal') throw new DomainError('internal', `${name} failed`);
    throw out.error;
  };
  const account = (c: Call, name = c.params.username!) => accounts.existing(name, c.host);
  /** A local username or a JID, as the room endpoints take them. */
  const jidOf = (c: Call, name: string): string => {
    const j = tryParseJID(name.includes('@') ? name : `${name}@${c.host}`);
    if (!j) throw badArgument(`Invalid JID: ${name}`);
    return j.bare;
  };

  // ---- users ---------------------------------------------------------------------------------

  const userEntity = async (p: AccountRef) => {
    const prof = await accounts.profile(p);
    return {
      username: p.user,
      name: prof.name ?? '',
      email: prof.email ?? '',
      properties: Object.entries(prof.properties).map(([key, value]) => ({ key, value })),
    };
  };

  const groupsOf = async (p: AccountRef): Promise<string[]> => {
    const sr = svc('sharedroster');
    const out: string[] = [];
    for (const g of await sr.list(p.host)) {
      const m = await sr.members(sr.ref(p.host, g.id));
      if (m.accounts.some((a) => a.user === p.user && a.host === p.host)) out.push(g.id);
    }
    return out;
  };

  const groupNames = (body: unknown): string[] => {
    const o = objectOf(body);
    return texts(o.groupname ?? o.groupnames ?? o.groups, 'groupname');
  };

  // ---- rooms ---------------------------------------------------------------------------------

  const rooms = () => svc('muc');
  const serviceDomain = (c: Call): string => {
    const name = c.query.get('servicename') ?? server.config.openfire.mucService;
    const domain = `${name}.${c.host}`;
    const known = rooms().serviceDomains();
    if (!known.includes(domain)) {
      const other = known.find((d) => d.split('.')[0] === name);
      if (other) return other;
      throw new OpenfireError(404, `Chat service ${name} does not exist`, name, 'NotFoundException');
    }
    return domain;
  };
  const roomJid = (c: Call, name = c.params.roomName!) => `${name.toLowerCase()}@${serviceDomain(c)}`;
  const mustRoom = async (c: Call) => {
    const jid = roomJid(c);
    const info = await rooms().room(jid);
    if (!info) throw new OpenfireError(404, 'Chat room could not be found', c.params.roomName!, 'RoomNotFoundException');
    return info;
  };

  const roomEntity = async (jid: string) => {
    const info = (await rooms().room(jid))!;
    const affs = await rooms().affiliations(jid);
    const of = (a: string) => affs.filter((x) => x.affiliation === a).map((x) => x.jid);
    const cfg = info.config;
    const e: Record<string, unknown> = {
      roomName: jid.split('@')[0],
      naturalName: cfg.title,
      description: cfg.description,
      subject: info.subject,
      creationDate: iso(info.createdAt),
      modificationDate: iso(info.lastMessageAt),
      maxUsers: cfg.maxUsers,
    };
    for (const [name, key] of ROOM_FLAGS) {
      e[name] = key ? Boolean(cfg[key]) : name === 'registrationEnabled' ? true : name === 'canAnyoneDiscoverJID' ? cfg.whois === 'anyone' : false;
    }
    e.canChangeNickname = true;
    if (cfg.password) e.password = cfg.password;
    Object.assign(e, {
      broadcastPresenceRoles: cfg.presenceBroadcast,
      owners: of('owner'),
      admins: of('admin'),
      members: of('member'),
      outcasts: of('outcast'),
      ownerGroups: [],
      adminGroups: [],
      memberGroups: [],
      outcastGroups: [],
    });
    return e;
  };

  const roomConfigOf = (o: Record<string, unknown>): Partial<RoomConfig> => {
    const cfg: Partial<RoomConfig> = {};
    const set = <K extends keyof RoomConfig>(k: K, v: RoomConfig[K] | undefined) => {
      if (v !== undefined) cfg[k] = v;
    };
    set('title', text(o.naturalName));
    set('description', text(o.description));
    set('password', text(o.password));
    set('maxUsers', int(o.maxUsers));
    for (const [name, key] of ROOM_FLAGS) if (key) set(key, bool(o[name]) as never);
    // Openfire's logged conversations are what its chathistory reads: in Parley, the room's archive.
    const logged = bool(o.logEnabled);
    if (logged !== undefined) cfg.mam = logged;
    const discover = bool(o.canAnyoneDiscoverJID);
    if (discover !== undefined) cfg.whois = discover ? 'anyone' : 'moderators';
    if (o.broadcastPresenceRoles !== undefined) {
      const roles = texts(o.broadcastPresenceRoles, 'broadcastPresenceRole');
      for (const r of roles) if (!['moderator', 'participant', 'visitor'].includes(r)) throw badArgument(`Unknown role ${r}`);
      cfg.presenceBroadcast = roles as Role[];
    }
    return cfg;
  };

  const applyRoomAffiliations = async (c: Call, jid: string, o: Record<string, unknown>, replace: boolean) => {
    const wanted = new Map<string, Affiliation>();
    const lists: [string, string, Affiliation][] = [
      ['owners', 'owner', 'owner'],
      ['admins', 'admin', 'admin'],
      ['members', 'member', 'member'],
      ['outcasts', 'outcast', 'outcast'],
    ];
    let given = false;
    for (const [field, item, aff] of lists) {
      if (o[field] === undefined) continue;
      given = true;
      for (const j of texts(o[field], item)) wanted.set(jidOf(c, j), aff);
    }
    for (const [field, item, aff] of [
      ['ownerGroups', 'ownerGroup', 'owner'],
      ['adminGroups', 'adminGroup', 'admin'],
      ['memberGroups', 'memberGroup', 'member'],
      ['outcastGroups', 'outcastGroup', 'outcast'],
    ] as const) {
      for (const g of texts(o[field], item)) for (const m of await groupMembers(c, g)) wanted.set(m, aff);
    }
    if (replace && given) {
      for (const a of await rooms().affiliations(jid)) if (!wanted.has(a.jid)) await rooms().setAffiliation(jid, a.jid, 'none');
    }
    for (const [j, aff] of wanted) await rooms().setAffiliation(jid, j, aff);
  };

  const groupMembers = async (c: Call, group: string): Promise<string[]> => {
    const sr = svc('sharedroster');
    return (await sr.members(sr.ref(c.host, group))).accounts.map(bareOf);
  };

  // ---- system properties ---------------------------------------------------------------------

  /**
   * Properties that are Parley settings: read from the setting, and written to it where it can change
   * while running (through its admin command); the others are refused (the configuration file decides).
   */
  const SETTINGS: Record<string, { get(c: Call): Promise<string> | string; set?(c: Call, value: string): Promise<void> }> = {
    'xmpp.domain': { get: () => server.config.hosts[0]! },
    'log.debug.enabled': {
      get: async (c) => String((await cmd('get_loglevel', {}, c)) === 'debug'),
      async set(c, value) {
        if (value !== 'true' && value !== 'false') throw badArgument('log.debug.enabled is true or false');
        // Back to the configured level, in set_loglevel's words (debug and trace: info).
        const normal = ({ silent: 'none', fatal: 'critical', error: 'error', warn: 'warning' } as Record<string, string>)[server.config.logLevel] ?? 'info';
        await cmd('set_loglevel', { loglevel: value === 'true' ? 'debug' : normal }, c);
      },
    },
  };
  const derived = async (c: Call): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(SETTINGS)) out[k] = await v.get(c);
    return out;
  };
  // Kept in a file of the data directory: they are few, and set by hand.
  const propsFile = join(server.dataDir, 'openfire-properties.json');
  const props = new Map<string, string>(Object.entries(readProps(propsFile)));
  const saveProps = () => writeFileSync(propsFile, JSON.stringify(Object.fromEntries(props)), { mode: 0o600 });
  const propertyEntity = (key: string, value: string) => ({ key, value });

  const endpoints: Endpoint[] = [
    // ---- probes (unauthenticated) -------------------------------------------------------------
    ...['liveness', 'readiness'].flatMap((probe): Endpoint[] =>
      ['', '/deadlock', '/properties', '/cluster', '/connections', '/pluginmanager', '/server'].map((sub) => ({
        method: 'GET',
        path: `/system/${probe}${sub}`,
        summary: `${probe} probe${sub ? ` (${sub.slice(1)})` : ''}`,
        open: true,
        handle: () => undefined,
      })),
    ),

    // ---- users ----------------------------------------------------------------------------------
    {
      method: 'GET',
      path: '/users',
      summary: 'All users (search: %text% on the username; propertyKey and propertyValue filter by a user property)',
      async handle(c) {
        const search = c.query.get('search');
        const key = c.query.get('propertyKey');
        const value = c.query.get('propertyValue');
        if (value !== null && key === null) throw badArgument('propertyValue needs propertyKey');
        const users = [];
        for (const u of await accounts.list(c.host)) {
          if (search && !u.toLowerCase().includes(search.toLowerCase())) continue;
          const p = { user: u, host: c.host };
          const e = await userEntity(p);
          if (key !== null) {
            const prof = await accounts.profile(p);
            if (!(key in prof.properties)) continue;
            if (value !== null && prof.properties[key] !== value) continue;
          }
          users.push(e);
        }
        return collection('users', 'user', 'users', users);
      },
    },
    {
      method: 'GET',
      path: '/users/:username',
      summary: 'One user',
      exceptions: USER,
      async handle(c) {
        return new Entity('user', await userEntity(await account(c)));
      },
    },
    {
      method: 'POST',
      path: '/users',
      summary: 'Creates a user',
      body: 'user',
      status: 201,
      exceptions: USER,
      async handle(c) {
        const o = objectOf(c.body, 'users');
        const username = text(o.username);
        const password = text(o.password);
        if (!username) throw badArgument('The username is missing');
        if (!password) throw badArgument('The password is missing');
        const p = accounts.prepare(username, c.host);
        await accounts.register(p, password);
        await accounts.setProfile(p, { name: text(o.name), email: text(o.email), properties: properties(o.properties) ?? {} });
        return undefined;
      },
    },
    {
      method: 'PUT',
      path: '/users/:username',
      summary: 'Updates a user; a different username renames it',
      body: 'user',
      exceptions: USER,
      async handle(c) {
        let p = await account(c);
        const o = objectOf(c.body, 'users');
        const username = text(o.username);
        if (username && username !== p.user) {
          const to = accounts.prepare(username, c.host);
          if (to.user !== p.user) {
            await accounts.rename(p, to);
            p = to;
          }
        }
        const password = text(o.password);
        if (password) await accounts.changePassword(p, password);
        const prof = await accounts.profile(p);
        const name = text(o.name);
        const email = text(o.email);
        await accounts.setProfile(p, {
          name: name ?? prof.name,
          email: email ?? prof.email,
          properties: properties(o.properties) ?? prof.properties,
        });
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/users/:username',
      summary: 'Deletes a user',
      exceptions: USER,
      async handle(c) {
        await accounts.unregister(await account(c));
        return undefined;
      },
    },
    {
      method: 'GET',
      path: '/users/:username/groups',
      summary: "The user's groups",
      exceptions: USER,
      async handle(c) {
        return collection('groups', 'groupname', 'groupname', await groupsOf(await account(c)));
      },
    },
    {
      method: 'POST',
      path: '/users/:username/groups',
      summary: 'Adds the user to groups',
      body: 'groups',
      status: 201,
      exceptions: GROUP,
      async handle(c) {
        const p = await account(c);
        const sr = svc('sharedroster');
        for (const g of groupNames(c.body)) await sr.addMember(sr.ref(c.host, g), p);
        return undefined;
      },
    },
    {
      method: 'POST',
      path: '/users/:username/groups/:groupName',
      summary: 'Adds the user to a group',
      status: 201,
      exceptions: GROUP,
      async handle(c) {
        const p = await account(c);
        const sr = svc('sharedroster');
        await sr.addMember(sr.ref(c.host, c.params.groupName!), p);
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/users/:username/groups',
      summary: 'Removes the user from groups',
      body: 'groups',
      exceptions: GROUP,
      async handle(c) {
        const p = await account(c);
        const sr = svc('sharedroster');
        for (const g of groupNames(c.body)) await sr.removeMember(sr.ref(c.host, g), p);
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/users/:username/groups/:groupName',
      summary: 'Removes the user from a group',
      exceptions: GROUP,
      async handle(c) {
        const p = await account(c);
        const sr = svc('sharedroster');
        await sr.removeMember(sr.ref(c.host, c.params.groupName!), p);
        return undefined;
      },
    },

    // ---- lockouts ------------------------------------------------------------------------------
    {
      method: 'POST',
      path: '/lockouts/:username',
      summary: 'Locks a user out: its sessions are closed and it cannot log in',
      status: 201,
      exceptions: USER,
      async handle(c) {
        await accounts.disable(await account(c), 'Locked out by an administrator');
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/lockouts/:username',
      summary: 'Lifts a lockout',
      exceptions: USER,
      async handle(c) {
        await accounts.enable(await account(c));
        return undefined;
      },
    },

    // ---- roster --------------------------------------------------------------------------------
    {
      method: 'GET',
      path: '/users/:username/roster',
      summary: "The user's roster",
      exceptions: USER,
      async handle(c) {
        const items = await svc('roster').list(await account(c));
        return collection(
          'roster',
          'rosterItem',
          'rosterItem',
          items.map((i) => ({ jid: i.jid, nickname: i.name, subscriptionType: SUBSCRIPTION_TYPE[i.subscription] ?? 0, groups: i.groups })),
        );
      },
    },
    {
      method: 'POST',
      path: '/users/:username/roster',
      summary: 'Adds a roster item',
      body: 'rosterItem',
      status: 201,
      exceptions: { 'not-found': 'UserNotFoundException', conflict: 'UserAlreadyExistsException' },
      async handle(c) {
        const p = await account(c);
        const item = rosterItemOf(c.body);
        const roster = svc('roster');
        if (await roster.get(p, item.jid)) {
          throw new OpenfireError(409, 'Roster item already exists', item.jid, 'UserAlreadyExistsException');
        }
        if (item.subscription === undefined && item.type === -1) throw badArgument('subscriptionType -1 removes an item');
        await roster.adminSet(p, item.jid, item.nickname ?? '', item.groups ?? [], item.subscription ?? 'none');
        return undefined;
      },
    },
    {
      method: 'PUT',
      path: '/users/:username/roster/:jid',
      summary: 'Updates a roster item',
      body: 'rosterItem',
      resource: 'jid',
      exceptions: USER,
      async handle(c) {
        const p = await account(c);
        const roster = svc('roster');
        const j = tryParseJID(c.params.jid!);
        if (!j) throw badArgument(`Invalid JID: ${c.params.jid}`);
        const existing = await roster.get(p, j.bare);
        if (!existing) throw new OpenfireError(404, 'Roster item does not exist', c.params.jid!, 'UserNotFoundException');
        const item = rosterItemOf(c.body, j.bare);
        if (item.type === -1) {
          await roster.adminDelete(p, j.bare);
          return undefined;
        }
        await roster.adminSet(p, j.bare, item.nickname ?? existing.name, item.groups ?? existing.groups, item.subscription ?? existing.subscription);
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/users/:username/roster/:jid',
      summary: 'Removes a roster item',
      resource: 'jid',
      exceptions: USER,
      async handle(c) {
        const p = await account(c);
        const roster = svc('roster');
        const j = tryParseJID(c.params.jid!);
        if (!j || !(await roster.get(p, j.bare))) throw new OpenfireError(404, 'Roster item does not exist', c.params.jid!, 'UserNotFoundException');
        await roster.adminDelete(p, j.bare);
        return undefined;
      },
    },

    // ---- sessions and messages ------------------------------------------------------------------
    {
      method: 'GET',
      path: '/sessions',
      summary: 'Every client session',
      async handle(c) {
        const all = (await cmd('connected_users_info', {}, c)) as SessionRow[];
        return collection('sessions', 'session', 'sessions', all.map(sessionEntity));
      },
    },
    {
      method: 'GET',
      path: '/sessions/:username',
      summary: "A user's sessions",
      exceptions: USER,
      async handle(c) {
        const p = await account(c);
        const rows = (await cmd('user_sessions_info', { user: p.user, host: p.host }, c)) as Omit<SessionRow, 'jid'>[];
        return collection('sessions', 'session', 'sessions', rows.map((r) => sessionEntity({ ...r, jid: `${bareOf(p)}/${r.resource}` })));
      },
    },
    {
      method: 'DELETE',
      path: '/sessions/:username',
      summary: "Closes a user's sessions",
      exceptions: USER,
      async handle(c) {
        const p = await account(c);
        await cmd('kick_user', { user: p.user, host: p.host }, c);
        return undefined;
      },
    },
    {
      method: 'POST',
      path: '/messages/users',
      summary: 'Sends a message to every online user',
      body: 'message',
      status: 201,
      async handle(c) {
        const body = text(objectOf(c.body).body);
        if (!body) throw badArgument('The message body is missing');
        const all = (await cmd('connected_users_info', {}, c)) as SessionRow[];
        for (const s of all) await cmd('send_message', { type: 'headline', from: c.host, to: s.jid, subject: '', body }, c);
        return undefined;
      },
    },
    {
      method: 'GET',
      path: '/system/statistics/sessions',
      summary: 'Concurrent client sessions',
      async handle(c) {
        const n = (await cmd('connected_users_number', {}, c)) as number;
        return new Entity('sessions', { clusterSessions: n, localSessions: n });
      },
    },

    // ---- groups ---------------------------------------------------------------------------------
    {
      method: 'GET',
      path: '/groups',
      summary: 'Every group',
      async handle(c) {
        const sr = svc('sharedroster');
        const out = [];
        for (const g of await sr.list(c.host)) out.push(await groupEntity(c, g.id));
        return collection('groups', 'group', 'groups', out);
      },
    },
    {
      method: 'GET',
      path: '/groups/:groupName',
      summary: 'One group',
      exceptions: GROUP,
      async handle(c) {
        return new Entity('group', await groupEntity(c, c.params.groupName!));
      },
    },
    {
      method: 'POST',
      path: '/groups',
      summary: 'Creates a group (shared: a shared roster group whose members see each other)',
      body: 'group',
      status: 201,
      exceptions: GROUP,
      async handle(c) {
        const o = objectOf(c.body, 'groups');
        const name = text(o.name);
        if (!name) throw badArgument('The group name is missing');
        const sr = svc('sharedroster');
        const ref = sr.ref(c.host, name);
        if ((await sr.list(c.host)).some((g) => g.id === name)) throw new OpenfireError(409, 'Group already exists', name, 'GroupAlreadyExistsException');
        await sr.put(ref, { name, description: text(o.description) ?? '', displayed: bool(o.shared) ? [name] : [] });
        for (const m of [...texts(o.members, 'member'), ...texts(o.admins, 'admin')]) await sr.addMember(ref, await accounts.existing(...userOf(c, m)));
        return undefined;
      },
    },
    {
      method: 'PUT',
      path: '/groups/:groupName',
      summary: 'Updates a group',
      body: 'group',
      exceptions: GROUP,
      async handle(c) {
        const sr = svc('sharedroster');
        const ref = sr.ref(c.host, c.params.groupName!);
        const g = await sr.get(ref);
        const o = objectOf(c.body, 'groups');
        const shared = bool(o.shared);
        const displayed = shared === undefined ? g.displayed : shared ? [...new Set([...g.displayed, g.id])] : g.displayed.filter((d) => d !== g.id);
        await sr.put(ref, { name: g.name, description: text(o.description) ?? g.description, displayed });
        if (o.members !== undefined || o.admins !== undefined) {
          const want = new Set<string>();
          for (const m of [...texts(o.members, 'member'), ...texts(o.admins, 'admin')]) want.add(bareOf(await accounts.existing(...userOf(c, m))));
          const have = (await sr.members(ref)).accounts;
          for (const a of have) if (!want.has(bareOf(a))) await sr.removeMember(ref, a);
          for (const b of want) if (!have.some((a) => bareOf(a) === b)) await sr.addMember(ref, await accounts.existing(...userOf(c, b)));
        }
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/groups/:groupName',
      summary: 'Deletes a group',
      exceptions: GROUP,
      async handle(c) {
        const sr = svc('sharedroster');
        await sr.delete(sr.ref(c.host, c.params.groupName!));
        return undefined;
      },
    },

    // ---- chat services and rooms ------------------------------------------------------------------
    {
      method: 'GET',
      path: '/chatservices',
      summary: 'The group chat services',
      handle() {
        const domains = server.optionalService('muc')?.serviceDomains() ?? [];
        return collection(
          'chatServices',
          'chatService',
          'chatServices',
          domains.map((d) => ({ serviceName: d.split('.')[0], description: `Group chat at ${d}`, hidden: false })),
        );
      },
    },
    {
      method: 'GET',
      path: '/chatrooms',
      summary: 'Chat rooms of a service (servicename; type public|all; search: %text% on the name)',
      async handle(c) {
        const domain = serviceDomain(c);
        const type = c.query.get('type') ?? 'public';
        if (type !== 'public' && type !== 'all') throw badArgument(`Unknown type ${type}`);
        const search = c.query.get('search')?.toLowerCase();
        const out = [];
        for (const r of await rooms().rooms(domain)) {
          if (type === 'public' && !r.config.public) continue;
          const name = r.jid.split('@')[0]!;
          if (search && !name.includes(search) && !r.config.title.toLowerCase().includes(search)) continue;
          out.push(await roomEntity(r.jid));
        }
        return collection('chatRooms', 'chatRoom', 'chatRooms', out);
      },
    },
    {
      method: 'GET',
      path: '/chatrooms/:roomName',
      summary: 'One chat room',
      exceptions: ROOM,
      async handle(c) {
        return new Entity('chatRoom', await roomEntity((await mustRoom(c)).jid));
      },
    },
    {
      method: 'POST',
      path: '/chatrooms',
      summary: 'Creates a chat room with its options, roles and affiliations',
      body: 'chatRoom',
      status: 201,
      exceptions: ROOM,
      async handle(c) {
        const o = objectOf(c.body, 'chatRooms');
        const name = text(o.roomName);
        if (!name) throw badArgument('The room name is missing');
        if (!text(o.naturalName)) throw badArgument('The natural name is missing');
        const jid = roomJid(c, name);
        if (await rooms().room(jid)) throw new OpenfireError(409, 'Chat room already exists', name, 'AlreadyExistsException');
        const cfg = { title: text(o.naturalName)!, description: '', ...roomConfigOf(o) };
        await rooms().createRoom(jid, undefined, cfg);
        const subject = text(o.subject);
        if (subject) await rooms().setSubject(jid, subject);
        await applyRoomAffiliations(c, jid, o, false);
        return undefined;
      },
    },
    {
      method: 'PUT',
      path: '/chatrooms/:roomName',
      summary: 'Updates a chat room',
      body: 'chatRoom',
      exceptions: ROOM,
      async handle(c) {
        const info = await mustRoom(c);
        const o = objectOf(c.body, 'chatRooms');
        await rooms().configure(info.jid, roomConfigOf(o));
        const subject = text(o.subject);
        if (subject !== undefined && subject !== info.subject) await rooms().setSubject(info.jid, subject);
        await applyRoomAffiliations(c, info.jid, o, true);
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/chatrooms/:roomName',
      summary: 'Destroys a chat room',
      exceptions: ROOM,
      async handle(c) {
        await rooms().destroyRoom((await mustRoom(c)).jid);
        return undefined;
      },
    },
    {
      method: 'GET',
      path: '/chatrooms/:roomName/participants',
      summary: 'Occupants with a role',
      exceptions: ROOM,
      async handle(c) {
        const info = await mustRoom(c);
        const occ = await rooms().occupants(info.jid);
        return collection(
          'participants',
          'participant',
          'participants',
          occ.filter((o) => o.role !== 'none').map((o) => ({ jid: `${info.jid}/${o.nick}`, role: o.role, affiliation: o.affiliation })),
        );
      },
    },
    {
      method: 'GET',
      path: '/chatrooms/:roomName/occupants',
      summary: 'Every occupant',
      exceptions: ROOM,
      async handle(c) {
        const info = await mustRoom(c);
        const occ = await rooms().occupants(info.jid);
        return collection(
          'occupants',
          'occupant',
          'occupants',
          occ.map((o) => ({ jid: `${info.jid}/${o.nick}`, userAddress: o.jid, role: o.role, affiliation: o.affiliation })),
        );
      },
    },
    {
      method: 'GET',
      path: '/chatrooms/:roomName/chathistory',
      summary: "The room's message history",
      exceptions: ROOM,
      async handle(c) {
        const room = await mustRoom(c);
        // Rooms keep their history in the message archive (none when the room does not archive).
        const archived = (await server.optionalService('mam')?.roomHistory(room.jid, MAX_HISTORY)) ?? [];
        const messages = archived.map(({ stanza, createdAt }) => {
          const el = tryParseXml(stanza);
          return {
            to: room.jid,
            from: el?.attrs.from ?? room.jid,
            type: 'groupchat',
            body: el?.getChildText('body') ?? '',
            delay_stamp: iso(createdAt),
            delay_from: room.jid,
          };
        });
        return collection('chatHistory', 'message', 'messages', messages);
      },
    },
    {
      method: 'POST',
      path: '/chatrooms/:roomName/invite/:name',
      summary: 'Invites a user (local username or JID) to the room',
      body: 'mucInvitation',
      resource: 'roomName',
      exceptions: ROOM,
      async handle(c) {
        const info = await mustRoom(c);
        const reason = text(objectOf(c.body).reason) ?? '';
        await rooms().inviteDirect(info.jid, c.host, [jidOf(c, c.params.name!)], reason);
        return undefined;
      },
    },
    ...Object.entries(ROLE_PATHS).flatMap(([plural, aff]): Endpoint[] => [
      {
        method: 'POST',
        path: `/chatrooms/:roomName/${plural}/:name`,
        summary: `Makes a user (username or JID) one of the room's ${plural}`,
        status: 201,
        resource: 'roomName',
        exceptions: ROOM,
        async handle(c) {
          await rooms().setAffiliation((await mustRoom(c)).jid, jidOf(c, c.params.name!), aff);
          return undefined;
        },
      },
      {
        method: 'POST',
        path: `/chatrooms/:roomName/${plural}/group/:name`,
        summary: `Makes a group's members ${plural} of the room`,
        status: 201,
        exceptions: GROUP,
        async handle(c) {
          const jid = (await mustRoom(c)).jid;
          for (const m of await groupMembers(c, c.params.name!)) await rooms().setAffiliation(jid, m, aff);
          return undefined;
        },
      },
      {
        method: 'DELETE',
        path: `/chatrooms/:roomName/${plural}/:name`,
        summary: `Removes a user from the room's ${plural}`,
        resource: 'roomName',
        exceptions: ROOM,
        async handle(c) {
          const jid = (await mustRoom(c)).jid;
          const who = jidOf(c, c.params.name!);
          if ((await rooms().affiliationOf(jid, who)) === aff) await rooms().setAffiliation(jid, who, 'none');
          return undefined;
        },
      },
      {
        method: 'DELETE',
        path: `/chatrooms/:roomName/${plural}/group/:name`,
        summary: `Removes a group's members from the room's ${plural}`,
        exceptions: GROUP,
        async handle(c) {
          const jid = (await mustRoom(c)).jid;
          for (const m of await groupMembers(c, c.params.name!)) if ((await rooms().affiliationOf(jid, m)) === aff) await rooms().setAffiliation(jid, m, 'none');
          return undefined;
        },
      },
    ]),

    // ---- system properties ------------------------------------------------------------------------
    {
      method: 'GET',
      path: '/system/properties',
      summary: 'Every system property',
      async handle(c) {
        const all = { ...Object.fromEntries(props), ...(await derived(c)) };
        return collection('properties', 'property', 'properties', Object.entries(all).map(([k, v]) => propertyEntity(k, v)));
      },
      // XML properties are attributes: see format.ts (items of `properties`).
    },
    {
      method: 'GET',
      path: '/system/properties/:propertyName',
      summary: 'One system property',
      exceptions: PROPERTY,
      async handle(c) {
        const k = c.params.propertyName!;
        const v = k in SETTINGS ? await SETTINGS[k]!.get(c) : props.get(k);
        if (v === undefined) throw notFound(`Property ${k} does not exist`);
        return new Entity('property', propertyEntity(k, v));
      },
    },
    {
      method: 'POST',
      path: '/system/properties',
      summary: 'Creates a system property',
      body: 'property',
      status: 201,
      exceptions: PROPERTY,
      async handle(c) {
        const { key, value } = propertyOf(c.body);
        await setProperty(c, key, value);
        return undefined;
      },
    },
    {
      method: 'PUT',
      path: '/system/properties/:propertyName',
      summary: 'Updates a system property',
      body: 'property',
      exceptions: PROPERTY,
      async handle(c) {
        const k = c.params.propertyName!;
        if (!props.has(k) && !(k in SETTINGS)) throw notFound(`Property ${k} does not exist`);
        await setProperty(c, k, propertyOf(c.body).value);
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/system/properties/:propertyName',
      summary: 'Deletes a system property',
      exceptions: PROPERTY,
      handle(c) {
        const k = c.params.propertyName!;
        if (k in SETTINGS) throw new OpenfireError(403, 'Property is a Parley setting: it cannot be deleted', k, 'NotAllowedException');
        if (!props.delete(k)) throw notFound(`Property ${k} does not exist`);
        saveProps();
        return undefined;
      },
    },

    // ---- cluster, archive, security log -------------------------------------------------------------
    {
      method: 'GET',
      path: '/clustering/status',
      summary: 'Clustering status',
      handle: () => new Entity('clustering', { status: 'Disabled' }),
    },
    {
      method: 'GET',
      path: '/clustering/nodes',
      summary: 'Cluster nodes',
      handle: () =>
        collection('clusterNodes', 'clusterNode', 'clusterNodes', [
          { hostName: server.config.hosts[0], nodeID: `parley@${server.config.hosts[0]}`, joinedTime: iso(Date.now() - process.uptime() * 1000), seniorMember: true },
        ]),
    },
    {
      method: 'GET',
      path: '/archive/messages/unread/:jid',
      summary: 'Messages a user has not read (held offline)',
      resource: 'jid',
      exceptions: USER,
      async handle(c) {
        const j = tryParseJID(c.params.jid!.includes('@') ? c.params.jid! : `${c.params.jid}@${c.host}`);
        if (!j || !j.local) throw badArgument(`Invalid JID: ${c.params.jid}`);
        const p = await accounts.existing(j.local, j.domain);
        const n = (await cmd('get_offline_count', { user: p.user, server: p.host }, c)) as number;
        return new Entity('unreadMessagesCount', { count: n });
      },
    },
    {
      method: 'GET',
      path: '/logs/security',
      summary: 'The security audit log (username, startTime, endTime in seconds; offset, limit)',
      async handle(c) {
        const audit = server.audit;
        const num = (k: string) => {
          const v = c.query.get(k);
          if (v === null || v === '') return undefined;
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) throw badArgument(`${k} must be a non-negative integer`);
          return n;
        };
        const username = c.query.get('username');
        const start = num('startTime');
        const end = num('endTime');
        const entries = await audit.query({
          ...(username ? { who: username.includes('@') ? username : `${username}@${c.host}` } : {}),
          ...(start !== undefined ? { start: start * 1000 } : {}),
          ...(end ? { end: end * 1000 } : {}),
          offset: num('offset') ?? 0,
          limit: Math.min(num('limit') ?? 100, 1000),
        });
        return collection(
          'logs',
          'log',
          'logs',
          entries.map((e) => ({
            logId: e.id,
            username: e.who.split('@')[0],
            timestamp: Math.floor(e.at / 1000),
            summary: `${e.action}: ${e.result}`,
            node: e.from,
            details: e.details,
          })),
        );
      },
    },
  ];

  async function setProperty(c: Call, key: string, value: string) {
    const setting = SETTINGS[key];
    if (setting) {
      if (!setting.set) throw new OpenfireError(403, 'Property is read-only here: it is set in the configuration file', key, 'NotAllowedException');
      return setting.set(c, value);
    }
    if (!props.has(key) && props.size >= server.config.openfire.maxSystemProperties) {
      throw badArgument(`Too many system properties (openfire.maxSystemProperties: ${server.config.openfire.maxSystemProperties})`);
    }
    props.set(key, value);
    saveProps();
  }

  async function groupEntity(c: Call, id: string) {
    const sr = svc('sharedroster');
    const ref = sr.ref(c.host, id);
    const g = await sr.get(ref);
    const m = await sr.members(ref);
    return { name: g.id, description: g.description, shared: g.displayed.includes(g.id), admins: [], members: m.accounts.map(bareOf) };
  }

  function userOf(c: Call, m: string): [string, string] {
    const j = tryParseJID(m.includes('@') ? m : `${m}@${c.host}`);
    if (!j || !j.local) throw badArgument(`Invalid member ${m}`);
    return [j.local, j.domain];
  }

  return endpoints;
}

interface SessionRow {
  jid: string;
  connection: string;
  ip: string;
  port: number;
  priority: number;
  node: string;
  uptime: number;
  status: string;
  resource: string;
  statustext: string;
}

const PRESENCE: Record<string, string> = { available: 'Online', chat: 'Free to chat', away: 'Away', xa: 'Extended away', dnd: 'Do not disturb' };

function sessionEntity(s: SessionRow) {
  const slash = s.jid.indexOf('/');
  const bare = slash < 0 ? s.jid : s.jid.slice(0, slash);
  const since = Date.now() - s.uptime * 1000;
  return {
    sessionId: s.jid,
    username: bare.split('@')[0],
    resource: s.resource,
    // The seed's spelling, for clients written before the plugin fixed it (2017).
    ressource: s.resource,
    node: 'Local',
    sessionStatus: 'Authenticated',
    presenceStatus: PRESENCE[s.status] ?? s.status,
    presenceMessage: s.statustext,
    priority: s.priority,
    hostAddress: s.ip,
    hostName: s.ip,
    creationDate: iso(since),
    lastActionDate: iso(since),
    secure: /tls|ws|https/i.test(s.connection),
  };
}

function rosterItemOf(body: unknown, jidFromPath?: string) {
  const o = objectOf(body, 'rosterItem');
  const jidText = text(o.jid) ?? jidFromPath;
  if (!jidText) throw badArgument('The roster item JID is missing');
  const j = tryParseJID(jidText);
  if (!j) throw badArgument(`Invalid JID: ${jidText}`);
  const type = int(o.subscriptionType);
  if (type !== undefined && (type < -1 || type > 3)) throw badArgument(`Unknown subscriptionType ${type}`);
  return {
    jid: j.bare,
    nickname: text(o.nickname),
    groups: o.groups === undefined ? undefined : texts(o.groups, 'group'),
    type,
    subscription: type === undefined || type < 0 ? undefined : SUBSCRIPTION_NAME[type],
  };
}

function propertyOf(body: unknown): { key: string; value: string } {
  const o = objectOf(body, 'property');
  const key = text(o.key ?? o['@key']);
  const value = text(o.value ?? o['@value']);
  if (!key) throw badArgument('The property key is missing');
  if (value === undefined) throw badArgument('The property value is missing');
  return { key, value };
}


function readProps(file: string): Record<string, string> {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}
