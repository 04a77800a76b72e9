/**
 * The one way Parley names a local account: its prepared username and served host, as an object.
 * Services and stores take an `AccountRef`, never a `(user, host)` or `(host, user)` pair of strings
 * nor a `user@host` string to parse again. Made from untrusted text by `AccountService.prepare`
 * (nodeprep, served host), from a bound or parsed JID by `accountOf`.
 */
import { JID } from './jid.js';

export interface AccountRef {
  /** The nodeprep'd username (a JID's localpart). */
  readonly user: string;
  /** A host this server serves (a JID's domainpart), prepared. */
  readonly host: string;
}

/** The account a JID belongs to (its localpart and domain); the JID's parts are already prepared. */
export function accountOf(jid: JID): AccountRef {
  return { user: jid.local, host: jid.domain };
}

/** The account's bare JID as text: the key of the session directory and of the SQL tables. */
export function bareOf(account: AccountRef): string {
  return `${account.user}@${account.host}`;
}

/** The account's bare JID, built from its prepared parts (nothing is parsed). */
export function jidOf(account: AccountRef): JID {
  return new JID(account.user, account.host);
}

/** Whether two references name the same account. */
export function sameAccount(a: AccountRef, b: AccountRef): boolean {
  return a.user === b.user && a.host === b.host;
}
