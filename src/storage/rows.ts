import type { StoredCredentials } from '../modules/accounts/store.js';
import type { RosterItem, Subscription } from '../modules/roster/store.js';

/** Row shapes and conversions shared by the SQL backends. */
export interface AccountRow {
  host: string;
  username: string;
  scram_sha1: string | null;
  scram_sha256: string | null;
  plain_password: string | null;
  created_at: number | string;
}

export function credentialsToRow(c: StoredCredentials) {
  return {
    scram_sha1: c.scramSha1 ? JSON.stringify(c.scramSha1) : null,
    scram_sha256: c.scramSha256 ? JSON.stringify(c.scramSha256) : null,
    plain_password: c.plain ?? null,
  };
}

export function credentialsFromRow(row: AccountRow): StoredCredentials {
  const c: StoredCredentials = {};
  if (row.scram_sha1) c.scramSha1 = JSON.parse(row.scram_sha1);
  if (row.scram_sha256) c.scramSha256 = JSON.parse(row.scram_sha256);
  if (row.plain_password !== null) c.plain = row.plain_password;
  return c;
}

export interface RosterRow {
  jid: string;
  name: string;
  subscription: string;
  ask_out: number;
  pending_in: number;
  approved: number;
  groups_json: string;
  visible: number;
}

export function rosterItemToRow(i: RosterItem) {
  return {
    jid: i.jid,
    name: i.name,
    subscription: i.subscription,
    ask_out: i.askOut ? 1 : 0,
    pending_in: i.pendingIn ? 1 : 0,
    approved: i.approved ? 1 : 0,
    groups_json: JSON.stringify(i.groups),
    visible: i.visible ? 1 : 0,
  };
}

export function rosterItemFromRow(r: RosterRow): RosterItem {
  return {
    jid: r.jid,
    name: r.name,
    subscription: r.subscription as Subscription,
    askOut: !!r.ask_out,
    pendingIn: !!r.pending_in,
    approved: !!r.approved,
    groups: JSON.parse(r.groups_json),
    visible: !!r.visible,
  };
}
