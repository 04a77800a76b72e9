import type { ResultSpec } from './registry.js';

/**
 * Puts a command's value into the exact shape its result spec declares: keys in declared
 * order, integers as numbers, strings as strings. Every surface renders from this.
 */
export function shape(spec: ResultSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'integer':
      return typeof value === 'number' ? value : Number(value ?? 0);
    case 'string':
    case 'restuple':
      return value === undefined || value === null ? '' : String(value);
    case 'rescode':
      return value;
    case 'list':
      return (Array.isArray(value) ? value : []).map((v) => shape(spec.of, v));
    case 'tuple': {
      const src = (value ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of spec.fields) out[f.name] = shape(f, src[f.name]);
      return out;
    }
  }
}
