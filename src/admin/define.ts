import type { ArgSpec, CommandDef, ResultSpec } from './registry.js';

/** Shorthands for declaring commands compactly and consistently; every argument has a description and an example. */
export const str = <const N extends string>(name: N, desc: string, example: string): ArgSpec<N, 'string'> => ({ name, type: 'string', desc, example });
export const int = <const N extends string>(name: N, desc: string, example: number): ArgSpec<N, 'integer'> => ({ name, type: 'integer', desc, example });

export const rescode = { name: 'res', type: 'rescode' } as const satisfies ResultSpec;
export const restuple = { name: 'res', type: 'restuple' } as const satisfies ResultSpec;
/** A restuple whose command returns the domain value V; each dialect words it (ejabberd: `ejabberd/wording.ts`). */
export const outcome = <V>() => ({ name: 'res', type: 'restuple' }) as { readonly name: 'res'; readonly type: 'restuple'; readonly __value?: V };
export const intResult = <const N extends string>(name: N) => ({ name, type: 'integer' }) as const;
export const strResult = <const N extends string>(name: N) => ({ name, type: 'string' }) as const;
export const listOf = <const N extends string, const O extends ResultSpec>(name: N, of: O) => ({ name, type: 'list', of }) as const;

type FieldSpecs<F extends readonly (readonly [string, 'string' | 'integer'])[]> = { readonly [K in keyof F]: { readonly name: F[K][0]; readonly type: F[K][1] } };

export const tupleOf = <const N extends string, const F extends readonly (readonly [string, 'string' | 'integer'])[]>(name: N, fields: F) =>
  ({ name, type: 'tuple', fields: fields.map(([n, t]) => ({ name: n, type: t })) as unknown as FieldSpecs<F> }) as const;

/**
 * The `command` declarer of a module whose commands run in context `C`: arguments and result are
 * typed from the declaration, so `exec` receives `{ user: string; count: number }` for
 * `[str('user', ...), int('count', ...)]`, and must return what `result` declares.
 */
export function commandsIn<C>() {
  return <const A extends readonly ArgSpec[], const R extends ResultSpec>(def: CommandDef<A, R, C> & { resultExample: unknown }): CommandDef<A, R, C> => def;
}
