// The account housekeeping commands over real HTTP (and `parley ctl`), with their effect seen by
// real XMPP clients: ban_account, delete_old_users(_vhost), check_password_hash, convert_to_scram,
// unban_ip; and auth.passwordFormat (with its old name storage.passwordFormat).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect } from '../support/client.js';
import { parseConfig } from '../../src/config/load.js';
import { passwordFormatOf } from '../../src/config/schema.js';
import { jsonCodec } from '../../src/storage/kinds.js';

const BIN = join(resolve(fileURLToPath(import.meta.url), '../../../..'), 'bin/parley.js');

let parley: Parley;
let plain: Parley;
let workDir: string;

before(async () => {
  [parley, plain] = await Promise.all([
    startParley({ hosts: ['localhost', 'other.test'], limits: { authFailuresPerMinute: 3 } }),
    startParley({ auth: { passwordFormat: 'plain' } }),
  ]);
  workDir = mkdtempSync(join(tmpdir(), 'parley-housekeeping-'));
  writeFileSync(join(workDir, 'parley.yml'), `hosts: [localhost, other.test]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
});

after(async () => {
  await Promise.all([parley?.close(), plain?.close()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** `parley ctl` as a child process against the first server. */
function ctl(...args: string[]): Promise<{ stdout: string; code: number | null }> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', '--config', join(workDir, 'parley.yml'), ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => done({ stdout, code }));
  });
}

const service = (p: Parley) => `xmpp://127.0.0.1:${p.ports.c2s}`;

async function loginRefused(p: Parley, username: string, password: string, domain = 'localhost'): Promise<string> {
  let condition = '';
  await assert.rejects(connect({ service: service(p), username, password, resource: 'x', domain }), (err: any) => {
    condition = String(err?.condition ?? err?.message);
    return true;
  });
  return condition;
}

const daysAgo = (d: number) => Math.floor(Date.now() / 1000) - d * 86_400;

test('ban_account closes every session with the reason, and the account can no longer log in; an unknown account is an error and is not created', async () => {
  await parley.register('mallory');
  const phone = await parley.login('mallory', 'phone');
  const laptop = await parley.login('mallory', 'laptop');
  const errors: { condition: string; text: string }[] = [];
  for (const c of [phone, laptop]) c.xmpp.on('error', (err: any) => err?.name === 'StreamError' && errors.push({ condition: err.condition, text: err.text }));
  const r = await parley.api('ban_account', { user: 'mallory', host: 'localhost', reason: 'Spaming other users' });
  assert.deepEqual([r.status, r.body], [200, 0]);
  await eventually(() => errors.length === 2, 5000, 'both sessions closed');
  assert.deepEqual(errors, [{ condition: 'conflict', text: 'Spaming other users' }, { condition: 'conflict', text: 'Spaming other users' }]);
  assert.deepEqual((await parley.api('connected_users_vhost', { host: 'localhost' })).body, []);
  assert.match(await loginRefused(parley, 'mallory', 'mallorypw'), /not-authorized/);
  assert.equal((await parley.api('check_password', { user: 'mallory', host: 'localhost', password: 'mallorypw' })).body, 1);
  assert.equal((await parley.api('check_account', { user: 'mallory', host: 'localhost' })).body, 0, 'the account stays');
  // An admin may let it in again with a new password.
  assert.equal((await parley.api('change_password', { user: 'mallory', host: 'localhost', newpass: 'again' })).body, 0);
  const back = await connect({ service: service(parley), username: 'mallory', password: 'again', resource: 'back' });
  await back.stop();

  // A reason SASLprep would refuse in a password still bans (it is left out of the password).
  await parley.register('trudy');
  assert.equal((await parley.api('ban_account', { user: 'trudy', host: 'localhost', reason: 'bad\u0080actor' })).body, 0);
  assert.equal((await parley.api('check_password', { user: 'trudy', host: 'localhost', password: 'trudypw' })).body, 1);

  assert.deepEqual(await parley.api('ban_account', { user: 'nobody', host: 'localhost', reason: 'x' }), {
    status: 404, body: 'User nobody@localhost does not exist', text: '"User nobody@localhost does not exist"',
  });
  assert.equal((await parley.api('check_account', { user: 'nobody', host: 'localhost' })).body, 1, 'not created');
  const host = await parley.api('ban_account', { user: 'mallory', host: 'example.org', reason: 'x' });
  assert.deepEqual([host.status, host.body], [404, 'Unknown host: example.org']);
  const type = await parley.api('ban_account', { user: 'mallory', host: 'localhost', reason: { text: 'x' } });
  assert.equal(type.status, 400);
  assert.match(type.body, /is not in format binary/);
  const missing = await parley.api('ban_account', { user: 'mallory', host: 'localhost' });
  assert.deepEqual([missing.status, missing.body], [400, 'Request have missing argument: reason']);
  const still = await connect({ service: service(parley), username: 'mallory', password: 'again', resource: 'still' });
  await still.stop();
});

test('delete_old_users_vhost and delete_old_users remove exactly the accounts idle longer than DAYS, never online accounts nor admins', async () => {
  await parley.register('old1', 'old2', 'recent', 'fresh', 'busy');
  const z = await parley.api('register', { user: 'old3', host: 'other.test', password: 'old3pw' });
  assert.equal(z.status, 200);
  for (const [user, host, days] of [['old1', 'localhost', 40], ['old2', 'localhost', 31], ['recent', 'localhost', 29], ['busy', 'localhost', 100], ['admin', 'localhost', 100], ['old3', 'other.test', 45]] as const) {
    assert.equal((await parley.api('set_last', { user, host, timestamp: daysAgo(days), status: 'away' })).body, 0, `${user} aged`);
  }
  // busy logs in and stays: its old last activity does not count while it is online.
  const busy = await parley.login('busy', 'desk');
  await parley.api('set_last', { user: 'busy', host: 'localhost', timestamp: daysAgo(100), status: 'away' });
  const old1 = await parley.login('recent', 'r'); // a client of another account, to see it is not disturbed
  await old1.stop();
  await parley.api('set_last', { user: 'recent', host: 'localhost', timestamp: daysAgo(29), status: 'away' });

  const vhost = await parley.api('delete_old_users_vhost', { host: 'localhost', days: 30 });
  assert.deepEqual([vhost.status, vhost.body], [200, 'Deleted 2 users: ["old1@localhost", "old2@localhost"]']);
  assert.match(await loginRefused(parley, 'old1', 'old1pw'), /not-authorized/);
  assert.deepEqual((await parley.api('registered_users', { host: 'localhost' })).body, ['admin', 'busy', 'fresh', 'mallory', 'recent', 'trudy']);
  assert.deepEqual((await parley.api('registered_users', { host: 'other.test' })).body, ['old3'], 'another vhost is untouched');
  await busy.sync(); // still connected

  const all = await parley.api('delete_old_users', { days: 30 });
  assert.deepEqual([all.status, all.body], [200, 'Deleted 1 users: ["old3@other.test"]']);
  assert.deepEqual((await parley.api('registered_users', { host: 'other.test' })).body, []);
  // Nothing more to delete.
  assert.equal((await parley.api('delete_old_users', { days: 30 })).body, 'Deleted 0 users: []');
  // DAYS 0: every account without a session, never logged in included (fresh, trudy), but not busy nor the admin.
  const zero = await ctl('delete_old_users_vhost', 'localhost', '0');
  assert.deepEqual(zero, { stdout: 'Deleted 4 users: ["fresh@localhost", "mallory@localhost", "recent@localhost", "trudy@localhost"]\n', code: 0 });
  assert.deepEqual((await parley.api('registered_users', { host: 'localhost' })).body, ['admin', 'busy']);
  await busy.sync();
  await busy.stop();

  // An account with no recorded activity (made before last activity was kept) counts from its creation.
  assert.equal((await parley.api('register', { user: 'legacy', host: 'other.test', password: 'x' })).status, 200);
  assert.equal(await parley.server.storage.value('last', jsonCodec).delete({ user: 'legacy', host: 'other.test' }), true);
  assert.equal((await parley.api('get_last', { user: 'legacy', host: 'other.test' })).body.status, 'NOT FOUND');
  assert.equal((await parley.api('delete_old_users_vhost', { host: 'other.test', days: 1 })).body, 'Deleted 0 users: []');
  assert.equal((await parley.api('delete_old_users_vhost', { host: 'other.test', days: 0 })).body, 'Deleted 1 users: ["legacy@other.test"]');

  const host = await parley.api('delete_old_users_vhost', { host: 'example.org', days: 30 });
  assert.deepEqual([host.status, host.body], [404, { status: 'error', code: 10001, message: 'Unknown host: example.org' }]);
  const negative = await parley.api('delete_old_users', { days: -1 });
  assert.deepEqual([negative.status, negative.body.code], [400, 10001]);
  const type = await parley.api('delete_old_users', { days: 'thirty' });
  assert.equal(type.status, 400);
  assert.match(type.body, /is not in format integer/);
  assert.deepEqual((await parley.api('registered_users', { host: 'localhost' })).body, ['admin', 'busy'], 'the refused calls deleted nothing');
});

test('check_password_hash: md5, sha and SHA-2 digests of a cleartext-stored password; an unknown method is an error; SCRAM-only storage cannot be checked', async () => {
  await plain.register('peter');
  const hex = (alg: string, s = 'peterpw') => createHash(alg).update(s).digest('hex');
  const check = (passwordhash: string, hashmethod: string, user = 'peter', host = 'localhost', p = plain) =>
    p.api('check_password_hash', { user, host, passwordhash, hashmethod });
  for (const [method, alg] of [['md5', 'md5'], ['sha', 'sha1'], ['sha1', 'sha1'], ['sha224', 'sha224'], ['sha256', 'sha256'], ['sha384', 'sha384'], ['sha512', 'sha512']]) {
    assert.equal((await check(hex(alg!), method!)).body, 0, method);
    assert.equal((await check(hex(alg!).toUpperCase(), method!)).body, 0, `${method} in upper case`);
    assert.equal((await check(hex(alg!, 'wrong'), method!)).body, 1, `${method} of another password`);
  }
  assert.equal((await check(hex('sha1'), 'md5')).body, 1, 'a digest of another method');
  assert.equal((await check('not hex', 'md5')).body, 1);
  assert.equal((await check(hex('md5'), 'md5', 'nobody')).body, 1, 'unknown user');
  assert.equal((await check(hex('md5'), 'md5', 'peter', 'example.org')).body, 1, 'unknown host');
  const unknown = await check(hex('md5'), 'crc32');
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /^Unknown hash method: crc32/);
  const type = await plain.api('check_password_hash', { user: 'peter', host: 'localhost', passwordhash: 5, hashmethod: 'md5' });
  assert.equal(type.status, 400);
  assert.match(type.body, /is not in format binary/);

  // The default storage keeps SCRAM keys only: the command says it cannot work.
  await parley.register('scrammed');
  const scram = await check(hex('md5', 'scrammedpw'), 'md5', 'scrammed', 'localhost', parley);
  assert.equal(scram.status, 400);
  assert.match(scram.body, /stored as SCRAM only/);
});

test('convert_to_scram drops the cleartext passwords of a vhost: logins keep working, check_password_hash no longer can', async () => {
  await plain.register('quinn');
  const md5 = createHash('md5').update('quinnpw').digest('hex');
  assert.equal((await plain.api('check_password_hash', { user: 'quinn', host: 'localhost', passwordhash: md5, hashmethod: 'md5' })).body, 0);
  const r = await plain.api('convert_to_scram', { host: 'localhost' });
  assert.deepEqual([r.status, r.body], [200, 0]);
  const after = await plain.api('check_password_hash', { user: 'quinn', host: 'localhost', passwordhash: md5, hashmethod: 'md5' });
  assert.equal(after.status, 400);
  assert.match(after.body, /stored as SCRAM only/);
  assert.equal((await plain.api('check_password', { user: 'quinn', host: 'localhost', password: 'quinnpw' })).body, 0);
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-1'] as const) {
    const c = await connect({ service: service(plain), username: 'quinn', password: 'quinnpw', resource: mechanism, mechanism });
    await c.stop();
  }
  // Again: nothing left to convert, still success.
  assert.equal((await plain.api('convert_to_scram', { host: 'localhost' })).body, 0);
  const host = await plain.api('convert_to_scram', { host: 'example.org' });
  assert.deepEqual([host.status, host.body], [404, 'Unknown host: example.org']);
  const type = await plain.api('convert_to_scram', { host: 7 });
  assert.equal(type.status, 400);
});

test('unban_ip forgets the failed logins of matching addresses: a blocked address logs in again', async () => {
  await parley.register('ivan');
  await ctl('unban_ip', '127.0.0.1'); // the failed logins of the tests before
  for (let i = 0; i < 3; i++) assert.match(await loginRefused(parley, 'ivan', 'wrong'), /not-authorized/);
  // Blocked: even the right password is refused, and so is the admin API from this address.
  assert.match(await loginRefused(parley, 'ivan', 'ivanpw'), /temporary-auth-failure/);
  assert.equal((await parley.api('registered_vhosts')).status, 401);
  // Another network matches nothing; a malformed address is a negative count.
  assert.deepEqual(await ctl('unban_ip', '10.0.0.0/8'), { stdout: '0\n', code: 0 });
  assert.deepEqual(await ctl('unban_ip', 'not-an-address'), { stdout: '-1\n', code: 0 });
  assert.deepEqual(await ctl('unban_ip', '::FFFF:127.0.0.1/128'), { stdout: '1\n', code: 0 });
  const c = await connect({ service: service(parley), username: 'ivan', password: 'ivanpw', resource: 'back' });
  await c.stop();

  // Over HTTP, before the limit: one failure is one entry.
  assert.match(await loginRefused(parley, 'ivan', 'wrong'), /not-authorized/);
  assert.deepEqual((await parley.api('unban_ip', { address: '127.0.0.0/8' })).body, { unbanned: 1 });
  assert.deepEqual((await parley.api('unban_ip', { address: '127.0.0.1' })).body, { unbanned: 0 });
  assert.deepEqual((await parley.api('unban_ip', { address: '127.0.0.1/33' })).body, { unbanned: -1 });
  assert.deepEqual((await parley.api('unban_ip', { address: '::1/129' })).body, { unbanned: -1 });
  const type = await parley.api('unban_ip', { address: 127 });
  assert.equal(type.status, 400);
});

test('auth.passwordFormat is the documented key; storage.passwordFormat still works as its alias; contradicting them is refused', () => {
  assert.equal(passwordFormatOf(parseConfig({})), 'scram');
  assert.equal(passwordFormatOf(parseConfig({ auth: { passwordFormat: 'plain' } })), 'plain');
  assert.equal(passwordFormatOf(parseConfig({ storage: { passwordFormat: 'plain' } })), 'plain');
  assert.equal(passwordFormatOf(parseConfig({ storage: { passwordFormat: 'plain' }, auth: { passwordFormat: 'plain' } })), 'plain');
  assert.throws(() => parseConfig({ storage: { passwordFormat: 'plain' }, auth: { passwordFormat: 'scram' } }), /auth\.passwordFormat: scram contradicts storage\.passwordFormat/);
  assert.throws(() => parseConfig({ auth: { passwordFormat: 'md5' } }), /auth\.passwordFormat/);
});
