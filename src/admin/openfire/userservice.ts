import { BlockList, isIP } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AdminHost } from '../host.js';
import type { Caller } from '../registry.js';
import { runCommand } from '../execute.js';
import { auditDetails } from '../audit-log.js';
import { DomainError } from '../../errors.js';
import { tryParseJID } from '../../xmpp/jid.js';
import type { AccountRef } from '../../xmpp/account.js';
import { bodyText, type Codec } from '../../http/codecs.js';
import { Reply, type Dialect, type RequestContext } from '../../http/layer.js';

/**
 * Openfire's (deprecated) User Service: `GET|POST <path>?type=...&secret=...&username=...` answering
 * `<result>ok</result>`, a `<result><groupname>…</groupname>…</result>` list, or
 * `<error>ExceptionName</error>`, always with status 200 (seed 003's second part; the REST API
 * plugin's UserServiceLegacy). Served where the current plugin serves it
 * (`/plugins/restapi/v1/userservice`), where the seed says (`/plugins/restapi/userservice`) and where
 * the old plugin did (`/plugins/userService/userservice`).
 *
 * It translates each type to the admin commands of the registry (register, unregister,
 * change_password, add_rosteritem, delete_rosteritem, get_roster, srg_*), so the rules of each
 * feature apply as on every other surface; accounts are on `userService.host` (default: the first
 * served host), as Openfire's users are on its one domain.
 */
export const USER_SERVICE_PATHS = ['/plugins/restapi/v1/userservice', '/plugins/restapi/userservice', '/plugins/userService/userservice'] as const;

/** The documented error strings (seed 003, "Server Reply"). */
type ErrorString =
  | 'IllegalArgumentException'
  | 'UserNotFoundException'
  | 'UserAlreadyExistsException'
  | 'RequestNotAuthorised'
  | 'UserServiceDisabled'
  | 'SharedGroupException';

class UserServiceError extends Error {
  constructor(readonly code: ErrorString) {
    super(code);
  }
}

const textXml: Codec<string> = {
  mediaType: 'text/xml',
  contentType: 'text/xml; charset=utf-8',
  decode: (body) => bodyText(body),
  encode: (v) => String(v),
};

/** A POST's form body (Openfire reads parameters from the query and the body alike); any content type. */
const formBody: Codec<URLSearchParams> = {
  mediaType: 'application/x-www-form-urlencoded',
  contentType: 'application/x-www-form-urlencoded',
  decode: (body) => new URLSearchParams(bodyText(body)),
  encode: (v) => String(v),
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const answer = (body: string) => new Reply(200, `${body}\n`, textXml);
const ok = () => answer('<result>ok</result>');
const failure = (code: string) => answer(`<error>${escapeXml(code)}</error>`);
const groupList = (names: string[]) => answer(`<result>${names.map((n) => `<groupname>${escapeXml(n)}</groupname>`).join('')}</result>`);

/** Openfire's numeric subscription types; -1 removes the item. */
const SUBSCRIPTIONS: Record<string, string> = { '-1': 'remove', '0': 'none', '1': 'to', '2': 'from', '3': 'both' };

const TYPES = new Set(['add', 'delete', 'update', 'enable', 'disable', 'add_roster', 'update_roster', 'delete_roster', 'grouplist', 'usergrouplist']);

/** Comma-separated names (Openfire's StringTokenizer: empty ones skipped). */
function namesOf(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  return [...new Set(text.split(',').filter((s) => s !== ''))];
}

/** Address lists of `userService.allowedIps`, built once per list. */
const allowLists = new WeakMap<string[], BlockList>();

function allowed(ip: string, list: string[]): boolean {
  if (list.length === 0) return true;
  let block = allowLists.get(list);
  if (!block) {
    block = new BlockList();
    for (const entry of list) {
      const [addr, bits] = entry.split('/');
      const v = isIP(addr ?? '');
      if (!v) continue;
      const family = v === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) block.addAddress(addr!, family);
      else block.addSubnet(addr!, Number(bits), family);
    }
    allowLists.set(list, block);
  }
  const v = isIP(ip);
  if (v === 0) return false;
  if (block.check(ip, v === 6 ? 'ipv6' : 'ipv4')) return true;
  // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped !== null && block.check(mapped[1]!, 'ipv4');
}

function secretMatches(given: string | null, configured: string | undefined): boolean {
  if (!given || !configured) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(configured));
}

/**
 * What the accounts service offers beyond registration on the branches that add it (the hosting
 * API's disable/enable, Openfire's profile): used when present. Without disable, `disable` falls
 * back to ban_account's effect (sessions closed, password replaced) and `enable` cannot undo it.
 */
interface AccountExtras {
  disable?(p: AccountRef, reason?: string): Promise<void>;
  enable?(p: AccountRef): Promise<void>;
  setProfile?(p: AccountRef, profile: { name?: string; email?: string; properties: Record<string, string> }): Promise<void>;
  profile?(p: AccountRef): Promise<{ name?: string; email?: string; properties: Record<string, string> }>;
}

