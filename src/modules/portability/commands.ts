import { join } from 'node:path';
import { commandsIn, rescode, restuple, str } from '../../admin/define.js';
import { existingDataPath, openDataFileForWrite, writableDataPath } from '../../admin/data-files.js';
import { badArgument, notFound } from '../../errors.js';
import type { CommandContext } from '../module.js';
import { AccountImporter, type ImportReport, type ImportSummary } from './account-import.js';
import { accountOfUser, exportFileNames, hostHead, includedPath, PIEFXIS_HEAD, PiefxisError, readPiefxis, serverHead, userElement } from './piefxis.js';
import { importProsodyDir, ProsodyError } from './prosody.js';
import { importJabberd14Dir, importJabberd14File, Jabberd14Error } from './jabberd14.js';

type Context = CommandContext<PortabilityOptions, 'accounts' | 'roster' | 'vcard' | 'private' | 'offline'>;
const command = commandsIn<Context>();

/** What the module's service holds: only its settings. */
export interface PortabilityOptions {
  /** `portability.overwrite`: an import replaces accounts that exist instead of skipping them. */
  overwrite: boolean;
}

/** Reports every account on `parley ctl`'s stderr (its totals every 100 accounts past the first 100). */
function importer(ctx: Context): AccountImporter {
  const progress = ctx.caller.progress;
  return new AccountImporter(ctx, {
    overwrite: ctx.service.overwrite,
    progress: progress
      ? (r: ImportReport, s: ImportSummary) => {
          const n = s.imported + s.skipped + s.refused;
          if (n <= 100 || r.status !== 'imported') progress(`${r.status} ${r.jid}${r.notes.length ? `: ${r.notes.join('; ')}` : ''}`);
          if (n % 100 === 0) progress(`... ${n} accounts: ${s.imported} imported, ${s.skipped} skipped, ${s.refused} refused`);
        }
      : undefined,
  });
}

function finish(ctx: Context, what: string, s: ImportSummary): void {
  const line = `${what}: ${s.imported} imported, ${s.skipped} skipped, ${s.refused} refused`;
  ctx.log.info({ imported: s.imported, skipped: s.skipped, refused: s.refused }, line);
  ctx.caller.progress?.(line);
}

async function importPiefxisFile(ctx: Context, path: string, imp: AccountImporter, depth = 0): Promise<void> {
  if (depth > 4) throw badArgument('xi:include nested too deeply');
  await readPiefxis(path, {
    user: async (el, host) => {
      await imp.import(accountOfUser(el, host));
    },
    include: async (href) => {
      const inner = includedPath(path, href);
      // The included file must also lie inside the data directory (a link cannot lead out).
      const real = await existingDataPath(ctx.dataDir, inner, 'file');
      await importPiefxisFile(ctx, real, imp, depth + 1);
    },
  });
}

async function exportHosts(ctx: Context, dir: string, hosts: string[]): Promise<void> {
  const realDir = await existingDataPath(ctx.dataDir, dir, 'directory');
  const names = exportFileNames(hosts);
  const mainPath = await writableDataPath(ctx.dataDir, join(realDir, names.main));
  const main = await openDataFileForWrite(mainPath, names.main);
  try {
    await main.write(`${PIEFXIS_HEAD}${serverHead()}${names.hosts.map((h) => `<xi:include href='${h.file}'/>`).join('')}</server-data>\n`);
  } finally {
    await main.close();
  }
  const { accounts, roster, vcard, private: priv, offline } = ctx.services;
  for (const { host, file } of names.hosts) {
    const fh = await openDataFileForWrite(await writableDataPath(ctx.dataDir, join(realDir, file)), file);
    try {
      await fh.write(`${PIEFXIS_HEAD}${hostHead(host)}\n`);
      let n = 0;
      for (const user of await accounts.list(host)) {
        const account = { user, host };
        const credentials = await accounts.storedCredentials(account);
        if (!credentials) continue; // removed meanwhile
        const el = userElement(
          {
            user,
            credentials,
            roster: await roster.list(account),
            ...(await vcard.get(account).then((v) => (v ? { vcard: v } : {}))),
            privates: await priv.all(account),
            offline: (await offline.messages(account)).map((m) => m.stanza),
          },
          host,
        );
        await fh.write(`${el.toString()}\n`);
        if (++n % 1000 === 0) ctx.caller.progress?.(`... ${host}: ${n} accounts written`);
      }
      await fh.write('</host>\n');
      ctx.caller.progress?.(`${host}: ${n} accounts written to ${file}`);
    } finally {
      await fh.close();
    }
  }
}

