import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseArgs } from 'node:util';
import { ConfigError, describeOptions, loadConfigFile, parseConfig, resolveIn } from './config/load.js';
import type { Config } from './config/schema.js';
import { VERSION } from './version.js';
import { callCtl } from './admin/ctl/client.js';

const START_HELP = `Usage: parley start [--config FILE]

Starts the Parley XMPP server. With no configuration it serves the host "localhost",
keeps its SQLite database, TLS certificate and admin password in ./data, accepts clients
on 5222 (STARTTLS) and 5223 (direct TLS), and serves /api and /ws over HTTP on
127.0.0.1:5280 and HTTPS on 127.0.0.1:5443.

Options:
  --config FILE   YAML configuration (default: $PARLEY_CONFIG, else ./parley.yml if present)
  --help          this text

Configuration keys (YAML, all optional):
`;

const MAIN_HELP = `Usage: parley <command>

Commands:
  start [--config FILE]          run the server
  ctl <command> [args...]        run an admin command on the running server (like ejabberdctl);
                                 --config FILE may stand anywhere, and after -- every word is an argument
  ctl help [command]             list admin commands, or describe one
  version                        print the version
`;

function loadConfig(path: string | undefined): { config: Config; baseDir: string; file?: string } {
  const file = path ?? process.env.PARLEY_CONFIG ?? (existsSync('parley.yml') ? 'parley.yml' : undefined);
  if (file) return { ...loadConfigFile(file), file: resolve(file) };
  return { config: parseConfig({}), baseDir: process.cwd() };
}

async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(START_HELP + describeOptions() + '\n');
    return 0;
  }
  const first = loadConfig(values.config);
  // Loaded here, not at the top: `parley ctl` needs none of it and starts three times faster without it.
  const { Server } = await import('./server.js');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  // `restart`: the same process, a new server from the configuration file read again.
  const restart = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.stop();
      const next = first.file ? loadConfig(first.file) : first;
      server = make(next);
      await server.start();
      announce(server);
      stopping = false;
    } catch (err) {
      process.stderr.write(`parley: restart failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  };
  const make = (c: { config: Config; baseDir: string; file?: string }) =>
    new Server({
      config: c.config,
      baseDir: c.baseDir,
      ...(c.file ? { configFile: c.file } : {}),
      control: { stop: () => void stop(), restart: () => void restart() },
      announceAdmin: (jid, password, file) => {
        process.stdout.write(
          `\nCreated the admin account ${jid} with password: ${password}\n(also stored in ${file}, readable only by you)\n\n`,
        );
      },
    });
  const announce = (s: InstanceType<typeof Server>) => {
    const a = s.addresses;
    const show = (l?: { address: string; port: number }) => (l ? `${l.address}:${l.port}` : 'off');
    process.stdout.write(
      `Parley ${VERSION} serving ${s.hosts.join(', ')}\n  c2s ${show(a.c2s)}  c2s+tls ${show(a.c2sTls)}  http ${show(a.http)}  https ${show(a.https)}\n  data ${s.dataDir}\n`,
    );
  };
  let server = make(first);
  // A bug in one handler must not take every user down with it.
  process.on('unhandledRejection', (err) => server.log.error({ err }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => server.log.error({ err }, 'uncaught exception'));
  await server.start();
  announce(server);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // logrotate's usual signal: open the log file again.
  process.on('SIGHUP', () => server.node.reopenLog());
  return -1; // keep running
}

/**
 * Splits `parley ctl` arguments into the config file and the command's own arguments. `--config F`
 * and `--config=F` may stand anywhere (operators add them at the end, as to other commands);
 * after `--` everything is an argument, for the rare argument that is itself `--config`.
 */
export function parseCtlArgs(argv: string[]): { configPath?: string; args: string[] } {
  let configPath: string | undefined;
  const args: string[] = [];
  const setConfig = (value: string | undefined) => {
    if (value === undefined || value === '') throw new ConfigError('ctl: --config needs a file name');
    if (configPath !== undefined) throw new ConfigError('ctl: --config given more than once');
    configPath = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--config') setConfig(argv[++i]);
    else if (a.startsWith('--config=')) setConfig(a.slice('--config='.length));
    else args.push(a);
  }
  return configPath === undefined ? { args } : { configPath, args };
}

async function ctl(argv: string[]): Promise<number> {
  const { configPath, args } = parseCtlArgs(argv);
  const { config, baseDir } = loadConfig(configPath);
  const dataDir = resolveIn(baseDir, config.dataDir);
  const socket = resolveIn(dataDir, config.ctl.socket);
  const res = await callCtl(socket, args, `parley@${config.hosts[0]}`, (m) => process.stderr.write(`${m}\n`));
  process.stdout.write(res.stdout);
  return res.exitCode;
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  let code: number;
  try {
    switch (cmd) {
      case 'start':
        code = await start(rest);
        break;
      case 'ctl':
        code = await ctl(rest);
        break;
      case 'version':
      case '--version':
        process.stdout.write(`Parley ${VERSION}\n`);
        code = 0;
        break;
      default:
        process.stdout.write(MAIN_HELP);
        code = cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 1;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      code = 2;
    } else if (err instanceof Error && 'code' in err && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`parley: ${err.message}: another program is using that port (set listen.* in the config)\n`);
      code = 2;
    } else if (err instanceof TypeError && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`parley: ${err.message}\n`);
      code = 2;
    } else {
      process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
      code = 1;
    }
  }
  if (code >= 0) process.exit(code);
}
