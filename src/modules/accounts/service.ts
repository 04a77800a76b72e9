import * as crypto from 'node:crypto';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ModuleContext } from '../module.js';
import { passwordFormatOf } from '../../config/schema.js';
import { DomainError, badArgument, conflict, notFound } from '../../errors.js';
import { nodeprep, JIDError } from '../../xmpp/jid.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import { deriveScramCredentialsAsync, verifyPasswordAgainstScramAsync, SaslError, type SaslBackend, type ScramCredentials, type ScramHash } from '../../c2s/sasl.js';
import type { ValueStore } from '../../storage/kinds.js';
import type { AccountProfile, AccountRecord, AccountStore, DisabledMark, StoredCredentials } from './store.js';

/** What the accounts module keeps: the accounts, and the mark of those that are disabled. */
export interface AccountStores {
  accounts: AccountStore;
  disabled: ValueStore<DisabledMark>;
  /** Openfire's user fields (store kind `profile`). */
  profiles: ValueStore<AccountProfile>;
}

/** Accounts: creation, removal and passwords, for every surface (XMPP, admin APIs). */
export class AccountService {
  /**
   * Recently verified cleartext passwords (PLAIN, HTTP basic auth), keyed by an HMAC under a
   * per-process key and the stored key they were checked against, so a password change or a
   * removed account invalidates them by itself. Saves a PBKDF2 run per login of the same account.
   */
  private verified = new Map<string, number>();
  private readonly cacheKey = randomBytes(32);
  /** What an unknown account's password is checked against, so that a failure costs the same either way. */
  private decoy: Promise<StoredCredentials> | undefined;
  /**
   * The last password verified per account (an HMAC of it, never the text), so that a repeated check
   * (HTTP basic auth on every admin request) needs no storage read. Dropped by changePassword and
   * unregister; a check that overlapped one of them does not fill it (the epoch moved).
   */
  private readonly recent = new Map<string, { digest: string; until: number }>();
  private epoch = 0;

  constructor(private readonly ctx: ModuleContext<never, AccountStores>) {
    // clear_cache, restart_module, or restored data: passwords verified against the old credentials prove nothing now.
    ctx.hooks.on('caches-clear', ({ module }) => {
      if (module !== undefined && module !== ctx.name) return;
      this.epoch++;
      this.recent.clear();
      this.verified.clear();
      this.decoy = undefined;
    });
  }

  /** SHA-256 under the per-process key (a prefix: only equality is asked of it), in one call. */
  private passwordDigest(bare: string, password: string): string {
    return oneShotHash('sha256', `${this.cacheKeyText}${bare}\0${password}`, 'base64');
  }

  private readonly cacheKeyText = this.cacheKey.toString('base64');

  /** Whether this password was verified for the account (a prepared bare JID) lately: no storage read, no PBKDF2. */
  verifiedRecently(bare: string, password: string): boolean {
    const hit = this.recent.get(bare);
    return hit !== undefined && hit.until > Date.now() && hit.digest === this.passwordDigest(bare, password);
  }

  private forget(bare: string): void {
    this.epoch++;
    this.recent.delete(bare);
  }

  /**
   * An imported account with one SCRAM mechanism's keys only (SCRAM-SHA-1 from Prosody or ejabberd)
   * gets the other's at the first login that reveals its password (PLAIN, HTTP basic auth), so
   * every offered mechanism serves it from then on. A failure is logged; the login goes on.
   */
  private async completeCredentials(p: AccountRef, rec: StoredCredentials, password: string): Promise<void> {
    try {
      const creds = await this.credentials(password);
      if (rec.plain !== undefined && creds.plain === undefined) creds.plain = rec.plain;
      await this.store.setCredentials(p, creds);
      this.ctx.log.info({ account: bareOf(p) }, 'credentials completed with every SCRAM mechanism at login');
    } catch (err) {
      this.ctx.log.warn({ err, account: bareOf(p) }, 'completing imported credentials failed');
    }
  }