/** Errors a reader raises for what it cannot read: a 400 naming the file, after the accounts done so far. */
const READ_ERRORS = [PiefxisError, ProsodyError, Jabberd14Error];

/** Runs one import of a file or directory inside the data directory; its summary, also logged and on parley ctl. */
async function runImport(
  ctx: Context,
  what: string,
  given: string,
  kind: 'file' | 'directory',
  run: (path: string, imp: AccountImporter) => Promise<void>,
): Promise<ImportSummary> {
  const path = await existingDataPath(ctx.dataDir, given, kind);
  const imp = importer(ctx);
  try {
    await run(path, imp);
  } catch (err) {
    if (!READ_ERRORS.some((e) => err instanceof e)) throw err;
    const s = imp.summary;
    throw badArgument(`Cannot import ${given}: ${(err as Error).message} (after ${s.imported + s.skipped + s.refused} accounts)`);
  }
  finish(ctx, `${what} ${given}`, imp.summary);
  return imp.summary;
}

/** import_file and import_dir: "Success", or a 400 with the totals when an account was refused. */
async function importSpool(ctx: Context, what: string, given: string, kind: 'file' | 'directory', run: (path: string, imp: AccountImporter, maxBytes: number) => Promise<void>): Promise<string> {
  const s = await runImport(ctx, what, given, kind, (path, imp) => run(path, imp, ctx.config.limits.maxCommandFileSize * 16));
  if (s.refused > 0) throw badArgument(`${s.imported} imported, ${s.skipped} skipped, ${s.refused} refused: ${s.reports.filter((r) => r.status === 'refused').slice(0, 20).map((r) => `${r.jid} (${r.notes.join('; ')})`).join(', ')}`);
  return 'Success';
}

const IMPORT_NOTES =
  'An account that already exists is skipped (with portability.overwrite: true its credentials are replaced and its data merged), and the rest of the file is still imported. ' +
  'Each account is reported as imported, skipped or refused, with what a limit refused of it (roster, vCard, private storage, offline messages), in the log and on parley ctl (stderr, with running totals). ' +
  'Paths lie inside the data directory. The answer is 0 when every account was imported or skipped, 1 when some were refused.';

