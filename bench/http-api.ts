/**
 * The server's HTTP admin API (ejabberd mod_http_api dialect) as the benchmark uses it:
 * creating the accounts, counting sessions, and a requests/s micro-benchmark.
 */
import http from 'node:http';
import net from 'node:net';
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
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
  firstError?: string;
}

/**
 * A keep-alive HTTP/1.1 connection that sends one prepared request at a time and reads just enough of
 * each answer (status line, Content-Length) to know where it ends: node's http client costs more CPU per
 * request than the server under test, and the generator has one core too.
 */
class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((r: { status: number; body: string }) => void) | undefined;
  private failed: ((err: Error) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    const fail = (err: Error) => {
      const f = this.failed;
      this.waiting = this.failed = undefined;
      f?.(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(t: ServerTarget): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(t.httpPort, t.host, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  private parse(): void {
    const head = this.buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    const text = this.buf.toString('latin1', 0, head);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
    const length = m ? Number(m[1]) : 0;
    if (this.buf.length < head + 4 + length) return;
    const status = Number(text.slice(9, 12));
    const body = this.buf.toString('utf8', head + 4, head + 4 + length);
    this.buf = this.buf.subarray(head + 4 + length);
    const w = this.waiting;
    this.waiting = this.failed = undefined;
    w?.({ status, body });
  }

  request(bytes: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `POST /api/connected_users_number` in a closed loop with `concurrency` requests (and connections) in flight. */
export async function benchAdminApi(t: ServerTarget, concurrency: number, seconds: number): Promise<ApiBenchResult> {
  const auth = 'Basic ' + Buffer.from(`admin@${t.domain}:${t.adminPassword}`).toString('base64');
  const request = Buffer.from(
    `POST /api/connected_users_number HTTP/1.1\r\nHost: ${t.host}:${t.httpPort}\r\nAuthorization: ${auth}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}`,
  );
  const conns = await Promise.all(Array.from({ length: concurrency }, () => RawConnection.open(t)));
  // Authenticate once per connection before measuring (the server caches verified credentials).
  for (const r of await Promise.all(conns.map((c) => c.request(request)))) {
    if (r.status !== 200) throw new Error(`connected_users_number: HTTP ${r.status} ${r.body}`);
  }
  const lat = new LatencyRecorder(1_000_000);
  let errors = 0;
  let firstError: string | undefined;
  const cpu = new CpuWindow(t.pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async (conn: RawConnection) => {
    while (performance.now() < end && errors < 100) {
      const s = performance.now();
      try {
        const r = await conn.request(request);
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
  await Promise.all(conns.map(worker));
  const c = cpu.end();
  for (const conn of conns) conn.close();
  const res: ApiBenchResult = {
    concurrency,
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
