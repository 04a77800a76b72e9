/** Counts failed logins per remote address over a sliding minute (limits.authFailuresPerMinute). */
export class AuthLimiter {
  private failures = new Map<string, number[]>();

  constructor(private readonly perMinute: number) {}

  private recent(ip: string, now: number): number[] {
    const list = (this.failures.get(ip) ?? []).filter((t) => now - t < 60_000);
    if (list.length) this.failures.set(ip, list);
    else this.failures.delete(ip);
    return list;
  }

  blocked(ip: string, now = Date.now()): boolean {
    return this.recent(ip, now).length >= this.perMinute;
  }

  fail(ip: string, now = Date.now()): void {
    const list = this.recent(ip, now);
    list.push(now);
    this.failures.set(ip, list);
  }

  /** Forgets failures of addresses matching the predicate; returns how many addresses were cleared. */
  clear(match: (ip: string) => boolean): number {
    let n = 0;
    for (const ip of [...this.failures.keys()]) if (match(ip)) (this.failures.delete(ip), n++);
    return n;
  }
}
