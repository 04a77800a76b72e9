/**
 * Parley soak: `npm run soak [-- options]`.
 *
 * Starts its own Parley server (pinned to core 0, temporary data directory, loopback listeners
 * for c2s, direct TLS and HTTP/WebSocket, per-address limits lifted), pins itself to core 1, and
 * runs up to a million mutated client sessions against it (see soak-gen.ts). It watches the
 * server for exits and for error log lines (uncaught exceptions, unhandled rejections), reads its
 * RSS and open descriptors before and after, checks that it still serves a login and a message
 * round trip, prints a table and one JSON line, and exits non-zero if a check failed.
 */
import os from 'node:os';
import { readFileSync, readdirSync, openSync, readSync, closeSync, fstatSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdminApi, registerAccounts } from './http-api.js';
import { startServer, freePort, reexecPinned, type ManagedServer } from './server-proc.js';
import { procStatusKb, procOpenFds, procMaxOpenFiles, CpuWindow, fmt, table, sleep } from './stats.js';
import { RawXmpp, ScramCache } from './xmpp-raw.js';
import { planSession, runSoak, soakAccounts, type SoakTarget, type SoakAccount, type SoakProgress } from './soak-gen.js';

const HELP = `Usage: npm run soak -- [options]

Runs mutated XMPP client sessions (byte flips, insertions, deletions, truncations, splices,
duplicated chunks, invalid UTF-8, random write boundaries; TCP, STARTTLS, direct TLS and
WebSocket) against a server it starts itself, and checks that the server neither exits nor logs
an uncaught exception, that its RSS and descriptors return to their start, and that it still
serves a login and a message at the end.

Options:
  --sessions N             sessions to run (default 1000000)
  --concurrency N          sessions at once (default 200)
  --max-seconds S          stop starting sessions after S seconds (default 1800)
  --seed N                 seed of the generator (default 1); the same seed gives the same input
  --first I                index of the first session (with --sessions 1: replay one session)
  --session-timeout MS     each session ends itself after MS (default 2000)
  --warmup N               sessions run before the start figures are read (default 20000)
  --accounts N             accounts the sessions log in as (default 20)
  --settle-seconds S       how long to wait for RSS and descriptors to settle at the end (default 60)
  --negotiation-timeout S  the server's c2s.negotiationTimeout (default 2)
  --resume-timeout S       the server's c2s.resumeTimeout for XEP-0198 (default 5)
  --log-level L            the server's logLevel (default warn)
  --ws-pct P, --starttls-pct P, --tls-pct P   transport mix in % (defaults 10, 3, 3; TCP takes the rest)
  --dump I                 print the input of session I (with --seed) and exit
  --keep                   keep the server's temporary directory (its log is there)
  --heap-snapshots         write a heap snapshot of the server after each forced collection (start and end)
                           into <dir>/heap, and keep the directory; compare them with dist/bench/heap-diff.js
  --no-pin                 do not pin server and generator to cores 0 and 1
  --help                   this text
`;

