/**
 * Parley load benchmark: `npm run bench [-- options]`.
 *
 * Starts a Parley server pinned to core 0 (unless --server is given), pins itself to core 1,
 * and measures over loopback without TLS:
 *   - admin HTTP API requests/s (POST /api/connected_users_number, keep-alive)
 *   - logins/s with SCRAM-SHA-1 and with PLAIN (connect, SASL, bind, close)
 *   - idle sessions held and server RSS per idle session
 *   - one-to-one messages/s and delivery latency (closed loop and fixed offered load)
 * and prints a table plus one JSON line with every figure.
 */
import os from 'node:os';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScramCache, RawXmpp } from './xmpp-raw.js';
import { ARCHIVE_TABLE, archiveRowCount } from './archive-fill.js';
import { joinRoom, benchRoom, type RoomJoinResult, type RoomRunResult } from './step5.js';
import { archiveQueryPhase, type ArchiveQueryResult } from './archive-query.js';
import { answerCaps, setArchivePrefs, capsPresence, capsVer, type CapsCounters } from './step5.js';
import { AdminApi, accountList, registerAccounts, benchAdminApi, type ApiBenchResult, type RegisterResult } from './http-api.js';
import { benchLogins, openSessions, closeSessions, benchMessages, type LoginBenchResult, type MessageRunResult } from './scenarios.js';
import { startServer, findProfiles, reexecPinned, type ManagedServer, type ServerTarget } from './server-proc.js';
import { procStatusKb, procMaxOpenFiles, procOpenFds, waitForQuietCores, CpuWindow, fmt, ms, table, sleep, type CpuFields } from './stats.js';
import { ProfileReader, formatProfile, type ProfileWindowSummary } from './profile.js';

const HELP = `Usage: npm run bench -- [options]

Benchmarks a Parley server over loopback without TLS. By default it starts its own server
(temporary data directory, pinned to core 0 with taskset) and pins itself to core 1.

Options:
  --quick                  small run: 500 sessions, 500 message users, 1,000 logins, 5 s phases
  --phases LIST            subset of api,logins,sessions,messages (the default) and the step-5
                           scenarios sessions-caps,archive,room,archive-query; 'all' is every one
                             sessions-caps  idle sessions whose clients advertise caps (PEP running)
                             archive        one-to-one messages with every message archived (MAM)
                             room           one room, --room-occupants occupants, groupchat fan-out
                             archive-query  MAM page queries over a --archive-rows message archive
  --logins N               logins per mechanism (default 5000)
  --login-concurrency N    connections logging in at once (default 64)
  --sessions N             idle sessions to hold (default 20000)
  --resources N            resources per account in the sessions phase (default 10)
  --msg-users N            sessions online in the messages phase, one per account (default 5000)
  --duration S             measured seconds per message run (default 10)
  --warmup S               warm-up seconds before each message run (default 2)
  --windows LIST           closed-loop messages in flight per session, e.g. 1,4 (default 1,4)
  --rates LIST             fixed offered loads in msg/s; N% = share of the best closed-loop rate
                           (default 5000,10000,15000,20000; --quick: 20000)
  --api-seconds S          admin API benchmark length (default 5)
  --api-concurrency LIST   admin API requests in flight, one keep-alive connection each, one run per
                           value (default 16,32)
  --profile                run the server with --cpu-prof and print its hot spots per phase
  --server HOST:PORT       benchmark a running server's c2s listener instead of starting one
  --http PORT              its HTTP API port (with --server)
  --admin-password P       password of admin@<domain> (with --server)
  --pid N                  its process id, for RSS and CPU figures (with --server)
  --domain D               XMPP domain (default localhost)
  --no-pin                 do not re-execute under taskset
  --wait-quiet S           first wait up to S seconds for cores 0 and 1 to be idle (shared machines)
  --retries N              measure a run again (up to N times, default 2) when other processes used
                           more than 10% of a benchmark core during it; the least disturbed attempt is kept
  --room-occupants N       occupants of the room (default 1000; --quick: 200)
  --room-senders N         occupants that post, in turn (default 4)
  --room-rates LIST        room messages/s offered, one run each, up to the first overloaded
                           (default 5,10,20,40,80; --quick: 5,20)
  --room-join-concurrency N joins in flight (default 20)
  --archive-rates LIST     offered msg/s in the archive phase (default 5000,10000,15000; --quick: 10000)
  --archive-windows LIST   closed-loop runs in the archive phase (default 1; --quick: none)
  --archive-rows N         rows of the archive-query database (default 10000000; --quick: 200000)
  --archive-dir DIR        its data directory, kept and reused across runs
                           (default /tmp/parley-bench-archive-<rows>)
  --mam-queries N          queries per variant (default 1000; --quick: 200)
  --mam-max N              RSM page size (default 50)
  --mam-concurrency N      queries in flight, one per large archive (default 1, at most 4)
  --server-config JSON     merged into the generated server config (e.g. '{"mam":{"default":"always"}}')
  --help                   this text
`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    phases: { type: 'string' },
    logins: { type: 'string' },
    'login-concurrency': { type: 'string' },
    sessions: { type: 'string' },
    resources: { type: 'string' },
    'msg-users': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    windows: { type: 'string' },
    rates: { type: 'string' },
    'api-seconds': { type: 'string' },
    'api-concurrency': { type: 'string' },
    profile: { type: 'boolean', default: false },
    server: { type: 'string' },
    http: { type: 'string' },
    'admin-password': { type: 'string' },
    pid: { type: 'string' },
    domain: { type: 'string', default: 'localhost' },
    'no-pin': { type: 'boolean', default: false },
    'wait-quiet': { type: 'string' },
    retries: { type: 'string' },
    'room-occupants': { type: 'string' },
    'room-senders': { type: 'string' },
    'room-rates': { type: 'string' },
    'room-join-concurrency': { type: 'string' },
    'archive-rates': { type: 'string' },
    'archive-windows': { type: 'string' },
    'archive-rows': { type: 'string' },
    'archive-dir': { type: 'string' },
    'mam-queries': { type: 'string' },
    'mam-max': { type: 'string' },
    'mam-concurrency': { type: 'string' },
    'server-config': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const NOFILE = 100_000;
const GENERATOR_CPU = 1;
const SERVER_CPU = 0;

// ---- pinning: re-execute under taskset on core 1 with a raised fd limit ---------------------

