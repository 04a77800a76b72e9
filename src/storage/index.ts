import type { Config } from '../config/schema.js';
import { resolveIn } from '../config/load.js';
import type { Storage } from './types.js';
import { openSqlite } from './sqlite/index.js';

export type { Storage } from './types.js';
export type { AccountRef, ArchiveItem, ArchiveStore, Codec, MapStore, StoreKinds, Transaction, ValueStore } from './kinds.js';
export { jsonCodec, textCodec } from './kinds.js';

export async function openStorage(config: Config, dataDir: string): Promise<Storage> {
  if (config.storage.backend === 'postgres') {
    if (!config.storage.url) throw new Error('storage.url: required when storage.backend is postgres');
    const { openPostgres } = await import('./postgres/index.js');
    return openPostgres(config.storage.url, config.storage.schema ? { schema: config.storage.schema } : undefined);
  }
  return openSqlite(resolveIn(dataDir, config.storage.path));
}
