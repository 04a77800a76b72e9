import { stringify } from 'yaml';
import { commandsIn, int, listOf, rescode, restuple, str, strResult, tupleOf } from '../../admin/define.js';
import { readDataFile, writeDataFile } from '../../admin/data-files.js';
import { badArgument, conflict, forbidden, unavailable } from '../../errors.js';
import { JID } from '../../xmpp/jid.js';
import { x } from '../../xmpp/xml/element.js';
import type { Config } from '../../config/schema.js';
import type { CommandContext } from '../module.js';
import { convertEjabberdConfig } from './ejabberd-config.js';

type Context = CommandContext;
const command = commandsIn<Context>();

/** ejabberd's log levels (set_loglevel) and the pino level each becomes. */
const TO_PINO: Record<string, string> = {
  none: 'silent', emergency: 'fatal', alert: 'fatal', critical: 'fatal', error: 'error',
  warning: 'warn', notice: 'info', info: 'info', debug: 'debug',
};
/** pino's level as ejabberd names it (get_loglevel). */
const FROM_PINO: Record<string, string> = { silent: 'none', fatal: 'critical', error: 'error', warn: 'warning', info: 'info', debug: 'debug', trace: 'debug' };

/** The longest stop_kindly wait accepted (a day): a typo must not keep a node stopping for weeks. */
const MAX_STOP_DELAY = 86_400;

const NO_CONTRIB =
  'Parley has no contributed-module repository and loads no code at run time: its modules are part of the release (modules_available lists them). ' +
  'This command answers an error (HTTP 503), never a silent success.';
const NO_HOT_CODE = 'Parley does not load or compile code at run time: upgrade by installing a new release and restarting. This command answers an error (HTTP 503).';
const NO_MNESIA = 'Parley keeps its data in SQLite or PostgreSQL, not Mnesia: this command answers an error (HTTP 503). Use backup/restore and export2sql for the database.';
const NO_CLUSTER = 'Parley nodes do not cluster yet (clustering over Redis comes later): list_cluster lists this node only.';

const noContrib = () => unavailable('Parley has no contributed-module repository: its modules are part of the release (see modules_available)');
const noHotCode = () => unavailable('Parley does not load or compile code at run time: install a new release and restart');
const noMnesia = () => unavailable('Parley has no Mnesia database (storage is SQLite or PostgreSQL): use backup, restore or export2sql');
const noCluster = () => unavailable('Clustering is not available in this Parley version: the node runs alone');

