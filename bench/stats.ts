/**
 * Small measurement helpers for the benchmark: a bounded latency recorder (reservoir sampling past
 * its capacity, so memory stays fixed whatever the run length), percentiles, CPU accounting of
 * this process and of the server process (from /proc), and table formatting.
 */
import { readFileSync, readdirSync } from 'node:fs';

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private n = 0;
  /** Every value recorded, including those the reservoir dropped. */
  count = 0;
  private sum = 0;
  private max = 0;

  constructor(capacity = 1_000_000) {
    this.samples = new Float64Array(capacity);
  }

  record(v: number): void {
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (this.n < this.samples.length) {
      this.samples[this.n++] = v;
    } else {
      const j = Math.floor(Math.random() * this.count);
      if (j < this.samples.length) this.samples[j] = v;
    }
  }

  reset(): void {
    this.n = 0;
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  summary(): LatencySummary {
    if (this.n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
    const sorted = this.samples.slice(0, this.n).sort();
    const at = (q: number) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))]!;
    return {
      count: this.count,
      mean: this.sum / this.count,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: this.max,
    };
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Busy and total jiffies per CPU, from /proc/stat. */
export function coreTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal guest guest_nice. irq and softirq are left
      // out of "busy": with IRQ time accounting they are not charged to any process, and the
      // loopback traffic of the benchmark itself would show up as load from others.
      const [user = 0, nice = 0, system = 0, , , , , steal = 0] = f;
      const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
      out[Number(m[1])] = { busy: user + nice + system + steal, total };
    }
  } catch {
    /* not Linux */
  }
  return out;
}

/**
 * The kernel's per-CPU softirq threads: when loopback traffic is heavy, the kernel defers the
 * benchmark's own network processing to them, so their CPU counts as the benchmark's, not as
 * other processes'.
 */
function softirqThreads(): Map<number, number> {
  const byCore = new Map<number, number>();
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d) || Number(d) > 1000) continue; // kernel threads start early
      let comm = '';
      try {
        comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      const m = /^ksoftirqd\/(\d+)$/.exec(comm);
      if (m) byCore.set(Number(m[1]), Number(d));
    }
  } catch {
    /* not Linux */
  }
  return byCore;
}
const SOFTIRQ_PIDS = softirqThreads();

function softirqSeconds(core: number): number {
  const pid = SOFTIRQ_PIDS.get(core);
  return pid === undefined ? 0 : procCpuSeconds(pid) ?? 0;
}

/** Where the two processes are pinned; used to tell their CPU use from other processes'. */
export const PINNING = { server: 0, generator: 1 };

export interface CpuFigures {
  wallS: number;
  generatorPct: number;
  serverPct: number | undefined;
  /** busy % of each core over the window, whoever used it */
  coreBusyPct: number[];
  /**
   * CPU used on the two benchmark cores by anything other than the server and the generator
   * (other processes on a shared machine), in % of one core: the larger of the two cores.
   */
  otherLoadPct: number | undefined;
}

/** The CPU figures every measured phase reports, in % of one core. */
export interface CpuFields {
  serverCpuPct: number | undefined;
  generatorCpuPct: number;
  otherLoadPct: number | undefined;
}

/** CPU time of this process, the server and each core, as a share of one core over a wall-clock window. */
export class CpuWindow {
  private readonly startCpu = process.cpuUsage();
  private readonly startWall = performance.now();
  private readonly startServer: number | undefined;
  private readonly startCores = coreTimes();
  private readonly startSoftirq = [softirqSeconds(PINNING.server), softirqSeconds(PINNING.generator)];

  constructor(private readonly serverPid?: number) {
    this.startServer = serverPid ? procCpuSeconds(serverPid) : undefined;
  }

  end(): CpuFigures {
    const wallS = (performance.now() - this.startWall) / 1000;
    const c = process.cpuUsage(this.startCpu);
    const generatorPct = ((c.user + c.system) / 1e6 / wallS) * 100;
    let serverPct: number | undefined;
    if (this.serverPid && this.startServer !== undefined) {
      const now = procCpuSeconds(this.serverPid);
      if (now !== undefined) serverPct = ((now - this.startServer) / wallS) * 100;
    }
    const cores = coreTimes();
    const coreBusyPct = cores.map((e, i) => {
      const s = this.startCores[i];
      return s && e.total > s.total ? ((e.busy - s.busy) / (e.total - s.total)) * 100 : NaN;
    });
    let otherLoadPct: number | undefined;
    const sb = coreBusyPct[PINNING.server];
    const gb = coreBusyPct[PINNING.generator];
    if (serverPct !== undefined && sb !== undefined && gb !== undefined && !Number.isNaN(sb) && !Number.isNaN(gb)) {
      const irqS = ((softirqSeconds(PINNING.server) - this.startSoftirq[0]!) / wallS) * 100;
      const irqG = ((softirqSeconds(PINNING.generator) - this.startSoftirq[1]!) / wallS) * 100;
      otherLoadPct = Math.max(0, sb - serverPct - irqS, gb - generatorPct - irqG);
    }
    return { wallS, generatorPct, serverPct, coreBusyPct, otherLoadPct };
  }
}

const CLK_TCK = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** utime + stime of a process in seconds, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields are counted after its closing paren.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...). */
export function procStatusKb(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The soft "Max open files" of a process. */
export function procMaxOpenFiles(pid: number): number | undefined {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : undefined;
  } catch {
    return undefined;
  }
}

export function procOpenFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ms(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  return n < 10 ? `${n.toFixed(2)} ms` : n < 100 ? `${n.toFixed(1)} ms` : `${n.toFixed(0)} ms`;
}

/** A plain-text table with right-aligned value columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}

/**
 * Waits (at most maxS seconds) until the given cores were less than 5 % busy for 3 consecutive
 * seconds. Returns the last busy figure (the larger of the cores) and whether they were quiet.
 */
export async function waitForQuietCores(cores: number[], maxS: number): Promise<{ quiet: boolean; busyPct: number }> {
  const end = performance.now() + maxS * 1000;
  let quietFor = 0;
  let busy = 100;
  while (performance.now() < end && quietFor < 3) {
    const a = coreTimes();
    await sleep(1000);
    const b = coreTimes();
    busy = Math.max(
      ...cores.map((i) => {
        const x = a[i];
        const y = b[i];
        return x && y ? ((y.busy - x.busy) / Math.max(1, y.total - x.total)) * 100 : 0;
      }),
    );
    quietFor = busy < 5 ? quietFor + 1 : 0;
  }
  return { quiet: quietFor >= 3, busyPct: busy };
}