/** The User Service on its three paths, each a dialect of its own (the longest mount prefix wins over the REST API's). */
export function userServiceDialects(server: AdminHost): Dialect[] {
  return USER_SERVICE_PATHS.map((path, i) => ({
    name: i === 0 ? 'openfire-userservice' : `openfire-userservice-${i}`,
    prefix: path,
    routes: [
      { method: 'GET' as const, path, handle: (ctx: RequestContext) => handle(server, ctx, ctx.query) },
      {
        method: 'POST' as const,
        path,
        body: formBody,
        handle: (ctx: RequestContext) => {
          const params = new URLSearchParams(ctx.query);
          for (const [k, v] of ctx.body as URLSearchParams) if (!params.has(k)) params.set(k, v);
          return handle(server, ctx, params);
        },
      },
    ],
    auth: [],
    codecs: [textXml],
    errors: {
      noRoute: () => new Reply(404, '<error>NotFound</error>\n', textXml),
      methodNotAllowed: () => new Reply(405, '<error>MethodNotAllowed</error>\n', textXml),
      badParameter: () => failure('IllegalArgumentException'),
      bodyTooLarge: () => new Reply(413, '<error>IllegalArgumentException</error>\n', textXml),
      badBody: () => failure('IllegalArgumentException'),
      unsupportedMediaType: () => failure('IllegalArgumentException'),
      // The answer is XML whatever the client accepts, as in Openfire.
      notAcceptable: () => failure('IllegalArgumentException'),
      unauthorized: () => failure('RequestNotAuthorised'),
      domain: () => failure('IllegalArgumentException'),
      internal: () => new Reply(500, '<error>InternalError</error>\n', textXml),
    },
  }));
}

async function handle(server: AdminHost, ctx: RequestContext, params: URLSearchParams): Promise<Reply> {
  const type = params.get('type') ?? '';
  const record = (result: string) =>
    server.audit.record({
      surface: 'userservice',
      who: 'secret',
      from: ctx.ip,
      action: type === '' ? '(none)' : type,
      details: auditDetails([...params.entries()].filter(([k]) => k !== 'type')),
      result,
    });
  const config = server.config.userService;
  // Openfire's order: the address, then the switch, then the secret.
  if (!allowed(ctx.ip, config.allowedIps)) {
    record('RequestNotAuthorised');
    return failure('RequestNotAuthorised');
  }
  if (!config.enabled) {
    record('UserServiceDisabled');
    return failure('UserServiceDisabled');
  }
  if (!secretMatches(params.get('secret'), config.secret)) {
    record('RequestNotAuthorised');
    return failure('RequestNotAuthorised');
  }
  try {
    const reply = await perform(server, ctx.ip, type, params);
    record('ok');
    return reply;
  } catch (err) {
    if (err instanceof UserServiceError) {
      record(err.code);
      return failure(err.code);
    }
    server.log.error({ err, type }, 'user service request failed');
    record('internal');
    return new Reply(500, '<error>InternalError</error>\n', textXml);
  }
}

/** The error string of a domain error of the commands, by what it means for this request. */
function errorOf(err: DomainError, missing: ErrorString = 'UserNotFoundException'): ErrorString {
  switch (err.kind) {
    case 'not-found':
      return missing;
    case 'conflict':
      return 'UserAlreadyExistsException';
    default:
      return 'IllegalArgumentException';
  }
}

