import type { ArgSpec, CommandDef, ResultSpec } from './registry.js';

/** Shorthands for declaring commands compactly and consistently. */
export const str = (name: string, desc?: string, example?: unknown): ArgSpec => ({ name, type: 'string', desc, example });
export const int = (name: string, desc?: string, example?: unknown): ArgSpec => ({ name, type: 'integer', desc, example });

export const rescode: ResultSpec = { name: 'res', type: 'rescode' };
export const restuple: ResultSpec = { name: 'res', type: 'restuple' };
export const intResult = (name: string): ResultSpec => ({ name, type: 'integer' });
export const strResult = (name: string): ResultSpec => ({ name, type: 'string' });
export const listOf = (name: string, of: ResultSpec): ResultSpec => ({ name, type: 'list', of });
export const tupleOf = (name: string, fields: [string, 'string' | 'integer'][]): ResultSpec => ({
  name,
  type: 'tuple',
  fields: fields.map(([n, t]) => ({ name: n, type: t })),
});

export function command(def: CommandDef): CommandDef {
  return def;
}
