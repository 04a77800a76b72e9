import type { DomainError } from '../../errors.js';
import type { ResultSpec } from '../registry.js';
import { shape } from '../render.js';
import { restupleText } from './wording.js';
import { STATUS_OF } from '../../http/layer.js';

/**
 * ejabberd's rendering of command outcomes (mod_http_api): a rescode as 0/1, a restuple as its
 * bare text or an error envelope with code 10001 (10090 for a conflict), a scalar as
 * `{name: value}`, lists and tuples in their declared shape.
 */

/** Rescode results: true/ok/0 are success. */
export function rescodeOk(value: unknown): boolean {
  return value === true || value === 0 || value === 'ok' || value === undefined;
}

/** The body of a successful call of `command`. */
export function successBody(command: string, spec: ResultSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'rescode':
      return rescodeOk(value) ? 0 : 1;
    case 'restuple':
      return restupleText(command, value);
    case 'list': {
      const shaped = shape(spec, value);
      if (!spec.keyed || spec.of.type !== 'tuple' || !Array.isArray(shaped)) return shaped;
      const [k, v] = spec.of.fields.map((f) => f.name) as [string, string];
      return Object.fromEntries((shaped as Record<string, unknown>[]).map((row) => [row[k], row[v]]));
    }
    case 'tuple':
      return shape(spec, value);
    default:
      return { [spec.name]: shape(spec, value) };
  }
}

/** Status and body of a call that failed with a domain error. */
export function errorAnswer(spec: ResultSpec, err: DomainError): { status: number; body: unknown } {
  const status = STATUS_OF[err.kind];
  if (spec.type === 'restuple') return { status, body: { status: 'error', code: err.kind === 'conflict' ? 10090 : 10001, message: err.message } };
  return { status, body: err.message };
}