export const portabilityCommands = [
  command({
    name: 'export_piefxis', tags: ['mnesia'], policy: 'admin', desc: 'Export data of all users in the server to PIEFXIS files (XEP-0227)',
    longdesc:
      "Writes DIR/YYYYMMDD-HHMMSS.xml including one file per host (YYYYMMDD-HHMMSS_example_org.xml), as ejabberd names them. Each account carries its credentials (password='…' when stored in clear, else its SCRAM-SHA-1 and SCRAM-SHA-256 keys, encoded as ejabberd writes them so ejabberd imports them), its whole roster with every subscription state, name and group (a contact's pending request also as a subscribe presence), vCard, private storage and offline messages. DIR is a directory inside the data directory; files are written as they are made.",
    args: [str('dir', 'Full path to a directory', '/var/lib/parley/export')],
    result: rescode, resultExample: true,
    async exec({ dir }, ctx) {
      await exportHosts(ctx, dir, [...ctx.hosts]);
      return true;
    },
  }),
  command({
    name: 'export_piefxis_host', tags: ['mnesia'], policy: 'admin', desc: 'Export data of users in a host to PIEFXIS files (XEP-0227)',
    longdesc: 'As export_piefxis, for one host.',
    args: [str('dir', 'Full path to a directory', '/var/lib/parley/export'), str('host', 'Vhost to export', 'example.com')],
    result: rescode, resultExample: true,
    async exec({ dir, host }, ctx) {
      const h = ctx.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      await exportHosts(ctx, dir, [h]);
      return true;
    },
  }),
  command({
    name: 'import_piefxis', tags: ['mnesia'], policy: 'admin', desc: 'Import users data from a PIEFXIS file (XEP-0227)',
    longdesc:
      "Reads a PIEFXIS file (urn:xmpp:pie:0 or the older namespace; a main file with xi:include of host files beside it, or host elements inline) as a stream, one account at a time. Credentials: password='…', scram-credentials (ejabberd's doubly base64-encoded keys and XEP-0227's singly encoded ones both read), or ejabberd's old password='scram:…'. Rosters keep every subscription state, pending requests both ways, names and groups. " +
      IMPORT_NOTES,
    args: [str('file', 'Full path to the PIEFXIS file', '/var/lib/parley/export/20231114-101500.xml')],
    result: rescode, resultExample: true,
    async exec({ file }, ctx) {
      return (await runImport(ctx, 'import_piefxis', file, 'file', (path, imp) => importPiefxisFile(ctx, path, imp))).refused === 0;
    },
  }),
  command({
    name: 'import_prosody', tags: ['mnesia', 'sql'], policy: 'admin', desc: 'Import data from Prosody',
    longdesc:
      "Reads a Prosody data directory (internal file storage: HOST/accounts, roster, vcard, private, offline, with Prosody's percent-encoded names such as example%2eorg and j%c3%bcrgen). Passwords: Prosody 0.12's SCRAM-SHA-1 keys (hex, with its salt and iteration count) or a clear password. Every roster item is kept, pending requests both ways included. Hosts this server does not serve are reported and skipped. " +
      IMPORT_NOTES,
    args: [str('dir', 'Full path to the Prosody data directory', '/var/lib/prosody')],
    result: rescode, resultExample: true,
    async exec({ dir }, ctx) {
      const run = (path: string, imp: AccountImporter) => importProsodyDir(path, imp, ctx.config.limits.maxCommandFileSize * 16);
      return (await runImport(ctx, 'import_prosody', dir, 'directory', run)).refused === 0;
    },
  }),
  command({
    name: 'import_file', tags: ['mnesia'], policy: 'admin', desc: 'Import user data from jabberd14 spool file',
    longdesc: 'A jabberd14 spool file (HOST/USER.xml, an <xdb> document: jabber:iq:auth password, jabber:iq:roster, vcard-temp, private storage, offline messages); the host is the name of the directory holding the file. ' + IMPORT_NOTES,
    args: [str('file', 'Full path to the jabberd14 spool file', '/var/spool/jabber/example.com/user1.xml')],
    result: restuple, resultExample: 'Success',
    exec: ({ file }, ctx) => importSpool(ctx, 'import_file', file, 'file', importJabberd14File),
  }),
  command({
    name: 'import_dir', tags: ['mnesia'], policy: 'admin', desc: 'Import users data from jabberd14 spool dir',
    longdesc: 'Every USER.xml of a jabberd14 spool directory (DIR/HOST/USER.xml; or DIR/USER.xml when DIR is one host\'s directory, named after the host). ' + IMPORT_NOTES,
    args: [str('file', 'Full path to the jabberd14 spool directory', '/var/spool/jabber/')],
    result: restuple, resultExample: 'Success',
    exec: ({ file }, ctx) => importSpool(ctx, 'import_dir', file, 'directory', importJabberd14Dir),
  }),
];