/** The configuration with secrets taken out (the password of a PostgreSQL URL). */
function redacted(config: Config): unknown {
  const copy = structuredClone(config) as Config;
  if (copy.storage.url) {
    try {
      const u = new URL(copy.storage.url);
      if (u.password) u.password = '********';
      copy.storage.url = u.toString();
    } catch {
      copy.storage.url = '********';
    }
  }
  return copy;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const operationsCommands = [
  // ---- lifecycle ---------------------------------------------------------------------------------
  command({
    name: 'stop', tags: ['server'], policy: 'admin', desc: 'Stop ejabberd gracefully',
    longdesc: 'Stops this Parley node: sessions are told system-shutdown, listeners close, storage is closed, and `parley start` exits with status 0. The answer is written before the node stops. The default api permissions refuse it over HTTP (admin access excludes stop); parley ctl may call it.',
    args: [], result: rescode, resultExample: true,
    exec: (_, ctx) => {
      ctx.node.stop();
      return true;
    },
  }),
  command({
    name: 'restart', tags: ['server'], policy: 'admin', desc: 'Restart ejabberd gracefully',
    longdesc: 'Stops this node as stop does, reads its configuration file again and starts a new server in the same process (clients reconnect). Only a node run by `parley start` can restart (an embedded server answers an error).',
    args: [], result: rescode, resultExample: true,
    exec: (_, ctx) => {
      try {
        ctx.node.restart();
      } catch (err) {
        throw unavailable((err as Error).message);
      }
      return true;
    },
  }),
  command({
    name: 'stop_kindly', tags: ['server'], policy: 'admin', desc: 'Inform users and rooms, wait, and stop the server',
    longdesc:
      'Sends the announcement as a headline message from each served host to every online session, waits DELAY seconds (at most 86400), then stops as stop does. ' +
      'The answer comes when the wait is over, just before the node stops. (Rooms will be told too once group chat exists.)',
    args: [int('delay', 'Seconds to wait', 60), str('announcement', 'Announcement to send, with quotes', 'Server will stop now.')],
    result: rescode, resultExample: true,
    async exec({ delay, announcement }, ctx) {
      if (!Number.isInteger(delay) || delay < 0 || delay > MAX_STOP_DELAY) throw badArgument(`Invalid delay: ${delay} (0 to ${MAX_STOP_DELAY} seconds)`);
      ctx.log.warn({ delay, announcement }, 'stop_kindly: announcing, then stopping');
      const sends: Promise<void>[] = [];
      for (const s of [...ctx.sessions.all()]) {
        const msg = x('message', { type: 'headline', id: ctx.randomId() });
        msg.c('subject').t('Server stopping');
        msg.c('body').t(announcement);
        sends.push(ctx.send(msg, new JID('', s.jid.domain, ''), s.jid).catch(() => undefined));
      }
      await Promise.all(sends);
      if (delay > 0) await sleep(delay * 1000);
      ctx.node.stop();
      return true;
    },
  }),

  // ---- configuration -----------------------------------------------------------------------------
  command({
    name: 'reload_config', tags: ['server', 'config'], policy: 'admin', desc: 'Reload config file in memory',
    longdesc:
      'Reads the configuration file again. Keys read where they are used change at once: logLevel, admins, apiPermissions, auth.passwordFormat, limits.* (except limits.authFailuresPerMinute) and the c2s timeouts and session limit; what takes effect per connection applies to new ones. ' +
      'Other changed keys (listeners, storage, hosts, TLS, dataDir, shapers, registration switches) are not applied: the call then answers 409 naming them, after applying the rest. An invalid file changes nothing and answers 400 naming the bad key.',
    args: [], result: rescode, resultExample: true,
    async exec(_, ctx) {
      if (ctx.node.configFile() === undefined) throw unavailable('This node was started without a configuration file: there is nothing to reload');
      let outcome;
      try {
        outcome = await ctx.node.reloadConfig();
      } catch (err) {
        throw badArgument(`Configuration not reloaded: ${(err as Error).message}`);
      }
      if (outcome.needRestart.length > 0) {
        const applied = outcome.applied.length > 0 ? `Applied: ${outcome.applied.join(', ')}. ` : 'Nothing applied. ';
        throw conflict(`${applied}Changed but needing a restart: ${outcome.needRestart.join(', ')}`);
      }
      return true;
    },
  }),
  command({
    name: 'dump_config', tags: ['server', 'config'], policy: 'admin', desc: 'Dump configuration in YAML format as seen by ejabberd',
    longdesc: 'Writes the configuration in effect (every key, defaults included) as YAML to OUT, a file inside the data directory; the password of a PostgreSQL URL is replaced by ********.',
    args: [str('out', 'Full path to output file', '/tmp/ejabberd.yml')],
    result: rescode, resultExample: true,
    async exec({ out }, ctx) {
      await writeDataFile(ctx.dataDir, out, `# Parley configuration in effect, ${new Date().toISOString()}\n${stringify(redacted(ctx.config))}`);
      return true;
    },
  }),
  command({
    name: 'convert_to_yaml', tags: ['config'], policy: 'admin', desc: 'Convert the input file from Erlang to YAML format',
    longdesc:
      'Reads an ejabberd configuration (the old Erlang-term ejabberd.cfg, or ejabberd.yml) and writes the equivalent Parley configuration as YAML: hosts, client and HTTP listener ports, admins (from the admin ACL), in-band registration, log level, SQL storage. ' +
      'Options without a Parley equivalent are listed as comments at the end of the file. Both files lie inside the data directory.',
    args: [str('in', 'Full path to the original configuration file', '/etc/ejabberd/ejabberd.cfg'), str('out', 'And full path to final file', '/etc/ejabberd/ejabberd.yml')],
    result: rescode, resultExample: true,
    async exec({ in: input, out }, ctx) {
      const text = await readDataFile(ctx.dataDir, input, ctx.config.limits.maxCommandFileSize, 'limits.maxCommandFileSize');
      let yaml: string;
      try {
        yaml = convertEjabberdConfig(text);
      } catch (err) {
        throw badArgument(`Cannot convert ${input}: ${(err as Error).message}`);
      }
      await writeDataFile(ctx.dataDir, out, yaml);
      return true;
    },
  }),

  // ---- logging and memory ------------------------------------------------------------------------
  command({
    name: 'get_loglevel', tags: ['logs'], policy: 'admin', desc: 'Get the current loglevel',
    longdesc: "ejabberd's keyword for the log level in effect: none, critical, error, warning, info or debug (Parley logs with pino; emergency, alert and critical are its fatal, notice is its info).",
    args: [], result: strResult('levelatom'), resultExample: 'warning', resultDesc: 'Tuple with the log level number, its keyword and description',
    exec: (_, ctx) => FROM_PINO[ctx.node.logLevel()] ?? ctx.node.logLevel(),
  }),
  command({
    name: 'set_loglevel', tags: ['logs'], policy: 'admin', desc: 'Set the loglevel',
    longdesc: 'Changes the log level at once, for the whole node (it lasts until the next start or reload_config that changes logLevel).',
    args: [str('loglevel', 'Desired logging level: none | emergency | alert | critical | error | warning | notice | info | debug', 'debug')],
    result: rescode, resultExample: true,
    exec: ({ loglevel }, ctx) => {
      const level = TO_PINO[loglevel];
      if (level === undefined) throw badArgument(`Invalid loglevel: ${loglevel} (none, emergency, alert, critical, error, warning, notice, info or debug)`);
      ctx.node.setLogLevel(level);
      return true;
    },
  }),
  command({
    name: 'reopen_log', tags: ['logs'], policy: 'admin', desc: 'Reopen the log files',
    longdesc: 'Opens the log file (logFile) again, after an outside tool moved it (logrotate). When the node logs to standard output there is no file: the call answers an error (HTTP 503).',
    args: [], result: rescode, resultExample: true,
    exec: (_, ctx) => {
      if (!ctx.node.reopenLog()) throw unavailable('This node logs to standard output (no logFile configured): there is no log file to reopen');
      return true;
    },
  }),
  command({
    name: 'rotate_log', tags: ['logs'], policy: 'admin', desc: 'Rotate the log files',
    longdesc: 'Renames the log file (logFile) to FILE.<UTC time stamp> and opens a new one. When the node logs to standard output the call answers an error (HTTP 503).',
    args: [], result: rescode, resultExample: true,
    async exec(_, ctx) {
      const rotated = await ctx.node.rotateLog();
      if (rotated === undefined) throw unavailable('This node logs to standard output (no logFile configured): there is no log file to rotate');
      ctx.log.info({ rotated }, 'log rotated');
      return true;
    },
  }),
  command({
    name: 'clear_cache', tags: ['server'], policy: 'admin', desc: 'Clear database cache on all nodes',
    longdesc: "Drops what the modules keep in memory in front of storage (verified-password caches, privacy lists, the shared-roster presence flag); what is read next comes from storage. Useful after changing the database behind the node's back.",
    args: [], result: rescode, resultExample: true,
    async exec(_, ctx) {
      await ctx.node.clearCaches();
      return true;
    },
  }),
  command({
    name: 'get_cookie', tags: ['erlang'], policy: 'admin', desc: 'Get the Erlang cookie of this node',
    longdesc: `Parley is not an Erlang node and has no cookie: the call answers an error (HTTP 503). ${NO_CLUSTER}`,
    args: [], result: strResult('cookie'), resultExample: 'MWTAVMODFELNLSMYXPPD', resultDesc: 'Erlang cookie used for authentication by ejabberd',
    exec: () => {
      throw unavailable('Parley is not an Erlang node: it has no cookie');
    },
  }),

  // ---- modules -----------------------------------------------------------------------------------
  command({
    name: 'modules_installed', tags: ['admin'], policy: 'admin', desc: 'List the contributed modules already installed',
    longdesc: "The modules this node runs, with a line on each. Parley's modules are part of the release; there are no contributed ones.",
    args: [], result: { ...listOf('modules', tupleOf('module', [['name', 'string'], ['summary', 'string']])), keyed: true },
    resultExample: [{ name: 'vcard', summary: 'vCard-temp (XEP-0054)' }, { name: 'roster', summary: 'Roster management' }], resultDesc: 'List of tuples with module name and description',
    exec: (_, ctx) => ctx.node.modules().map((m) => ({ name: m.name, summary: m.summary })),
  }),
  command({
    name: 'modules_available', tags: ['admin'], policy: 'admin', desc: 'List the contributed modules available to install',
    longdesc: 'The modules this Parley release ships, with a line on each (a node may run fewer).',
    args: [], result: { ...listOf('modules', tupleOf('module', [['name', 'string'], ['summary', 'string']])), keyed: true },
    resultExample: [{ name: 'vcard', summary: 'vCard-temp (XEP-0054)' }, { name: 'roster', summary: 'Roster management' }], resultDesc: 'List of tuples with module name and description',
    exec: (_, ctx) => ctx.node.modulesAvailable().map((m) => ({ name: m.name, summary: m.summary })),
  }),
  command({
    name: 'restart_module', tags: ['erlang'], policy: 'admin', desc: 'Stop an ejabberd module, reload code and start',
    longdesc:
      "Parley loads no code at run time, and its modules serve every host at once: restarting one drops its in-memory state (as clear_cache does for that module) so it reads storage again. Returns 2 (code not reloaded, but module restarted) for a module this node runs, 1 for a module it does not run; an unknown HOST is an error.",
    args: [str('host', 'Server name', 'myserver.com'), str('module', 'Module to restart', 'mod_vcard')],
    result: { name: 'res', type: 'integer' }, resultExample: 0,
    resultDesc: 'Returns integer code:\n - 0: code reloaded, module restarted\n - 1: error: module not loaded\n - 2: code not reloaded, but module restarted',
    async exec({ host, module }, ctx) {
      if (ctx.prepareHost(host) === undefined) throw badArgument(`Unknown host: ${host}`);
      // ejabberd's names (mod_vcard) name Parley's modules (vcard) too.
      const name = module.replace(/^mod_/, '').replace(/_/g, '');
      const running = ctx.node.modules().find((m) => m.name === module || m.name === name);
      if (!running) return 1;
      await ctx.node.clearCaches(running.name);
      return 2;
    },
  }),
  ...(['module_check', 'module_install', 'module_uninstall', 'module_upgrade'] as const).map((name) =>
    command({
      name, tags: ['admin'], policy: 'admin',
      desc: { module_check: 'Check the contributed module repository compliance', module_install: 'Compile, install and start an available contributed module', module_uninstall: 'Uninstall a contributed module', module_upgrade: 'Upgrade the running code of an installed module' }[name],
      longdesc: NO_CONTRIB,
      args: [str('module', 'Module name', 'mod_rest')], result: rescode, resultExample: true,
      exec: () => {
        throw noContrib();
      },
    }),
  ),
  command({
    name: 'modules_update_specs', tags: ['admin'], policy: 'admin', desc: 'Update the module source code from Git',
    longdesc: NO_CONTRIB, args: [], result: rescode, resultExample: true,
    exec: () => {
      throw noContrib();
    },
  }),
  command({
    name: 'update_list', tags: ['server'], policy: 'admin', desc: 'List modified modules that can be updated',
    longdesc: 'Parley loads no code at run time, so no module is ever waiting to be reloaded: the list is always empty.',
    args: [], result: listOf('modules', strResult('module')), resultExample: ['mod_configure', 'mod_vcard'],
    exec: () => [],
  }),
  command({
    name: 'update', tags: ['server'], policy: 'admin', desc: 'Update the given module, or use the keyword: all',
    longdesc: NO_HOT_CODE, args: [str('module', 'Module name, or the keyword all', 'mod_vcard')], result: restuple, resultExample: 'Success',
    exec: () => {
      throw noHotCode();
    },
  }),
  command({
    name: 'compile', tags: ['erlang'], policy: 'admin', desc: 'Recompile and reload Erlang source code file',
    longdesc: NO_HOT_CODE, args: [str('file', 'Filename of erlang source file to compile', '/home/me/srcs/ejabberd/mod_example.erl')], result: rescode, resultExample: true,
    exec: () => {
      throw noHotCode();
    },
  }),

  // ---- cluster -----------------------------------------------------------------------------------
  command({
    name: 'list_cluster', tags: ['cluster'], policy: 'admin', desc: 'List nodes that are part of the cluster handled by Node',
    longdesc: NO_CLUSTER,
    args: [], result: listOf('nodes', strResult('node')), resultExample: ['ejabberd1@machine7', 'ejabberd1@machine8'],
    exec: (_, ctx) => [ctx.nodeName],
  }),
  ...(['join_cluster', 'leave_cluster'] as const).map((name) =>
    command({
      name, tags: ['cluster'], policy: 'admin',
      desc: name === 'join_cluster' ? 'Join this node into the cluster handled by Node' : 'Remove and shutdown Node from the running cluster',
      longdesc: `This command works only with parley ctl, not over HTTP (403 there, as ejabberd's mod_http_api refuses it). ${NO_CLUSTER} Over parley ctl it answers an error.`,
      args: [str('node', name === 'join_cluster' ? 'Nodename of the node to join' : 'Nodename of the node to kick from the cluster', 'ejabberd1@machine7')],
      result: rescode, resultExample: true,
      exec: (_, ctx) => {
        if (ctx.caller.surface !== 'ctl') throw forbidden(`${name} works only with parley ctl`);
        throw noCluster();
      },
    }),
  ),
  command({
    name: 'remove_node', tags: ['cluster'], policy: 'admin', desc: 'Remove an ejabberd node from Mnesia clustering config',
    longdesc: `Seed 001. ${NO_CLUSTER} Removing this node itself is refused.`,
    args: [str('node', 'Name of erlang node to remove', 'ejabberd1@machine7')], result: rescode, resultExample: true,
    exec: ({ node }, ctx) => {
      if (node === ctx.nodeName) throw badArgument(`${node} is this node: stop it instead`);
      throw noCluster();
    },
  }),
  command({
    name: 'set_master', tags: ['cluster'], policy: 'admin', desc: 'Set master node of the clustered Mnesia tables',
    longdesc: `If you provide as nodename "self", this node will be set as its own master. ${NO_MNESIA}`,
    args: [str('nodename', 'Name of the erlang node that will be considered master of this node', 'ejabberd@machine7')], result: restuple, resultExample: 'Success',
    exec: () => {
      throw noMnesia();
    },
  }),

  // ---- Mnesia ------------------------------------------------------------------------------------
  command({
    name: 'mnesia_info', tags: ['mnesia'], policy: 'admin', desc: 'Dump info on global Mnesia state', longdesc: NO_MNESIA,
    args: [], result: strResult('res'), resultExample: 'Parley has no Mnesia database',
    exec: () => {
      throw noMnesia();
    },
  }),
  command({
    name: 'mnesia_table_info', tags: ['mnesia'], policy: 'admin', desc: 'Dump info on Mnesia table state', longdesc: NO_MNESIA,
    args: [str('table', 'Mnesia table name', 'roster')], result: strResult('res'), resultExample: 'Parley has no Mnesia database',
    exec: () => {
      throw noMnesia();
    },
  }),
  command({
    name: 'mnesia_change_nodename', tags: ['mnesia'], policy: 'admin', desc: 'Change the erlang node name in a backup file', longdesc: NO_MNESIA,
    args: [
      str('oldnodename', 'Name of the old erlang node', 'ejabberd@machine1'), str('newnodename', 'Name of the new node', 'ejabberd@machine2'),
      str('oldbackup', 'Path to old backup file', '/var/lib/ejabberd/old.backup'), str('newbackup', 'Path to the new backup file', '/var/lib/ejabberd/new.backup'),
    ],
    result: restuple, resultExample: 'Success',
    exec: () => {
      throw noMnesia();
    },
  }),
  command({
    name: 'delete_mnesia', tags: ['mnesia'], policy: 'admin', desc: 'Delete elements in Mnesia database for a given vhost', longdesc: NO_MNESIA,
    args: [str('host', 'Vhost which content will be deleted in Mnesia database', 'example.com')], result: rescode, resultExample: true,
    exec: () => {
      throw noMnesia();
    },
  }),
  command({
    name: 'install_fallback', tags: ['mnesia'], policy: 'admin', desc: 'Install the database from a fallback file', longdesc: `${NO_MNESIA} (restore brings a Parley backup back.)`,
    args: [str('file', 'Full path to the fallback file', '/var/lib/ejabberd/database.fallback')], result: restuple, resultExample: 'Success',
    exec: () => {
      throw noMnesia();
    },
  }),
];
