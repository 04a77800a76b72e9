// vcard-temp (XEP-0054) with avatar hashes (XEP-0153) and ejabberd's seven vCard commands: over
// XMPP with real clients, over /api with the effect seen by those clients, and by `parley ctl`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Element } from '@xmpp/xml';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, type TestClient } from '../support/client.js';
import { parseConfig } from '../../src/config/load.js';

const NS = 'vcard-temp';
const NS_UPDATE = 'vcard-temp:x:update';
const LIMIT = 4096;
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;

before(async () => {
  parley = await startParley({ limits: { maxVcardSize: LIMIT } });
  await parley.register('alice', 'bob', 'carol', 'dave', 'erin', 'frank');
  // alice and bob see each other's presence.
  for (const [a, b] of [['alice', 'bob'], ['bob', 'alice']]) {
    const r = await parley.api('add_rosteritem', { localuser: a, localhost: 'localhost', user: b, host: 'localhost', nick: '', group: '', subs: 'both' });
    assert.equal(r.status, 200);
  }
});

after(() => parley?.close());

const photoBytes = (n = 300) => randomBytes(n);
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function vcardEl(fields: Record<string, string>, photo?: Buffer): Element {
  const v = xml('vCard', { xmlns: NS });
  for (const [k, val] of Object.entries(fields)) v.append(xml(k, {}, val));
  if (photo) v.append(xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, photo.toString('base64'))));
  return v;
}

const setIq = (v: Element, to?: string) => xml('iq', to ? { type: 'set', to } : { type: 'set' }, v);
const getIq = (to?: string) => xml('iq', to ? { type: 'get', to } : { type: 'get' }, xml('vCard', { xmlns: NS }));

async function vcardOf(c: TestClient, to?: string): Promise<Element> {
  const reply = await c.iq(getIq(to));
  const v = reply.getChild('vCard', NS);
  assert.ok(v, `a vCard in ${reply.toString()}`);
  return v;
}

/** The photo hash of the latest available presence `c` received from `from` (null: an x without photo; undefined: no x). */
function lastHash(c: TestClient, from: string): string | null | undefined {
  const p = c.received.filter((s) => s.name === 'presence' && s.attrs.from === from && s.attrs.type === undefined).at(-1);
  const update = p?.getChild('x', NS_UPDATE);
  if (!update) return undefined;
  const photo = update.getChild('photo');
  return photo ? photo.text() : null;
}

const ok = async (command: string, args: Record<string, unknown>) => {
  const r = await parley.api(command, args);
  assert.equal(r.status, 200, `${command}: ${r.text}`);
  return r.body;
};

// ---- XMPP ---------------------------------------------------------------------------------

test('XMPP: a client sets its vCard with a photo, another reads it, and presence carries the photo hash', async () => {
  const bob = await parley.login('bob', 'desk');
  const alice = await parley.login('alice', 'phone');
  // Before any vCard: an empty one, and presence as the client sent it (nothing to advertise yet).
  const empty = await vcardOf(alice);
  assert.equal(empty.children.length, 0);
  await bob.waitFor((s) => s.name === 'presence' && s.attrs.from === 'alice@localhost/phone', 3000, 'initial presence');
  assert.equal(lastHash(bob, 'alice@localhost/phone'), undefined);

  const photo = photoBytes();
  await alice.iq(setIq(vcardEl({ FN: 'Alice Liddell', NICKNAME: 'ali' }, photo)));
  const seen = await vcardOf(bob, 'alice@localhost');
  assert.equal(seen.getChildText('FN'), 'Alice Liddell');
  assert.equal(seen.getChild('PHOTO')?.getChildText('BINVAL'), photo.toString('base64'));
  // Her own resource reads it without a 'to', and with her bare JID.
  assert.equal((await vcardOf(alice)).getChildText('NICKNAME'), 'ali');
  assert.equal((await vcardOf(alice, 'alice@localhost')).getChildText('NICKNAME'), 'ali');

  // The change of photo is broadcast at once: contacts and her own resources see the new hash.
  await eventually(() => lastHash(bob, 'alice@localhost/phone') === sha1(photo), 3000, 'presence with the new hash');
  await eventually(() => lastHash(alice, 'alice@localhost/phone') === sha1(photo), 3000, 'own presence with the hash');

  // Presence the client sends later carries it too, replacing a stale hash the client put there.
  await alice.send(xml('presence', {}, xml('show', {}, 'away'), xml('x', { xmlns: NS_UPDATE }, xml('photo', {}, 'ffff'))));
  const away = await bob.waitFor((s) => s.name === 'presence' && s.getChildText('show') === 'away', 3000, 'away presence');
  assert.equal(away.getChild('x', NS_UPDATE)?.getChildText('photo'), sha1(photo));
  assert.equal(away.getChildren('x').length, 1);

  // A new session of hers broadcasts the hash in its initial presence.
  const laptop = await parley.login('alice', 'laptop');
  await eventually(() => lastHash(bob, 'alice@localhost/laptop') === sha1(photo), 3000, 'initial presence with the hash');

  // An empty <photo/> the client sends itself is kept (XEP-0398 §4).
  await laptop.send(xml('presence', {}, xml('status', {}, 'no avatar here'), xml('x', { xmlns: NS_UPDATE }, xml('photo'))));
  const kept = await bob.waitFor((s) => s.name === 'presence' && s.getChildText('status') === 'no avatar here', 3000, 'status presence');
  assert.equal(kept.getChild('x', NS_UPDATE)?.getChildText('photo'), '');

  // A vCard without a photo: <photo/> (no avatar).
  await alice.iq(setIq(vcardEl({ FN: 'Alice' })));
  await eventually(() => lastHash(bob, 'alice@localhost/phone') === '', 3000, 'presence with an empty photo');
  await bob.stop();
  await alice.stop();
  await laptop.stop();
});

