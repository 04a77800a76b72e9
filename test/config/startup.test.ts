import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { startParley } from '../support/harness.js';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'parley.js');

test('an invalid configuration names each bad key and why', () => {
  assert.throws(
    () => parseConfig({ hosts: [], listen: { c2s: { port: 'x', extra: 1 } }, limits: { maxStanzaSize: 10 }, bogus: true }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /hosts: .*>=1/);
      assert.match(err.message, /listen\.c2s\.port: .*number/);
      assert.match(err.message, /listen\.c2s\.extra: unknown key/);
      assert.match(err.message, /limits\.maxStanzaSize: .*>=1024/);
      assert.match(err.message, /bogus: unknown key/);
      return true;
    },
  );
  const cfg = parseConfig({});
  assert.deepEqual(cfg.hosts, ['localhost']);
  assert.equal(cfg.listen.http?.address, '127.0.0.1', 'admin HTTP listens on loopback by default');
  assert.equal(cfg.listen.https?.port, 5443);
});

test('parley start stops on an invalid config file with exit code 2 and the key in the message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-cfg-'));
  try {
    const file = join(dir, 'parley.yml');
    writeFileSync(file, 'hosts: [example.com]\nlisten:\n  http: {port: 99999}\n');
    const err = await run('node', [BIN, 'start', '--config', file]).then(
      () => assert.fail('start should fail'),
      (e) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /listen\.http\.port: .*65535/);
    writeFileSync(file, 'hosts: [unclosed\n');
    const yamlErr = await run('node', [BIN, 'start', '--config', file]).catch((e) => e);
    assert.equal(yamlErr.code, 2);
    assert.match(yamlErr.stderr, /not valid YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parley start --help documents every option with its default', async () => {
  const { stdout } = await run('node', [BIN, 'start', '--help']);
  for (const key of ['hosts', 'dataDir', 'storage.backend', 'storage.url', 'tls.cert', 'listen.c2s.port', 'listen.https.address', 'c2s.inBandRegistration', 'limits.maxStanzaSize', 'limits.maxConnectionsPerIp', 'limits.authFailuresPerMinute', 'limits.maxHttpBodySize', 'apiPermissions', 'admins']) {
    assert.match(stdout, new RegExp(`^  ${key.replace('.', '\\.')}\\b`, 'm'), key);
  }
  assert.match(stdout, /listen\.c2s\.port \(default: 5222\)/);
});

test('first start creates the admin with a random password kept 0600; a restart keeps it', async () => {
  // The embedded default and no certificate, as a first start has.
  const parley = await startParley({ storage: { backend: 'sqlite' }, tls: {} });
  const file = join(parley.dataDir, 'admin-password');
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(parley.dataDir, 'parley.db')).mode & 0o777, 0o600);
    assert.ok(parley.adminPassword.length >= 20);
    assert.equal((await parley.api('check_password', { user: 'admin', host: 'localhost', password: parley.adminPassword })).body, 0);
    assert.equal(statSync(join(parley.dataDir, 'tls', 'key.pem')).mode & 0o777, 0o600);
  } finally {
    await parley.server.stop();
  }
  // A second server on the same data directory: same password, no new announcement.
  const { Server } = await import('../../src/server.js');
  const { pino } = await import('pino');
  let announced = false;
  const again = new Server({
    config: parseConfig({ dataDir: parley.dataDir, listen: { c2s: null, c2sTls: null, http: null, https: null } }),
    logger: pino({ level: 'silent' }),
    announceAdmin: () => (announced = true),
  });
  await again.start();
  try {
    assert.equal(announced, false);
    assert.equal(readFileSync(file, 'utf8').trim(), parley.adminPassword);
    assert.equal(await again.accounts.checkPassword({ user: 'admin', host: 'localhost' }, parley.adminPassword), true);
  } finally {
    await again.stop();
    rmSync(parley.dataDir, { recursive: true, force: true });
  }
});

test('npm start path: the first start prints the admin password once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-first-'));
  const file = join(dir, 'parley.yml');
  const listen = '{address: 127.0.0.1, port: 0}';
  writeFileSync(file, `dataDir: ${dir}/data\nlogLevel: silent\nlisten: {c2s: ${listen}, c2sTls: ${listen}, http: ${listen}, https: ${listen}}\n`);
  const child = spawn('node', [BIN, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const password = readFileSync(join(dir, 'data', 'admin-password'), 'utf8').trim();
    assert.ok(out.includes(`Created the admin account admin@localhost with password: ${password}`), out);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the configuration example in the README is valid', async () => {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const start = readme.indexOf('```yaml');
  assert.ok(start >= 0, 'the README has a YAML example');
  const yaml = readme.slice(start + 7, readme.indexOf('```', start + 7));
  const { default: YAML } = await import('yaml');
  const cfg = parseConfig(YAML.parse(yaml), 'README example');
  assert.equal(cfg.storage.backend, 'postgres');
  assert.equal(cfg.listen.http, null);
});
