/** One credential check that may run; exactly one of its methods is called when the check is over. */
export interface AuthTicket {
  /** The check passed, or ended without judging the credentials: nothing is counted. */
  release(): void;
  /** The credentials were wrong: counted against the address for a minute. */
  failed(): void;
}

interface AddressState {
  /** Times of recent failures, oldest first. */
  failures: number[];
  /** Checks holding a ticket. */
  inFlight: number;
  /** Checks waiting for a ticket. */
  waiting: (() => void)[];
}

/**
 * Failed logins per remote address over a sliding minute (limits.authFailuresPerMinute), for every
 * way of logging in (SASL steps of every mechanism, HTTP basic auth).
 *
 * The limit holds under concurrency: a check in flight counts as a failure until it is over, so
 * that at most `perMinute - failures` checks run at once for one address; the others wait for
 * them (checks take milliseconds) and are refused once the failures reach the limit. Without
 * this, a burst of concurrent guesses would all be evaluated before the first failure is counted.
 */
export class AuthLimiter {
  private addresses = new Map<string, AddressState>();

  constructor(
    private readonly perMinute: number,
    /** Checks that may wait for a ticket per address; beyond, they are refused at once. */
    private readonly maxWaiting = 1000,
  ) {}

  private state(ip: string, now: number): AddressState | undefined {
    const s = this.addresses.get(ip);
    if (!s) return undefined;
    let expired = 0;
    while (expired < s.failures.length && now - s.failures[expired]! >= 60_000) expired++;
    if (expired) s.failures.splice(0, expired);
    if (s.failures.length === 0 && s.inFlight === 0 && s.waiting.length === 0) {
      this.addresses.delete(ip);
      return undefined;
    }
    return s;
  }

  /** Failures alone have reached the limit: any check from this address is refused. */
  blocked(ip: string, now = Date.now()): boolean {
    const s = this.state(ip, now);
    return s !== undefined && s.failures.length >= this.perMinute;
  }

  /**
   * A ticket to run one credential check, or undefined when the address is blocked. Waits while
   * the checks already in flight could, by failing, reach the limit.
   */
  async acquire(ip: string): Promise<AuthTicket | undefined> {
    for (;;) {
      const now = Date.now();
      let s = this.state(ip, now);
      if (!s) {
        s = { failures: [], inFlight: 0, waiting: [] };
        this.addresses.set(ip, s);
      }
      if (s.failures.length >= this.perMinute) return undefined;
      if (s.failures.length + s.inFlight < this.perMinute) {
        s.inFlight++;
        return this.ticket(ip, s);
      }
      if (s.waiting.length >= this.maxWaiting) return undefined;
      const state = s;
      await new Promise<void>((resolve) => state.waiting.push(resolve));
    }
  }

  private ticket(ip: string, s: AddressState): AuthTicket {
    let done = false;
    const finish = (failed: boolean) => {
      if (done) return;
      done = true;
      s.inFlight--;
      if (failed) s.failures.push(Date.now());
      // Waiting checks look again: one may now run, or all are refused.
      const waiting = s.waiting.splice(0);
      for (const wake of waiting) wake();
      if (s.failures.length === 0 && s.inFlight === 0 && s.waiting.length === 0 && this.addresses.get(ip) === s) this.addresses.delete(ip);
    };
    return { release: () => finish(false), failed: () => finish(true) };
  }

  /** Forgets failures of addresses matching the predicate; returns how many addresses were cleared. */
  clear(match: (ip: string) => boolean): number {
    let n = 0;
    for (const [ip, s] of [...this.addresses]) {
      if (!match(ip) || s.failures.length === 0) continue;
      s.failures = [];
      n++;
      for (const wake of s.waiting.splice(0)) wake();
      if (s.inFlight === 0) this.addresses.delete(ip);
    }
    return n;
  }
}
