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
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScramCache } from './xmpp-raw.js';
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
  --phases LIST            subset of api,logins,sessions,messages (default: all)
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
  };
  const phases = new Set((opt.phases ?? 'api,logins,sessions,messages').split(','));
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
    server = await startServer({ projectRoot, profile: opt.profile!, nofile: NOFILE, cpu: SERVER_CPU });
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
  const needFds = Math.max(cfg.sessions, cfg.msgUsers) + 200;
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
    messages?: { users: number; layout: string; opened: number; openSeconds: number; runs: MessageRunResult[]; lost: number; firstLost?: string };
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
    phases.has('messages') ? cfg.msgUsers : 0,
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
    if ((phases.has('logins') || phases.has('sessions') || phases.has('messages')) && !serverDead()) {
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

    // ---- idle sessions
    if (phases.has('sessions') && !serverDead()) {
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
        const warm = await openSessions(target, accounts, Math.min(500, cfg.sessions), cfg.resources, 'w', 50, 60, scram);
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
      out(`Idle sessions: opening ${fmt(want)} (${fmt(Math.ceil(want / cfg.resources))} accounts × ${cfg.resources} resources, SCRAM-SHA-1, initial presence), ${cfg.openConcurrency} logins in flight…`);
      const openCpu = new CpuWindow(target.pid);
      const open = await phase('sessions open', () =>
        openSessions(target, accounts, want, cfg.resources, 'r', cfg.openConcurrency, quick ? 120 : 300, scram),
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
      out(`  held ${fmt(held)}; server RSS ${fmt(rssBefore)} kB → ${fmt(rssAfter)} kB: ${fmt(perSessionKb, 1)} kB per session; generator RSS ${fmt(procStatusKb(process.pid, 'VmRSS'))} kB`);
      out(`  closing…`);
      const stuck = await phase('sessions close', () => closeSessions(open.conns));
      const remaining = await waitForSessions(0, 30_000);
      if (stuck) problem(`${stuck} idle sessions were not closed by the server within 30 s of </stream:stream>`);
      if (remaining) problem(`${remaining} sessions still registered on the server 30 s after every idle session closed`);
      await sleep(quick ? 1000 : 3000);
      const rssClosed = rss();
      out(`  after close: server RSS ${fmt(rssClosed)} kB, sessions ${remaining}`);
      results.sessions = {
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
      };
    }

    // ---- messages
    if (phases.has('messages') && !serverDead()) {
      await waitForSessions(0, 10_000);
      out(`Messages: opening ${fmt(cfg.msgUsers)} sessions (${fmt(cfg.msgUsers)} accounts × 1 resource, initial presence)…`);
      const open = await phase('messages open', () => openSessions(target, accounts, cfg.msgUsers, 1, 'm', cfg.openConcurrency, 300, scram));
      out(`  opened ${fmt(open.opened)} in ${open.seconds.toFixed(1)} s, ${open.failed} failed`);
      if (open.failed) problem(`message sessions failed to open: ${JSON.stringify(open.errors)} (${open.firstError})`);
      await sleep(1000);
      out(
        `  pairs of sessions message each other (${Math.floor(open.opened / 2)} pairs); closed loop with W messages in flight per session, then fixed offered loads; ${cfg.warmup} s warm-up + ${cfg.duration} s per run`,
      );
      const runs = await benchMessages(target, open.conns, {
        warmupS: cfg.warmup,
        durationS: cfg.duration,
        windows: cfg.windows,
        rates: cfg.rates,
        onPhase: (name, s, e) => windows.push({ name, startUs: Number(s / 1000n), endUs: Number(e / 1000n) }),
        retries: pinned ? retries : 0,
        isDisturbed: (r) => (r.otherLoadPct ?? 0) > DISTURBED_PCT,
        beforeRetry: async (r) => {
          out(`  (${r.mode} run: other processes used ${fmt(r.otherLoadPct)}% of a benchmark core; waiting for quiet cores and measuring again)`);
          await waitForQuietCores([SERVER_CPU, GENERATOR_CPU], 60);
        },
      });
      for (const r of runs) {
        const label = r.mode === 'closed-loop' ? `closed loop W=${r.window}` : `fixed ${fmt(r.offered)}/s`;
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
      results.messages = {
        users: cfg.msgUsers,
        layout: `${cfg.msgUsers} accounts x 1 resource, ${Math.floor(open.opened / 2)} pairs`,
        opened: open.opened,
        openSeconds: open.seconds,
        runs,
        lost: open.lost(),
      };
      const fl = open.firstLost();
      if (fl) results.messages.firstLost = fl;
      if (open.lost()) problem(`${open.lost()} message sessions were closed by the server: ${fl}`);
      await closeSessions(open.conns);
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
      const files = findProfiles(server.profileDir);
      if (!files.length) problem('no .cpuprofile was written (the server did not exit cleanly?)');
      else {
        // One profile per server process (the server restarts before the sessions phase).
        const readers = files.map((f) => new ProfileReader(f, projectRoot));
        const wanted = windows.filter((w) => /^(admin api|logins|sessions open|messages )/.test(w.name));
        for (const w of wanted) {
          const r = readers.find((x) => x.startUs <= w.startUs && w.endUs <= x.endUs);
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