test('XMPP: a vCard is set only by its own account; unknown accounts; the server and disco', async () => {
  const carol = await parley.login('carol', 'r');
  await assert.rejects(carol.iq(setIq(vcardEl({ FN: 'Not Dave' }), 'dave@localhost')), (e: any) => e.condition === 'forbidden');
  const dave = await parley.api('get_vcard', { user: 'dave', host: 'localhost', name: 'FN' });
  assert.deepEqual([dave.status, dave.body], [404, 'error_no_vcard_found']);

  // An account with no vCard: an empty one; an account that does not exist: service-unavailable (RFC 6121 §8.5.1).
  assert.equal((await vcardOf(carol, 'dave@localhost')).children.length, 0);
  await assert.rejects(carol.iq(getIq('nobody@localhost')), (e: any) => e.condition === 'service-unavailable');
  // Another payload name in the namespace is a bad request.
  await assert.rejects(carol.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS }))), (e: any) => e.condition === 'bad-request');

  // The server's own vCard; it is not set over XMPP.
  assert.equal((await vcardOf(carol, 'localhost')).getChildText('FN'), 'Parley');
  await assert.rejects(carol.iq(setIq(vcardEl({ FN: 'Mine' }), 'localhost')), (e: any) => e.condition === 'not-allowed');

  // vcard-temp in the disco#info of the server and of the account.
  for (const to of ['localhost', 'carol@localhost']) {
    const info = await carol.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const features = info.getChild('query')!.getChildren('feature').map((f: Element) => f.attrs.var);
    assert.ok(features.includes(NS), `${to}: ${features.join(' ')}`);
  }
  await carol.stop();
});

test('XMPP: a vCard over limits.maxVcardSize is refused with not-acceptable and nothing is stored', async () => {
  const erin = await parley.login('erin', 'r');
  await erin.iq(setIq(vcardEl({ FN: 'Erin' }, photoBytes(100))));
  const big = photoBytes(LIMIT); // base64 makes it 4/3 larger than the limit
  await assert.rejects(erin.iq(setIq(vcardEl({ FN: 'Erin Big' }, big))), (e: any) => {
    assert.equal(e.condition, 'not-acceptable');
    assert.match(e.text ?? '', /larger than the limit of 4096 bytes \(limits\.maxVcardSize\)/);
    return true;
  });
  assert.equal((await vcardOf(erin)).getChildText('FN'), 'Erin');
  // Just within the limit is taken: the limit is on the stored vCard, photo included.
  const v = vcardEl({ FN: 'E' });
  const base = `<vCard xmlns="vcard-temp"><FN>E</FN><PHOTO><TYPE>image/png</TYPE><BINVAL></BINVAL></PHOTO></vCard>`.length;
  const fits = photoBytes(Math.floor(((LIMIT - base) * 3) / 4) - 3);
  v.append(xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, fits.toString('base64'))));
  await erin.iq(setIq(v));
  assert.equal((await vcardOf(erin)).getChild('PHOTO')?.getChildText('BINVAL'), fits.toString('base64'));
  await erin.stop();
});