  private async verify(p: AccountRef, rec: StoredCredentials, password: string): Promise<boolean> {
    const stored = rec.scramSha256?.storedKey ?? rec.scramSha1?.storedKey ?? '';
    const key = createHmac('sha256', this.cacheKey).update(`${bareOf(p)}\0${stored}\0`).update(password).digest('base64');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await verifyStored(rec, password);
    if (ok && (!rec.scramSha1 || !rec.scramSha256)) await this.completeCredentials(p, rec, password);
    if (ok) {
      if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
      this.verified.set(key, Date.now() + VERIFIED_MS);
    }
    return ok;
  }

  private get store() {
    return this.ctx.store.accounts;
  }

  /**
   * Disables an existing account: it keeps its data (roster, archives, vCard...), its sessions are
   * closed (<not-authorized/>), and no password or SCRAM key of it opens a session or an admin
   * request until `enable`. Idempotent; an unknown account is a not-found error.
   */
  async disable(p: AccountRef, reason = 'Account disabled'): Promise<void> {
    await this.mustExist(p);
    await this.ctx.store.disabled.set(p, { at: Date.now(), reason });
    this.forget(bareOf(p));
    for (const s of this.ctx.sessions.resources(bareOf(p))) this.ctx.sessions.close(s, 'not-authorized', reason);
  }

  /** Lets a disabled account log in again, with everything it had. Idempotent; an unknown account is a not-found error. */
  async enable(p: AccountRef): Promise<void> {
    await this.mustExist(p);
    await this.ctx.store.disabled.delete(p);
    this.forget(bareOf(p));
  }

  /** An account's display name, email and free properties (Openfire's user fields); empty when none were set. */
  async profile(p: AccountRef): Promise<AccountProfile> {
    return (await this.ctx.store.profiles.get(p)) ?? { properties: {} };
  }

  async setProfile(p: AccountRef, profile: AccountProfile): Promise<void> {
    await this.mustExist(p);
    await this.ctx.store.profiles.set(p, profile);
  }

  /**
   * Renames an account (Openfire's PUT of a user with another username): a new account with the same
   * credentials, creation time, profile and disabled mark, then the old one is removed with everything
   * it held. Other data (roster, vCard...) is not carried over.
   */
  async rename(from: AccountRef, to: AccountRef): Promise<void> {
    const rec = await this.store.get(from);
    if (rec === undefined) throw notFound(`User ${bareOf(from)} does not exist`);
    if (!(await this.store.create({ ...rec, ...to }))) throw conflict(`User ${bareOf(to)} already registered`);
    const profile = await this.ctx.store.profiles.get(from);
    if (profile) await this.ctx.store.profiles.set(to, profile);
    const mark = await this.ctx.store.disabled.get(from);
    if (mark) await this.ctx.store.disabled.set(to, mark);
    await this.ctx.hooks.emit('account-created', to);
    await this.ctx.hooks.emit('account-renaming', { from, to });
    await this.unregister(from);
  }

  /** The account's disabled mark, or undefined when it may log in (or does not exist). */
  disabledMark(p: AccountRef): Promise<DisabledMark | undefined> {
    return this.ctx.store.disabled.get(p);
  }

  /**
   * The account reference for a username and host given as text (an API argument, a login name):
   * nodeprep'd, on a served host, or a domain error saying which part is wrong. Every other method
   * takes the reference this returns (or `accountOf` a bound JID).
   */
  prepare(user: string, host: string): AccountRef {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    let u: string;
    try {
      u = nodeprep(user);
    } catch (err) {
      throw badArgument(`Invalid user name: ${(err as Error).message}`);
    }
    if (u === '') throw badArgument('Invalid user name: empty');
    return { user: u, host: h };
  }

  async credentials(password: string): Promise<StoredCredentials> {
    const iterations = this.ctx.config.storage.scramIterations;
    let creds: StoredCredentials;
    try {
      const [scramSha1, scramSha256] = await Promise.all([
        deriveScramCredentialsAsync(password, 'sha1', iterations),
        deriveScramCredentialsAsync(password, 'sha256', iterations),
      ]);
      creds = { scramSha1, scramSha256 };
    } catch (err) {
      if (err instanceof SaslError) throw badArgument('Invalid password: it contains characters that are not allowed');
      throw err;
    }
    if (passwordFormatOf(this.ctx.config) === 'plain') creds.plain = password;
    return creds;
  }