function cpusAllowed(): string {
  try {
    return /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

// ---- the run -------------------------------------------------------------------------------

function deepMerge(into: Record<string, any>, from: Record<string, any>): void {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && into[k] && typeof into[k] === 'object' && !Array.isArray(into[k])) deepMerge(into[k], v);
    else into[k] = v;
  }
}

/**
 * What the step-5 scenarios need of the server's configuration beyond the defaults: the limits that
 * the room of --room-occupants and the bench's send rates would otherwise hit (they are measured,
 * not refused), plus --server-config.
 */
let serverConfigOverride: Record<string, unknown> | undefined;
function configureServer(config: Record<string, any>): void {
  deepMerge(config, STEP5_CONFIG);
  if (serverConfigOverride) deepMerge(config, serverConfigOverride);
}
/** Filled in from the modules' config sections once they exist (see BENCHMARKS.md, step 5). */
const STEP5_CONFIG: Record<string, any> = {};
/**
 * Whether the archive phase's clients set their MAM preferences to default='always'. Not needed:
 * the mam module archives every chat by default (mam.defaultPolicy 'always'), which is what is measured.
 */
const ARCHIVE_PREFS = false;
const ROOM_NAME = 'bench';
/** Room configuration submitted by the room's creator (muc#roomconfig fields); undefined: an instant room. */
const ROOM_CONFIG: Record<string, string> | undefined = undefined;

