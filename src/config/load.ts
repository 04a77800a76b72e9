import { readFileSync } from 'node:fs';
import { resolve, dirname, isAbsolute } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

/** Validates a plain config object; the error names each bad key and why. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const describe = (i: z.core.$ZodIssue, prefix: PropertyKey[]): string[] => {
      const path = [...prefix, ...i.path];
      if (i.code === 'invalid_union' && i.errors.length > 0) {
        // A listener is an object or null: explain what is wrong with the object.
        return i.errors[0]!.flatMap((sub) => describe(sub, path));
      }
      if (i.code === 'unrecognized_keys') {
        const where = path.length ? path.join('.') + '.' : '';
        return [`${i.keys.map((k) => where + k).join(', ')}: unknown key`];
      }
      return [`${path.length ? path.join('.') : '(top level)'}: ${i.message}`];
    };
    const lines = result.error.issues.flatMap((i) => describe(i, []));
    throw new ConfigError(`invalid ${source}:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}

/** Loads YAML from a file; paths inside (dataDir) are resolved relative to the file. */
export function loadConfigFile(path: string): { config: Config; baseDir: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return { config: parseConfig(raw, `config file ${path}`), baseDir: dirname(resolve(path)) };
}

export function resolveIn(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Help text listing every option with its default, generated from the schema. */
export function describeOptions(): string {
  const out: string[] = [];
  const walk = (schema: z.ZodType, path: string): void => {
    let s: any = schema;
    let def: unknown;
    let desc: string | undefined = s.description;
    for (;;) {
      if (s instanceof z.ZodDefault) {
        def = (s as any).def.defaultValue;
        s = (s as any).def.innerType;
      } else if (s instanceof z.ZodOptional) {
        s = (s as any).def.innerType;
      } else if (s instanceof z.ZodUnion && path.startsWith('listen.')) {
        s = (s as any).def.options[0];
      } else break;
      desc ??= s.description;
    }
    if (s instanceof z.ZodObject && path !== '') {
      const shape = (s as any).shape as Record<string, z.ZodType>;
      const head = `  ${path}${desc ? `  — ${desc}` : ''}${path.startsWith('listen.') ? ' (null disables)' : ''}`;
      out.push(head);
      for (const [k, v] of Object.entries(shape)) walk(v, `${path}.${k}`);
      return;
    }
    if (s instanceof z.ZodObject) {
      for (const [k, v] of Object.entries((s as any).shape as Record<string, z.ZodType>)) walk(v, k);
      return;
    }
    const d = def === undefined ? '' : ` (default: ${typeof def === 'function' ? JSON.stringify((def as any)()) : JSON.stringify(def)})`;
    out.push(`  ${path}${d}${desc ? `  — ${desc}` : ''}`);
  };
  walk(configSchema, '');
  return out.join('\n');
}
