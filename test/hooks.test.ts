import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hooks } from '../src/hooks.js';
import { openSqlite } from '../src/storage/sqlite/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a handler that throws is reported and the others still run', async () => {
  const errors: [string, string][] = [];
  const hooks = new Hooks((err, hook) => errors.push([hook, (err as Error).message]));
  const ran: string[] = [];
  hooks.on('account-created', () => {
    ran.push('first');
  });
  hooks.on('account-created', async () => {
    throw new Error('second failed');
  });
  hooks.on('account-created', () => {
    throw new Error('third failed too');
  });
  hooks.on('account-created', ({ user }) => {
    ran.push(`last ${user}`);
  });
  await hooks.emit('account-created', { user: 'u', host: 'h' });
  assert.deepEqual(ran, ['first', 'last u']);
  assert.deepEqual(errors, [
    ['account-created', 'second failed'],
    ['account-created', 'third failed too'],
  ]);
});

test('a transactional hook stops at the first throw and its error propagates, rolling the transaction back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-hooks-'));
  const storage = openSqlite(join(dir, 'parley.db'));
  try {
    const errors: unknown[] = [];
    const hooks = new Hooks((err) => errors.push(err));
    const ran: string[] = [];
    hooks.on('account-removing', async ({ tx, user, host }) => {
      ran.push('first');
      await tx.accounts.delete({ user, host });
    });
    hooks.on('account-removing', () => {
      throw new Error('second failed');
    });
    hooks.on('account-removing', () => {
      ran.push('third');
    });
    await storage.accounts.create({ host: 'h', user: 'u', createdAt: 1, plain: 'pw' });
    await assert.rejects(
      storage.transaction((tx) => hooks.emitInTransaction('account-removing', { user: 'u', host: 'h', tx })),
      /second failed/,
    );
    assert.deepEqual(ran, ['first']);
    assert.deepEqual(errors, [], 'propagated, not swallowed');
    assert.ok(await storage.accounts.get({ user: 'u', host: 'h' }), 'the first handler’s delete was rolled back');
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: the storage used directly inside its own transaction is an error, not a deadlock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-gate-'));
  const storage = openSqlite(join(dir, 'parley.db'));
  try {
    await assert.rejects(
      storage.transaction(() => storage.accounts.get({ user: 'u', host: 'h' })),
      /use the transaction handle/,
    );
    await assert.rejects(
      storage.transaction(() => storage.transaction(async () => {})),
      /use the transaction handle/,
      'a transaction begun inside another',
    );
    // Statements issued while a transaction is open run after it ends, in order.
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = storage.transaction(async (t) => {
      await t.accounts.create({ host: 'h', user: 'late', createdAt: 1, plain: 'pw' });
      await held;
      order.push('commit');
    });
    await new Promise((r) => setImmediate(r));
    const outside = storage.accounts.get({ user: 'late', host: 'h' }).then((rec) => order.push(`read ${rec ? 'committed' : 'nothing'}`));
    release();
    await Promise.all([tx, outside]);
    assert.deepEqual(order, ['commit', 'read committed']);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