const { values: opt } = parseArgs({
  options: {
    sessions: { type: 'string' },
    concurrency: { type: 'string' },
    'max-seconds': { type: 'string' },
    seed: { type: 'string' },
    first: { type: 'string' },
    'session-timeout': { type: 'string' },
    warmup: { type: 'string' },
    accounts: { type: 'string' },
    'settle-seconds': { type: 'string' },
    'negotiation-timeout': { type: 'string' },
    'resume-timeout': { type: 'string' },
    'log-level': { type: 'string' },
    'ws-pct': { type: 'string' },
    'starttls-pct': { type: 'string' },
    'tls-pct': { type: 'string' },
    dump: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'heap-snapshots': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const NOFILE = 100_000;
const SERVER_CPU = 0;
const GENERATOR_CPU = 1;
/** Descriptors the server may hold at the end beyond its start figure (timers, a keep-alive HTTP socket). */
const FD_SLACK = 5;
const RSS_TOLERANCE = 0.1;

function num(v: string | undefined, d: number): number {
  if (v === undefined) return d;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${v}`);
  return n;
}

const cfg = {
  sessions: num(opt.sessions, 1_000_000),
  concurrency: Math.max(1, num(opt.concurrency, 200)),
  maxSeconds: num(opt['max-seconds'], 1800),
  seed: num(opt.seed, 1),
  first: num(opt.first, 0),
  sessionTimeoutMs: num(opt['session-timeout'], 2000),
  warmup: num(opt.warmup, 20_000),
  accounts: Math.max(2, num(opt.accounts, 20)),
  settleSeconds: num(opt['settle-seconds'], 60),
  negotiationTimeout: Math.max(1, num(opt['negotiation-timeout'], 2)),
  resumeTimeout: num(opt['resume-timeout'], 5),
  logLevel: opt['log-level'] ?? 'warn',
  wsPct: num(opt['ws-pct'], 10),
  starttlsPct: num(opt['starttls-pct'], 3),
  tlsPct: num(opt['tls-pct'], 3),
};

// ---- the server's log ------------------------------------------------------------------------

/** Reads the server's log file as it grows and counts the lines that matter. */
class LogWatch {
  private pos = 0;
  private rest = '';
  uncaught = 0;
  unhandled = 0;
  /** error/fatal level lines other than the two above, and non-JSON output (V8 fatal errors, stack traces). */
  otherErrors = 0;
  warnings = 0;
  samples: string[] = [];
  otherSamples: string[] = [];

  constructor(private readonly file: string) {}

  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      while (this.pos < size) {
        const buf = Buffer.alloc(Math.min(1 << 20, size - this.pos));
        const n = readSync(fd, buf, 0, buf.length, this.pos);
        if (n <= 0) break;
        this.pos += n;
        const lines = (this.rest + buf.subarray(0, n).toString('utf8')).split('\n');
        this.rest = lines.pop() ?? '';
        for (const l of lines) this.line(l);
      }
    } finally {
      closeSync(fd);
    }
  }

  private line(l: string): void {
    if (!l.trim()) return;
    const short = l.length > 1500 ? l.slice(0, 1500) + '…' : l;
    let level = 0;
    let msg = '';
    if (l.startsWith('{')) {
      try {
        const j = JSON.parse(l) as { level?: number; msg?: string };
        level = j.level ?? 0;
        msg = j.msg ?? '';
      } catch {
        /* not JSON */
      }
    } else if (/error|fatal|exception|abort|heap|^\s+at /i.test(l)) {
      level = 60; // plain text on stdout/stderr: a V8 fatal error, a stack trace
    } else {
      return; // the start banner, the admin password notice
    }
    if (msg === 'uncaught exception' || /uncaught exception/i.test(l)) {
      this.uncaught++;
      if (this.samples.length < 5) this.samples.push(short);
    } else if (msg === 'unhandled rejection' || /unhandled rejection/i.test(l)) {
      this.unhandled++;
      if (this.samples.length < 5) this.samples.push(short);
    } else if (level >= 50) {
      this.otherErrors++;
      if (this.otherSamples.length < 5) this.otherSamples.push(short);
    } else if (level >= 40) {
      this.warnings++;
      if (this.otherSamples.length < 5) this.otherSamples.push(short);
    }
  }
}

// ---- the final check -------------------------------------------------------------------------

/** Two accounts log in (PLAIN), one sends the other a message; resolves with the latency or throws. */
/** True when the file's last byte is `}` (a heap snapshot still being written is not). */
function endsWithBrace(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x7d;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Resident bytes of a process by kind of mapping (/proc/PID/smaps). */
function smapsByKind(pid: number): { anon: number; brk: number; file: number } {
  const out = { anon: 0, brk: 0, file: 0 };
  let kind: keyof typeof out = 'anon';
  try {
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (m) {
        const name = m[1] ?? '';
        kind = name === '[heap]' ? 'brk' : name === '' || name.startsWith('[') ? 'anon' : 'file';
      } else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
    }
  } catch {
    // the process is gone
  }
  return out;
}

async function roundTrip(t: SoakTarget, a: SoakAccount, b: SoakAccount): Promise<number> {
  const scram = new ScramCache();
  const base = { host: t.host, port: t.c2sPort, domain: t.domain, mechanism: 'PLAIN' as const, presence: true, scram, timeoutMs: 10_000 };
  const ca = await RawXmpp.login({ ...base, user: a.user, password: a.password, resource: 'final-a' });
  try {
    const cb = await RawXmpp.login({ ...base, user: b.user, password: b.password, resource: 'final-b' });
    try {
      const token = `soak-final-${Date.now()}`;
      const got = new Promise<void>((res, rej) => {
        let buf = '';
        const timer = setTimeout(() => rej(new Error('the message did not arrive within 10 s')), 10_000);
        cb.onData = (d) => {
          buf += d;
          if (buf.includes(token)) {
            clearTimeout(timer);
            res();
          }
        };
      });
      const t0 = performance.now();
      ca.socket.write(`<message to='${b.user}@${t.domain}/final-b' type='chat'><body>${token}</body></message>`);
      await got;
      return performance.now() - t0;
    } finally {
      cb.close();
    }
  } finally {
    ca.close();
  }
}

// ---- the run ---------------------------------------------------------------------------------

function dump(): void {
  const t: SoakTarget = { host: '127.0.0.1', c2sPort: 1, c2sTlsPort: 2, httpPort: 3, domain: 'localhost', accounts: soakAccounts(cfg.accounts) };
  const plan = planSession(t, cfg.seed, num(opt.dump, 0), cfg);
  const show = (b: Buffer | undefined) => (b ? b.toString('utf8') : undefined);
  const out = {
    index: plan.index,
    seed: cfg.seed,
    transport: plan.transport,
    ending: plan.ending,
    read: plan.read,
    cutAt: plan.cutAt,
    plainToTls: plan.plainToTls,
    mutations: plan.mutations,
    preBase64: plan.pre?.toString('base64'),
    pre: show(plan.pre),
    bytesBase64: plan.frames ? undefined : plan.bytes.toString('base64'),
    bytes: plan.frames ? undefined : show(plan.bytes),
    frames: plan.frames?.map((f) => ({ binary: f.binary, base64: f.data.toString('base64'), text: f.data.toString('utf8') })),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

async function main(): Promise<number> {
  const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const out = (s = '') => process.stdout.write(s + '\n');
  const started = new Date();
  const command = `npm run soak --${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`;
  out(`Parley soak — ${started.toISOString()}`);
  out(`  command: ${command}`);
  out(`  node ${process.version}, ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} CPUs), ${os.type()} ${os.release()}`);

  const c2sTlsPort = await freePort();
  const server: ManagedServer = await startServer({
    projectRoot,
    profile: false,
    heapSnapshots: opt['heap-snapshots'],
    nofile: NOFILE,
    cpu: opt['no-pin'] ? -1 : SERVER_CPU,
    configure: (c) => {
      c.logLevel = cfg.logLevel;
      c.listen.c2sTls = { address: '127.0.0.1', port: c2sTlsPort };
      c.limits = { ...c.limits, maxConnectionsPerIp: 1_000_000, authFailuresPerMinute: 1_000_000 };
      c.c2s = { negotiationTimeout: cfg.negotiationTimeout, resumeTimeout: cfg.resumeTimeout };
    },
  });
  const watchdog = setTimeout(() => {
    out(`soak: the run exceeded ${cfg.maxSeconds + 600} s; stopping`);
    void server.stop().finally(() => process.exit(3));
  }, (cfg.maxSeconds + 600) * 1000);
  watchdog.unref();
  const log = new LogWatch(server.logFile);
  const pid = server.pid;
  const rss = () => procStatusKb(pid, 'VmRSS');
  const fds = () => procOpenFds(pid);
  out(`  server: pid ${pid}, c2s 127.0.0.1:${server.c2sPort}, tls ${c2sTlsPort}, http ${server.httpPort} (/ws), max open files ${fmt(procMaxOpenFiles(pid))}, data ${server.dir}`);
  out(`  server config: logLevel ${cfg.logLevel}, negotiationTimeout ${cfg.negotiationTimeout} s, resumeTimeout ${cfg.resumeTimeout} s, per-address limits lifted`);
  const problems: string[] = [];
  const problem = (s: string) => {
    problems.push(s);
    out(`  PROBLEM: ${s}`);
  };
  const accounts = soakAccounts(cfg.accounts);
  const target: SoakTarget = { host: '127.0.0.1', c2sPort: server.c2sPort, c2sTlsPort, httpPort: server.httpPort, domain: server.domain, accounts };
  const serverDead = () => server.exited !== undefined;
  const api = new AdminApi(server, 4);

  let exitCode = 0;
  try {
    const reg = await registerAccounts(api, server.domain, accounts, 4, 60_000);
    out(`  ${reg.created} accounts created (${reg.failed} failed)`);
    if (reg.created + reg.existed < accounts.length) throw new Error(`account registration failed: ${reg.firstError}`);

    const runOpts = {
      concurrency: cfg.concurrency,
      timeoutMs: cfg.sessionTimeoutMs,
      wsPct: cfg.wsPct,
      starttlsPct: cfg.starttlsPct,
      tlsPct: cfg.tlsPct,
      shouldStop: serverDead,
    };

    /**
     * Sends the server SIGUSR2 (a heap snapshot or a diagnostic report, as it was started) and waits
     * for the new file in its heap directory until `read` makes something of it (the file is
     * written in place: `read` returns undefined while it is incomplete).
     */
    const signalForFile = async <T>(read: (file: string) => T | undefined, tries: number, intervalMs: number): Promise<T | undefined> => {
      const dir = resolve(server.dir, 'heap');
      const before = new Set(readdirSync(dir));
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < tries; i++) {
        await sleep(intervalMs);
        const fresh = readdirSync(dir).filter((f) => !before.has(f));
        const got = fresh.length > 0 ? read(resolve(dir, fresh[0]!)) : undefined;
        if (got !== undefined) return got;
      }
      return undefined;
    };

    /** A heap snapshot of the server (its JSON ends with a closing brace once it is complete). */
    const heapSnapshot = async () => {
      const file = await signalForFile((f) => (endsWithBrace(f) ? f : undefined), 600, 1000);
      out(file ? `  heap snapshot ${file}` : '  heap snapshot: none written within 600 s');
    };

    /**
     * What the server's RSS is made of: V8's heap (from a diagnostic report the server writes on
     * SIGUSR2) and the rest, split by kind of mapping, so that growth can be told apart as objects
     * kept alive or as memory the allocators hold.
     */
    const memoryReport = async () => {
      type Report = { javascriptHeap: { totalMemory: number; usedMemory: number } };
      const r = await signalForFile((f) => {
        try {
          return JSON.parse(readFileSync(f, 'utf8')) as Report;
        } catch {
          return undefined; // still being written
        }
      }, 30, 500);
      if (!r) return out('  memory: no diagnostic report within 15 s');
      const m = smapsByKind(pid);
      const mb = (b: number) => fmt(b / 1048576, 1);
      out(`  memory: V8 heap ${mb(r.javascriptHeap.usedMemory)} MB used of ${mb(r.javascriptHeap.totalMemory)} MB; resident: anonymous ${mb(m.anon)} MB, malloc heap (brk) ${mb(m.brk)} MB, files ${mb(m.file)} MB`);
    };

    /** Waits until the server holds no client connections and its descriptors stop falling. */
    const settle = async (maxS: number, baselineFds?: number): Promise<{ rssKb: number | undefined; fds: number | undefined; seconds: number }> => {
      const t0 = performance.now();
      // Hibernated XEP-0198 sessions live resumeTimeout seconds after their connection closed.
      await sleep(Math.min(maxS, cfg.resumeTimeout + 1) * 1000);
      const samples: number[] = [];
      let lastFds = fds();
      while ((performance.now() - t0) / 1000 < maxS && !serverDead()) {
        await sleep(1000);
        const r = rss();
        const f = fds();
        if (r !== undefined) samples.push(r);
        // stable: descriptors at (or under) the baseline and RSS within 1 % over the last 5 s
        const recent = samples.slice(-5);
        const stableRss = recent.length >= 5 && Math.max(...recent) - Math.min(...recent) <= Math.max(...recent) * 0.01;
        const fdsOk = baselineFds === undefined ? f === lastFds : f !== undefined && f <= baselineFds;
        lastFds = f;
        if (stableRss && fdsOk) break;
      }
      // RSS is read after a full collection (the server's `gc` command), so that start and end are compared at the
      // same point of the garbage collector's cycle rather than wherever it stood when the server went idle.
      const idleKb = rss();
      if (!serverDead()) {
        try {
          await api.call('gc', {});
          await sleep(2000);
          if (opt['heap-snapshots']) await heapSnapshot();
          else await memoryReport();
        } catch (err) {
          out(`  gc command failed: ${(err as Error).message}`);
        }
      }
      out(`  RSS idle ${fmt((idleKb ?? 0) / 1024, 1)} MB, after a forced collection ${fmt((rss() ?? 0) / 1024, 1)} MB`);
      return { rssKb: rss(), fds: fds(), seconds: (performance.now() - t0) / 1000 };
    };

    // ---- warm-up: the start figures are read after the server has seen every kind of session
    if (cfg.warmup > 0) {
      out(`Warm-up: ${fmt(cfg.warmup)} sessions (seed ${cfg.seed + 1_000_000})…`);
      const w = await runSoak(target, { ...runOpts, seed: cfg.seed + 1_000_000, sessions: cfg.warmup, maxMs: 120_000 });
      out(`  ${fmt(w.finished)} sessions; settling…`);
    }
    const start = await settle(30);
    const startFds = start.fds;
    const startRss = start.rssKb;
    log.poll();
    out(`  start: RSS ${fmt((startRss ?? 0) / 1024, 1)} MB, ${fmt(startFds)} open descriptors (settled in ${start.seconds.toFixed(0)} s)`);
    const logBefore = { uncaught: log.uncaught, unhandled: log.unhandled, other: log.otherErrors };

    // ---- the soak
    out(`Soak: ${fmt(cfg.sessions)} sessions from #${fmt(cfg.first)}, ${cfg.concurrency} at once, seed ${cfg.seed}, at most ${fmt(cfg.maxSeconds)} s, each at most ${cfg.sessionTimeoutMs} ms…`);
    let peakRss = startRss ?? 0;
    let peakFds = startFds ?? 0;
    const cpu = new CpuWindow(pid);
    const t0 = performance.now();
    let lastReport = 0;
    const p: SoakProgress = await runSoak(target, {
      ...runOpts,
      seed: cfg.seed,
      first: cfg.first,
      sessions: cfg.sessions,
      maxMs: cfg.maxSeconds * 1000,
      onProgress: (pr) => {
        const r = rss() ?? 0;
        const f = fds() ?? 0;
        peakRss = Math.max(peakRss, r);
        peakFds = Math.max(peakFds, f);
        log.poll();
        const s = (performance.now() - t0) / 1000;
        if (s - lastReport >= 10) {
          lastReport = s;
          out(
            `  ${s.toFixed(0).padStart(5)} s  ${fmt(pr.finished).padStart(9)} sessions  ${fmt(pr.finished / s).padStart(6)}/s  RSS ${fmt(r / 1024)} MB  fds ${fmt(f)}  uncaught ${log.uncaught}  unhandled ${log.unhandled}  errors ${log.otherErrors}`,
          );
        }
      },
    });
    const cpuFig = cpu.end();
    const seconds = (performance.now() - t0) / 1000;
    out(`  ${fmt(p.finished)} sessions in ${seconds.toFixed(0)} s (${fmt(p.finished / seconds)}/s); ends: ${JSON.stringify(p.ends)}`);
    out(`  sessions that ran into their time bound, by transport/ending: ${JSON.stringify(p.timeoutsBy)}`);
    out(`  sessions whose connection took >= 900 ms (SYN retransmitted: a full accept queue on a busy machine): ${fmt(p.slowConnects)}`);
    if (p.firstErrors.length) out(`  first client-side errors: ${p.firstErrors.slice(0, 5).join('; ')}`);
    const hwmKb = procStatusKb(pid, 'VmHWM');

    // ---- after: settle, then the final checks
    out(`Settling (up to ${cfg.settleSeconds} s)…`);
    const end = serverDead() ? { rssKb: undefined, fds: undefined, seconds: 0 } : await settle(cfg.settleSeconds, (startFds ?? 0) + FD_SLACK);
    log.poll();
    let sessionsAfter: number | undefined;
    let rtMs: number | undefined;
    let rtError: string | undefined;
    if (!serverDead()) {
      try {
        sessionsAfter = await api.connectedUsers();
      } catch (err) {
        problem(`connected_users_number failed: ${(err as Error).message}`);
      }
      try {
        rtMs = await roundTrip(target, accounts[0]!, accounts[1]!);
      } catch (err) {
        rtError = (err as Error).message;
      }
    }
    log.poll();

    const uncaught = log.uncaught;
    const unhandled = log.unhandled;
    const exited = server.exited;
    const rssGrowth = startRss && end.rssKb ? end.rssKb / startRss - 1 : undefined;
    if (exited) problem(`the server exited (code ${exited.code}, signal ${exited.signal}); log tail:\n${server.logTail(20)}`);
    if (uncaught) problem(`${uncaught} uncaught exceptions (${uncaught - logBefore.uncaught} during the soak)`);
    if (unhandled) problem(`${unhandled} unhandled rejections (${unhandled - logBefore.unhandled} during the soak)`);
    if (rssGrowth === undefined || rssGrowth > RSS_TOLERANCE) problem(`RSS ${fmt((end.rssKb ?? 0) / 1024, 1)} MB after settling, start ${fmt((startRss ?? 0) / 1024, 1)} MB (${rssGrowth === undefined ? '?' : (rssGrowth * 100).toFixed(1)} %, allowed +${RSS_TOLERANCE * 100} %)`);
    if (end.fds === undefined || startFds === undefined || end.fds > startFds + FD_SLACK) problem(`${fmt(end.fds)} open descriptors after settling, ${fmt(startFds)} at the start (slack ${FD_SLACK})`);
    if (rtMs === undefined) problem(`the final login + message round trip failed: ${rtError ?? 'server gone'}`);
    if (sessionsAfter !== undefined && sessionsAfter > 0) problem(`${sessionsAfter} sessions still counted after settling`);
    if (p.finished < cfg.sessions) out(`  NOTE: ${fmt(p.finished)} of ${fmt(cfg.sessions)} sessions ran within --max-seconds ${cfg.maxSeconds}`);

    const mb = (kb: number | undefined) => (kb === undefined ? '-' : `${fmt(kb / 1024, 1)} MB`);
    out();
    out(
      table(
        ['measurement', 'result'],
        [
          ['sessions run', fmt(p.finished)],
          ['sessions/s', fmt(p.finished / seconds)],
          ['session ends (server closed / client closed / time bound / connect error / error)', `${fmt(p.ends['server-closed'])} / ${fmt(p.ends['client-closed'])} / ${fmt(p.ends.timeout)} / ${fmt(p.ends['connect-error'])} / ${fmt(p.ends.error)}`],
          ['bytes written / read by clients', `${fmt(p.bytesWritten / 1e6, 1)} MB / ${fmt(p.bytesRead / 1e6, 1)} MB`],
          ['server exits', exited ? `1 (code ${exited.code}, signal ${exited.signal})` : '0'],
          ['uncaught exceptions / unhandled rejections', `${uncaught} / ${unhandled}`],
          ['other error-level log lines / warnings', `${log.otherErrors} / ${log.warnings}`],
          ['server RSS start / peak / end (start and end after a forced collection)', `${mb(startRss)} / ${mb(Math.max(peakRss, hwmKb ?? 0))} / ${mb(end.rssKb)} (${rssGrowth === undefined ? '-' : (rssGrowth >= 0 ? '+' : '') + (rssGrowth * 100).toFixed(1) + ' %'})`],
          ['server open descriptors start / peak / end', `${fmt(startFds)} / ${fmt(peakFds)} / ${fmt(end.fds)}`],
          ['settle time after the last session', `${end.seconds.toFixed(0)} s`],
          ['sessions counted after settling', fmt(sessionsAfter)],
          ['final login + message round trip', rtMs !== undefined ? `ok (${rtMs.toFixed(1)} ms)` : `FAILED: ${rtError}`],
          ['server CPU / generator CPU (% of a core)', `${fmt(cpuFig.serverPct)} % / ${fmt(cpuFig.generatorPct)} %`],
        ],
      ),
    );
    if (log.samples.length) out(`\nuncaught/unhandled samples:\n${log.samples.join('\n')}`);
    if (log.otherSamples.length) out(`\nother error/warning samples:\n${log.otherSamples.join('\n')}`);
    out();
    out(
      JSON.stringify({
        soak: {
          date: started.toISOString(),
          command,
          node: process.version,
          config: cfg,
          sessions: p.finished,
          seconds,
          perSecond: p.finished / seconds,
          ends: p.ends,
          timeoutsBy: p.timeoutsBy,
          slowConnects: p.slowConnects,
          bytesWritten: p.bytesWritten,
          bytesRead: p.bytesRead,
          serverExited: exited ?? null,
          uncaughtExceptions: uncaught,
          unhandledRejections: unhandled,
          otherErrorLines: log.otherErrors,
          warnings: log.warnings,
          rssKb: { start: startRss, peak: Math.max(peakRss, hwmKb ?? 0), end: end.rssKb, growthPct: rssGrowth === undefined ? null : rssGrowth * 100 },
          fds: { start: startFds, peak: peakFds, end: end.fds },
          settleSeconds: end.seconds,
          sessionsAfter,
          finalRoundTripMs: rtMs ?? null,
          cpu: { serverPct: cpuFig.serverPct, generatorPct: cpuFig.generatorPct },
          problems,
        },
      }),
    );
    exitCode = problems.length ? 1 : 0;
  } catch (err) {
    out(`soak: ${(err as Error).stack ?? String(err)}`);
    out(server.logTail(20));
    exitCode = 2;
  } finally {
    api.close();
    await server.stop();
    if (!opt.keep && !opt['heap-snapshots'] && exitCode === 0) rmSync(server.dir, { recursive: true, force: true });
    else out(`server directory kept: ${server.dir} (log: ${server.logFile})`);
  }
  return exitCode;
}

// ---- entry -----------------------------------------------------------------------------------

if (opt.dump !== undefined) {
  dump();
} else if (opt['no-pin'] || os.cpus().length < 2 || !reexecPinned({ flag: 'PARLEY_SOAK_PINNED', cpu: GENERATOR_CPU, nofile: NOFILE, script: fileURLToPath(import.meta.url) })) {
  process.exit(await main());
}