  async register(p: AccountRef, password: string): Promise<AccountRef> {
    if (password === '') throw badArgument('Empty password');
    const record: AccountRecord = { ...p, createdAt: Date.now(), ...(await this.credentials(password)) };
    if (!(await this.store.create(record))) throw conflict(`User ${bareOf(p)} already registered`);
    await this.ctx.hooks.emit('account-created', p);
    return p;
  }

  /**
   * Removes the account and everything it owns, or nothing (the error propagates). `committed`
   * runs once the removal is committed, before the account's sessions are closed.
   */
  async unregister(p: AccountRef, committed?: () => void): Promise<void> {
    const bare = bareOf(p);
    // One transaction: the account and everything every feature holds for it go together, or
    // nothing goes (a feature's handler that throws rolls it all back, and the error propagates).
    try {
      await this.ctx.transaction(async (tx) => {
        if (!(await tx.accounts.delete(p))) throw notFound(`User ${bare} does not exist`);
        await tx.removeAccountData(p);
        await this.ctx.hooks.emitInTransaction('account-removing', { ...p, tx });
      });
    } finally {
      this.forget(bare);
    }
    committed?.();
    for (const s of this.ctx.sessions.resources(bare)) this.ctx.sessions.close(s, 'not-authorized', 'Account removed');
    await this.ctx.hooks.emit('account-removed', p);
  }

  async exists(p: AccountRef): Promise<boolean> {
    return (await this.store.get(p)) !== undefined;
  }

  /** The account, or a not-found error naming it: what a command acting on an existing account checks first. */
  async mustExist(p: AccountRef): Promise<AccountRef> {
    if (!(await this.exists(p))) throw notFound(`User ${bareOf(p)} does not exist`);
    return p;
  }

  /** `prepare`, then `mustExist`: an existing account named by a username and a host given as text. */
  existing(user: string, host: string): Promise<AccountRef> {
    return this.mustExist(this.prepare(user, host));
  }

  /** `prepare`, or undefined where it would throw (a name that cannot be an account here). */
  tryPrepare(user: string, host: string): AccountRef | undefined {
    try {
      return this.prepare(user, host);
    } catch {
      return undefined;
    }
  }

  async checkPassword(p: AccountRef, password: string): Promise<boolean> {
    const bare = bareOf(p);
    if (this.verifiedRecently(bare, password)) return true;
    const epoch = this.epoch;
    const rec = await this.store.get(p);
    if (rec === undefined) return this.failLikeAKnownAccount(p, password);
    const ok = (await this.verify(p, rec, password)) && (await this.disabledMark(p)) === undefined;
    if (ok && epoch === this.epoch) {
      // Bounded: a full map starts over (a miss costs one storage read and one HMAC, not a PBKDF2 run).
      if (this.recent.size >= VERIFIED_MAX && !this.recent.has(bare)) this.recent.clear();
      this.recent.set(bare, { digest: this.passwordDigest(bare, password), until: Date.now() + VERIFIED_MS });
    }
    return ok;
  }

  /**
   * The failure path for an account that does not exist, at the cost of a wrong password for one
   * that does: the same cache key and the same check (PBKDF2 at the configured iteration count, or
   * a comparison when passwords are stored in plain) against decoy credentials. Otherwise the time
   * of a failed login tells whether the user name exists (about 1 ms at 4096 iterations).
   */
  private async failLikeAKnownAccount(p: AccountRef, password: string): Promise<false> {
    const decoy = await (this.decoy ??= this.decoyCredentials());
    createHmac('sha256', this.cacheKey).update(`${bareOf(p)}\0${decoy.scramSha256?.storedKey ?? ''}\0`).update(password).digest('base64');
    await verifyStored(decoy, password);
    return false;
  }

  private async decoyCredentials(): Promise<StoredCredentials> {
    const secret = randomBytes(24).toString('base64');
    const creds: StoredCredentials = {
      scramSha256: await deriveScramCredentialsAsync(secret, 'sha256', this.ctx.config.storage.scramIterations),
    };
    if (passwordFormatOf(this.ctx.config) === 'plain') creds.plain = secret;
    return creds;
  }

