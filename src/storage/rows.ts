import type { StoredCredentials } from '../modules/accounts/store.js';
import type { RosterItem, RosterScanFilter, Subscription } from '../modules/roster/store.js';

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

/** A roster row as written by `put` (the item fields, without the owner). */
export type RosterWriteRow = ReturnType<typeof rosterItemToRow>;

/**
 * Whether replacing `old` (undefined: no item) with `next` changes what a client sees of the
 * roster, i.e. whether the roster version must change (RFC 6121 §2.6.3: a modification is a change
 * that would result in a roster push). `pending_in` is never shown to clients.
 */
export function rosterChangeIsVisible(old: RosterRow | undefined, next: RosterWriteRow): boolean {
  const wasVisible = old !== undefined && Number(old.visible) === 1;
  if (!wasVisible || !next.visible) return wasVisible || next.visible === 1;
  return (
    old.name !== next.name ||
    old.subscription !== next.subscription ||
    Number(old.ask_out) !== next.ask_out ||
    Number(old.approved) !== next.approved ||
    old.groups_json !== next.groups_json
  );
}

/** The per-owner metadata row (migration 2). PostgreSQL returns BIGINT as a string. */
export interface RosterMetaRow {
  version: number | string;
  items: number | string;
}

/** A roster row with its owner, as a scan selects it. */
export type OwnedRosterRow = RosterRow & { owner: string };

/**
 * The query of `RosterStore.scan`, with `?` placeholders: the filter becomes conditions on the
 * columns, paging is keyset on the primary key (owner, jid), compared as a row value in the
 * same order as the ORDER BY, so the primary key's index serves both.
 */
export function rosterScanQuery(filter: RosterScanFilter, after: { owner: string; jid: string } | undefined, limit: number): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (after) {
    where.push('(owner, jid) > (?, ?)');
    params.push(after.owner, after.jid);
  }
  if (filter.subscriptions) {
    if (filter.subscriptions.length === 0) where.push('1 = 0');
    else {
      where.push(`subscription IN (${filter.subscriptions.map(() => '?').join(', ')})`);
      params.push(...filter.subscriptions);
    }
  }
  if (filter.pending) {
    const any = new Set(filter.pending);
    const alternatives: string[] = [];
    if (any.has('none')) alternatives.push('(ask_out = 0 AND pending_in = 0)');
    if (any.has('out')) alternatives.push('ask_out = 1');
    if (any.has('in')) alternatives.push('pending_in = 1');
    where.push(alternatives.length ? `(${alternatives.join(' OR ')})` : '1 = 0');
  }
  params.push(limit);
  const sql = `SELECT * FROM roster_items${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY owner, jid LIMIT ?`;
  return { sql, params };
}
