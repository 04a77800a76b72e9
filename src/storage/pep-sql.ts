import type { AccountRef, PepStore, StoredItem, StoredNode } from '../modules/pep/store.js';
import { ownerKey } from './kinds.js';
import type { Sql } from './sql.js';

/** PEP nodes and items (migration 10), in the SQL both backends share. */
interface NodeRow {
  node: string;
  config_json: string;
  created_at: number | string;
}

interface ItemRow {
  item_id: string;
  payload: string;
  published_at: number | string;
  publisher: string;
}

const nodeOf = (r: NodeRow): StoredNode => ({ node: r.node, config: r.config_json, createdAt: Number(r.created_at) });
const itemOf = (r: ItemRow): StoredItem => ({ id: r.item_id, payload: r.payload, publishedAt: Number(r.published_at), publisher: r.publisher });

const ITEM_COLUMNS = 'item_id, payload, published_at, publisher';

export class SqlPep implements PepStore {
  constructor(private readonly sql: Sql) {}

  async node(owner: AccountRef, node: string): Promise<StoredNode | undefined> {
    const row = await this.sql.get<NodeRow>('SELECT node, config_json, created_at FROM pep_nodes WHERE owner = ? AND node = ?', [ownerKey(owner), node]);
    return row && nodeOf(row);
  }

  async nodes(owner: AccountRef): Promise<StoredNode[]> {
    const rows = await this.sql.all<NodeRow>('SELECT node, config_json, created_at FROM pep_nodes WHERE owner = ? ORDER BY node', [ownerKey(owner)]);
    return rows.map(nodeOf);
  }

  createNode(owner: AccountRef, node: string, config: string, createdAt: number, maxNodes: number): Promise<'created' | 'exists' | 'full'> {
    const key = ownerKey(owner);
    return this.sql.atomic(async (tx) => {
      // Creators of one account take turns: the count each reads is current and the limit holds.
      await tx.lock(`pep_nodes:${key}`);
      if (await tx.get('SELECT 1 AS one FROM pep_nodes WHERE owner = ? AND node = ?', [key, node])) return 'exists';
      const n = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM pep_nodes WHERE owner = ?', [key]);
      if (Number(n!.n) >= maxNodes) return 'full';
      await tx.run('INSERT INTO pep_nodes (owner, node, config_json, created_at) VALUES (?, ?, ?, ?)', [key, node, config, createdAt]);
      return 'created';
    });
  }

  async setConfig(owner: AccountRef, node: string, config: string): Promise<boolean> {
    return (await this.sql.run('UPDATE pep_nodes SET config_json = ? WHERE owner = ? AND node = ?', [config, ownerKey(owner), node])) > 0;
  }

  deleteNode(owner: AccountRef, node: string): Promise<boolean> {
    const key = ownerKey(owner);
    return this.sql.atomic(async (tx) => {
      await tx.run('DELETE FROM pep_items WHERE owner = ? AND node = ?', [key, node]);
      return (await tx.run('DELETE FROM pep_nodes WHERE owner = ? AND node = ?', [key, node])) > 0;
    });
  }

  publish(owner: AccountRef, node: string, item: StoredItem, maxItems: number): Promise<void> {
    const key = ownerKey(owner);
    return this.sql.atomic(async (tx) => {
      await tx.lock(`pep_items:${key}:${node}`);
      await tx.run('DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?', [key, node, item.id]);
      await tx.run(`INSERT INTO pep_items (owner, node, ${ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [key, node, item.id, item.payload, item.publishedAt, item.publisher]);
      await trimIn(tx, key, node, maxItems);
    });
  }

  trim(owner: AccountRef, node: string, maxItems: number): Promise<number> {
    return this.sql.atomic((tx) => trimIn(tx, ownerKey(owner), node, maxItems));
  }

  async retract(owner: AccountRef, node: string, id: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?', [ownerKey(owner), node, id])) > 0;
  }

  async items(owner: AccountRef, node: string, limit?: number): Promise<StoredItem[]> {
    const params: unknown[] = [ownerKey(owner), node];
    if (limit !== undefined) params.push(limit);
    const rows = await this.sql.all<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC${limit !== undefined ? ' LIMIT ?' : ''}`,
      params,
    );
    return rows.map(itemOf);
  }

  async itemsById(owner: AccountRef, node: string, ids: readonly string[]): Promise<StoredItem[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.all<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM pep_items WHERE owner = ? AND node = ? AND item_id IN (${ids.map(() => '?').join(', ')}) ORDER BY seq DESC`,
      [ownerKey(owner), node, ...ids],
    );
    return rows.map(itemOf);
  }

  purge(owner: AccountRef, node: string): Promise<number> {
    return this.sql.run('DELETE FROM pep_items WHERE owner = ? AND node = ?', [ownerKey(owner), node]);
  }

  async removeAll(owner: AccountRef): Promise<void> {
    const key = ownerKey(owner);
    await this.sql.run('DELETE FROM pep_items WHERE owner = ?', [key]);
    await this.sql.run('DELETE FROM pep_nodes WHERE owner = ?', [key]);
  }
}

/** Removes the oldest items of a node beyond `maxItems`. */
async function trimIn(sql: Sql, owner: string, node: string, maxItems: number): Promise<number> {
  // The newest `maxItems` stay: everything older than the oldest of them goes.
  const keep = await sql.get<{ seq: number | string }>('SELECT seq FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT 1 OFFSET ?', [owner, node, Math.max(0, maxItems - 1)]);
  if (!keep) return 0;
  return sql.run('DELETE FROM pep_items WHERE owner = ? AND node = ? AND seq < ?', [owner, node, Number(keep.seq)]);
}