  async changePassword(p: AccountRef, password: string): Promise<void> {
    if (password === '') throw badArgument('Empty password');
    const updated = await this.store.setCredentials(p, await this.credentials(password));
    // After the write: a check that read the old credentials before it cannot fill the cache after this.
    this.forget(bareOf(p));
    if (!updated) {
      throw notFound(`User ${bareOf(p)} does not exist`);
    }
  }

  /**
   * Bans an account as ejabberd's ban_account does: its password becomes a random one nobody knows
   * (`BANNED_ACCOUNT--<UTC time>--<random>--<reason>`), then every session of it is closed with a
   * <conflict/> stream error carrying the reason. An unknown account is an error (nothing is created).
   */
  async ban(p: AccountRef, reason: string): Promise<void> {
    await this.mustExist(p);
    const why = reason === '' ? 'Kicked by administrator' : reason;
    const stamp = new Date().toISOString().slice(0, 19).replaceAll('-', '');
    // The password first: a client reconnecting as its session is closed finds it changed.
    const password = `BANNED_ACCOUNT--${stamp}--${randomBytes(16).toString('base64url')}`;
    try {
      await this.changePassword(p, `${password}--${why}`);
    } catch (err) {
      // A reason SASLprep refuses in a password (a control character...) is left out of it.
      if (!(err instanceof DomainError && err.kind === 'bad-argument')) throw err;
      await this.changePassword(p, password);
    }
    for (const s of this.ctx.sessions.resources(bareOf(p))) this.ctx.sessions.close(s, 'conflict', why);
  }

