// The group chat limits change with reload_config (muc.max*), while the service domain needs a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { parse, stringify } from 'yaml';
import { startParley, type Parley } from '../support/harness.js';
import type { TestClient } from '../support/client.js';
import { SERVICE, codes, errorCondition, join } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
const configFile = joinPath(process.env.TMPDIR ?? '/tmp', `parley-muc-reload-${process.pid}.yml`);

before(async () => {
  parley = await startParley({ muc: { maxNickLength: 20 } }, { configFile });
  await parley.register('alice');
  alice = await parley.login('alice', 'a');
});

after(async () => {
  await parley?.close();
  rmSync(configFile, { force: true });
});

test('reload_config applies a new muc.maxNickLength at once; muc.domain waits for a restart', async () => {
  assert.deepEqual(codes(await join(alice, `r1@${SERVICE}`, 'SixSix')), ['110', '201']);
  assert.equal((await parley.api('dump_config', { out: 'current.yml' })).status, 200);
  const current = parse(readFileSync(joinPath(parley.dataDir, 'current.yml'), 'utf8'));
  current.muc.maxNickLength = 5;
  current.muc.domain = 'rooms.{host}';
  writeFileSync(configFile, stringify(current));
  const r = await parley.api('reload_config', {});
  assert.match(r.text, /muc\.maxNickLength/);
  assert.match(r.text, /needing a restart: muc\.domain/);
  assert.equal(errorCondition(await join(alice, `r2@${SERVICE}`, 'SixSix')), 'not-acceptable');
  assert.deepEqual(codes(await join(alice, `r2@${SERVICE}`, 'Five5')), ['110', '201']);
});
