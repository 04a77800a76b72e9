// The pep section is read where it is used: reload_config changes its limits in a running server
// (here pep.maxItemSize), as it does the limits section.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startParley, type Parley } from '../support/harness.js';
import { xml } from '../support/client.js';
import { publishIq, pubsubFailure } from './pep-support.js';

let parley: Parley;
let configFile: string;

function configText(extra = ''): string {
  return `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n` +
    `listen:\n  c2s: { address: 127.0.0.1, port: 0 }\n  c2sTls: { address: 127.0.0.1, port: 0 }\n  http: { address: 127.0.0.1, port: 0 }\n  https: { address: 127.0.0.1, port: 0 }\n${extra}`;
}

before(async () => {
  // SQLite whatever PARLEY_TEST_STORAGE says: the configuration file below must match this server's.
  configFile = join(tmpdir(), `parley-pep-reload-${process.pid}.yml`);
  parley = await startParley({ storage: { backend: 'sqlite' } }, { configFile });
  writeFileSync(configFile, configText());
  await parley.register('alice');
});

after(async () => {
  await parley?.close();
  if (configFile) rmSync(configFile, { force: true });
});

test('reload_config applies pep.maxItemSize at once', async () => {
  const alice = await parley.login('alice', 'desk');
  try {
    const item = xml('note', { xmlns: 'urn:parley:test' }, 'x'.repeat(600));
    await alice.iq(publishIq('urn:parley:test:notes', item, '1'));
    writeFileSync(configFile, configText('pep:\n  maxItemSize: 512\n'));
    const r = await parley.api('reload_config', {});
    assert.equal(r.status, 200, r.text);
    assert.equal(parley.server.config.pep.maxItemSize, 512);
    const refused = await pubsubFailure(alice, publishIq('urn:parley:test:notes', item, '2'));
    assert.deepEqual([refused.condition, refused.app], ['not-acceptable', 'payload-too-big']);
  } finally {
    await alice.stop();
  }
});
