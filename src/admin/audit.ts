/**
 * The audit log's contract: every admin action on every surface (ejabberd `/api`, XML-RPC,
 * `parley ctl`, the Openfire REST API and User Service, the hosting `jabber-*` API) is one entry:
 * who, from where, what, and how it ended. Openfire's security-log endpoint reads it; an operator
 * can also have it written to a file. Surfaces record through `AdminHost.audit`.
 */
export type AuditSurface = 'api' | 'xmlrpc' | 'ctl' | 'openfire' | 'userservice' | 'hosting' | 'oauth';

export interface AuditEntry {
  /** Increasing id (the order entries were recorded in). */
  id: number;
  /** Milliseconds since the epoch. */
  at: number;
  surface: AuditSurface;
  /** Who acted: an admin's bare JID, `secret` (a shared secret or API key name), `ctl` (the local operator). */
  who: string;
  /** Where from: the peer's IP address, or `local` for the control socket. */
  from: string;
  /** What: the command or the method and path (`create_room`, `POST /plugins/restapi/v1/users`). */
  action: string;
  /** The action's object or arguments, summarised with secrets (passwords, tokens) left out. */
  details: string;
  /** How it ended: `ok`, or the error's kind/status (`not-found`, `403`, ...). */
  result: string;
}

export interface AuditQuery {
  /** Entries by this actor only. */
  who?: string;
  /** Entries at or after / before this time (ms). */
  start?: number;
  end?: number;
  offset?: number;
  limit?: number;
}

export interface AuditLog {
  /** Records an entry (never throws: an audit failure is logged, the action's answer is not changed). */
  record(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): void;
  /** Newest first. */
  query(q: AuditQuery): Promise<AuditEntry[]>;
}

/** Where entries are kept (one table, both backends; migration 10). */
export interface AuditStore {
  /** Appends entries in the order given; ids are assigned by the store. */
  append(entries: readonly Omit<AuditEntry, 'id'>[]): Promise<void>;
  /** Newest first. */
  query(q: AuditQuery): Promise<AuditEntry[]>;
  /** Removes entries older than `before` (ms) and all but the newest `keep`; returns how many went. */
  trim(keep: number, before: number): Promise<number>;
}
