import type { Sql } from './kinds-sql.js';

/**
 * Whole-database access, for backup, restore, dumps and SQL exports (the backup module): every
 * Parley table as rows, read in one consistent snapshot and replaced in one transaction. Feature
 * code never uses it; it goes through its own stores.
 */
export interface DatabaseAccess {
  /** The applied migration version (MAX(parley_schema.version)). */
  schemaVersion(): Promise<number>;
  /**
   * Runs `fn` on one consistent view of the database: PostgreSQL, a REPEATABLE READ READ ONLY
   * transaction (writers go on); SQLite, a transaction on the one connection (other statements wait).
   */
  snapshot<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Runs `fn` in one write transaction, every Parley table locked; serial counters follow the ids written. */
  replace<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** SQLite only: an online copy of the database file to `path` (better-sqlite3's backup API, pages copied while writes go on). */
  backupTo?(path: string): Promise<void>;
}

export interface TableSpec {
  readonly name: string;
  /** Every column, in the order of the latest migration. */
  readonly columns: readonly string[];
  /** Integer columns (written unquoted in SQL; PostgreSQL returns its BIGINTs as text). */
  readonly integers: readonly string[];
  /** The ORDER BY that reads the table in a stable order (paging). */
  readonly order: string;
  /** The serial id column, not written by SQL exports (the target numbers rows itself, in the same order). */
  readonly serial?: string;
  /** The migration that created the table. */
  readonly since: number;
  /** How rows of one host are chosen: by a `host` column, by the owner's bare JID, or not at all (the server's: every host's). */
  readonly hostBy: 'host' | 'owner' | 'server';
}

/** Every table holding Parley data (not `parley_schema`), in an order that loads without dependency trouble. */
export const TABLES: readonly TableSpec[] = [
  { name: 'accounts', columns: ['host', 'username', 'scram_sha1', 'scram_sha256', 'plain_password', 'created_at'], integers: ['created_at'], order: 'host, username', since: 1, hostBy: 'host' },
  {
    name: 'roster_items',
    columns: ['owner', 'jid', 'name', 'subscription', 'ask_out', 'pending_in', 'approved', 'groups_json', 'visible'],
    integers: ['ask_out', 'pending_in', 'approved', 'visible'],
    order: 'owner, jid',
    since: 1,
    hostBy: 'owner',
  },
  { name: 'roster_meta', columns: ['owner', 'version', 'items'], integers: ['version', 'items'], order: 'owner', since: 2, hostBy: 'owner' },
  {
    name: 'offline_messages',
    columns: ['id', 'owner', 'stanza', 'created_at', 'expires_at', 'chars'],
    integers: ['id', 'created_at', 'expires_at', 'chars'],
    order: 'id',
    serial: 'id',
    since: 1,
    hostBy: 'owner',
  },
  { name: 'store_values', columns: ['owner', 'feature', 'value'], integers: [], order: 'owner, feature', since: 3, hostBy: 'owner' },
  { name: 'store_maps', columns: ['owner', 'feature', 'item_key', 'value'], integers: [], order: 'owner, feature, item_key', since: 3, hostBy: 'owner' },
  { name: 'store_archive', columns: ['id', 'owner', 'feature', 'value', 'created_at'], integers: ['id', 'created_at'], order: 'id', serial: 'id', since: 3, hostBy: 'owner' },
  {
    name: 'shared_groups',
    columns: ['host', 'group_id', 'name', 'description', 'displayed_json', 'all_users', 'online_users'],
    integers: ['all_users', 'online_users'],
    order: 'host, group_id',
    since: 5,
    hostBy: 'host',
  },
  {
    name: 'shared_group_members',
    columns: ['host', 'group_id', 'member_host', 'member_user'],
    integers: [],
    order: 'host, group_id, member_host, member_user',
    since: 5,
    hostBy: 'host',
  },
  {
    name: 'oauth_tokens',
    columns: ['token_hash', 'host', 'username', 'scopes', 'expires_at', 'created_at'],
    integers: ['expires_at', 'created_at'],
    order: 'token_hash',
    since: 6,
    hostBy: 'host',
  },
  // Clients belong to the server, not to a host: every host's export carries them all.
  { name: 'oauth_clients', columns: ['client_id', 'client_name', 'grant_type', 'secret_hash', 'redirect_uri'], integers: [], order: 'client_id', since: 6, hostBy: 'server' },
  // Room archives are owned by the room's bare JID (room@conference.host): a host's export carries its accounts' archives.
  {
    name: 'mam_messages',
    columns: ['id', 'owner', 'peer', 'peer_resource', 'kind', 'origin_id', 'created_at', 'stanza', 'state'],
    integers: ['id', 'created_at', 'state'],
    order: 'id',
    since: 7,
    hostBy: 'owner',
  },
  // Rooms belong to services (conference.<host>), not to a host column: every host's export carries them all.
  { name: 'muc_rooms', columns: ['service', 'name', 'config_json', 'subject', 'subject_by', 'created_at'], integers: ['created_at'], order: 'service, name', since: 8, hostBy: 'server' },
  { name: 'muc_affiliations', columns: ['service', 'room', 'jid', 'affiliation', 'reason'], integers: [], order: 'service, room, jid', since: 8, hostBy: 'server' },
  { name: 'muc_nicks', columns: ['service', 'jid', 'nick'], integers: [], order: 'service, jid', since: 8, hostBy: 'server' },
  { name: 'muc_subscriptions', columns: ['service', 'room', 'jid', 'nick', 'nodes_json'], integers: [], order: 'service, room, jid', since: 8, hostBy: 'server' },
  {
    name: 'push_sessions',
    columns: ['owner', 'service', 'node', 'options_json', 'resource', 'session_id', 'created_at', 'last_used'],
    integers: ['created_at', 'last_used'],
    order: 'owner, service, node',
    since: 9,
    hostBy: 'owner',
  },
  // Metadata only: the files themselves lie under the upload directory, outside the database.
  { name: 'upload_files', columns: ['slot_id', 'owner', 'filename', 'size', 'content_type', 'created_at', 'uploaded_at'], integers: ['size', 'created_at', 'uploaded_at'], order: 'slot_id', since: 9, hostBy: 'owner' },
  { name: 'pep_nodes', columns: ['owner', 'node', 'config_json', 'created_at'], integers: ['created_at'], order: 'owner, node', since: 10, hostBy: 'owner' },
  {
    name: 'pep_items',
    columns: ['seq', 'owner', 'node', 'item_id', 'payload', 'published_at', 'publisher'],
    integers: ['seq', 'published_at'],
    order: 'seq',
    serial: 'seq',
    since: 10,
    hostBy: 'owner',
  },
  // The server's, not a host's: every host's export carries it.
  {
    name: 'audit_log',
    columns: ['id', 'at', 'surface', 'who', 'from_addr', 'action', 'details', 'result'],
    integers: ['id', 'at'],
    order: 'id',
    serial: 'id',
    since: 11,
    hostBy: 'server',
  },
  // The hosting API's queue is the server's: a host's export carries every pending change.
  { name: 'hosting_tokens', columns: ['token', 'key_name', 'changes', 'created_at', 'due_at', 'claimed_by', 'claimed_at'], integers: ['changes', 'created_at', 'due_at', 'claimed_at'], order: 'token', since: 12, hostBy: 'server' },
  {
    name: 'hosting_changes',
    columns: ['id', 'token', 'key_name', 'host', 'username', 'action', 'credentials_json', 'created_at'],
    integers: ['id', 'created_at'],
    order: 'id',
    serial: 'id',
    since: 12,
    hostBy: 'server',
  },
];

export function tableSpec(name: string): TableSpec | undefined {
  return TABLES.find((t) => t.name === name);
}

/** The WHERE clause (with `?`) and parameter choosing one host's rows of a table. */
export function hostFilter(t: TableSpec, host: string): { where: string; params: unknown[] } {
  if (t.hostBy === 'host') return { where: 'host = ?', params: [host] };
  if (t.hostBy === 'server') return { where: '1 = 1', params: [] };
  // A bare JID has one '@' (a node cannot hold one): the owner ends with '@host'. LIKE's wildcards in a host are escaped.
  return { where: "owner LIKE ? ESCAPE '\\'", params: [`%@${host.replace(/[\\%_]/g, (c) => `\\${c}`)}`] };
}

/** Reads a table page by page (inside a snapshot, so pages are consistent with each other). */
export async function* readTable(sql: Sql, t: TableSpec, filter?: { where: string; params: unknown[] }, page = 500): AsyncGenerator<Record<string, unknown>> {
  const cols = t.columns.join(', ');
  for (let offset = 0; ; offset += page) {
    const rows = await sql.all<Record<string, unknown>>(
      `SELECT ${cols} FROM ${t.name}${filter ? ` WHERE ${filter.where}` : ''} ORDER BY ${t.order} LIMIT ? OFFSET ?`,
      [...(filter?.params ?? []), page, offset],
    );
    yield* rows;
    if (rows.length < page) return;
  }
}
