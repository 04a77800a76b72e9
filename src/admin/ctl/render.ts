import type { AnyCommand, ResultSpec } from '../registry.js';
import type { Outcome } from '../execute.js';
import { rescodeOk } from '../ejabberd/render.js';
import { restupleText } from '../ejabberd/wording.js';
import { shape } from '../render.js';

const ATOM: Record<string, string> = {
  'not-found': 'not_found',
  conflict: 'conflict',
  'bad-argument': 'bad_argument',
  forbidden: 'not_allowed',
  unavailable: 'unavailable',
  internal: 'error',
};

function line(spec: ResultSpec, v: unknown): string {
  if (spec.type === 'tuple') {
    const o = v as Record<string, unknown>;
    return spec.fields.map((f) => String(o[f.name] ?? '')).join('\t');
  }
  return String(v);
}

/** ejabberdctl's output: bare values, one list element per line, tuples tab-separated; exit 1 on failure. */
export function renderCtl(def: AnyCommand, outcome: Outcome): { stdout: string; exitCode: number } {
  if (!outcome.ok) {
    if (outcome.error === 'internal') return { stdout: 'Error: internal_error\n', exitCode: 1 };
    return { stdout: `Error: ${ATOM[outcome.error.kind]}: ${outcome.error.message}\n`, exitCode: 1 };
  }
  const spec = def.result;
  const value = outcome.value;
  switch (spec.type) {
    case 'rescode':
      return rescodeOk(value) ? { stdout: '', exitCode: 0 } : { stdout: 'Error: false\n', exitCode: 1 };
    case 'restuple': {
      const text = restupleText(def.name, value);
      return { stdout: text === '' ? '' : text + '\n', exitCode: 0 };
    }
    case 'list': {
      const items = shape(spec, value) as unknown[];
      return { stdout: items.map((i) => line(spec.of, i) + '\n').join(''), exitCode: 0 };
    }
    default: {
      const text = line(spec, shape(spec, value));
      return { stdout: text === '' ? '' : text + '\n', exitCode: 0 };
    }
  }
}

export function usageOf(def: AnyCommand): string {
  const args = def.args.map((a) => a.name.toUpperCase()).join(' ');
  let s = `  Command Name: ${def.name}\n\n  Arguments: ${args}\n\n  Returns: ${resultName(def.result)}\n\n  Tags: ${def.tags.join(' ')}\n\n  Description: ${def.desc}\n`;
  if (def.longdesc) s += `\n${def.longdesc}\n`;
  return s;
}

function resultName(spec: ResultSpec): string {
  switch (spec.type) {
    case 'list':
      return `[${resultName(spec.of)}]`;
    case 'tuple':
      return `{${spec.fields.map(resultName).join(', ')}}`;
    case 'rescode':
      return `${spec.name}::integer`;
    case 'restuple':
      return `${spec.name}::string`;
    default:
      return `${spec.name}::${spec.type}`;
  }
}
