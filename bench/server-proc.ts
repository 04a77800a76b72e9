/**
 * Starting and watching the Parley server under test: a temporary data directory and config,
 * the process pinned to core 0 with a raised fd limit, its log captured to a file.
 */
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './stats.js';

export interface ServerTarget {
  host: string;
  c2sPort: number;
  httpPort: number;
  domain: string;
  adminPassword: string;
  pid: number | undefined;
}

export interface ManagedServer extends ServerTarget {
  pid: number;
  dir: string;
  /** The server's data directory (its SQLite file is `parley.db` there). */
  dataDir: string;
  logFile: string;
  profileDir: string | undefined;
  command: string;
  /** Set when the process exited (on its own or because we stopped it). */
  exited: { code: number | null; signal: NodeJS.Signals | null; expected: boolean } | undefined;
  stop(): Promise<void>;
  /** Stops the process and starts it again on the same data directory and ports. */
  restart(): Promise<void>;
  logTail(lines?: number): string;
}

/** A port the kernel says is free (bind to 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export interface StartOptions {
  projectRoot: string;
  profile: boolean;
  /** fd limit requested for the server (via `ulimit -n` in the spawning shell). */
  nofile: number;
  /** Core to pin the server to with taskset; negative: not pinned. */
  cpu: number;
  /** Adjusts the generated config before it is written (the soak adds listeners and limits). */
  configure?: (config: Record<string, any>) => void;
  /**
   * Lets SIGUSR2 write a heap snapshot of the server into `<dir>/heap` (Node's --heapsnapshot-signal);
   * without it, SIGUSR2 writes a diagnostic report there (--report-on-signal: heap figures, no snapshot).
   */
  heapSnapshots?: boolean;
  /** A data directory to use (and keep) instead of a fresh temporary one: a prepared database, say. */
  dataDir?: string;
}

export async function startServer(o: StartOptions): Promise<ManagedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const dataDir = o.dataDir ?? join(dir, 'data');
  const c2sPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === c2sPort) httpPort = await freePort();
  const config: Record<string, any> = {
    hosts: ['localhost'],
    dataDir,
    logLevel: 'warn',
    listen: {
      c2s: { address: '127.0.0.1', port: c2sPort },
      c2sTls: null,
      http: { address: '127.0.0.1', port: httpPort },
      https: null,
    },
    limits: { authFailuresPerMinute: 1_000_000, maxConnectionsPerIp: 1_000_000 },
  };
  o.configure?.(config);
  const configFile = join(dir, 'parley.yml');
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  const logFile = join(dir, 'server.log');
  const profileDir = o.profile ? join(dir, 'cpu-profile') : undefined;
  const heapDir = join(dir, 'heap');
  mkdirSync(heapDir);
  const nodeArgs = [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...(o.heapSnapshots
      ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', heapDir]
      : ['--report-on-signal', '--report-signal=SIGUSR2', '--report-directory', heapDir, '--report-compact']),
  ];
  const args = [...nodeArgs, join(o.projectRoot, 'bin/parley.js'), 'start', '--config', configFile];
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // `exec` all the way down so that the pid we hold is the node process itself.
  const script = `ulimit -n ${o.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${o.cpu >= 0 ? `taskset -c ${o.cpu} ` : ''}'${process.execPath}' ${quoted}`;

  let child: ChildProcess | undefined;
  let expected = false;
  const server: ManagedServer = {
    host: '127.0.0.1',
    c2sPort,
    httpPort,
    domain: 'localhost',
    adminPassword: '',
    pid: 0,
    dir,
    dataDir,
    logFile,
    profileDir,
    command: `sh -c '${script}'`,
    exited: undefined,
    logTail: (lines = 30) => {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    stop: async () => {
      if (!child || server.exited) return;
      expected = true;
      child.kill('SIGTERM');
      // A graceful stop lets --cpu-prof write its profile; give it time, then insist.
      for (let i = 0; i < 300 && !server.exited; i++) await sleep(100);
      if (!server.exited) {
        child.kill('SIGKILL');
        for (let i = 0; i < 50 && !server.exited; i++) await sleep(100);
      }
    },
    restart: async () => {
      await server.stop();
      await launch();
    },
  };

  const launch = async () => {
    expected = false;
    server.exited = undefined;
    const out = openSync(logFile, 'a');
    const c = spawn('sh', ['-c', script], { cwd: o.projectRoot, stdio: ['ignore', out, out], detached: false });
    closeSync(out);
    child = c;
    server.pid = c.pid!;
    c.on('exit', (code, signal) => {
      server.exited = { code, signal, expected };
    });
    const deadline = Date.now() + 60_000;
    const exited = (): ManagedServer['exited'] => server.exited;
    while (Date.now() < deadline) {
      const e = exited();
      if (e) throw new Error(`the server exited during startup (code ${e.code}, signal ${e.signal}):\n${server.logTail()}`);
      if (await canConnect('127.0.0.1', c2sPort, 500)) break;
      await sleep(100);
    }
    if (!(await canConnect('127.0.0.1', c2sPort, 1000))) {
      await server.stop();
      throw new Error(`the server did not accept connections on 127.0.0.1:${c2sPort} within 60 s:\n${server.logTail()}`);
    }
    const pwFile = join(dataDir, 'admin-password');
    for (let i = 0; i < 50 && !existsSync(pwFile); i++) await sleep(100);
    server.adminPassword = readFileSync(pwFile, 'utf8').trim();
  };
  await launch();
  return server;
}

/** The .cpuprofile files in a directory (one per server process run), oldest first. */
export function findProfiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Runs the script that called it again as a child pinned to one core (`taskset`) with a raised open-file
 * limit, unless `env[flag]` says this process is that child. Returns true in the parent, which then only
 * waits: the child's exit code becomes the parent's, and SIGINT/SIGTERM are passed on.
 */
export function reexecPinned(o: { flag: string; cpu: number; nofile: number; script: string }): boolean {
  if (process.env[o.flag] === '1') return false;
  const sh = `ulimit -n ${o.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec taskset -c ${o.cpu} "$0" "$@"`;
  const child = spawn('sh', ['-c', sh, process.execPath, ...process.execArgv, o.script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [o.flag]: '1' },
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}
