// Issue 5 item 11, operator traps: `parley ctl <command> --config F` silently talked to ./data
// and reported the node down; `admins:` entries were compared unprepared, so `Admin@LocalHost`
// never matched the account admin@localhost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startParley, type Parley } from '../support/harness.js';
import { parseCtlArgs } from '../../src/cli.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { Server } from '../../src/server.js';

// dist/test/admin → the repository root.
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const BIN = join(ROOT, 'bin/parley.js');

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Runs `node bin/parley.js ctl ...` in an empty directory (so ./data and ./parley.yml do not exist). */
function ctl(args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, stderr, code }));
  });
}

test('parseCtlArgs: --config F and --config=F anywhere; after -- every word is an argument', () => {
  assert.deepEqual(parseCtlArgs(['--config', 'f.yml', 'status']), { configPath: 'f.yml', args: ['status'] });
  assert.deepEqual(parseCtlArgs(['status', '--config', 'f.yml']), { configPath: 'f.yml', args: ['status'] });
  assert.deepEqual(parseCtlArgs(['register', 'a', '--config=f.yml', 'h', 'p']), { configPath: 'f.yml', args: ['register', 'a', 'h', 'p'] });
  assert.deepEqual(parseCtlArgs(['register', '--', '--config', 'h', 'p']), { args: ['register', '--config', 'h', 'p'] });
  assert.deepEqual(parseCtlArgs(['--config', 'f.yml', '--', 'x', '--config=y']), { configPath: 'f.yml', args: ['x', '--config=y'] });
  assert.deepEqual(parseCtlArgs([]), { args: [] });
  assert.throws(() => parseCtlArgs(['status', '--config']), (e: unknown) => e instanceof ConfigError && /--config needs a file name/.test(e.message));
  assert.throws(() => parseCtlArgs(['--config=', 'status']), (e: unknown) => e instanceof ConfigError && /--config needs a file name/.test(e.message));
  assert.throws(() => parseCtlArgs(['--config', 'a', 'status', '--config', 'b']), (e: unknown) => e instanceof ConfigError && /more than once/.test(e.message));
});

test('parley ctl <command> ... --config F talks to the server of F', async () => {
  const parley = await startParley();
  cleanups.push(() => parley.close());
  const cwd = mkdtempSync(join(tmpdir(), 'parley-ctl-cwd-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const configFile = join(cwd, 'elsewhere.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
  const started = /^The node parley@localhost is started with status: started\nParley \S+ is running in that node\n$/;

  const [after1, after2, before, escaped, missing] = await Promise.all([
    ctl(['status', '--config', configFile], cwd),
    ctl(['status', `--config=${configFile}`], cwd),
    ctl(['--config', configFile, 'status'], cwd),
    // A user name that looks like the flag, after --.
    ctl(['--config', configFile, '--', 'register', '--config', 'localhost', 'pw'], cwd),
    ctl(['status', '--config'], cwd),
  ]);
  for (const [r, what] of [[after1, 'after'], [after2, '--config='], [before, 'before']] as const) {
    assert.equal(r.code, 0, `${what}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, started, what);
    assert.equal(r.stderr, '', what);
  }
  assert.deepEqual(escaped, { stdout: 'User --config@localhost successfully registered\n', stderr: '', code: 0 });
  assert.deepEqual(missing, { stdout: '', stderr: 'parley: ctl: --config needs a file name\n', code: 2 });
  // A command argument after the flag is still an argument (the flag is not taken for one).
  const r = await ctl(['check_account', '--config', configFile, '--config', 'localhost'], cwd);
  assert.deepEqual(r, { stdout: '', stderr: 'parley: ctl: --config given more than once\n', code: 2 });
  const checked = await ctl(['check_account', `--config=${configFile}`, '--', '--config', 'localhost'], cwd);
  assert.deepEqual(checked, { stdout: '', stderr: '', code: 0 });
});

test('admins are prepared: Admin@LocalHost in the config is the account admin@localhost', async () => {
  const parley = await startParley({ admins: ['Admin@LocalHost/laptop'] });
  cleanups.push(() => parley.close());
  assert.deepEqual([...parley.server.admins()], ['admin@localhost']);
  // The bootstrap created the prepared account, and basic auth as it (any case) is an admin.
  const asAdmin = await parley.api('registered_users', { host: 'localhost' }, `admin@localhost:${parley.adminPassword}`);
  assert.deepEqual(asAdmin, { status: 200, body: ['admin'], text: '["admin"]' });
  const mixedCase = await parley.api('registered_users', { host: 'localhost' }, `ADMIN@localhost:${parley.adminPassword}`);
  assert.equal(mixedCase.status, 200);

  await parley.register('eve');
  const notAdmin = await parley.api('registered_users', { host: 'localhost' }, 'eve@localhost:evepw');
  assert.equal(notAdmin.status, 403);
});

test('apiPermissions user lists are prepared too', async () => {
  const parley = await startParley({
    apiPermissions: {
      'admin access': { from: ['http'], who: 'admin', what: ['*'] },
      'carol may': { from: ['http'], who: { user: ['Carol@LocalHost'] }, what: ['registered_users'] },
    },
  });
  cleanups.push(() => parley.close());
  await parley.register('carol');
  const r = await parley.api('registered_users', { host: 'localhost' }, 'carol@localhost:carolpw');
  assert.equal(r.status, 200, r.text);
});

test('an admins entry that is not an account JID is a configuration error naming it', () => {
  for (const [entry, why] of [
    ['@@', /admins\.1: "@@" is not a valid account JID: invalid localpart: empty/],
    ['localhost', /admins\.1: "localhost" is not a valid account JID: it has no user name/],
  ] as const) {
    const config = parseConfig({ hosts: ['localhost'], admins: ['admin@localhost', entry], dataDir: tmpdir() });
    assert.throws(
      () => new Server({ config, logger: pino({ level: 'silent' }) }),
      (e: unknown) => e instanceof ConfigError && why.test(e.message),
      entry,
    );
  }
});
