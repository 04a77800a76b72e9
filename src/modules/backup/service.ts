import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { existingDataPath, openDataFileForWrite, writableDataPath } from '../../admin/data-files.js';
import { badArgument, forbidden, notFound } from '../../errors.js';
import { MIGRATIONS, migrationSql } from '../../storage/migrations.js';
import { TABLES, hostFilter, readTable, tableSpec, type DatabaseAccess, type TableSpec } from '../../storage/database.js';
import type { Sql } from '../../storage/kinds-sql.js';
import { openSqliteBackup } from '../../storage/sqlite/index.js';
import { accountOf } from '../../xmpp/account.js';
import type { ModuleContext } from '../module.js';

/** The first line of a Parley dump: what it holds and the schema version it was taken at. */
export interface DumpHeader {
  parley: 'dump';
  format: 1;
  /** The migration version of the database it was taken from. */
  schema: number;
  backend: 'sqlite' | 'postgres';
  created: string;
  /** The tables it holds (every row of each), with their columns in the order rows give them. */
  tables: Record<string, string[]>;
}

const FORMAT = 1;
const SQLITE_MAGIC = 'SQLite format 3\0';
const LATEST = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Writes text to a file handle in chunks of about 64 KiB: files are streamed, never built whole in memory. */
class ChunkWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly fh: FileHandle) {}
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65_536) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.fh.write(chunk);
  }
}

/** Opens a file a command writes (inside the data directory), runs `fn` on a writer, closes it. */
async function writeFile(dataDir: string, path: string, fn: (w: ChunkWriter) => Promise<void>): Promise<void> {
  const real = await writableDataPath(dataDir, path);
  const fh = await openDataFileForWrite(real, path);
  try {
    const w = new ChunkWriter(fh);
    await fn(w);
    await w.flush();
  } finally {
    await fh.close();
  }
}

/** A PostgreSQL string literal (standard_conforming_strings on: only the quote is doubled; a backslash is itself). */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw badArgument('A text value holds a NUL character, which PostgreSQL cannot store');
  return `'${s.replaceAll("'", "''")}'`;
}

function sqlValue(t: TableSpec, column: string, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (t.integers.includes(column)) {
    const s = String(v);
    if (!/^-?\d+$/.test(s)) throw new Error(`${t.name}.${column}: not an integer: ${s}`);
    return s;
  }
  return sqlString(String(v));
}

/**
 * Backup, restore, dumps and SQL exports of the whole database (see docs/ejabberd-api.md). Every
 * file is named by a command and confined to the data directory.
 */
export class BackupService {
  constructor(private readonly ctx: ModuleContext<'accounts', DatabaseAccess>) {}

  private get db(): DatabaseAccess {
    return this.ctx.store;
  }

  private get maxFileSize(): number {
    return this.ctx.config.limits.maxBackupFileSize;
  }

  /**
   * A consistent copy of the database while the server keeps serving: SQLite, an SQLite file made
   * by the online backup API; PostgreSQL, a Parley dump taken in one REPEATABLE READ transaction.
   */
  async backup(path: string): Promise<void> {
    if (this.db.backupTo) {
      const real = await writableDataPath(this.ctx.dataDir, path);
      // Created here (0600, never through a link), then filled by SQLite.
      await (await openDataFileForWrite(real, path)).close();
      await this.db.backupTo(real);
      return;
    }
    await this.dump(path);
  }

  /** A text dump of every table (or of one), in Parley's dump format: a JSON header line, then one JSON line per row. */
  async dump(path: string, table?: string): Promise<void> {
    let tables = TABLES;
    if (table !== undefined) {
      const t = tableSpec(table);
      if (!t) throw badArgument(`Unknown table: ${table} (Parley's tables: ${TABLES.map((x) => x.name).join(', ')})`);
      tables = [t];
    }
    await writeFile(this.ctx.dataDir, path, (w) =>
      this.db.snapshot(async (sql) => {
        const header: DumpHeader = {
          parley: 'dump',
          format: FORMAT,
          schema: await this.versionIn(sql),
          backend: this.ctx.config.storage.backend,
          created: new Date().toISOString(),
          tables: Object.fromEntries(tables.map((t) => [t.name, [...t.columns]])),
        };
        await w.write(`${JSON.stringify(header)}\n`);
        for (const t of tables) {
          for await (const row of readTable(sql, t)) await w.write(`${JSON.stringify([t.name, t.columns.map((c) => row[c] ?? null)])}\n`);
        }
      }),
    );
  }

  private async versionIn(sql: Sql): Promise<number> {
    const r = await sql.get<{ v: number | string | null }>('SELECT MAX(version) AS v FROM parley_schema');
    return Number(r?.v ?? 0);
  }

