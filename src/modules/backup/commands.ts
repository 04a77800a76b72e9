import { commandsIn, outcome, rescode, str } from '../../admin/define.js';
import type { CommandContext } from '../module.js';
import type { BackupService } from './service.js';

type Context = CommandContext<BackupService, 'accounts'>;
const command = commandsIn<Context>();

const FILES = 'A relative path is taken from the data directory; an absolute one must lie inside it.';
const RESTORED =
  'The tables it holds replace the live ones in one transaction (nothing changes when the file is refused); cached data is then forgotten and sessions of accounts that no longer exist are closed. ' +
  'A file that is not a Parley backup, or one of a newer schema version, is refused.';

export const backupCommands = [
  command({
    name: 'backup', tags: ['mnesia'], policy: 'admin', desc: 'Store the database to backup file',
    longdesc:
      `A consistent copy while the server keeps serving. SQLite: a copy of the database file, made with SQLite's online backup API; PostgreSQL: a Parley dump (see dump) taken in one REPEATABLE READ transaction. restore reads both. ${FILES}`,
    args: [str('file', 'Full path for the destination backup file', '/var/lib/ejabberd/database.backup')],
    result: outcome<string>(), resultExample: 'Success',
    async exec({ file }, { service }) {
      await service.backup(file);
      return 'Success';
    },
  }),

  command({
    name: 'restore', tags: ['mnesia'], policy: 'admin', desc: 'Restore the database from backup file',
    longdesc: `Reads a file made by backup, dump or dump_table, on either backend. ${RESTORED} ${FILES} Its size is limited by limits.maxBackupFileSize.`,
    args: [str('file', 'Full path to the backup file', '/var/lib/ejabberd/database.backup')],
    result: outcome<string>(), resultExample: 'Success',
    async exec({ file }, { service }) {
      await service.restore(file);
      return 'Success';
    },
  }),

  command({
    name: 'dump', tags: ['mnesia'], policy: 'admin', desc: 'Dump the database to a text file',
    longdesc:
      `Parley's text dump (not Mnesia's): a JSON header line (format, schema version, tables and their columns), then one JSON line per row, ["table", [values...]], taken in one consistent snapshot. load and restore read it. ${FILES}`,
    args: [str('file', 'Full path for the text file', '/var/lib/ejabberd/database.txt')],
    result: outcome<string>(), resultExample: 'Success',
    async exec({ file }, { service }) {
      await service.dump(file);
      return 'Success';
    },
  }),

  command({
    name: 'dump_table', tags: ['mnesia'], policy: 'admin', desc: 'Dump a table to a text file',
    longdesc: `A dump (see dump) of one of Parley's tables (accounts, roster_items, roster_meta, offline_messages, store_values, store_maps, store_archive, shared_groups, shared_group_members). load replaces that table only. ${FILES}`,
    args: [str('file', 'Full path for the text file', '/var/lib/ejabberd/table-muc-registered.txt'), str('table', 'Table name', 'muc_registered')],
    result: outcome<string>(), resultExample: 'Success',
    async exec({ file, table }, { service }) {
      await service.dump(file, table);
      return 'Success';
    },
  }),

  command({
    name: 'load', tags: ['mnesia'], policy: 'admin', desc: 'Restore the database from a text file',
    longdesc: `Reads a dump made by dump, dump_table or a PostgreSQL backup. ${RESTORED} ${FILES}`,
    args: [str('file', 'Full path to the text file', '/var/lib/ejabberd/database.txt')],
    result: outcome<string>(), resultExample: 'Success',
    async exec({ file }, { service }) {
      await service.load(file);
      return 'Success';
    },
  }),

  command({
    name: 'export2sql', tags: ['mnesia'], policy: 'admin', desc: 'Export virtual host information from Mnesia tables to SQL file',
    longdesc:
      "SQL for PostgreSQL (psql -f FILE) that creates Parley's schema at this server's migration version where it is missing (so it can run again, and for a second host) and replaces the data of HOST in one transaction; other hosts' data is left alone. " +
      `Then start Parley with storage.backend: postgres on that database. ${FILES}`,
    args: [str('host', 'Vhost', 'example.com'), str('file', 'Full path to the destination SQL file', '/var/lib/ejabberd/example.com.sql')],
    result: rescode, resultExample: true,
    async exec({ host, file }, { service }) {
      await service.export2sql(host, file);
      return true;
    },
  }),

  command({
    name: 'export_odbc', tags: ['mnesia'], policy: 'admin', desc: 'Export all tables as SQL queries to a file',
    longdesc: `001's name: the same file as export2sql. ${FILES}`,
    args: [str('host', 'Vhost', 'example.com'), str('file', 'Full path to the destination SQL file', '/var/lib/ejabberd/example.com.sql')],
    result: rescode, resultExample: true,
    async exec({ host, file }, { service }) {
      await service.export2sql(host, file);
      return true;
    },
  }),

  command({
    name: 'export2odbc', tags: ['mnesia'], policy: 'admin', desc: 'Export virtual host information from Mnesia tables to SQL files',
    longdesc:
      `001's command: one file per table in DIRECTORY (which must exist), <table>.sql, each replacing the data of HOST in that table, for a PostgreSQL database that has Parley's schema (export2sql creates it). ${FILES}`,
    args: [str('host', 'Vhost', 'example.com'), str('directory', 'Full path to the destination directory', '/var/lib/ejabberd/sql')],
    result: rescode, resultExample: true,
    async exec({ host, directory }, { service }) {
      await service.export2odbc(host, directory);
      return true;
    },
  }),

  command({
    name: 'update_sql', tags: ['sql'], policy: 'admin', desc: 'Convert SQL DB to the new format',
    longdesc: "Parley applies pending schema migrations to the configured database at start-up, so there is nothing left to convert: the answer is 0.",
    args: [],
    result: rescode, resultExample: true,
    exec: async () => true,
  }),
];
