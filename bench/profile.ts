/**
 * Reading a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per source file,
 * over the whole profile or over the time window of one benchmark phase. Sample timestamps are
 * CLOCK_MONOTONIC microseconds, the same clock as process.hrtime() in the generator.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  selfMs: number;
  /** share of the busy (non-idle) time in the window */
  pct: number;
}

export interface ProfileWindowSummary {
  label: string;
  totalMs: number;
  busyPct: number;
  gcPct: number;
  functions: HotSpot[];
  files: HotSpot[];
}

function shortUrl(url: string, root: string): string {
  if (!url) return '';
  let u = url.startsWith('file://') ? url.slice(7) : url;
  if (root && u.startsWith(root)) u = u.slice(root.length + 1);
  return u;
}

export class ProfileReader {
  private readonly p: CpuProfile;
  private readonly byId = new Map<number, ProfileNode>();
  private readonly sampleTimes: Float64Array;

  constructor(
    file: string,
    private readonly root: string,
  ) {
    this.p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    for (const n of this.p.nodes) this.byId.set(n.id, n);
    this.sampleTimes = new Float64Array(this.p.samples.length);
    let t = this.p.startTime;
    for (let i = 0; i < this.p.samples.length; i++) {
      t += this.p.timeDeltas[i] ?? 0;
      this.sampleTimes[i] = t;
    }
  }

  get startUs(): number {
    return this.p.startTime;
  }

  get endUs(): number {
    return this.p.endTime;
  }

  /** Self time by function and by file within [fromUs, toUs) (the whole profile by default). */
  summarize(label: string, fromUs = -Infinity, toUs = Infinity, top = 15): ProfileWindowSummary {
    const fnSelf = new Map<string, number>();
    const fileSelf = new Map<string, number>();
    let total = 0;
    let idle = 0;
    let gc = 0;
    const { samples } = this.p;
    for (let i = 0; i < samples.length; i++) {
      const ts = this.sampleTimes[i]!;
      if (ts < fromUs || ts >= toUs) continue;
      // A sample stands for the interval until the next one.
      const dt = i + 1 < samples.length ? this.sampleTimes[i + 1]! - ts : 0;
      const node = this.byId.get(samples[i]!)!;
      const cf = node.callFrame;
      total += dt;
      if (cf.functionName === '(idle)') {
        idle += dt;
        continue;
      }
      if (cf.functionName === '(garbage collector)') gc += dt;
      const file = shortUrl(cf.url, this.root);
      const fname = `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
      fnSelf.set(fname, (fnSelf.get(fname) ?? 0) + dt);
      const fileKey = file || (cf.functionName.startsWith('(') ? cf.functionName : '(native)');
      fileSelf.set(fileKey, (fileSelf.get(fileKey) ?? 0) + dt);
    }
    const busy = total - idle;
    const rank = (m: Map<string, number>): HotSpot[] =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => ({ name, selfMs: us / 1000, pct: busy > 0 ? (us / busy) * 100 : 0 }));
    return {
      label,
      totalMs: total / 1000,
      busyPct: total > 0 ? (busy / total) * 100 : 0,
      gcPct: busy > 0 ? (gc / busy) * 100 : 0,
      functions: rank(fnSelf),
      files: rank(fileSelf),
    };
  }
}

export function formatProfile(s: ProfileWindowSummary): string {
  const lines = [
    `Server CPU profile — ${s.label}: ${(s.totalMs / 1000).toFixed(1)} s sampled, busy ${s.busyPct.toFixed(0)}%, GC ${s.gcPct.toFixed(1)}% of busy`,
    '  top self time (share of busy time):',
    ...s.functions.map((f) => `    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`),
    '  by file:',
    ...s.files.slice(0, 10).map((f) => `    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`),
  ];
  return lines.join('\n');
}