  /** The real path of a backup or dump to read, checked against the size limit. */
  private async readable(path: string): Promise<string> {
    const real = await existingDataPath(this.ctx.dataDir, path, 'file');
    const fh = await open(real, 'r');
    try {
      if ((await fh.stat()).size > this.maxFileSize) throw forbidden(`File ${path} is larger than limits.maxBackupFileSize (${this.maxFileSize} bytes)`);
    } finally {
      await fh.close();
    }
    return real;
  }

  /**
   * Brings back a backup (`backup`'s SQLite file or a dump of any backend): the tables it holds
   * replace the live ones in one transaction, or nothing changes. Then the features forget what
   * they cached and sessions of accounts that no longer exist are closed.
   */
  async restore(path: string): Promise<void> {
    const real = await this.readable(path);
    const magic = Buffer.alloc(16);
    const fh = await open(real, 'r');
    try {
      await fh.read(magic, 0, 16, 0);
    } finally {
      await fh.close();
    }
    if (magic.toString('latin1') === SQLITE_MAGIC) return this.restoreSqlite(real, path);
    return this.load(path, real);
  }

  private async restoreSqlite(real: string, path: string): Promise<void> {
    const file = openSqliteBackup(real);
    if (!file) throw badArgument(`Not a Parley backup: ${path}`);
    try {
      this.checkVersion(file.version, path);
      const tables = TABLES.filter((t) => t.since <= file.version);
      await this.db.replace(async (sql) => {
        for (const t of tables) await sql.run(`DELETE FROM ${t.name}`);
        for (const t of tables) {
          const columns = t.columns.filter((c) => this.columnExistsAt(t, c, file.version));
          try {
            for (const row of file.rows(t.name, columns)) await this.insert(sql, t, columns, columns.map((c) => row[c]));
          } catch (err) {
            // A table missing or malformed in the file, a row the schema refuses: the whole restore is rolled back.
            throw badArgument(`Not a Parley backup: ${path}: table ${t.name}: ${(err as Error).message}`);
          }
        }
      });
      await this.replaced(tables.map((t) => t.name));
    } finally {
      file.close();
    }
  }

  /** Columns added after a table was created (migration 4: offline expiry and size). */
  private columnExistsAt(t: TableSpec, column: string, version: number): boolean {
    if (t.name === 'offline_messages' && (column === 'expires_at' || column === 'chars')) return version >= 4;
    return true;
  }

  private checkVersion(version: number, path: string): void {
    if (!Number.isInteger(version) || version < 1) throw badArgument(`Not a Parley backup: ${path}`);
    if (version > LATEST) throw badArgument(`Backup ${path} has schema version ${version}, newer than this server's (${LATEST}): upgrade Parley to restore it`);
  }