test('limits.maxVcardSize: 192 KiB by default, below the default stanza size; under 1024 is refused', () => {
  const d = parseConfig({ hosts: ['localhost'] }).limits;
  assert.equal(d.maxVcardSize, 196_608);
  assert.ok(d.maxVcardSize < d.maxStanzaSize);
  assert.throws(() => parseConfig({ hosts: ['localhost'], limits: { maxVcardSize: 100 } }));
});

// ---- /api -----------------------------------------------------------------------------------

test('set_vcard / get_vcard / set_nickname: what the API sets a client reads at once, and the reverse', async () => {
  const frank = await parley.login('frank', 'r');
  assert.equal(await ok('set_vcard', { user: 'frank', host: 'localhost', name: 'FN', content: 'Frank Zappa' }), 0);
  assert.equal(await ok('set_vcard', { user: 'frank', host: 'localhost', name: 'URL', content: 'www.example.com' }), 0);
  assert.equal(await ok('set_nickname', { user: 'frank', host: 'localhost', nickname: 'zappa' }), 0);
  let v = await vcardOf(frank);
  assert.equal(v.getChildText('FN'), 'Frank Zappa');
  assert.equal(v.getChildText('URL'), 'www.example.com');
  assert.equal(v.getChildText('NICKNAME'), 'zappa');
  // set_nickname replaces the nickname and keeps the rest.
  await ok('set_nickname', { user: 'frank', host: 'localhost', nickname: 'Frank' });
  v = await vcardOf(frank);
  assert.deepEqual([v.getChildren('NICKNAME').length, v.getChildText('NICKNAME'), v.getChildText('FN')], [1, 'Frank', 'Frank Zappa']);
  assert.deepEqual(await ok('get_vcard', { user: 'frank', host: 'localhost', name: 'NICKNAME' }), { content: 'Frank' });
  assert.deepEqual(await ok('get_vcard', { user: 'FRANK', host: 'LocalHost', name: 'URL' }), { content: 'www.example.com' });

  // Set by the client, read by the API.
  await frank.iq(setIq(vcardEl({ FN: 'F. Z.', BDAY: '1940-12-21', TITLE: 'Composer', ROLE: 'Guitar' })));
  for (const [name, content] of [['FN', 'F. Z.'], ['BDAY', '1940-12-21'], ['TITLE', 'Composer'], ['ROLE', 'Guitar']]) {
    assert.deepEqual(await ok('get_vcard', { user: 'frank', host: 'localhost', name }), { content });
  }
  const missing = await parley.api('get_vcard', { user: 'frank', host: 'localhost', name: 'NICKNAME' });
  assert.deepEqual([missing.status, missing.body], [404, 'error_no_value_found_in_vcard']);
  await frank.stop();
});

