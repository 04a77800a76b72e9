// privacy_set over real HTTP (and one call through `parley ctl`): the query is applied as an IQ set
// from the account, and real clients see its effect; bad input gets ejabberd-style errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, type Parley } from '../support/harness.js';
import { bodyOf, xml } from '../support/client.js';
import type { Element } from '@xmpp/xml';

const PRIVACY = 'jabber:iq:privacy';
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;
let workDir: string;

before(async () => {
  parley = await startParley({ limits: { maxPrivacyLists: 2, maxPrivacyListItems: 2 } });
  await parley.register('amy', 'bob', 'cyd');
  workDir = mkdtempSync(join(tmpdir(), 'parley-privacy-ctl-'));
  writeFileSync(join(workDir, 'parley.yml'), `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
});

after(async () => {
  await parley?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const set = (user: string, xmlquery: unknown, host = 'localhost') => parley.api('privacy_set', { user, host, xmlquery });
const message = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));
const isError = (body: string) => (el: Element) => el.name === 'message' && el.attrs.type === 'error' && bodyOf(el) === body;
const isMessage = (body: string) => (el: Element) => el.name === 'message' && el.attrs.type !== 'error' && bodyOf(el) === body;

test('privacy_set makes a list and the default: the account is protected from then on, and its clients see the list', async () => {
  const denyBob = `<query xmlns='jabber:iq:privacy'><list name='quiet'><item type='jid' value='bob@localhost' action='deny' order='1'><message/></item></list></query>`;
  assert.deepEqual(await set('amy', denyBob), { status: 200, body: 0, text: '0' });
  assert.equal((await set('amy', `<query xmlns='jabber:iq:privacy'><default name='quiet'/></query>`)).body, 0);

  // amy is offline: bob's message is refused and not stored.
  const bob = await parley.login('bob', 'r');
  await bob.send(message('amy@localhost', 'stored?'));
  await bob.waitFor(isError('stored?'), 3000, 'service-unavailable for the denied message');
  assert.deepEqual((await parley.api('get_offline_count', { user: 'amy', server: 'localhost' })).body, { value: 0 });

  const amy = await parley.login('amy', 'r');
  const list = await amy.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY }, xml('list', { name: 'quiet' }))));
  const item = list.getChild('query', PRIVACY)!.getChild('list')!.getChild('item')!;
  assert.deepEqual(item.attrs, { type: 'jid', value: 'bob@localhost', action: 'deny', order: '1' });
  await bob.send(message('amy@localhost', 'online?'));
  await bob.waitFor(isError('online?'));

  // Replaced while amy is online: she gets the push, and bob gets through.
  const allowAll = `<query xmlns='jabber:iq:privacy'><list name='quiet'><item action='allow' order='1'/></list></query>`;
  assert.equal((await set('amy', allowAll)).body, 0);
  await amy.waitFor((el) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', PRIVACY)?.getChild('list')?.attrs.name === 'quiet', 3000, 'privacy push');
  await bob.send(message('amy@localhost', 'now?'));
  await amy.waitFor(isMessage('now?'));
});

test('privacy_set errors: unknown user and host, malformed XML, not a privacy query, wrong types, XEP-0016 refusals, limits', async () => {
  const q = `<query xmlns='jabber:iq:privacy'><list name='l'><item action='deny' order='1'/></list></query>`;
  assert.deepEqual(await set('nobody', q), { status: 404, body: 'User nobody@localhost does not exist', text: '"User nobody@localhost does not exist"' });
  assert.deepEqual((await set('cyd', q, 'example.org')).body, 'Unknown host: example.org');
  assert.equal((await set('cyd', q, 'example.org')).status, 404);

  const malformed = await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='l'>`);
  assert.equal(malformed.status, 400);
  assert.match(malformed.body, /^Invalid XML in xmlquery: /);
  assert.equal((await set('cyd', 'not xml at all')).status, 400);
  const other = await set('cyd', `<query xmlns='jabber:iq:roster'/>`);
  assert.deepEqual([other.status, other.body], [400, "xmlquery is not a <query xmlns='jabber:iq:privacy'/>: <query/>"]);
  assert.deepEqual([(await set('cyd', 5)).status, (await set('cyd', 5)).body], [400, 'Arg 5 is not in format binary']);
  const missing = await parley.api('privacy_set', { user: 'cyd', host: 'localhost' });
  assert.deepEqual([missing.status, missing.body], [400, 'Request have missing argument: xmlquery']);

  const badItem = await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='l'><item action='maybe' order='1'/></list></query>`);
  assert.deepEqual([badItem.status, badItem.body], [400, "an item's action is allow or deny"]);
  const unknown = await set('cyd', `<query xmlns='jabber:iq:privacy'><default name='nope'/></query>`);
  assert.deepEqual([unknown.status, unknown.body], [404, 'no privacy list named nope']);
  const active = await set('cyd', `<query xmlns='jabber:iq:privacy'><active name='l'/></query>`);
  assert.equal(active.status, 400);
  const removeUnknown = await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='nope'/></query>`);
  assert.equal(removeUnknown.status, 404);

  // Limits (2 lists, 2 items): 403, nothing stored.
  assert.equal((await set('cyd', q)).body, 0);
  assert.equal((await set('cyd', q.replace("name='l'", "name='m'"))).body, 0);
  const third = await set('cyd', q.replace("name='l'", "name='n'"));
  assert.deepEqual([third.status, third.body], [403, 'an account holds at most 2 privacy lists (limits.maxPrivacyLists)']);
  const tooLong = await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='l'><item action='deny' order='1'/><item action='deny' order='2'/><item action='deny' order='3'/></list></query>`);
  assert.equal(tooLong.status, 403);

  // A list in use by a session is not removed under it.
  const cyd = await parley.login('cyd', 'r');
  await cyd.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVACY }, xml('active', { name: 'm' }))));
  const inUse = await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='m'/></query>`);
  assert.equal(inUse.status, 409);
  // Removing one that is not in use works (an empty list).
  assert.equal((await set('cyd', `<query xmlns='jabber:iq:privacy'><list name='l'/></query>`)).body, 0);
  const names = await cyd.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY })));
  assert.deepEqual(names.getChild('query', PRIVACY)!.getChildren('list').map((l: Element) => l.attrs.name), ['m']);
});

function ctl(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', join(workDir, 'parley.yml'), ...args], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => done({ stdout, stderr, code }));
  });
}

test('parley ctl privacy_set', async () => {
  const r = await ctl(['privacy_set', 'bob', 'localhost', `<query xmlns='jabber:iq:privacy'><list name='x'><item type='jid' value='amy@localhost' action='deny' order='1'/></list></query>`]);
  assert.deepEqual(r, { stdout: '', stderr: '', code: 0 });
  const bad = await ctl(['privacy_set', 'bob', 'localhost', '<query']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^Error: bad_argument: Invalid XML in xmlquery: /);
  // The list is bob's now.
  const bob = await parley.login('bob', 'ctl');
  const got = await bob.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVACY }, xml('list', { name: 'x' }))));
  assert.equal(got.getChild('query', PRIVACY)!.getChild('list')!.getChild('item')!.attrs.value, 'amy@localhost');
});