  private async insert(sql: Sql, t: TableSpec, columns: readonly string[], values: unknown[]): Promise<void> {
    // Rows from before migration 4 get their offline message size, as the migration computed it.
    if (t.name === 'offline_messages' && !columns.includes('chars')) {
      columns = [...columns, 'chars'];
      values = [...values, String(values[columns.indexOf('stanza')] ?? '').length];
    }
    await sql.run(`INSERT INTO ${t.name} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, values);
  }

  /**
   * Loads a dump (`dump`, `dump_table`, a PostgreSQL `backup`): the tables it holds are replaced
   * by its rows in one transaction; a file that is not a Parley dump, or one of a newer schema,
   * changes nothing.
   */
  async load(path: string, real?: string): Promise<void> {
    real ??= await this.readable(path);
    const lines = createInterface({ input: createReadStream(real, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]();
    const notDump = () => badArgument(`Not a Parley backup: ${path}`);
    try {
      const first = await lines.next();
      if (first.done) throw notDump();
      let header: DumpHeader;
      try {
        header = JSON.parse(first.value) as DumpHeader;
      } catch {
        throw notDump();
      }
      if (typeof header !== 'object' || header === null || header.parley !== 'dump' || typeof header.tables !== 'object' || header.tables === null) throw notDump();
      if (header.format !== FORMAT) throw badArgument(`Dump ${path} has format ${String(header.format)}, not ${FORMAT}`);
      this.checkVersion(header.schema, path);
      const tables = new Map<string, { spec: TableSpec; columns: string[] }>();
      for (const [name, columns] of Object.entries(header.tables)) {
        const spec = tableSpec(name);
        if (!spec) throw badArgument(`Dump ${path}: unknown table ${name}`);
        if (!Array.isArray(columns) || columns.some((c) => !spec.columns.includes(c))) throw badArgument(`Dump ${path}: unknown columns of ${name}`);
        tables.set(name, { spec, columns });
      }
      let line = 1;
      await this.db.replace(async (sql) => {
        for (const t of TABLES) if (tables.has(t.name)) await sql.run(`DELETE FROM ${t.name}`);
        for (;;) {
          const next = await lines.next();
          if (next.done) break;
          line++;
          if (next.value === '') continue;
          const bad = () => badArgument(`Dump ${path}, line ${line}: not a row of a table the dump holds`);
          let row: unknown;
          try {
            row = JSON.parse(next.value);
          } catch {
            throw bad();
          }
          if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'string' || !Array.isArray(row[1])) throw bad();
          const t = tables.get(row[0]);
          const values = row[1] as unknown[];
          if (!t || values.length !== t.columns.length || values.some((v) => v !== null && typeof v !== 'string' && typeof v !== 'number')) throw bad();
          try {
            await this.insert(sql, t.spec, t.columns, values);
          } catch (err) {
            throw badArgument(`Dump ${path}, line ${line}: ${(err as Error).message}`);
          }
        }
      });
      await this.replaced([...tables.keys()]);
    } finally {
      await lines.return?.();
    }
  }

  /** After a replacement: caches forgotten, sessions of accounts that are gone closed. */
  private async replaced(tables: string[]): Promise<void> {
    await this.ctx.hooks.emit('caches-clear', { tables });
    for (const session of [...this.ctx.sessions.all()]) {
      const account = accountOf(session.jid);
      if (!(await this.ctx.services.accounts.exists(account))) this.ctx.sessions.close(session, 'not-authorized', 'Account removed by a restore');
    }
  }

  /**
   * SQL for PostgreSQL (psql -f) creating Parley's schema at the current migration version, where
   * missing, and replacing the data of `host` with this server's: the host's rows are deleted and
   * inserted again in one transaction; other hosts' rows are left alone.
   */
  async export2sql(host: string, path: string): Promise<void> {
    const h = this.host(host);
    await writeFile(this.ctx.dataDir, path, async (w) => {
      await w.write(`-- Parley ${h}: schema version ${LATEST} and data, for PostgreSQL (psql -f)\n`);
      await w.write(this.schemaSql());
      await w.write('BEGIN;\n');
      await this.db.snapshot(async (sql) => {
        for (const t of TABLES) await this.tableSql(sql, t, h, w);
      });
      await w.write(this.sequencesSql());
      await w.write('COMMIT;\n');
    });
  }

  /** 001's export2odbc: one SQL file per table in `directory` (`<table>.sql`), each replacing the host's rows of that table. */
  async export2odbc(host: string, directory: string): Promise<void> {
    const h = this.host(host);
    const dir = await existingDataPath(this.ctx.dataDir, directory, 'directory');
    await this.db.snapshot(async (sql) => {
      for (const t of TABLES) {
        await writeFile(this.ctx.dataDir, join(dir, `${t.name}.sql`), async (w) => {
          await w.write(`-- Parley ${h}: table ${t.name}, for PostgreSQL with Parley's schema (version ${LATEST})\nSET standard_conforming_strings = on;\nBEGIN;\n`);
          await this.tableSql(sql, t, h, w);
          if (t.serial) await w.write(this.sequenceSql(t));
          await w.write('COMMIT;\n');
        });
      }
    });
  }

  private host(host: string): string {
    const h = this.ctx.prepareHost(host);
    if (h === undefined) throw notFound(`Unknown host: ${host}`);
    return h;
  }

  /** Schema creation that can run again: each migration is applied only where parley_schema lacks it. */
  private schemaSql(): string {
    let out = "SET standard_conforming_strings = on;\nSET client_encoding = 'UTF8';\nCREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL);\n";
    for (const m of MIGRATIONS) {
      out +=
        `DO $parley_migration$ BEGIN\nIF NOT EXISTS (SELECT 1 FROM parley_schema WHERE version >= ${m.version}) THEN\n` +
        `${migrationSql(m.sql, 'postgres').trim()}\nINSERT INTO parley_schema (version) VALUES (${m.version});\nEND IF;\nEND $parley_migration$;\n`;
    }
    return out;
  }

  private async tableSql(sql: Sql, t: TableSpec, host: string, w: ChunkWriter): Promise<void> {
    const filter = hostFilter(t, host);
    const where =
      t.hostBy === 'host' ? `host = ${sqlString(host)}` : t.hostBy === 'server' ? 'TRUE' : `owner LIKE ${sqlString(filter.params[0] as string)} ESCAPE '\\'`;
    await w.write(`DELETE FROM ${t.name} WHERE ${where};\n`);
    const columns = t.columns.filter((c) => c !== t.serial);
    for await (const row of readTable(sql, t, filter)) {
      await w.write(`INSERT INTO ${t.name} (${columns.join(', ')}) VALUES (${columns.map((c) => sqlValue(t, c, row[c])).join(', ')});\n`);
    }
  }

  private sequenceSql(t: TableSpec): string {
    return `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), COALESCE(MAX(${t.serial}), 0) + 1, false) FROM ${t.name};\n`;
  }

  private sequencesSql(): string {
    return TABLES.filter((t) => t.serial).map((t) => this.sequenceSql(t)).join('');
  }
}
