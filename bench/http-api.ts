/**
 * The server's HTTP admin API (ejabberd mod_http_api dialect) as the benchmark uses it:
 * creating the accounts, counting sessions, and a requests/s micro-benchmark.
 */
import http from 'node:http';
import { LatencyRecorder, CpuWindow, type LatencySummary, type CpuFields } from './stats.js';
import type { ServerTarget } from './server-proc.js';

export class AdminApi {
  readonly agent: http.Agent;
  private readonly auth: string;

  constructor(
    private readonly t: ServerTarget,
    maxSockets = 32,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
    this.auth = 'Basic ' + Buffer.from(`admin@${t.domain}:${t.adminPassword}`).toString('base64');
  }

  call(command: string, args: Record<string, unknown>, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
    const payload = JSON.stringify(args);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.t.host,
          port: this.t.httpPort,
          method: 'POST',
          path: `/api/${command}`,
          agent: this.agent,
          headers: {
            authorization: this.auth,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
          timeout: timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${command}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async connectedUsers(): Promise<number> {
    const r = await this.call('connected_users_number', {});
    if (r.status !== 200) throw new Error(`connected_users_number: HTTP ${r.status} ${r.body}`);
    return (JSON.parse(r.body) as { num_sessions: number }).num_sessions;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Account {
  user: string;
  password: string;
}

export function accountList(n: number): Account[] {
  const out: Account[] = [];
  for (let i = 0; i < n; i++) out.push({ user: `bench${i}`, password: `pw-${i}-bench` });
  return out;
}

export interface RegisterResult {
  created: number;
  existed: number;
  failed: number;
  seconds: number;
  perSecond: number;
  firstError?: string;
}

/**
 * Creates accounts with `concurrency` requests in flight. Each costs the server two PBKDF2 runs
 * (SCRAM-SHA-1 and SCRAM-SHA-256 credentials). Accounts that exist already count as ready
 * (a benchmark against a running server may be repeated).
 */
export async function registerAccounts(api: AdminApi, domain: string, accounts: Account[], concurrency: number, deadlineMs: number): Promise<RegisterResult> {
  const r: RegisterResult = { created: 0, existed: 0, failed: 0, seconds: 0, perSecond: 0 };
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < accounts.length && performance.now() - t0 < deadlineMs && r.failed < 20) {
      const a = accounts[next++]!;
      try {
        const res = await api.call('register', { user: a.user, host: domain, password: a.password });
        if (res.status === 200) r.created++;
        else if (res.status === 409) r.existed++;
        else {
          r.failed++;
          r.firstError ??= `HTTP ${res.status} ${res.body}`;
        }
      } catch (err) {
        r.failed++;
        r.firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  r.seconds = (performance.now() - t0) / 1000;
  r.perSecond = r.created / r.seconds;
  return r;
}

export interface ApiBenchResult extends CpuFields {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
  firstError?: string;
}

/** `POST /api/connected_users_number` in a closed loop with `concurrency` requests in flight. */
export async function benchAdminApi(t: ServerTarget, concurrency: number, seconds: number): Promise<ApiBenchResult> {
  const api = new AdminApi(t, concurrency);
  // Authenticate once (the server caches verified basic credentials), and open the sockets.
  await Promise.all(Array.from({ length: concurrency }, () => api.connectedUsers()));
  const lat = new LatencyRecorder(200_000);
  let errors = 0;
  let firstError: string | undefined;
  const cpu = new CpuWindow(t.pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end && errors < 100) {
      const s = performance.now();
      try {
        const r = await api.call('connected_users_number', {}, 10_000);
        if (r.status === 200) lat.record(performance.now() - s);
        else {
          errors++;
          firstError ??= `HTTP ${r.status} ${r.body}`;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const c = cpu.end();
  api.close();
  const res: ApiBenchResult = {
    requests: lat.count,
    errors,
    seconds: c.wallS,
    perSecond: lat.count / c.wallS,
    latency: lat.summary(),
    generatorCpuPct: c.generatorPct,
    serverCpuPct: c.serverPct,
    otherLoadPct: c.otherLoadPct,
  };
  if (firstError) res.firstError = firstError;
  return res;
}