async function perform(server: AdminHost, ip: string, type: string, params: URLSearchParams): Promise<Reply> {
  if (!TYPES.has(type)) throw new UserServiceError('IllegalArgumentException');
  const host = server.config.userService.host ?? server.config.hosts[0]!;
  const caller: Caller = { surface: 'http', admin: true, ip, auditAs: null };
  /** Runs a command of the registry; its domain errors become the request's error strings. */
  const run = async (name: string, args: Record<string, string>, missing?: ErrorString): Promise<unknown> => {
    const def = server.commands.get(name);
    if (!def) throw new Error(`command ${name} is not registered`);
    const outcome = await runCommand(server, def, args, caller);
    if (outcome.ok) {
      // A rescode command's `false` is a refusal without an error kind (a contact that is no JID...).
      if (outcome.value === false) throw new UserServiceError('IllegalArgumentException');
      return outcome.value;
    }
    if (outcome.error === 'internal') throw new Error(`${name} failed`);
    throw new UserServiceError(errorOf(outcome.error, missing));
  };

  const groupIds = async (): Promise<string[]> => (await run('srg_list', { host })) as string[];
  if (type === 'grouplist') return groupList(await groupIds());

  const given = params.get('username');
  if (given === null) throw new UserServiceError('IllegalArgumentException');
  const account = server.accounts.tryPrepare(given.trim().toLowerCase(), host);
  if (!account) throw new UserServiceError('IllegalArgumentException');
  const user = account.user;
  const existing = async () => {
    if (!(await server.accounts.exists(account))) throw new UserServiceError('UserNotFoundException');
  };
  const accounts = server.accounts as unknown as AccountExtras;

  /** The shared groups the account is a member of. */
  const groupsOfUser = async (): Promise<string[]> => {
    const mine: string[] = [];
    const jid = `${user}@${host}`;
    for (const id of await groupIds()) if (((await run('srg_get_members', { group: id, host })) as string[]).includes(jid)) mine.push(id);
    return mine;
  };
  /** Joins the account to the named shared groups, creating those that do not exist (shown to nobody, as Openfire does). */
  const join = async (names: string[]) => {
    const known = new Set(await groupIds());
    for (const g of names) {
      if (!known.has(g)) await run('srg_create', { group: g, host, name: g, description: '', display: '' });
      await run('srg_user_add', { user, host, group: g, grouphost: host });
    }
  };
  const setProfile = async (name: string | null, email: string | null) => {
    if ((name === null && email === null) || !accounts.setProfile || !accounts.profile) return;
    const profile = await accounts.profile(account);
    await accounts.setProfile(account, { ...profile, ...(name !== null ? { name } : {}), ...(email !== null ? { email } : {}) });
  };

  switch (type) {
    case 'add': {
      const password = params.get('password');
      if (password === null || password === '') throw new UserServiceError('IllegalArgumentException');
      await run('register', { user, host, password });
      await setProfile(params.get('name'), params.get('email'));
      const groups = namesOf(params.get('groups'));
      if (groups) await join(groups);
      return ok();
    }
    case 'delete':
      // The account's roster goes with it (unregister removes everything the account holds).
      await run('unregister', { user, host });
      return ok();
    case 'update': {
      await existing();
      const password = params.get('password');
      if (password !== null) await run('change_password', { user, host, newpass: password });
      await setProfile(params.get('name'), params.get('email'));
      const groups = namesOf(params.get('groups'));
      if (groups) {
        const current = await groupsOfUser();
        await join(groups.filter((g) => !current.includes(g)));
        for (const g of current) if (!groups.includes(g)) await run('srg_user_del', { user, host, group: g, grouphost: host });
      }
      return ok();
    }
    case 'disable':
      await existing();
      if (accounts.disable) await accounts.disable(account, 'Account disabled');
      else await run('ban_account', { user, host, reason: 'Account disabled' });
      return ok();
    case 'enable':
      await existing();
      if (accounts.enable) await accounts.enable(account);
      else throw new UserServiceError('IllegalArgumentException');
      return ok();
    case 'usergrouplist':
      await existing();
      return groupList(await groupsOfUser());
    default:
      return roster(type, params, { user, host, run, groupIds, existing });
  }
}

interface RosterCalls {
  user: string;
  host: string;
  run: (name: string, args: Record<string, string>, missing?: ErrorString) => Promise<unknown>;
  groupIds: () => Promise<string[]>;
  existing: () => Promise<void>;
}

/** add_roster, update_roster, delete_roster. */
async function roster(type: string, params: URLSearchParams, { user, host, run, groupIds, existing }: RosterCalls): Promise<Reply> {
  const itemJid = params.get('item_jid');
  const sub = params.get('subscription');
  if (itemJid === null || (sub !== null && !(sub in SUBSCRIPTIONS))) throw new UserServiceError('IllegalArgumentException');
  const contact = tryParseJID(itemJid);
  if (!contact || contact.local === '') throw new UserServiceError('IllegalArgumentException');
  await existing();
  const items = (await run('get_roster', { user, server: host })) as { jid: string; nick: string }[];
  const present = items.some((i) => i.jid === contact.bare);
  const contactArgs = { localuser: user, localhost: host, user: contact.local, host: contact.domain };
  const remove = async () => {
    try {
      await run('delete_rosteritem', contactArgs, 'UserNotFoundException');
    } catch (err) {
      // Shown in the roster but not stored in it: a contact of a shared group.
      if (err instanceof UserServiceError && err.code === 'UserNotFoundException' && present) throw new UserServiceError('SharedGroupException');
      // Deleting what is not there is no error (Openfire's deleteRosterItem).
      if (!(err instanceof UserServiceError && err.code === 'UserNotFoundException')) throw err;
    }
  };
  if (type === 'delete_roster') {
    await remove();
    return ok();
  }
  if (type === 'add_roster' && present) throw new UserServiceError('UserAlreadyExistsException');
  if (type === 'update_roster' && !present) throw new UserServiceError('UserNotFoundException');
  const groups = namesOf(params.get('groups')) ?? [];
  // Roster groups may not be named as a shared group (Openfire's SharedGroupException).
  const shared = new Set(await groupIds());
  if (groups.some((g) => shared.has(g))) throw new UserServiceError('SharedGroupException');
  const subscription = SUBSCRIPTIONS[sub ?? '0']!;
  if (subscription === 'remove') {
    await remove();
    return ok();
  }
  await run('add_rosteritem', { ...contactArgs, nick: params.get('name') ?? '', group: groups.join(';'), subs: subscription });
  return ok();
}
