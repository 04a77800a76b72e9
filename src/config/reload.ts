import { isDeepStrictEqual } from 'node:util';
import type { Config } from './schema.js';

/**
 * Which configuration keys `reload_config` may change in a running node: those read where they are
 * used, not captured when a listener, a stream or a module was set up. Everything else (listeners,
 * storage, hosts, TLS, the data directory, shapers, module set-up choices) needs a restart.
 * An entry `section.*` covers every key of that section; `section.key` one key.
 */
const RELOADABLE = [
  'logLevel',
  'admins',
  'apiPermissions',
  'auth.passwordFormat',
  'limits.*',
  'c2s.requireTls',
  'c2s.allowPlainWithoutTlsOnLoopback',
  'c2s.maxSessionsPerAccount',
  'c2s.resumeTimeout',
  'c2s.negotiationTimeout',
  'c2s.registrationTimeout',
  'muc.*',
  'pep.*',
] as const;

/** Keys read once at start-up even inside a reloadable section. */
const CAPTURED = new Set(['limits.authFailuresPerMinute', 'muc.enabled', 'muc.domain']);

/** Sections compared key by key (their keys are reported as `section.key`). */
const SECTIONS = new Set(['limits', 'c2s', 'auth', 'storage', 'listen', 'tls', 'shaper', 'ctl', 'xmlrpc', 'oauth', 'muc', 'pep']);

function reloadable(key: string): boolean {
  if (CAPTURED.has(key)) return false;
  const section = key.split('.')[0]!;
  return (RELOADABLE as readonly string[]).includes(key) || (RELOADABLE as readonly string[]).includes(`${section}.*`);
}

/** The keys whose values differ between two configurations, as `logLevel` or `limits.maxRosterItems`. */
export function changedKeys(old: Config, next: Config): string[] {
  const a = old as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (isDeepStrictEqual(x, y)) continue;
    if (SECTIONS.has(key) && x && y && typeof x === 'object' && typeof y === 'object') {
      const xs = x as Record<string, unknown>;
      const ys = y as Record<string, unknown>;
      for (const sub of new Set([...Object.keys(xs), ...Object.keys(ys)])) {
        if (!isDeepStrictEqual(xs[sub], ys[sub])) out.push(`${key}.${sub}`);
      }
    } else {
      out.push(key);
    }
  }
  return out.sort();
}

/** Splits changed keys into those a running node applies and those that wait for a restart. */
export function planReload(old: Config, next: Config): { apply: string[]; needRestart: string[] } {
  const apply: string[] = [];
  const needRestart: string[] = [];
  for (const key of changedKeys(old, next)) (reloadable(key) ? apply : needRestart).push(key);
  return { apply, needRestart };
}

/**
 * Writes the reloadable changed keys of `next` into `live` in place (modules hold `live` and read
 * it where they use a value). Returns nothing: the caller already knows the keys from `planReload`.
 */
export function applyReload(live: Config, next: Config, keys: readonly string[]): void {
  const l = live as unknown as Record<string, Record<string, unknown> | unknown>;
  const n = next as unknown as Record<string, Record<string, unknown> | unknown>;
  for (const key of keys) {
    const [section, sub] = key.split('.') as [string, string | undefined];
    if (sub === undefined) {
      if (n[section] === undefined) delete l[section];
      else l[section] = n[section];
    } else {
      const target = l[section] as Record<string, unknown>;
      const source = n[section] as Record<string, unknown>;
      if (source[sub] === undefined) delete target[sub];
      else target[sub] = source[sub];
    }
  }
}