test('set_vcard2 / get_vcard2: subfields, TEL as type flags and as NUMBER', async () => {
  const u = { user: 'carol', host: 'localhost' };
  const carol = await parley.login('carol', 'subfields');
  await ok('set_vcard', { ...u, name: 'FN', content: 'Carol' });
  for (const [name, subname, content] of [
    ['N', 'FAMILY', 'Schubert'], ['N', 'GIVEN', 'Carol'], ['N', 'MIDDLE', 'Q'], ['ADR', 'CTRY', 'Austria'], ['ADR', 'LOCALITY', 'Vienna'],
    ['EMAIL', 'USERID', 'carol@example.com'], ['ORG', 'ORGNAME', 'Acme'], ['ORG', 'ORGUNIT', 'Sales'],
    ['TEL', 'HOME', '111'], ['TEL', 'CELL', '222'], ['TEL', 'WORK', '333'], ['TEL', 'VOICE', '444'],
  ]) {
    assert.equal(await ok('set_vcard2', { ...u, name, subname, content }), 0, `${name} ${subname}`);
  }
  for (const [name, subname, content] of [
    ['N', 'FAMILY', 'Schubert'], ['N', 'GIVEN', 'Carol'], ['ADR', 'LOCALITY', 'Vienna'], ['EMAIL', 'USERID', 'carol@example.com'],
    ['ORG', 'ORGUNIT', 'Sales'], ['TEL', 'HOME', '111'], ['TEL', 'CELL', '222'], ['TEL', 'WORK', '333'], ['TEL', 'VOICE', '444'],
  ]) {
    assert.deepEqual(await ok('get_vcard2', { ...u, name, subname }), { content }, `${name} ${subname}`);
  }
  // The client sees XEP-0054's shapes: one N with its parts, TEL entries flagged with an empty element.
  let v = await vcardOf(carol);
  assert.equal(v.getChildText('FN'), 'Carol');
  const n = v.getChildren('N');
  assert.equal(n.length, 1);
  assert.deepEqual(['FAMILY', 'GIVEN', 'MIDDLE'].map((p) => n[0]!.getChildText(p)), ['Schubert', 'Carol', 'Q']);
  const tels = v.getChildren('TEL');
  assert.equal(tels.length, 4);
  const home = tels.find((t: Element) => t.getChild('HOME'))!;
  assert.deepEqual([home.getChild('HOME')!.children.length, home.getChildText('NUMBER')], [0, '111']);
  // Setting a type again replaces that entry only.
  await ok('set_vcard2', { ...u, name: 'TEL', subname: 'HOME', content: '555' });
  v = await vcardOf(carol);
  assert.deepEqual(v.getChildren('TEL').filter((t: Element) => t.getChild('HOME')).map((t: Element) => t.getChildText('NUMBER')), ['555']);
  assert.equal(v.getChildren('TEL').length, 4);
  // TEL NUMBER: every telephone entry; setting it leaves one entry with that number.
  assert.deepEqual(await ok('get_vcard2_multi', { ...u, name: 'TEL', subname: 'NUMBER' }), ['555', '222', '333', '444']);
  assert.equal(await ok('set_vcard2', { ...u, name: 'TEL', subname: 'NUMBER', content: '123456' }), 0);
  v = await vcardOf(carol);
  assert.deepEqual(v.getChildren('TEL').map((t: Element) => t.toString()), ['<TEL><NUMBER>123456</NUMBER></TEL>']);
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'TEL', subname: 'NUMBER' }), { content: '123456' });
  // The other fields are untouched.
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'ORG', subname: 'ORGNAME' }), { content: 'Acme' });
  const noCell = await parley.api('get_vcard2', { ...u, name: 'TEL', subname: 'CELL' });
  assert.deepEqual([noCell.status, noCell.body], [404, 'error_no_value_found_in_vcard']);
  // A vCard the client wrote with flags is read by the API the same way.
  await carol.iq(setIq(xml('vCard', { xmlns: NS }, xml('TEL', {}, xml('WORK'), xml('VOICE'), xml('NUMBER', {}, '+43 1 234')))));
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'TEL', subname: 'WORK' }), { content: '+43 1 234' });
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'TEL', subname: 'VOICE' }), { content: '+43 1 234' });
  await carol.stop();
});

test('set_vcard2_multi / get_vcard2_multi: repeated subfields', async () => {
  const u = { user: 'dave', host: 'localhost' };
  const dave = await parley.login('dave', 'multi');
  assert.equal(await ok('set_vcard2_multi', { ...u, name: 'ORG', subname: 'ORGUNIT', contents: ['Sales', 'Marketing'] }), 0);
  assert.equal(await ok('set_vcard2', { ...u, name: 'ORG', subname: 'ORGNAME', content: 'Acme' }), 0);
  assert.deepEqual(await ok('get_vcard2_multi', { ...u, name: 'ORG', subname: 'ORGUNIT' }), ['Sales', 'Marketing']);
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'ORG', subname: 'ORGUNIT' }), { content: 'Sales' });
  const org = (await vcardOf(dave)).getChild('ORG')!;
  assert.deepEqual(org.getChildren('ORGUNIT').map((e: Element) => e.text()), ['Sales', 'Marketing']);
  assert.equal(org.getChildText('ORGNAME'), 'Acme');
  // Telephone types take several numbers; an empty list removes the subfield.
  await ok('set_vcard2_multi', { ...u, name: 'TEL', subname: 'CELL', contents: ['1', '2'] });
  assert.deepEqual(await ok('get_vcard2_multi', { ...u, name: 'TEL', subname: 'CELL' }), ['1', '2']);
  await ok('set_vcard2_multi', { ...u, name: 'ORG', subname: 'ORGUNIT', contents: [] });
  const none = await parley.api('get_vcard2_multi', { ...u, name: 'ORG', subname: 'ORGUNIT' });
  assert.deepEqual([none.status, none.body], [404, 'error_no_value_found_in_vcard']);
  assert.deepEqual(await ok('get_vcard2', { ...u, name: 'ORG', subname: 'ORGNAME' }), { content: 'Acme' });
  // Several EMAIL entries written by a client are all read.
  await dave.iq(setIq(xml('vCard', { xmlns: NS }, xml('EMAIL', {}, xml('HOME'), xml('USERID', {}, 'd@home')), xml('EMAIL', {}, xml('WORK'), xml('USERID', {}, 'd@work')))));
  assert.deepEqual(await ok('get_vcard2_multi', { ...u, name: 'EMAIL', subname: 'USERID' }), ['d@home', 'd@work']);
  await dave.stop();
});