function num(v: string | undefined, d: number): number {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${v}`);
  return n;
}


/** Whether the server and the generator each have a core of their own, so that "other load" means something. */
let pinned = false;

/** "CPU srv 97% gen 60%", plus other processes' load on the two cores when it is noticeable. */
function cpuNote(r: CpuFields): string {
  const other = pinned && r.otherLoadPct !== undefined && r.otherLoadPct >= 5 ? ` other ${fmt(r.otherLoadPct)}%` : '';
  return `CPU srv ${fmt(r.serverCpuPct)}% gen ${fmt(r.generatorCpuPct)}%${other}`;
}

const DISTURBED_PCT = 10;

interface MessagesResult {
  users: number;
  layout: string;
  opened: number;
  openSeconds: number;
  runs: MessageRunResult[];
  lost: number;
  firstLost?: string;
  archive?: { table: string; messagesSent: number; rowsExpected: number; rowsBefore?: number; rowsAfter?: number };
}

interface PhaseWindow {
  name: string;
  startUs: number;
  endUs: number;
}

async function main(): Promise<void> {
  const quick = opt.quick!;
  const cfg = {
    logins: num(opt.logins, quick ? 1000 : 5000),
    loginConcurrency: num(opt['login-concurrency'], 64),
    sessions: num(opt.sessions, quick ? 500 : 20_000),
    resources: Math.max(1, num(opt.resources, 10)),
    msgUsers: num(opt['msg-users'], quick ? 500 : 5000),
    duration: num(opt.duration, quick ? 5 : 10),
    warmup: num(opt.warmup, quick ? 1 : 2),
    windows: (opt.windows ?? (quick ? '1' : '1,4')).split(',').filter(Boolean).map(Number),
    rates: (opt.rates ?? (quick ? '20000' : '5000,10000,15000,20000')).split(',').filter(Boolean).map((r) => (r.endsWith('%') ? r : Number(r))),
    apiSeconds: num(opt['api-seconds'], quick ? 3 : 5),
    apiConcurrency: (opt['api-concurrency'] ?? '16,32').split(',').filter(Boolean).map(Number),
    openConcurrency: 200,
    registerConcurrency: 16,
    roomOccupants: num(opt['room-occupants'], quick ? 200 : 1000),
    roomSenders: Math.max(1, num(opt['room-senders'], 4)),
    roomRates: (opt['room-rates'] ?? (quick ? '5,20' : '5,10,20,40,80')).split(',').filter(Boolean).map(Number),
    roomJoinConcurrency: Math.max(1, num(opt['room-join-concurrency'], 20)),
    archiveRates: (opt['archive-rates'] ?? (quick ? '10000' : '5000,10000,15000')).split(',').filter(Boolean).map(Number),
    archiveWindows: (opt['archive-windows'] ?? (quick ? '' : '1')).split(',').filter(Boolean).map(Number),
    archiveRows: num(opt['archive-rows'], quick ? 200_000 : 10_000_000),
    mamQueries: num(opt['mam-queries'], quick ? 200 : 1000),
    mamMax: Math.max(1, num(opt['mam-max'], 50)),
    mamConcurrency: Math.max(1, num(opt['mam-concurrency'], 1)),
  };
  const ALL_PHASES = ['api', 'logins', 'sessions', 'sessions-caps', 'messages', 'archive', 'room', 'archive-query'];
  const phases = new Set((opt.phases ?? 'api,logins,sessions,messages').split(',').flatMap((p) => (p === 'all' ? ALL_PHASES : [p])));
  for (const p of phases) if (!ALL_PHASES.includes(p)) throw new Error(`unknown phase ${p} (known: ${ALL_PHASES.join(', ')}, all)`);
  serverConfigOverride = opt['server-config'] ? (JSON.parse(opt['server-config']) as Record<string, unknown>) : undefined;
  const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const started = new Date();
  const cpuModel = (() => {
    try {
      return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
    } catch {
      return os.cpus()[0]?.model ?? '?';
    }
  })();
  const command = `npm run bench --${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`;
  const info = {
    date: started.toISOString(),
    command,
    node: process.version,
    cpu: cpuModel,
    cpus: os.cpus().length,
    kernel: `${os.type()} ${os.release()}`,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg(),
    generatorCpus: cpusAllowed(),
    generatorMaxOpenFiles: procMaxOpenFiles(process.pid),
    serverCpus: '',
    serverMaxOpenFiles: undefined as number | undefined,
    serverCommand: '',
    mode: quick ? 'quick' : 'full',
  };
  const out = (s = '') => process.stdout.write(s + '\n');
  out(`Parley benchmark — ${info.date}`);
  out(`  command: ${command}`);
  out(`  node ${info.node}, ${info.cpu} (${info.cpus} CPUs), ${info.kernel}, ${info.memoryGB} GB RAM`);
  out(`  generator: pid ${process.pid}, CPUs ${info.generatorCpus}, max open files ${fmt(info.generatorMaxOpenFiles)}`);
  out(`  load average before the run: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const waitQuiet = num(opt['wait-quiet'], 0);
  if (waitQuiet > 0) {
    const q = await waitForQuietCores([SERVER_CPU, GENERATOR_CPU], waitQuiet);
    out(q.quiet ? `  cores ${SERVER_CPU} and ${GENERATOR_CPU} idle; starting` : `  cores still busy (${fmt(q.busyPct)}%) after ${waitQuiet} s; starting anyway`);
  }

  // Watchdog: the whole run is bounded in time, whatever happens.
  const maxRunMs = (quick ? 20 : 60) * 60_000;
  let server: ManagedServer | undefined;
  const watchdog = setTimeout(() => {
    out(`bench: the run exceeded ${maxRunMs / 60_000} minutes; stopping`);
    void (server ? server.stop() : Promise.resolve()).finally(() => process.exit(3));
  }, maxRunMs);

  let target: ServerTarget;
  if (opt.server) {
    const [host, port] = opt.server.split(':');
    if (!host || !port || !opt.http || !opt['admin-password']) throw new Error('--server needs HOST:PORT, --http PORT and --admin-password');
    if (!/^(127\.|::1$|localhost$)/.test(host)) throw new Error('--server must be a loopback address');
    target = {
      host,
      c2sPort: Number(port),
      httpPort: Number(opt.http),
      domain: opt.domain!,
      adminPassword: opt['admin-password'],
      pid: opt.pid ? Number(opt.pid) : undefined,
    };
    out(`  server: existing at ${host}:${port} (http ${opt.http})${target.pid ? `, pid ${target.pid}` : ' (no pid: no RSS/CPU figures)'}`);
  } else {
    server = await startServer({ projectRoot, profile: opt.profile!, nofile: NOFILE, cpu: SERVER_CPU, configure: configureServer });
    target = server;
    info.serverCommand = server.command;
    out(`  server: pid ${server.pid}, c2s 127.0.0.1:${server.c2sPort}, http 127.0.0.1:${server.httpPort}, data ${server.dir}`);
  }
  if (target.pid) {
    try {
      info.serverCpus = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(`/proc/${target.pid}/status`, 'utf8'))?.[1] ?? '?';
    } catch {
      info.serverCpus = '?';
    }
    info.serverMaxOpenFiles = procMaxOpenFiles(target.pid);
    out(`  server process: CPUs ${info.serverCpus}, max open files ${fmt(info.serverMaxOpenFiles)}`);
  }
  pinned = info.serverCpus === String(SERVER_CPU) && info.generatorCpus === String(GENERATOR_CPU);
  if (!pinned) out(`  NOTE: the server is not on CPU ${SERVER_CPU} alone and the generator on CPU ${GENERATOR_CPU} alone; results are not comparable to pinned runs`);
  const needFds =
    Math.max(
      phases.has('sessions') || phases.has('sessions-caps') ? cfg.sessions : 0,
      phases.has('messages') || phases.has('archive') ? cfg.msgUsers : 0,
      phases.has('room') ? cfg.roomOccupants : 0,
    ) + 200;
  if ((info.generatorMaxOpenFiles ?? Infinity) < needFds) {
    out(`  WARNING: the generator may open only ${fmt(info.generatorMaxOpenFiles)} files (${fmt(needFds)} wanted); idle sessions will be capped below that`);
  }
  if (info.serverMaxOpenFiles !== undefined && info.serverMaxOpenFiles < needFds) {
    out(`  WARNING: the server may open only ${fmt(info.serverMaxOpenFiles)} files (${fmt(needFds)} wanted); idle sessions will be capped below that`);
  }
  out();

  const windows: PhaseWindow[] = [];
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const s = nowUs();
    try {
      return await fn();
    } finally {
      windows.push({ name, startUs: s, endUs: nowUs() });
    }
  };
  const serverDead = () => server?.exited !== undefined && !server.exited.expected;
  const rss = () => (target.pid ? procStatusKb(target.pid, 'VmRSS') : undefined);

  const results: {
    accounts?: { count: number; register: RegisterResult };
    api?: ApiBenchResult[];
    scramWarmup?: LoginBenchResult;
    logins?: LoginBenchResult[];
    sessions?: Record<string, unknown>;
    sessionsCaps?: Record<string, unknown>;
    room?: { occupants: number; join: RoomJoinResult; runs: RoomRunResult[]; lost: number };
    archiveQuery?: ArchiveQueryResult;
    messages?: MessagesResult;
    archive?: MessagesResult;
    problems: string[];
  } = { problems: [] };
  const problem = (s: string) => {
    results.problems.push(s);
    out(`  PROBLEM: ${s}`);
  };
  const retries = num(opt.retries, 2);
  /**
   * Runs a measurement; when other processes disturbed it (shared machine), waits for quiet cores
   * and runs it again, up to `retries` times, keeping the least disturbed attempt.
   */
  const measured = async <T extends CpuFields>(what: string, fn: () => Promise<T>, retry = true): Promise<T> => {
    const attempt = async () => {
      const startUs = nowUs();
      const r = await fn();
      return { r, w: { name: what, startUs, endUs: nowUs() } };
    };
    let best = await attempt();
    for (let i = 0; retry && i < retries && pinned && (best.r.otherLoadPct ?? 0) > DISTURBED_PCT; i++) {
      out(`  (${what}: other processes used ${fmt(best.r.otherLoadPct)}% of a benchmark core; waiting for quiet cores and measuring again)`);
      await waitForQuietCores([SERVER_CPU, GENERATOR_CPU], 60);
      const again = await attempt();
      if ((again.r.otherLoadPct ?? 0) < (best.r.otherLoadPct ?? 0)) best = again;
    }
    // The profile window is the attempt that was kept.
    windows.push(best.w);
    return best.r;
  };
  const disturbed = (what: string, r: CpuFields) => {
    if (pinned && r.otherLoadPct !== undefined && r.otherLoadPct > DISTURBED_PCT) {
      problem(`${what}: other processes used ${fmt(r.otherLoadPct)}% of a benchmark core; the figures are disturbed (rerun on a quiet machine)`);
    }
  };

  let api = new AdminApi(target, cfg.registerConcurrency);
  const scram = new ScramCache();
  const sessionAccounts = Math.ceil(cfg.sessions / cfg.resources);
  const nAccounts = Math.max(
    phases.has('sessions') ? sessionAccounts : 0,
    phases.has('messages') || phases.has('archive') ? cfg.msgUsers : 0,
    phases.has('sessions-caps') ? sessionAccounts : 0,
    phases.has('room') ? cfg.roomOccupants : 0,
    phases.has('logins') ? Math.min(cfg.logins, 5000) : 0,
    1,
  );
  const accounts = accountList(nAccounts);

  try {
    // ---- accounts
    out(`Creating ${fmt(nAccounts)} accounts through POST /api/register (${cfg.registerConcurrency} in flight)…`);
    const reg = await phase('register', () => registerAccounts(api, target.domain, accounts, cfg.registerConcurrency, 10 * 60_000));
    results.accounts = { count: nAccounts, register: reg };
    out(`  ${fmt(reg.created)} created, ${fmt(reg.existed)} existed, ${fmt(reg.failed)} failed in ${reg.seconds.toFixed(1)} s (${fmt(reg.perSecond, 0)}/s)`);
    if (reg.failed) problem(`account registration failed ${reg.failed} times: ${reg.firstError}`);
    if (reg.created + reg.existed < nAccounts) throw new Error('not all accounts could be created');

    // ---- admin API
    for (const concurrency of phases.has('api') ? cfg.apiConcurrency : []) {
      if (serverDead()) break;
      out(`Admin API: POST /api/connected_users_number, ${concurrency} in flight, keep-alive, ${cfg.apiSeconds} s…`);
      const r = await measured(`admin api ${concurrency}`, () => benchAdminApi(target, concurrency, cfg.apiSeconds));
      (results.api ??= []).push(r);
      out(`  ${fmt(r.perSecond)} req/s, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, errors ${r.errors}; ${cpuNote(r)}`);
      if (r.errors) problem(`admin API errors: ${r.errors} (${r.firstError})`);
      disturbed('admin API', r);
    }

    // ---- SCRAM warm-up: the generator learns each account's salt and derives its keys once
    if (['logins', 'sessions', 'messages', 'sessions-caps', 'archive', 'room'].some((p) => phases.has(p)) && !serverDead()) {
      out(`SCRAM warm-up: one login per account (${fmt(nAccounts)}), so that the generator has derived every SaltedPassword…`);
      const r = await phase('scram warm-up', () => benchLogins(target, accounts, 'SCRAM-SHA-1', nAccounts, cfg.loginConcurrency, 300, scram));
      results.scramWarmup = r;
      out(`  ${fmt(r.ok)} logins in ${r.seconds.toFixed(1)} s (${fmt(r.perSecond)}/s incl. generator PBKDF2), ${r.failed} failed`);
      if (r.failed) problem(`warm-up logins failed: ${JSON.stringify(r.errors)} (${r.firstError})`);
    }

    // ---- logins
    if (phases.has('logins') && !serverDead()) {
      results.logins = [];
      // PLAIN twice: the first pass is every account's first PLAIN login (the server runs PBKDF2);
      // the repeat shows what a server-side cache of verified passwords, if any, saves.
      const runs = [
        { mech: 'SCRAM-SHA-1', label: 'SCRAM-SHA-1' },
        { mech: 'PLAIN', label: 'PLAIN' },
        { mech: 'PLAIN', label: 'PLAIN repeat' },
      ] as const;
      for (const { mech, label } of runs) {
        if (serverDead()) break;
        out(`Logins ${label}: ${fmt(cfg.logins)} logins over ${fmt(Math.min(cfg.logins, accounts.length))} accounts, ${cfg.loginConcurrency} concurrent (connect, auth, bind, close)…`);
        const run = () => benchLogins(target, accounts, mech, cfg.logins, cfg.loginConcurrency, quick ? 60 : 120, scram);
        // A repeated first-PLAIN pass would no longer be a first login: that one is not retried.
        const r = await measured(`logins ${label}`, run, label !== 'PLAIN');
        r.label = label;
        results.logins.push(r);
        out(`  ${fmt(r.perSecond)} logins/s, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, ${r.failed} failed; ${cpuNote(r)}`);
        disturbed(`logins ${label}`, r);
        if (r.failed) problem(`${label} logins failed: ${JSON.stringify(r.errors)} (${r.firstError})`);
      }
    }

    const waitForSessions = async (n: number, maxMs: number): Promise<number> => {
      const end = performance.now() + maxMs;
      let c = await api.connectedUsers();
      while (c !== n && performance.now() < end) {
        await sleep(250);
        c = await api.connectedUsers();
      }
      return c;
    };

    // ---- idle sessions (plain, and with clients that advertise caps)
    const idleSessions = async (caps: boolean): Promise<Record<string, unknown>> => {
      const title = caps ? 'Idle sessions with caps (PEP and MAM running)' : 'Idle sessions';
      const capsCounters: CapsCounters = { discoQueries: 0, otherIqs: 0, pepEvents: 0 };
      const presence = caps ? capsPresence() : undefined;
      const onOpen = caps ? (c: RawXmpp) => answerCaps(c, capsCounters) : undefined;
      const left = await waitForSessions(0, 30_000);
      if (left !== 0) problem(`${left} sessions still registered on the server 30 s after every client closed`);
      let restarted = false;
      if (server) {
        // A fresh process (same database) gives a baseline without the garbage of earlier phases.
        out('Restarting the server for a clean RSS baseline (same data directory and accounts)…');
        api.close();
        await server.restart();
        api = new AdminApi(target, cfg.registerConcurrency);
        restarted = true;
        // Warm the code paths (JIT) with a few sessions, then let it settle.
        const warm = await openSessions(target, accounts, Math.min(500, cfg.sessions), cfg.resources, 'w', 50, 60, scram, 'SCRAM-SHA-1', presence, onOpen);
        await closeSessions(warm.conns);
        await waitForSessions(0, 10_000);
      }
      await sleep(quick ? 2000 : 5000);
      const rssBefore = rss();
      // Both processes need one descriptor per session; stay below the smaller limit.
      const FD_MARGIN = 64;
      let want = cfg.sessions;
      let fdCap: string | undefined;
      const genRoom = (info.generatorMaxOpenFiles ?? Infinity) - (procOpenFds(process.pid) ?? 0) - FD_MARGIN;
      const srvRoom = target.pid ? (procMaxOpenFiles(target.pid) ?? Infinity) - (procOpenFds(target.pid) ?? 0) - FD_MARGIN : Infinity;
      if (want > Math.min(genRoom, srvRoom)) {
        want = Math.max(0, Math.floor(Math.min(genRoom, srvRoom)));
        fdCap = `capped at ${fmt(want)} sessions by the open-file limit (${genRoom <= srvRoom ? 'generator' : 'server'}: ${fmt(genRoom <= srvRoom ? info.generatorMaxOpenFiles : info.serverMaxOpenFiles)} files, hard limit; raising it needs CAP_SYS_RESOURCE)`;
        out(`  NOTE: ${fdCap}`);
      }
      out(`${title}: opening ${fmt(want)} (${fmt(Math.ceil(want / cfg.resources))} accounts × ${cfg.resources} resources, SCRAM-SHA-1, initial presence${caps ? ' with caps' : ''}), ${cfg.openConcurrency} logins in flight…`);
      const openCpu = new CpuWindow(target.pid);
      const open = await phase(caps ? 'sessions-caps open' : 'sessions open', () =>
        openSessions(target, accounts, want, cfg.resources, caps ? 'c' : 'r', cfg.openConcurrency, quick ? 120 : 300, scram, 'SCRAM-SHA-1', presence, onOpen),
      );
      const oc = openCpu.end();
      const openCpuFields = { serverCpuPct: oc.serverPct, generatorCpuPct: oc.generatorPct, otherLoadPct: oc.otherLoadPct };
      out(`  opened ${fmt(open.opened)} of ${fmt(want)} in ${open.seconds.toFixed(1)} s (${fmt(open.perSecond)}/s), ${open.failed} failed; ${cpuNote(openCpuFields)}`);
      disturbed('opening idle sessions', openCpuFields);
      if (open.emfile) problem(`the generator ran out of file descriptors (EMFILE) after ${open.opened} sessions; raise ulimit -n`);
      if (open.failed) problem(`session opening failed: ${JSON.stringify(open.errors)} (${open.firstError})`);
      await sleep(quick ? 2000 : 5000);
      const rssAfter = rss();
      const held = open.opened - open.lost();
      const serverCount = await waitForSessions(held, 5000);
      if (serverCount !== held) problem(`the server reports ${serverCount} sessions, the generator holds ${held}`);
      if (open.lost()) problem(`${open.lost()} idle sessions were closed by the server: ${open.firstLost()}`);
      const perSessionKb = rssBefore !== undefined && rssAfter !== undefined && held > 0 ? (rssAfter - rssBefore) / held : undefined;
      if (caps) out(`  caps: ${capsCounters.discoQueries} disco#info queries from the server answered, ${capsCounters.otherIqs} other IQs, ${capsCounters.pepEvents} PEP notifications`);
      out(`  held ${fmt(held)}; server RSS ${fmt(rssBefore)} kB → ${fmt(rssAfter)} kB: ${fmt(perSessionKb, 1)} kB per session; generator RSS ${fmt(procStatusKb(process.pid, 'VmRSS'))} kB`);
      out(`  closing…`);
      const stuck = await phase(caps ? 'sessions-caps close' : 'sessions close', () => closeSessions(open.conns));
      const remaining = await waitForSessions(0, 30_000);
      if (stuck) problem(`${stuck} idle sessions were not closed by the server within 30 s of </stream:stream>`);
      if (remaining) problem(`${remaining} sessions still registered on the server 30 s after every idle session closed`);
      await sleep(quick ? 1000 : 3000);
      const rssClosed = rss();
      out(`  after close: server RSS ${fmt(rssClosed)} kB, sessions ${remaining}`);
      return {
        requested: cfg.sessions,
        attempted: want,
        fdCap,
        layout: `${Math.ceil(want / cfg.resources)} accounts x ${cfg.resources} resources`,
        opened: open.opened,
        held,
        failed: open.failed,
        errors: open.errors,
        emfile: open.emfile,
        openSeconds: open.seconds,
        openPerSecond: open.perSecond,
        openCpu: openCpuFields,
        serverRestartedForBaseline: restarted,
        serverCount,
        rssBeforeKb: rssBefore,
        rssAfterKb: rssAfter,
        rssPerSessionKb: perSessionKb,
        rssAfterCloseKb: rssClosed,
        generatorRssKb: procStatusKb(process.pid, 'VmRSS'),
        ...(caps ? { caps: { ver: capsVer(), ...capsCounters } } : {}),
      };
    };
    if (phases.has('sessions') && !serverDead()) results.sessions = await idleSessions(false);
    if (phases.has('sessions-caps') && !serverDead()) results.sessionsCaps = await idleSessions(true);

    // ---- messages (plain, and with the archive on)
    const messagesPhase = async (archive: boolean): Promise<MessagesResult> => {
      const name = archive ? 'archive' : 'messages';
      await waitForSessions(0, 10_000);
      const dbFile = server ? join(server.dataDir, 'parley.db') : undefined;
      const rowsBefore = archive && dbFile ? archiveRowCount(dbFile) : undefined;
      out(`${archive ? 'Messages with the archive on' : 'Messages'}: opening ${fmt(cfg.msgUsers)} sessions (${fmt(cfg.msgUsers)} accounts × 1 resource, initial presence)…`);
      const open = await phase(`${name} open`, () => openSessions(target, accounts, cfg.msgUsers, 1, archive ? 'a' : 'm', cfg.openConcurrency, 300, scram));
      out(`  opened ${fmt(open.opened)} in ${open.seconds.toFixed(1)} s, ${open.failed} failed`);
      if (open.failed) problem(`${name} sessions failed to open: ${JSON.stringify(open.errors)} (${open.firstError})`);
      if (archive && ARCHIVE_PREFS) {
        // Each account asks for everything to be archived (XEP-0313 preferences), whatever the server's default.
        const prefs = await setArchivePrefs(open.conns, 100, 60_000);
        out(`  MAM preferences default='always' set for ${fmt(prefs.ok)} accounts, ${prefs.failed} failed`);
        if (prefs.failed) problem(`MAM preferences failed ${prefs.failed} times: ${prefs.firstError}`);
      }
      await sleep(1000);
      const windowsRun = archive ? cfg.archiveWindows : cfg.windows;
      const ratesRun = archive ? cfg.archiveRates : cfg.rates;
      out(
        `  pairs of sessions message each other (${Math.floor(open.opened / 2)} pairs); closed loop with W messages in flight per session, then fixed offered loads; ${cfg.warmup} s warm-up + ${cfg.duration} s per run`,
      );
      const sentCounter = { sent: 0 };
      const runs = await benchMessages(target, open.conns, {
        counters: sentCounter,
        warmupS: cfg.warmup,
        durationS: cfg.duration,
        windows: windowsRun,
        rates: ratesRun,
        onPhase: (label, s, e) => windows.push({ name: archive ? label.replace(/^messages/, 'archive') : label, startUs: Number(s / 1000n), endUs: Number(e / 1000n) }),
        retries: pinned ? retries : 0,
        isDisturbed: (r) => (r.otherLoadPct ?? 0) > DISTURBED_PCT,
        beforeRetry: async (r) => {
          out(`  (${r.mode} run: other processes used ${fmt(r.otherLoadPct)}% of a benchmark core; waiting for quiet cores and measuring again)`);
          await waitForQuietCores([SERVER_CPU, GENERATOR_CPU], 60);
        },
      });
      for (const r of runs) {
        const label = `${archive ? 'archive ' : ''}${r.mode === 'closed-loop' ? `closed loop W=${r.window}` : `fixed ${fmt(r.offered)}/s`}`;
        out(
          `  ${label}: ${fmt(r.perSecond)} msg/s delivered, p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}; ${cpuNote(r)}${r.overloaded ? ' (OVERLOADED: offered load not sustained)' : ''}`,
        );
        disturbed(`messages ${label}`, r);
        if (r.offeredActual !== undefined && r.offeredActual < 0.97 * r.offered!) {
          problem(`${label}: the generator sent only ${fmt(r.offeredActual)} msg/s (it could not keep up)`);
        }
        if (r.undelivered) problem(`${label}: ${r.undelivered} messages not delivered 15 s after sending stopped`);
        if (r.errorChunks) problem(`${label}: ${r.errorChunks} received chunks contained type="error" stanzas`);
      }
      const res: MessagesResult = {
        users: cfg.msgUsers,
        layout: `${cfg.msgUsers} accounts x 1 resource, ${Math.floor(open.opened / 2)} pairs`,
        opened: open.opened,
        openSeconds: open.seconds,
        runs,
        lost: open.lost(),
      };
      const fl = open.firstLost();
      if (fl) res.firstLost = fl;
      if (open.lost()) problem(`${open.lost()} ${name} sessions were closed by the server: ${fl}`);
      await closeSessions(open.conns);
      if (archive) {
        // Every message sent (warm-up, measured window and drain included) is one row in the sender's
        // archive and one in the receiver's.
        const sentTotal = sentCounter.sent;
        res.archive = { table: ARCHIVE_TABLE, messagesSent: sentTotal, rowsExpected: 2 * sentTotal };
        if (dbFile) {
          // The archive may write behind the deliveries: wait (bounded) until every row is there or the
          // count has not moved for 5 s. Its SQLite writer thread yields to routing, and the 5,000
          // logouts just before keep the core busy for a while.
          let rows = archiveRowCount(dbFile);
          for (let i = 0, still = 0; i < 60 && rows !== undefined && rows - (rowsBefore ?? 0) < 2 * sentTotal && still < 5; i++) {
            await sleep(1000);
            const again = archiveRowCount(dbFile);
            still = again === rows ? still + 1 : 0;
            rows = again;
          }
          res.archive.rowsBefore = rowsBefore;
          res.archive.rowsAfter = rows;
          const added = rows === undefined ? undefined : rows - (rowsBefore ?? 0);
          out(`  archive: ${fmt(added)} rows added to ${ARCHIVE_TABLE} (${fmt(rows)} in all) for ${fmt(sentTotal)} messages sent (${fmt(2 * sentTotal)} expected: sender's and receiver's archive)`);
          if (rows === undefined) problem(`archive: no table ${ARCHIVE_TABLE} in ${dbFile} (is the mam module in this build?)`);
          else if (added! < 2 * sentTotal) problem(`archive: ${fmt(added)} rows for ${fmt(sentTotal)} messages (${fmt(2 * sentTotal)} expected)`);
        }
      }
      return res;
    };
    if (phases.has('messages') && !serverDead()) results.messages = await messagesPhase(false);
    if (phases.has('archive') && !serverDead()) results.archive = await messagesPhase(true);

    // ---- a room of many occupants
    if (phases.has('room') && !serverDead()) {
      await waitForSessions(0, 10_000);
      const n = Math.min(cfg.roomOccupants, accounts.length);
      const room = `${ROOM_NAME}@conference.${target.domain}`;
      out(`Room: opening ${fmt(n)} sessions (one per account, initial presence)…`);
      const open = await phase('room open', () => openSessions(target, accounts, n, 1, 'o', cfg.openConcurrency, 300, scram));
      out(`  opened ${fmt(open.opened)} in ${open.seconds.toFixed(1)} s, ${open.failed} failed`);
      if (open.failed) problem(`room sessions failed to open: ${JSON.stringify(open.errors)} (${open.firstError})`);
      out(`  ${fmt(open.opened)} occupants join ${room} (history maxstanzas=0), ${cfg.roomJoinConcurrency} joins in flight…`);
      try {
        const join = await phase('room join', () => joinRoom(target, open.conns, room, cfg.roomJoinConcurrency, quick ? 120 : 600, ROOM_CONFIG));
        const joined = join.joined!;
        delete join.joined;
        out(
          `  ${fmt(join.occupants)} joined in ${join.seconds.toFixed(1)} s (${fmt(join.perSecond)}/s; room ${join.created ? 'created' : 'existed'}), ${join.failed} failed; ${fmt(join.presencesReceived)} presences received; ${cpuNote(join)}`,
        );
        if (join.failed) problem(`room joins failed ${join.failed} times: ${join.firstError}`);
        out(`  ${cfg.roomSenders} senders post in turn at fixed rates; ${cfg.warmup} s warm-up + ${cfg.duration} s per rate; latency = send → the last occupant's receipt`);
        const runs = await benchRoom(target, joined, {
          room,
          senders: cfg.roomSenders,
          rates: cfg.roomRates,
          warmupS: cfg.warmup,
          durationS: cfg.duration,
          drainS: 15,
          stopWhenOverloaded: true,
          onRun: (r, s0, e0) => {
            windows.push({ name: `room ${r.offered}/s`, startUs: Number(s0 / 1000n), endUs: Number(e0 / 1000n) });
            out(
              `  ${fmt(r.offered)} msg/s posted → ${fmt(r.deliveriesPerSecond)} deliveries/s to ${fmt(r.occupants)} occupants; last receipt p50 ${ms(r.lastReceiptMs.p50)}, p99 ${ms(r.lastReceiptMs.p99)}; each delivery p99 ${ms(r.deliveryMs.p99)}; ${fmt(r.complete)}/${fmt(r.posted)} complete; ${cpuNote(r)}${r.overloaded ? ' (OVERLOADED)' : ''}`,
            );
            disturbed(`room ${r.offered}/s`, r);
            if (r.errorStanzas) problem(`room ${r.offered}/s: ${r.errorStanzas} chunks with error stanzas`);
          },
        });
        results.room = { occupants: join.occupants, join, runs, lost: open.lost() };
      } catch (err) {
        problem(`room: ${(err as Error).message}`);
      }
      if (open.lost()) problem(`${open.lost()} room sessions were closed by the server: ${open.firstLost()}`);
      await closeSessions(open.conns);
    }

    // ---- MAM queries over a large archive (a server of its own on a kept data directory)
    if (phases.has('archive-query') && !serverDead() && !opt.server) {
      const rows = cfg.archiveRows;
      const owners = rows >= 1_000_000 ? 5000 : 500;
      const hotRows = Math.max(1000, Math.floor(rows * 0.02));
      const dir = opt['archive-dir'] ?? `/tmp/parley-bench-archive-${rows}`;
      out(`Archive queries: ${fmt(rows)} archived messages in ${dir}; ${fmt(cfg.mamQueries)} queries per kind, RSM max=${cfg.mamMax}, ${cfg.mamConcurrency} in flight…`);
      try {
        results.archiveQuery = await archiveQueryPhase({
          projectRoot,
          profile: opt.profile!,
          nofile: NOFILE,
          cpu: SERVER_CPU,
          // The large archives exceed the default per-account bound; nothing is written in this phase, but
          // a server that would trim them on its next write is not the server measured.
          configure: (c) => {
            configureServer(c);
            deepMerge(c, { mam: { maxMessagesPerAccount: 10 * hotRows } });
          },
          dir,
          plan: { rows, owners, hotOwners: 4, hotRows, peers: 200 },
          queries: cfg.mamQueries,
          max: cfg.mamMax,
          concurrency: cfg.mamConcurrency,
          scram,
          out,
          problem,
          onRun: (r, s0, e0) => {
            windows.push({ name: `archive-query ${r.variant}`, startUs: s0, endUs: e0 });
            disturbed(`archive-query ${r.variant}`, r);
          },
        });
      } catch (err) {
        problem(`archive-query: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    problem(`run aborted: ${(err as Error).stack ?? String(err)}`);
  } finally {
    api.close();
  }

  // ---- server health, stop, profile
  let crash: string | undefined;
  if (serverDead()) {
    crash = `the server exited during the run (code ${server!.exited!.code}, signal ${server!.exited!.signal})`;
    problem(`${crash}\n${server!.logTail(40)}`);
  }
  let profiles: ProfileWindowSummary[] = [];
  let serverErrors: string[] = [];
  if (server) {
    const peakKb = procStatusKb(server.pid, 'VmHWM');
    if (peakKb) out(`Server peak RSS (VmHWM${phases.has('sessions') ? ', since the restart before the sessions phase' : ''}): ${fmt(peakKb)} kB`);
    await server.stop();
    try {
      const log = readFileSync(server.logFile, 'utf8').split('\n');
      serverErrors = log.filter((l) => /"level":(50|60)/.test(l) || /Error|FATAL|heap out of memory/.test(l));
    } catch {
      /* no log */
    }
    if (serverErrors.length) problem(`the server logged ${serverErrors.length} error lines, first: ${serverErrors[0]!.slice(0, 500)}`);
    if (server.profileDir) {
      const files = [...findProfiles(server.profileDir), ...(results.archiveQuery?.profileDir ? findProfiles(results.archiveQuery.profileDir) : [])];
      if (!files.length) problem('no .cpuprofile was written (the server did not exit cleanly?)');
      else {
        // One profile per server process (the server restarts before the sessions phase).
        const readers = files.map((f) => ({ r: new ProfileReader(f, projectRoot), archiveQuery: !!results.archiveQuery?.profileDir && f.startsWith(results.archiveQuery.profileDir) }));
        const wanted = windows.filter((w) => /^(admin api|logins|sessions open|sessions-caps open|messages |archive |archive-query |room )/.test(w.name));
        for (const w of wanted) {
          // The archive queries ran against their own server; the main server idled meanwhile.
          const own = w.name.startsWith('archive-query ');
          const r = readers.find((x) => x.archiveQuery === own && x.r.startUs <= w.startUs && w.endUs <= x.r.endUs)?.r;
          if (r) profiles.push(r.summarize(w.name, w.startUs, w.endUs));
        }
        out();
        out(`CPU profiles: ${files.join(', ')}`);
        for (const p of profiles) {
          out(formatProfile(p));
          out();
        }
      }
    }
  }

  // ---- report
  out();
  out('=== Parley benchmark results ===');
  out(`${info.date}  node ${info.node}  ${info.cpu}  server on CPU ${info.serverCpus || '?'}, generator on CPU ${info.generatorCpus}, loopback, no TLS`);
  out(`command: ${command}`);
  const rows: string[][] = [];
  if (results.accounts) rows.push(['account registration (HTTP API, 16 in flight)', `${fmt(results.accounts.register.perSecond)} /s`, '', '', `${fmt(results.accounts.count)} accounts`]);
  for (const a of results.api ?? []) {
    rows.push([`admin API connected_users_number (${a.concurrency} in flight)`, `${fmt(a.perSecond)} req/s`, ms(a.latency.p50), ms(a.latency.p99), cpuNote(a)]);
  }
  for (const l of results.logins ?? []) {
    rows.push([`logins ${l.label ?? l.mechanism} (${l.concurrency} concurrent)`, `${fmt(l.perSecond)} /s`, ms(l.latency.p50), ms(l.latency.p99), cpuNote(l)]);
  }
  if (results.sessions) {
    const s = results.sessions;
    rows.push([`idle sessions held (${s.layout})`, `${fmt(s.held as number)}`, '', '', `opened at ${fmt(s.openPerSecond as number)}/s${s.fdCap ? '; fd-limited' : ''}; ${cpuNote(s.openCpu as CpuFields)}`]);
    rows.push(['server RSS per idle session', `${fmt(s.rssPerSessionKb as number, 1)} kB`, '', '', `RSS ${fmt(s.rssBeforeKb as number)} → ${fmt(s.rssAfterKb as number)} kB`]);
  }
  for (const r of results.messages?.runs ?? []) {
    const label = r.mode === 'closed-loop' ? `messages closed loop, W=${r.window}/session` : `messages at fixed ${fmt(r.offered)}/s offered`;
    rows.push([
      `${label} (${fmt(results.messages!.opened)} online)`,
      `${fmt(r.perSecond)} msg/s`,
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      `${cpuNote(r)}${r.overloaded ? ' OVERLOADED' : ''}`,
    ]);
  }
  if (results.sessionsCaps) {
    const s = results.sessionsCaps;
    const c = s.caps as { discoQueries: number } | undefined;
    rows.push([`idle sessions with caps held (${s.layout})`, `${fmt(s.held as number)}`, '', '', `opened at ${fmt(s.openPerSecond as number)}/s; ${c?.discoQueries ?? 0} disco#info queries answered`]);
    const plain = results.sessions?.rssPerSessionKb as number | undefined;
    const ratio = plain ? ` (${((s.rssPerSessionKb as number) / plain).toFixed(2)}x the plain sessions above)` : '';
    rows.push(['server RSS per idle session with caps (PEP, MAM on)', `${fmt(s.rssPerSessionKb as number, 1)} kB`, '', '', `RSS ${fmt(s.rssBeforeKb as number)} → ${fmt(s.rssAfterKb as number)} kB${ratio}`]);
  }
  for (const r of results.archive?.runs ?? []) {
    const label = r.mode === 'closed-loop' ? `archive on: messages closed loop, W=${r.window}/session` : `archive on: messages at fixed ${fmt(r.offered)}/s offered`;
    rows.push([`${label} (${fmt(results.archive!.opened)} online)`, `${fmt(r.perSecond)} msg/s`, ms(r.latencyMs.p50), ms(r.latencyMs.p99), `${cpuNote(r)}${r.overloaded ? ' OVERLOADED' : ''}`]);
  }
  if (results.archive?.archive) {
    const a = results.archive.archive;
    const added = a.rowsAfter === undefined ? undefined : a.rowsAfter - (a.rowsBefore ?? 0);
    rows.push([`archive rows written (${a.table})`, fmt(added), '', '', `${fmt(a.messagesSent)} messages sent, ${fmt(a.rowsExpected)} rows expected`]);
  }
  if (results.room) {
    const j = results.room.join;
    rows.push([`room joins (${fmt(j.occupants)} occupants, one room)`, `${fmt(j.perSecond)} /s`, '', '', `${j.seconds.toFixed(1)} s; ${fmt(j.presencesReceived)} presences received; ${cpuNote(j)}`]);
    for (const r of results.room.runs) {
      rows.push([
        `room: ${fmt(r.offered)} msg/s posted by ${r.senders} → ${fmt(r.occupants)} occupants (last receipt)`,
        `${fmt(r.deliveriesPerSecond)} deliveries/s`,
        ms(r.lastReceiptMs.p50),
        ms(r.lastReceiptMs.p99),
        `${fmt(r.complete)}/${fmt(r.posted)} complete; ${cpuNote(r)}${r.overloaded ? ' OVERLOADED' : ''}`,
      ]);
    }
  }
  if (results.archiveQuery) {
    const q = results.archiveQuery;
    if (q.fill) rows.push([`archive fill (bulk SQL, ${fmt(q.fill.rowsAfter)} rows)`, `${q.fill.seconds.toFixed(0)} s`, '', '', `rows ${q.fill.insertSeconds.toFixed(0)} s + indexes ${q.fill.indexSeconds.toFixed(0)} s; ${fmt((q.fileBytes ?? 0) / 2 ** 20)} MB`]);
    for (const r of q.runs) {
      rows.push([`MAM query ${r.variant}, max=${cfg.mamMax} (${fmt(q.rows)} archived)`, `${fmt(r.perSecond)} /s`, ms(r.latencyMs.p50), ms(r.latencyMs.p99), `${r.meanResults.toFixed(1)} results/page; ${cpuNote(r)}`]);
    }
  }
  out(table(['measurement', 'rate / value', 'p50', 'p99', 'notes'], rows));
  out('Notes: SCRAM-SHA-1 clients cache SaltedPassword per account (the generator derives it once per account in a warm-up');
  out('       pass, as real clients do; PBKDF2 per login would make the generator the bottleneck). "PLAIN" is every account\'s');
  out('       first PLAIN login (the server runs PBKDF2); "PLAIN repeat" logs the same accounts in again. A login is connect,');
  out('       stream, SASL, stream restart, bind, close. Messages: sessions paired 0<->1, 2<->3, ..., chat messages to the');
  out("       peer's full JID; closed loop keeps W messages in flight per session; latency = send -> receipt by the peer.");
  out('       CPU figures are % of one core (server from /proc/<pid>/stat, generator from process.cpuUsage()); "other" is');
  out(`       CPU used on the two benchmark cores by other processes (from /proc/stat); above ${DISTURBED_PCT}% a result is flagged.`);
  if (results.problems.length) {
    out();
    out('Problems seen:');
    for (const p of results.problems) out(`  - ${p.split('\n')[0]}`);
  }
  out();
  const json = {
    parleyBench: 1,
    info,
    config: { ...cfg, phases: [...phases] },
    results,
    scramCache: { size: scram.size, hits: scram.hits, misses: scram.misses },
    profile: profiles.map((p) => ({ ...p, functions: p.functions.slice(0, 10), files: p.files.slice(0, 8) })),
    serverErrorLines: serverErrors.length,
    crash,
  };
  out(JSON.stringify(json));
  clearTimeout(watchdog);
  if (server && !opt.profile && results.problems.length === 0) {
    try {
      if (existsSync(server.dir)) rmSync(server.dir, { recursive: true, force: true });
    } catch {
      /* leave it */
    }
  }
  // Stray sockets or timers must not keep the run alive.
  process.exit(crash ? 1 : 0);
}

// ---- entry (last, so that every module-level constant above is initialized) ---------------

if (!opt['no-pin'] && process.env.PARLEY_BENCH_PINNED !== '1' && os.cpus().length < 2) {
  process.stderr.write('bench: fewer than 2 CPUs; server and generator will share a core (results are not comparable)\n');
}
if (opt['no-pin'] || !reexecPinned({ flag: 'PARLEY_BENCH_PINNED', cpu: GENERATOR_CPU, nofile: NOFILE, script: fileURLToPath(import.meta.url) })) {
  await main();
}
