import type { ScramCredentials } from '../../c2s/sasl.js';

export interface StoredCredentials {
  scramSha1?: ScramCredentials;
  scramSha256?: ScramCredentials;
  /** Only kept when `storage.passwordFormat` is `plain`. */
  plain?: string;
}

export interface AccountRecord extends StoredCredentials {
  host: string;
  user: string;
  createdAt: number;
}

export interface AccountStore {
  get(host: string, user: string): Promise<AccountRecord | undefined>;
  /** Returns false when the account already exists. */
  create(record: AccountRecord): Promise<boolean>;
  /** Returns false when there is no such account. */
  setCredentials(host: string, user: string, creds: StoredCredentials): Promise<boolean>;
  /** Returns false when there is no such account. */
  delete(host: string, user: string): Promise<boolean>;
  list(host: string): Promise<string[]>;
  count(host: string): Promise<number>;
}