test('concurrent field changes are each kept (read-modify-write in one locked transaction)', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `X-FIELD${i}`);
  const results = await Promise.all(names.map((name, i) => parley.api('set_vcard', { user: 'dave', host: 'localhost', name, content: `v${i}` })));
  assert.deepEqual(results.map((r) => r.status), names.map(() => 200));
  for (const [i, name] of names.entries()) assert.deepEqual(await ok('get_vcard', { user: 'dave', host: 'localhost', name }), { content: `v${i}` });
});

test('a photo set over the API puts its hash in the presence contacts receive, at once', async () => {
  const bob = await parley.login('bob', 'watch');
  const alice = await parley.login('alice', 'api-photo');
  const photo = photoBytes(200);
  await ok('set_vcard2', { user: 'alice', host: 'localhost', name: 'PHOTO', subname: 'BINVAL', content: photo.toString('base64') });
  await eventually(() => lastHash(bob, 'alice@localhost/api-photo') === sha1(photo), 3000, 'presence with the API-set hash');
  // A photo given by URL only: no update element (ejabberd's mod_vcard_xupdate).
  await alice.iq(setIq(xml('vCard', { xmlns: NS }, xml('PHOTO', {}, xml('EXTVAL', {}, 'https://example.com/a.png')))));
  await eventually(() => {
    const p = bob.received.filter((s) => s.name === 'presence' && s.attrs.from === 'alice@localhost/api-photo').at(-1);
    return p !== undefined && p.getChild('x', NS_UPDATE) === undefined;
  }, 3000, 'presence without an update element');
  await bob.stop();
  await alice.stop();
});

test('vCard commands: unknown user, unknown host, wrong types, bad field names, oversize', async () => {
  const expect = async (command: string, args: Record<string, unknown>, status: number, body: unknown) => {
    const r = await parley.api(command, args);
    assert.deepEqual([r.status, r.body], [status, body], `${command} ${JSON.stringify(args)}`);
  };
  const cases: [string, Record<string, unknown>][] = [
    ['get_vcard', { name: 'FN' }],
    ['get_vcard2', { name: 'N', subname: 'FAMILY' }],
    ['get_vcard2_multi', { name: 'N', subname: 'FAMILY' }],
    ['set_nickname', { nickname: 'x' }],
    ['set_vcard', { name: 'FN', content: 'x' }],
    ['set_vcard2', { name: 'N', subname: 'FAMILY', content: 'x' }],
    ['set_vcard2_multi', { name: 'N', subname: 'FAMILY', contents: ['x'] }],
  ];
  for (const [command, rest] of cases) {
    await expect(command, { user: 'nobody', host: 'localhost', ...rest }, 404, 'User nobody@localhost does not exist');
    await expect(command, { user: 'alice', host: 'example.org', ...rest }, 404, 'Unknown host: example.org');
    await expect(command, { user: 123, host: 'localhost', ...rest }, 400, 'Arg 123 is not in format binary');
  }
  await expect('set_vcard2_multi', { user: 'alice', host: 'localhost', name: 'ORG', subname: 'ORGUNIT', contents: 'Sales' }, 400, 'Arg <<83,97,108,101,115>> is not in format list');
  await expect('set_vcard2_multi', { user: 'alice', host: 'localhost', name: 'ORG', subname: 'ORGUNIT', contents: [1] }, 400, 'Arg 1 is not in format binary');
  await expect('set_vcard', { user: 'alice', host: 'localhost', name: '<FN>', content: 'x' }, 400, 'Invalid vCard field name: "<FN>"');
  await expect('set_vcard2', { user: 'alice', host: 'localhost', name: 'N', subname: 'A B', content: 'x' }, 400, 'Invalid vCard field subname: "A B"');
  await expect('get_vcard', { user: 'alice', host: 'localhost', name: '' }, 400, 'Invalid vCard field name: ""');
  await expect('set_vcard', { user: 'alice', host: 'localhost', name: 'FN', content: 'a\u0000b' }, 400, 'Arg content holds a character that XML does not allow (U+0000)');
  // Over the size limit: refused, the stored vCard is unchanged.
  const before = await parley.api('get_vcard2', { user: 'alice', host: 'localhost', name: 'PHOTO', subname: 'EXTVAL' });
  const r = await parley.api('set_vcard', { user: 'alice', host: 'localhost', name: 'DESC', content: 'x'.repeat(LIMIT) });
  assert.equal(r.status, 400);
  assert.match(r.body, /^vCard of \d+ bytes is larger than the limit of 4096 bytes \(limits\.maxVcardSize\)$/);
  assert.deepEqual(await parley.api('get_vcard2', { user: 'alice', host: 'localhost', name: 'PHOTO', subname: 'EXTVAL' }), before);
  await expect('get_vcard', { user: 'alice', host: 'localhost', name: 'DESC' }, 404, 'error_no_value_found_in_vcard');
});

