/**
 * The load scenarios: login throughput, idle sessions held, and one-to-one message throughput
 * and latency. Every loop here is bounded by a count and by a deadline.
 */
import { RawXmpp, LoginError, type Mechanism, type ScramCache } from './xmpp-raw.js';
import { LatencyRecorder, CpuWindow, sleep, type LatencySummary, type CpuFields } from './stats.js';
import type { ServerTarget } from './server-proc.js';
import type { Account } from './http-api.js';

const LOGIN_TIMEOUT_MS = 30_000;

function errorKey(err: unknown): string {
  if (err instanceof LoginError) return err.code;
  return (err as NodeJS.ErrnoException)?.code ?? 'error';
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${errorKey(err)}: ${err.message}` : String(err);
}

// ---- logins --------------------------------------------------------------------------------

export interface LoginBenchResult extends CpuFields {
  mechanism: Mechanism;
  label?: string;
  concurrency: number;
  ok: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
  errors: Record<string, number>;
  firstError?: string;
}

/**
 * `count` logins with `concurrency` connections in flight; each login connects, negotiates,
 * binds a resource, then closes the stream and the socket. Stops early at `maxSeconds` or after
 * too many failures.
 */
export async function benchLogins(
  t: ServerTarget,
  accounts: Account[],
  mechanism: Mechanism,
  count: number,
  concurrency: number,
  maxSeconds: number,
  scram: ScramCache,
): Promise<LoginBenchResult> {
  const lat = new LatencyRecorder(Math.max(count, 1));
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let failed = 0;
  let started = 0;
  const maxFailures = Math.max(50, count / 20);
  const cpu = new CpuWindow(t.pid);
  const deadline = performance.now() + maxSeconds * 1000;
  const open = new Set<RawXmpp>();
  const worker = async (w: number) => {
    while (started < count && performance.now() < deadline && failed < maxFailures) {
      const a = accounts[started++ % accounts.length]!;
      const s = performance.now();
      try {
        const c = await RawXmpp.login({
          host: t.host,
          port: t.c2sPort,
          domain: t.domain,
          user: a.user,
          password: a.password,
          resource: `login${w}`,
          mechanism,
          presence: false,
          scram,
          timeoutMs: LOGIN_TIMEOUT_MS,
        });
        lat.record(performance.now() - s);
        open.add(c);
        c.socket.once('close', () => open.delete(c));
        c.close();
      } catch (err) {
        failed++;
        const k = errorKey(err);
        errors[k] = (errors[k] ?? 0) + 1;
        firstError ??= errorText(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const c = cpu.end();
  // Let the closes finish before the next phase (bounded).
  for (let i = 0; i < 100 && open.size > 0; i++) await sleep(50);
  const r: LoginBenchResult = {
    mechanism,
    concurrency,
    ok: lat.count,
    failed,
    seconds: c.wallS,
    perSecond: lat.count / c.wallS,
    latency: lat.summary(),
    generatorCpuPct: c.generatorPct,
    serverCpuPct: c.serverPct,
    otherLoadPct: c.otherLoadPct,
    errors,
  };
  if (firstError) r.firstError = firstError;
  return r;
}

// ---- sessions ------------------------------------------------------------------------------

export interface OpenResult {
  conns: RawXmpp[];
  requested: number;
  opened: number;
  failed: number;
  seconds: number;
  perSecond: number;
  errors: Record<string, number>;
  firstError?: string;
  /** Set when the generator ran out of file descriptors. */
  emfile: boolean;
  /** Sessions the server closed after they were established. */
  lost: () => number;
  firstLost: () => string | undefined;
}

/**
 * Opens `total` bound sessions with initial presence, `resourcesPerAccount` per account
 * (session i uses account floor(i / resourcesPerAccount), resource `<prefix><i mod n>`).
 * Received data is counted and dropped.
 */
export async function openSessions(
  t: ServerTarget,
  accounts: Account[],
  total: number,
  resourcesPerAccount: number,
  resourcePrefix: string,
  concurrency: number,
  maxSeconds: number,
  scram: ScramCache,
  mechanism: Mechanism = 'SCRAM-SHA-1',
  presenceStanza?: string,
  /** Called for each session as soon as it is bound (before the next login starts on this worker). */
  onOpen?: (c: RawXmpp) => void,
): Promise<OpenResult> {
  const conns: RawXmpp[] = [];
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let failed = 0;
  let next = 0;
  let emfile = false;
  let lost = 0;
  let firstLost: string | undefined;
  const maxFailures = Math.max(50, total / 50);
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  const worker = async () => {
    while (next < total && performance.now() < deadline && failed < maxFailures && !emfile) {
      const i = next++;
      const a = accounts[Math.floor(i / resourcesPerAccount) % accounts.length]!;
      try {
        const c = await RawXmpp.login({
          host: t.host,
          port: t.c2sPort,
          domain: t.domain,
          user: a.user,
          password: a.password,
          resource: `${resourcePrefix}${i % resourcesPerAccount}`,
          mechanism,
          presence: true,
          ...(presenceStanza ? { presenceStanza } : {}),
          scram,
          timeoutMs: LOGIN_TIMEOUT_MS,
        });
        onOpen?.(c);
        c.onLost = (why) => {
          lost++;
          firstLost ??= `${c.jid}: ${why}`;
        };
        conns.push(c);
      } catch (err) {
        failed++;
        const k = errorKey(err);
        if (k === 'EMFILE' || k === 'ENFILE') emfile = true;
        errors[k] = (errors[k] ?? 0) + 1;
        firstError ??= errorText(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const r: OpenResult = {
    conns,
    requested: total,
    opened: conns.length,
    failed,
    seconds,
    perSecond: conns.length / seconds,
    errors,
    emfile,
    lost: () => lost,
    firstLost: () => firstLost,
  };
  if (firstError) r.firstError = firstError;
  return r;
}

/** Closes sessions politely, `batch` at a time, and waits (bounded) for the sockets to close. */
export async function closeSessions(conns: RawXmpp[], batch = 500, maxWaitMs = 30_000): Promise<number> {
  for (let i = 0; i < conns.length; i += batch) {
    for (const c of conns.slice(i, i + batch)) c.close();
    await sleep(5);
  }
  const deadline = performance.now() + maxWaitMs;
  let open = conns.filter((c) => !c.socket.destroyed).length;
  while (open > 0 && performance.now() < deadline) {
    await sleep(100);
    open = conns.filter((c) => !c.socket.destroyed).length;
  }
  for (const c of conns) if (!c.socket.destroyed) c.destroy();
  return open;
}

// ---- messages ------------------------------------------------------------------------------

const BODY_MARK = '<body>T:';
const MSG_END = '</body></message>';

/** Monotonic nanoseconds (performance.now() scaled), an integer well inside 2^53. */
function nowNs(): number {
  return Math.round(performance.now() * 1e6);
}

interface Endpoint {
  conn: RawXmpp;
  /** `<message to='peer' type='chat'><body>T:` */
  pre: string;
  rest: string;
}

export interface MessageRunResult extends CpuFields {
  mode: 'closed-loop' | 'fixed-rate';
  /** closed loop: messages each session keeps in flight to its peer */
  window?: number;
  /** fixed rate: offered messages/s */
  offered?: number;
  /** fixed rate: what the generator actually sent per second in the window */
  offeredActual?: number;
  seconds: number;
  sent: number;
  delivered: number;
  perSecond: number;
  latencyMs: LatencySummary;
  /** messages still undelivered after the drain wait */
  undelivered: number;
  errorChunks: number;
  /** the offered rate was not sustained (delivered < 95 % of offered, or the backlog grew) */
  overloaded?: boolean;
}

export interface MessageOptions {
  warmupS: number;
  durationS: number;
  windows: number[];
  /** Offered loads; a string like '50%' means that share of the best closed-loop rate. */
  rates: (number | string)[];
  onPhase?: (name: string, startNs: bigint, endNs: bigint) => void;
  /** Re-measure a run (up to `retries` times) when `isDisturbed` says so, keeping the least disturbed. */
  retries?: number;
  isDisturbed?: (r: MessageRunResult) => boolean;
  beforeRetry?: (r: MessageRunResult) => Promise<void>;
  /** Every message sent, over all runs and attempts (warm-ups and drains included), is added here. */
  counters?: { sent: number };
}

/**
 * Message throughput and latency over already-bound sessions, paired (0↔1, 2↔3, …): each session
 * sends chat messages to its peer's full JID and timestamps them; the peer measures delivery
 * latency from the timestamp in the body.
 */
export async function benchMessages(t: ServerTarget, conns: RawXmpp[], o: MessageOptions): Promise<MessageRunResult[]> {
  const n = conns.length - (conns.length % 2);
  const eps: Endpoint[] = [];
  for (let i = 0; i < n; i++) {
    const peer = conns[i ^ 1]!;
    eps.push({ conn: conns[i]!, pre: `<message to='${peer.jid}' type='chat'><body>T:`, rest: '' });
  }
  const lat = new LatencyRecorder(2_000_000);
  let mode: 'closed' | 'open' | 'off' = 'off';
  let measuring = false;
  let sent = 0;
  let received = 0;
  let receivedInWindow = 0;
  let errorChunks = 0;

  const onData = (ep: Endpoint, chunk: string) => {
    const s = ep.rest.length ? ep.rest + chunk : chunk;
    if (s.indexOf('type="error"') >= 0) errorChunks++;
    const now = performance.now();
    let pos = 0;
    let k = 0;
    ep.rest = '';
    for (;;) {
      const b = s.indexOf(BODY_MARK, pos);
      if (b < 0) {
        // Keep a tail in case the marker is split across chunks.
        if (s.length - pos > 7) ep.rest = s.slice(s.length - 7);
        else ep.rest = s.slice(pos);
        break;
      }
      const e = s.indexOf('<', b + 8);
      if (e < 0) {
        ep.rest = s.slice(b);
        break;
      }
      const ts = Number(s.slice(b + 8, e));
      k++;
      if (measuring) lat.record(now - ts / 1e6);
      pos = e;
    }
    if (k === 0) return;
    received += k;
    if (measuring) receivedInWindow += k;
    if (mode === 'closed') {
      const m = ep.pre + nowNs() + MSG_END;
      ep.conn.write(k === 1 ? m : m.repeat(k));
      sent += k;
    }
  };
  for (const ep of eps) ep.conn.onData = (d) => onData(ep, d);

  const drain = async (maxMs: number) => {
    const end = performance.now() + maxMs;
    while (received < sent && performance.now() < end) await sleep(50);
    return sent - received;
  };

  const results: MessageRunResult[] = [];
  const runOne = async (label: string, start: () => void, stop: () => void, extra: Partial<MessageRunResult>) => {
    let best = await attempt(label, start, stop, extra);
    for (let i = 0; i < (o.retries ?? 0) && o.isDisturbed?.(best.r); i++) {
      await o.beforeRetry?.(best.r);
      const again = await attempt(label, start, stop, extra);
      if ((again.r.otherLoadPct ?? 0) < (best.r.otherLoadPct ?? 0)) best = again;
    }
    o.onPhase?.(label, best.startNs, best.endNs);
    results.push(best.r);
    return best.r;
  };
  const attempt = async (label: string, start: () => void, stop: () => void, extra: Partial<MessageRunResult>) => {
    sent = 0;
    received = 0;
    receivedInWindow = 0;
    errorChunks = 0;
    lat.reset();
    start();
    await sleep(o.warmupS * 1000);
    lat.reset();
    receivedInWindow = 0;
    const sentAtStart = sent;
    const cpu = new CpuWindow(t.pid);
    const startNs = process.hrtime.bigint();
    measuring = true;
    await sleep(o.durationS * 1000);
    measuring = false;
    const c = cpu.end();
    const endNs = process.hrtime.bigint();
    const sentInWindow = sent - sentAtStart;
    const backlog = sent - received;
    stop();
    const undelivered = await drain(15_000);
    if (o.counters) o.counters.sent += sent;
    const r: MessageRunResult = {
      mode: extra.mode!,
      seconds: c.wallS,
      sent: sentInWindow,
      delivered: receivedInWindow,
      perSecond: receivedInWindow / c.wallS,
      latencyMs: lat.summary(),
      generatorCpuPct: c.generatorPct,
      serverCpuPct: c.serverPct,
      otherLoadPct: c.otherLoadPct,
      undelivered,
      errorChunks,
      ...extra,
    };
    if (r.mode === 'fixed-rate') {
      r.offeredActual = sentInWindow / c.wallS;
      r.overloaded = r.perSecond < 0.95 * r.offered! || backlog > r.offered! * 0.5;
    }
    return { r, startNs, endNs };
  };

  let best = 0;
  for (const w of o.windows) {
    const r = await runOne(
      `messages closed-loop W=${w}`,
      () => {
        mode = 'closed';
        for (const ep of eps) {
          const m = ep.pre + nowNs() + MSG_END;
          ep.conn.write(w === 1 ? m : m.repeat(w));
          sent += w;
        }
      },
      () => {
        mode = 'off';
      },
      { mode: 'closed-loop', window: w },
    );
    best = Math.max(best, r.perSecond);
  }

  for (const spec of o.rates) {
    let rate: number;
    if (typeof spec === 'string' && spec.endsWith('%')) {
      if (best === 0) continue;
      rate = Math.round((best * Number(spec.slice(0, -1))) / 100);
    } else rate = Number(spec);
    if (!(rate > 0)) continue;
    let timer: NodeJS.Timeout | undefined;
    await runOne(
      `messages fixed ${rate}/s`,
      () => {
        mode = 'open';
        const t0 = performance.now();
        let rr = 0;
        let issued = 0;
        // Bounded: the timer is cleared by stop(); each tick sends at most 1 s worth of messages.
        timer = setInterval(() => {
          const due = Math.min(Math.floor(((performance.now() - t0) * rate) / 1000) - issued, rate);
          if (due <= 0) return;
          const ts = nowNs();
          for (let i = 0; i < due; i++) {
            const ep = eps[rr]!;
            rr = rr + 1 === eps.length ? 0 : rr + 1;
            ep.conn.write(ep.pre + ts + MSG_END);
          }
          issued += due;
          sent += due;
        }, 1);
      },
      () => {
        mode = 'off';
        if (timer) clearInterval(timer);
      },
      { mode: 'fixed-rate', offered: rate },
    );
  }
  for (const ep of eps) ep.conn.onData = undefined;
  return results;
}