  /**
   * Whether `hash` (hex, any case) is the digest of the account's password under `method`
   * (HASH_METHODS). Needs the cleartext: an account whose password is stored as SCRAM only (the
   * default `auth.passwordFormat`, or after convert_to_scram) cannot be checked, which is an error,
   * as in ejabberd. An unknown account or host is `false`, like check_password.
   */
  async checkPasswordHash(p: AccountRef | undefined, hash: string, method: string): Promise<boolean> {
    const algorithm = HASH_METHODS[method.toLowerCase()];
    if (algorithm === undefined) {
      throw badArgument(`Unknown hash method: ${method} (supported: ${Object.keys(HASH_METHODS).join(', ')})`);
    }
    const rec = p && (await this.store.get(p));
    if (rec === undefined) return false;
    if (rec.plain === undefined) {
      throw badArgument(`The password of ${bareOf(p!)} is stored as SCRAM only: check_password_hash cannot work (auth.passwordFormat: plain keeps it)`);
    }
    const expected = createHash(algorithm).update(rec.plain, 'utf8').digest();
    const given = /^(?:[0-9a-fA-F]{2})+$/.test(hash) ? Buffer.from(hash, 'hex') : Buffer.alloc(0);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * ejabberd's convert_to_scram: every account of the host whose cleartext password is stored keeps
   * only its SCRAM keys. Returns how many were converted. Passwords set later are stored as
   * `auth.passwordFormat` says: set it to scram too, or they are stored in cleartext again.
   */
  async convertToScram(host: string): Promise<number> {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    let converted = 0;
    for (const user of await this.store.list(h)) {
      const p = { user, host: h };
      const rec = await this.store.get(p);
      if (rec?.plain === undefined) continue;
      if (!rec.scramSha1 || !rec.scramSha256) {
        // Without SCRAM keys beside it (an import): derive them, then drop the cleartext.
        const scram = await this.credentials(rec.plain);
        delete scram.plain;
        if (await this.store.setCredentials(p, scram)) converted++;
      } else if (await this.store.clearPlain(p, rec.plain)) converted++;
      this.forget(bareOf(p));
    }
    return converted;
  }

  /** When the account was created (ms since the epoch), or undefined when it does not exist. */
  /** The stored credentials of an account (export_piefxis), or undefined when it does not exist. */
  async storedCredentials(p: AccountRef): Promise<StoredCredentials | undefined> {
    const r = await this.store.get(p);
    if (!r) return undefined;
    const { scramSha1, scramSha256, plain } = r;
    return { ...(scramSha1 ? { scramSha1 } : {}), ...(scramSha256 ? { scramSha256 } : {}), ...(plain !== undefined ? { plain } : {}) };
  }

  /**
   * Creates an account with credentials made elsewhere (an import: SCRAM keys of another server, or
   * a password). False when it already exists. A password is turned into credentials as `register`
   * does; SCRAM keys are kept as they are (an account with SCRAM-SHA-1 keys only logs in with
   * SCRAM-SHA-1 or PLAIN, and PLAIN then adds the other mechanism's keys).
   */
  async createImported(p: AccountRef, creds: { password: string } | StoredCredentials, createdAt = Date.now()): Promise<boolean> {
    const stored = 'password' in creds ? await this.credentials(creds.password) : creds;
    if (!stored.scramSha1 && !stored.scramSha256 && stored.plain === undefined) throw badArgument('No credentials');
    if (!(await this.store.create({ ...p, createdAt, ...stored }))) return false;
    await this.ctx.hooks.emit('account-created', p);
    return true;
  }

  /** Replaces an existing account's credentials with imported ones (an import asked to overwrite). */
  async replaceCredentials(p: AccountRef, creds: { password: string } | StoredCredentials): Promise<void> {
    const stored = 'password' in creds ? await this.credentials(creds.password) : creds;
    if (!(await this.store.setCredentials(p, stored))) throw notFound(`User ${bareOf(p)} does not exist`);
    this.forget(bareOf(p));
  }

  async createdAt(p: AccountRef): Promise<number | undefined> {
    return (await this.store.get(p))?.createdAt;
  }

  async list(host: string): Promise<string[]> {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    return this.store.list(h);
  }

  async count(host: string): Promise<number> {
    const h = this.ctx.prepareHost(host);
    return h === undefined ? 0 : this.store.count(h);
  }

  /** What SASL needs for logins to one host. */
  saslBackend(host: string): SaslBackend {
    const lookup = async (username: string) => {
      let u: string;
      try {
        u = nodeprep(username);
      } catch (err) {
        if (err instanceof JIDError) return undefined;
        throw err;
      }
      const p = { user: u, host };
      const [rec, disabled] = await Promise.all([this.store.get(p), this.disabledMark(p)]);
      // A disabled account is refused as an unknown one is (SASL tells nothing more).
      return disabled === undefined ? rec : undefined;
    };
    return {
      getScram: async (username: string, hash: ScramHash): Promise<ScramCredentials | undefined> => {
        const rec = await lookup(username);
        return hash === 'sha1' ? rec?.scramSha1 : rec?.scramSha256;
      },
      checkPlain: async (username: string, password: string) => {
        const rec = await lookup(username);
        if (rec === undefined) return this.failLikeAKnownAccount({ user: username, host }, password);
        return this.verify({ user: rec.user, host }, rec, password);
      },
      scramIterations: this.ctx.config.storage.scramIterations,
    };
  }
}

/** crypto.hash is Node.js 20.12 and later. */
const oneShotHash: (algorithm: string, data: string, encoding: 'base64') => string =
  crypto.hash ?? ((algorithm, data, encoding) => createHash(algorithm).update(data).digest(encoding));

/**
 * The digests check_password_hash knows (ejabberd takes the names of Erlang's crypto module: `sha`
 * is SHA-1), by the name the command is given.
 */
const HASH_METHODS: Record<string, string> = {
  md5: 'md5',
  sha: 'sha1',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};

/** Bound and lifetime of both caches of verified passwords. */
const VERIFIED_MAX = 100_000;
const VERIFIED_MS = 10 * 60_000;

async function verifyStored(rec: StoredCredentials, password: string): Promise<boolean> {
  if (rec.plain !== undefined) return rec.plain === password;
  if (rec.scramSha256) return verifyPasswordAgainstScramAsync(password, 'sha256', rec.scramSha256);
  if (rec.scramSha1) return verifyPasswordAgainstScramAsync(password, 'sha1', rec.scramSha1);
  return false;
}
