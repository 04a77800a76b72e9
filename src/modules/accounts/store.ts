import type { ScramCredentials } from '../../c2s/sasl.js';
import type { AccountRef } from '../../xmpp/account.js';

export interface StoredCredentials {
  scramSha1?: ScramCredentials;
  scramSha256?: ScramCredentials;
  /** Only kept when `auth.passwordFormat` is `plain` (until convert_to_scram). */
  plain?: string;
}

export interface AccountRecord extends StoredCredentials, AccountRef {
  createdAt: number;
}

export interface AccountStore {
  get(account: AccountRef): Promise<AccountRecord | undefined>;
  /** Returns false when the account already exists. */
  create(record: AccountRecord): Promise<boolean>;
  /** Returns false when there is no such account. */
  setCredentials(account: AccountRef, creds: StoredCredentials): Promise<boolean>;
  /**
   * Forgets the cleartext password if it is still `plain` (the SCRAM keys stored with it stay):
   * false when there is no such account or its password changed meanwhile.
   */
  clearPlain(account: AccountRef, plain: string): Promise<boolean>;
  /** Returns false when there is no such account. */
  delete(account: AccountRef): Promise<boolean>;
  list(host: string): Promise<string[]>;
  count(host: string): Promise<number>;
}

/** Why and since when an account is disabled: it keeps its data, and no credential of it opens a session. */
export interface DisabledMark {
  at: number;
  reason: string;
}
