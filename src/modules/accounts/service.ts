import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from '../../server.js';
import { badArgument, conflict, notFound } from '../../errors.js';
import { nodeprep, JIDError } from '../../xmpp/jid.js';
import { deriveScramCredentialsAsync, verifyPasswordAgainstScramAsync, SaslError, type SaslBackend, type ScramCredentials, type ScramHash } from '../../c2s/sasl.js';
import type { AccountRecord, StoredCredentials } from './store.js';

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

  constructor(private readonly server: Server) {}

  private async verify(p: { user: string; host: string }, rec: StoredCredentials, password: string): Promise<boolean> {
    const stored = rec.scramSha256?.storedKey ?? rec.scramSha1?.storedKey ?? '';
    const key = createHmac('sha256', this.cacheKey).update(`${p.user}@${p.host}\0${stored}\0`).update(password).digest('base64');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await verifyStored(rec, password);
    if (ok) {
      if (this.verified.size >= 100_000) this.verified.clear();
      this.verified.set(key, Date.now() + 10 * 60_000);
    }
    return ok;
  }

  private get store() {
    return this.server.storage.accounts;
  }

  /** Prepares a username for a served host, or throws a domain error saying which part is wrong. */
  prepare(user: string, host: string): { user: string; host: string } {
    const h = this.server.prepareHost(host);
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
    const iterations = this.server.config.storage.scramIterations;
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
    if (this.server.config.storage.passwordFormat === 'plain') creds.plain = password;
    return creds;
  }

  async register(user: string, host: string, password: string): Promise<{ user: string; host: string }> {
    const p = this.prepare(user, host);
    if (password === '') throw badArgument('Empty password');
    const record: AccountRecord = { ...p, createdAt: Date.now(), ...(await this.credentials(password)) };
    if (!(await this.store.create(record))) throw conflict(`User ${p.user}@${p.host} already registered`);
    await this.server.hooks.emit('account-created', p);
    return p;
  }

  async unregister(user: string, host: string): Promise<void> {
    const p = this.prepare(user, host);
    const bare = `${p.user}@${p.host}`;
    if (!(await this.store.delete(p.host, p.user))) throw notFound(`User ${bare} does not exist`);
    for (const s of this.server.sessions.resources(bare)) this.server.sessions.close(s, 'not-authorized', 'Account removed');
    await this.server.hooks.emit('account-removed', p);
  }

  async exists(user: string, host: string): Promise<boolean> {
    const p = this.tryPrepare(user, host);
    return p !== undefined && (await this.store.get(p.host, p.user)) !== undefined;
  }

  tryPrepare(user: string, host: string): { user: string; host: string } | undefined {
    try {
      return this.prepare(user, host);
    } catch {
      return undefined;
    }
  }

  async checkPassword(user: string, host: string, password: string): Promise<boolean> {
    const p = this.tryPrepare(user, host);
    if (!p) return false;
    const rec = await this.store.get(p.host, p.user);
    if (rec === undefined) return this.failLikeAKnownAccount(p, password);
    return this.verify(p, rec, password);
  }

  /**
   * The failure path for an account that does not exist, at the cost of a wrong password for one
   * that does: the same cache key and the same check (PBKDF2 at the configured iteration count, or
   * a comparison when passwords are stored in plain) against decoy credentials. Otherwise the time
   * of a failed login tells whether the user name exists (about 1 ms at 4096 iterations).
   */
  private async failLikeAKnownAccount(p: { user: string; host: string }, password: string): Promise<false> {
    const decoy = await (this.decoy ??= this.decoyCredentials());
    createHmac('sha256', this.cacheKey).update(`${p.user}@${p.host}\0${decoy.scramSha256?.storedKey ?? ''}\0`).update(password).digest('base64');
    await verifyStored(decoy, password);
    return false;
  }

  private async decoyCredentials(): Promise<StoredCredentials> {
    const secret = randomBytes(24).toString('base64');
    const creds: StoredCredentials = {
      scramSha256: await deriveScramCredentialsAsync(secret, 'sha256', this.server.config.storage.scramIterations),
    };
    if (this.server.config.storage.passwordFormat === 'plain') creds.plain = secret;
    return creds;
  }

  async changePassword(user: string, host: string, password: string): Promise<void> {
    const p = this.prepare(user, host);
    if (password === '') throw badArgument('Empty password');
    if (!(await this.store.setCredentials(p.host, p.user, await this.credentials(password)))) {
      throw notFound(`User ${p.user}@${p.host} does not exist`);
    }
  }

  async list(host: string): Promise<string[]> {
    const h = this.server.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    return this.store.list(h);
  }

  async count(host: string): Promise<number> {
    const h = this.server.prepareHost(host);
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
      return this.store.get(host, u);
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
      scramIterations: this.server.config.storage.scramIterations,
    };
  }
}

async function verifyStored(rec: StoredCredentials, password: string): Promise<boolean> {
  if (rec.plain !== undefined) return rec.plain === password;
  if (rec.scramSha256) return verifyPasswordAgainstScramAsync(password, 'sha256', rec.scramSha256);
  if (rec.scramSha1) return verifyPasswordAgainstScramAsync(password, 'sha1', rec.scramSha1);
  return false;
}
