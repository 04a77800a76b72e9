/**
 * Versioned schema migrations. Each entry is applied once, in order, inside a transaction;
 * the applied version is kept in `parley_schema`. Add new entries at the end, never edit old ones.
 * The SQL is written to run on both SQLite and PostgreSQL; `{{autoid}}`, `{{bigint}}` and `{{bytetext}}`
 * (text ordered byte-wise) are filled per backend by `migrationSql`.
 */
export const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'accounts, roster, offline messages',
    sql: `
CREATE TABLE accounts (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  scram_sha1 TEXT,
  scram_sha256 TEXT,
  plain_password TEXT,
  created_at {{bigint}} NOT NULL,
  PRIMARY KEY (host, username)
);
CREATE TABLE roster_items (
  owner TEXT NOT NULL,
  jid TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  subscription TEXT NOT NULL DEFAULT 'none',
  ask_out INTEGER NOT NULL DEFAULT 0,
  pending_in INTEGER NOT NULL DEFAULT 0,
  approved INTEGER NOT NULL DEFAULT 0,
  groups_json TEXT NOT NULL DEFAULT '[]',
  visible INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (owner, jid)
);
CREATE TABLE offline_messages (
  id {{autoid}},
  owner TEXT NOT NULL,
  stanza TEXT NOT NULL,
  created_at {{bigint}} NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (owner, id);
CREATE INDEX offline_messages_created ON offline_messages (created_at);
`,
  },
  {
    version: 2,
    description: 'roster metadata: item count and version counter per owner',
    // The count enforces limits.maxRosterItems and the version answers versioned roster gets
    // (RFC 6121 §2.6), both without scanning the owner's items. Existing rosters start at version 1:
    // a client's cached version from before (a digest) never matches, so it gets the full roster once.
    sql: `
CREATE TABLE roster_meta (
  owner TEXT NOT NULL PRIMARY KEY,
  version {{bigint}} NOT NULL DEFAULT 0,
  items INTEGER NOT NULL DEFAULT 0
);
INSERT INTO roster_meta (owner, version, items) SELECT owner, 1, COUNT(*) FROM roster_items GROUP BY owner;
`,
  },
  {
    version: 3,
    description: 'store kinds: a value, a map and an archive per account, for every feature',
    // Keyed by owner (the account's bare JID) first, like roster_items and offline_messages, so
    // removing an account's data of every feature uses the primary keys.
    sql: `
CREATE TABLE store_values (
  owner TEXT NOT NULL,
  feature TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (owner, feature)
);
CREATE TABLE store_maps (
  owner TEXT NOT NULL,
  feature TEXT NOT NULL,
  item_key {{bytetext}} NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (owner, feature, item_key)
);
CREATE TABLE store_archive (
  id {{autoid}},
  owner TEXT NOT NULL,
  feature TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at {{bigint}} NOT NULL
);
CREATE INDEX store_archive_owner ON store_archive (owner, feature, id);
CREATE INDEX store_archive_created ON store_archive (created_at);
`,
  },
  {
    version: 4,
    description: 'offline messages: expiry time (XEP-0079 expire-at, XEP-0023 jabber:x:expire) and size',
    // expires_at: null for a message that never expires; indexed for delete_expired_messages.
    // chars: the stanza's length, so limits.maxOfflineChars is checked from an index (owner, chars)
    // that also answers the count, without reading the stanzas.
    sql: `
ALTER TABLE offline_messages ADD COLUMN expires_at {{bigint}};
ALTER TABLE offline_messages ADD COLUMN chars INTEGER NOT NULL DEFAULT 0;
UPDATE offline_messages SET chars = LENGTH(stanza);
CREATE INDEX offline_messages_expires ON offline_messages (expires_at);
CREATE INDEX offline_messages_owner_chars ON offline_messages (owner, chars);
`,
  },
  {
    version: 5,
    description: 'shared roster groups: groups per host and their member accounts',
    // Groups belong to a host, not to an account, so they are not a store kind. The two special
    // members (every account of the host, every online account) are flags of the group. Members are
    // found by account (the index) when an account's own groups are asked, and when it is removed.
    sql: `
CREATE TABLE shared_groups (
  host TEXT NOT NULL,
  group_id {{bytetext}} NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  displayed_json TEXT NOT NULL DEFAULT '[]',
  all_users INTEGER NOT NULL DEFAULT 0,
  online_users INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (host, group_id)
);
CREATE TABLE shared_group_members (
  host TEXT NOT NULL,
  group_id {{bytetext}} NOT NULL,
  member_host TEXT NOT NULL,
  member_user {{bytetext}} NOT NULL,
  PRIMARY KEY (host, group_id, member_host, member_user)
);
CREATE INDEX shared_group_members_account ON shared_group_members (member_host, member_user);
`,
  },
  {
    version: 6,
    description: 'OAuth: issued tokens (hashed) and registered clients',
    // A token is found by its SHA-256 (the token itself is never stored); an account's tokens are
    // counted (limits.maxOAuthTokensPerAccount) and removed with it; expired ones are purged.
    sql: `
CREATE TABLE oauth_tokens (
  token_hash TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  username {{bytetext}} NOT NULL,
  scopes TEXT NOT NULL,
  expires_at {{bigint}} NOT NULL,
  created_at {{bigint}} NOT NULL
);
CREATE INDEX oauth_tokens_account ON oauth_tokens (host, username);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
CREATE TABLE oauth_clients (
  client_id TEXT PRIMARY KEY,
  client_name TEXT NOT NULL,
  grant_type TEXT NOT NULL,
  secret_hash TEXT,
  redirect_uri TEXT
);
`,
  },
  {
    version: 7,
    description: 'message archive (XEP-0313): one row per archived message per account or room archive',
    // The id is the stanza id, time-ordered (microseconds) and unique across archives: rows are
    // appended in id order (SQLite: it is the rowid), retention (delete_old_mam_messages) is an id
    // range, (owner, id) pages an archive and serves start/end as id ranges, (owner, peer, id)
    // pages a conversation (the 'with' filter) and finds what a retraction names.
    sql: `
CREATE TABLE mam_messages (
  id {{bigint}} PRIMARY KEY,
  owner TEXT NOT NULL,
  peer TEXT NOT NULL,
  peer_resource TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  origin_id TEXT,
  created_at {{bigint}} NOT NULL,
  stanza TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mam_messages_owner ON mam_messages (owner, id);
CREATE INDEX mam_messages_peer ON mam_messages (owner, peer, id);
`,
  },
  {
    version: 8,
    description: 'group chat: persistent rooms, their affiliations and MUC/Sub subscriptions, registered nicks',
    // Rooms are per service domain (conference.<host>), not per account. An account's affiliations,
    // nicks and subscriptions are found by its JID (the indexes) when it is removed; a nick is unique
    // per service (XEP-0045 §7.10: a nick registered by one account is refused to the others).
    sql: `
CREATE TABLE muc_rooms (
  service TEXT NOT NULL,
  name {{bytetext}} NOT NULL,
  config_json TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  subject_by TEXT NOT NULL DEFAULT '',
  created_at {{bigint}} NOT NULL,
  PRIMARY KEY (service, name)
);
CREATE TABLE muc_affiliations (
  service TEXT NOT NULL,
  room {{bytetext}} NOT NULL,
  jid {{bytetext}} NOT NULL,
  affiliation TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (service, room, jid)
);
CREATE INDEX muc_affiliations_jid ON muc_affiliations (jid);
CREATE TABLE muc_nicks (
  service TEXT NOT NULL,
  jid {{bytetext}} NOT NULL,
  nick TEXT NOT NULL,
  PRIMARY KEY (service, jid)
);
CREATE UNIQUE INDEX muc_nicks_nick ON muc_nicks (service, nick);
CREATE INDEX muc_nicks_jid ON muc_nicks (jid);
CREATE TABLE muc_subscriptions (
  service TEXT NOT NULL,
  room {{bytetext}} NOT NULL,
  jid {{bytetext}} NOT NULL,
  nick TEXT NOT NULL,
  nodes_json TEXT NOT NULL,
  PRIMARY KEY (service, room, jid)
);
CREATE INDEX muc_subscriptions_jid ON muc_subscriptions (jid);
`,
  },
  {
    version: 9,
    description: 'push sessions (XEP-0357) and HTTP upload slots (XEP-0363)',
    // Push sessions are found by account (notifications, account removal) and purged by age. Upload
    // slots are found by their random id (PUT, GET), summed per account (the quota) and purged by age.
    sql: `
CREATE TABLE push_sessions (
  owner {{bytetext}} NOT NULL,
  service TEXT NOT NULL,
  node TEXT NOT NULL,
  options_json TEXT NOT NULL DEFAULT '[]',
  resource TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  created_at {{bigint}} NOT NULL,
  last_used {{bigint}} NOT NULL DEFAULT 0,
  PRIMARY KEY (owner, service, node)
);
CREATE INDEX push_sessions_created ON push_sessions (created_at);
CREATE TABLE upload_files (
  slot_id TEXT PRIMARY KEY,
  owner {{bytetext}} NOT NULL,
  filename TEXT NOT NULL,
  size {{bigint}} NOT NULL,
  content_type TEXT NOT NULL,
  created_at {{bigint}} NOT NULL,
  uploaded_at {{bigint}}
);
CREATE INDEX upload_files_owner ON upload_files (owner);
CREATE INDEX upload_files_created ON upload_files (created_at);
`,
  },
  {
    version: 10,
    description: 'PEP (XEP-0163): nodes of each account and their published items',
    // Items are read newest first by node (seq, which a republished id gets anew) and found by id;
    // removing an account's nodes and items goes by owner first.
    sql: `
CREATE TABLE pep_nodes (
  owner TEXT NOT NULL,
  node {{bytetext}} NOT NULL,
  config_json TEXT NOT NULL,
  created_at {{bigint}} NOT NULL,
  PRIMARY KEY (owner, node)
);
CREATE TABLE pep_items (
  seq {{autoid}},
  owner TEXT NOT NULL,
  node {{bytetext}} NOT NULL,
  item_id {{bytetext}} NOT NULL,
  payload TEXT NOT NULL,
  published_at {{bigint}} NOT NULL,
  publisher TEXT NOT NULL
);
CREATE UNIQUE INDEX pep_items_id ON pep_items (owner, node, item_id);
CREATE INDEX pep_items_order ON pep_items (owner, node, seq);
`,
  },
  {
    version: 11,
    description: 'the admin audit log',
    // Read newest first, by time window and by actor (Openfire's security log); trimmed by age and count.
    sql: `
CREATE TABLE audit_log (
  id {{autoid}},
  at {{bigint}} NOT NULL,
  surface TEXT NOT NULL,
  who TEXT NOT NULL,
  from_addr TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_who ON audit_log (who, at);
`,
  },
  {
    version: 12,
    description: 'the hosting API queue: account changes waiting under service tokens',
    // A token is one batch of changes, applied together once due; a node claims it first (claimed_by),
    // so a batch is applied by one node, and again only after a crash. One change per account at a
    // time (the unique index: change_already_pending).
    sql: `
CREATE TABLE hosting_tokens (
  token TEXT PRIMARY KEY,
  key_name TEXT NOT NULL,
  changes INTEGER NOT NULL,
  created_at {{bigint}} NOT NULL,
  due_at {{bigint}} NOT NULL,
  claimed_by TEXT,
  claimed_at {{bigint}}
);
CREATE INDEX hosting_tokens_created ON hosting_tokens (created_at);
CREATE TABLE hosting_changes (
  id {{autoid}},
  token TEXT NOT NULL,
  key_name TEXT NOT NULL,
  host TEXT NOT NULL,
  username {{bytetext}} NOT NULL,
  action TEXT NOT NULL,
  credentials_json TEXT,
  created_at {{bigint}} NOT NULL
);
CREATE UNIQUE INDEX hosting_changes_account ON hosting_changes (host, username);
CREATE INDEX hosting_changes_token ON hosting_changes (token);
CREATE INDEX hosting_changes_key ON hosting_changes (key_name);
`,
  },
];

const TYPES = {
  sqlite: { autoid: 'INTEGER PRIMARY KEY AUTOINCREMENT', bigint: 'INTEGER', bytetext: 'TEXT' },
  postgres: { autoid: 'BIGSERIAL PRIMARY KEY', bigint: 'BIGINT', bytetext: 'TEXT COLLATE "C"' },
} as const;

/** A migration's SQL with the per-backend types filled in. */
export function migrationSql(sql: string, backend: keyof typeof TYPES): string {
  const t = TYPES[backend];
  return sql.replaceAll('{{autoid}}', t.autoid).replaceAll('{{bigint}}', t.bigint).replaceAll('{{bytetext}}', t.bytetext);
}
