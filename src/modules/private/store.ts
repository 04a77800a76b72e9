import type { MapStore } from '../../storage/kinds.js';

/**
 * Private XML storage: a map per account of the storage's map kind. The key is the element's name
 * and namespace (`privateKey`), the value the element serialized (with its `xmlns`).
 */
export type PrivateStore = MapStore<string>;

/** The key of an element: its name, a space (which no XML name holds), its namespace. */
export function privateKey(name: string, ns: string): string {
  return `${name} ${ns}`;
}