test('by `parley ctl`: set_vcard2 and get_vcard2 from the command line', async () => {
  const configFile = join(parley.dataDir, 'ctl.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
  const ctl = (...args: string[]) =>
    new Promise<{ stdout: string; code: number }>((done) => {
      const env = { ...process.env };
      delete env.PARLEY_CONFIG;
      execFile(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', configFile, ...args], { env }, (err, stdout) =>
        done({ stdout, code: typeof err?.code === 'number' ? err.code : 0 }),
      );
    });
  assert.deepEqual(await ctl('set_vcard2', 'bob', 'localhost', 'N', 'FAMILY', 'Builder'), { stdout: '', code: 0 });
  assert.deepEqual(await ctl('get_vcard2', 'bob', 'localhost', 'N', 'FAMILY'), { stdout: 'Builder\n', code: 0 });
  assert.deepEqual(await ctl('get_vcard', 'bob', 'localhost', 'FN'), { stdout: 'Error: not_found: error_no_value_found_in_vcard\n', code: 1 });
  assert.deepEqual(await ctl('get_vcard', 'nobody', 'localhost', 'FN'), { stdout: 'Error: not_found: User nobody@localhost does not exist\n', code: 1 });
  // A list argument is one word of comma-separated elements, as ejabberdctl takes it.
  assert.deepEqual(await ctl('set_vcard2_multi', 'bob', 'localhost', 'ORG', 'ORGUNIT', 'Sales, Marketing'), { stdout: '', code: 0 });
  assert.deepEqual(await ctl('get_vcard2_multi', 'bob', 'localhost', 'ORG', 'ORGUNIT'), { stdout: 'Sales\nMarketing\n', code: 0 });
  const bob = await parley.login('bob', 'ctl');
  const v = await vcardOf(bob);
  assert.equal(v.getChild('N')?.getChildText('FAMILY'), 'Builder');
  assert.deepEqual(v.getChild('ORG')?.getChildren('ORGUNIT').map((e: Element) => e.text()), ['Sales', 'Marketing']);
  await bob.stop();
});

test('the vCard goes with the account', async () => {
  await ok('set_vcard', { user: 'frank', host: 'localhost', name: 'FN', content: 'Frank' });
  assert.equal((await parley.api('unregister', { user: 'frank', host: 'localhost' })).status, 200);
  await parley.register('frank');
  const r = await parley.api('get_vcard', { user: 'frank', host: 'localhost', name: 'FN' });
  assert.deepEqual([r.status, r.body], [404, 'error_no_vcard_found']);
  const frank = await parley.login('frank', 'again');
  assert.equal((await vcardOf(frank)).children.length, 0);
  await frank.stop();
});
