import type { AnyCommand, ArgSpec, ArgType, ResultSpec } from '../registry.js';

/**
 * What the generated documents say about a command, in ejabberd's notation (`user :: string`,
 * `contacts :: [{jid::string, nick::string}]`): the documents describe `/api`, ejabberd's dialect.
 */

export function argTypeText(t: ArgType): string {
  if (typeof t === 'string') return t;
  if ('list' in t) return `[${t.list.name}::${argTypeText(t.list.type)}]`;
  return `{${t.tuple.map((f) => `${f.name}::${argTypeText(f.type)}`).join(', ')}}`;
}

export function resultTypeText(spec: ResultSpec): string {
  switch (spec.type) {
    case 'rescode':
      return 'integer';
    case 'restuple':
      return 'string';
    case 'list':
      return `[${elementText(spec.of)}]`;
    case 'tuple':
      return `{${spec.fields.map((f) => `${f.name}::${resultTypeText(f)}`).join(', ')}}`;
    default:
      return spec.type;
  }
}

function elementText(spec: ResultSpec): string {
  return spec.type === 'tuple' ? resultTypeText(spec) : `${spec.name}::${resultTypeText(spec)}`;
}

/** An argument's example value, or one made from its type. */
export function argExample(a: ArgSpec): unknown {
  if (a.example !== undefined) return a.example;
  const t = a.type;
  if (t === 'string') return '';
  if (t === 'integer') return 0;
  if ('list' in t) return [argExample(t.list)];
  return Object.fromEntries(t.tuple.map((f) => [f.name, argExample(f)]));
}

/** The example request body: every argument with its example. */
export function requestExample(def: AnyCommand): Record<string, unknown> {
  return Object.fromEntries(def.args.map((a) => [a.name, argExample(a)]));
}

/** Commands served over `/api` (those that only make sense from the server's machine are not). */
export const servedOverHttp = (def: AnyCommand): boolean => !def.ctlOnly;
