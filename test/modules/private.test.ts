// Private XML storage (XEP-0049): jabber:iq:private from real clients, the private_get and
// private_set commands over real HTTP and `parley ctl`, what each sees of the other, the limits
// (limits.maxPrivateElements, limits.maxPrivateElementSize) and removal with the account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Element } from '@xmpp/xml';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, type TestClient } from '../support/client.js';

const NS_PRIVATE = 'jabber:iq:private';
const NOTES = 'storage:rosternotes';
const MAX_ELEMENTS = 4;
const MAX_SIZE = 1024;
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

let parley: Parley;
let alice: TestClient;
let aliceOther: TestClient;
let bob: TestClient;
let workDir: string;

before(async () => {
  parley = await startParley({ limits: { maxPrivateElements: MAX_ELEMENTS, maxPrivateElementSize: MAX_SIZE } });
  await parley.register('alice', 'bob', 'carol', 'dave', 'erin', 'gone');
  [alice, aliceOther, bob] = await Promise.all([parley.login('alice', 'phone'), parley.login('alice', 'laptop'), parley.login('bob', 'desk')]);
  workDir = mkdtempSync(join(tmpdir(), 'parley-private-ctl-'));
  writeFileSync(join(workDir, 'parley.yml'), `hosts: [localhost]\ndataDir: ${JSON.stringify(parley.dataDir)}\nlogLevel: silent\n`);
});

after(async () => {
  await parley?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** A jabber:iq:private query holding these elements. */
const query = (...children: Element[]) => xml('query', { xmlns: NS_PRIVATE }, ...children);
const setIq = (...children: Element[]) => xml('iq', { type: 'set' }, query(...children));
const getIq = (...children: Element[]) => xml('iq', { type: 'get' }, query(...children));

/** The children of the query of a private get's result. */
async function privateGet(c: TestClient, ...wanted: Element[]): Promise<Element[]> {
  const res = await c.iq(getIq(...wanted));
  assert.equal(res.attrs.type, 'result');
  const q = res.getChild('query', NS_PRIVATE);
  assert.ok(q, 'the result carries the query');
  return q.getChildElements();
}

async function ok(command: string, args: Record<string, unknown>, status = 200): Promise<any> {
  const r = await parley.api(command, args);
  assert.equal(r.status, status, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

function ctl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env = { ...process.env };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  delete env.PARLEY_CONFIG;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', join(workDir, 'parley.yml'), ...args], { cwd: workDir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ stdout, stderr, code }));
  });
}

// ---- XMPP ---------------------------------------------------------------------------------

test('a client stores several elements in one set and reads them back, from any of its resources', async () => {
  const res = await alice.iq(
    setIq(
      xml('storage', { xmlns: NOTES }, xml('note', { jid: 'bob@localhost' }, 'met at the conference')),
      xml('prefs', { xmlns: 'urn:example:prefs' }, xml('theme', {}, 'dark')),
    ),
  );
  assert.equal(res.attrs.type, 'result');

  const [notes] = await privateGet(aliceOther, xml('storage', { xmlns: NOTES }));
  assert.equal(notes!.name, 'storage');
  assert.equal(notes!.attrs.xmlns, NOTES);
  assert.equal(notes!.getChild('note')?.attrs.jid, 'bob@localhost');
  assert.equal(notes!.getChildText('note'), 'met at the conference');
  const [prefs] = await privateGet(alice, xml('prefs', { xmlns: 'urn:example:prefs' }));
  assert.equal(prefs!.getChildText('theme'), 'dark');

  // A set replaces what is stored under the same name and namespace.
  await alice.iq(setIq(xml('prefs', { xmlns: 'urn:example:prefs' }, xml('theme', {}, 'light'))));
  assert.equal((await privateGet(aliceOther, xml('prefs', { xmlns: 'urn:example:prefs' })))[0]!.getChildText('theme'), 'light');
  // The key is the name AND the namespace: another name in the same namespace is another element.
  const [other] = await privateGet(alice, xml('other', { xmlns: 'urn:example:prefs' }));
  assert.equal(other!.toString(), '<other xmlns="urn:example:prefs"/>');
  // Nothing leaks to another account.
  const [bobs] = await privateGet(bob, xml('storage', { xmlns: NOTES }));
  assert.equal(bobs!.toString(), `<storage xmlns="${NOTES}"/>`);
});

test('a get of a namespace with nothing stored returns the element empty; several in one get', async () => {
  const got = await privateGet(alice, xml('nothing', { xmlns: 'urn:example:unknown' }), xml('storage', { xmlns: NOTES }));
  assert.deepEqual(
    got.map((e) => e.name),
    ['nothing', 'storage'],
  );
  assert.equal(got[0]!.toString(), '<nothing xmlns="urn:example:unknown"/>');
  assert.equal(got[1]!.getChildText('note'), 'met at the conference');
});

test('reserved namespaces and elements without a namespace of their own are refused with not-acceptable', async () => {
  for (const ns of ['jabber:client', 'jabber:server', NS_PRIVATE]) {
    assert.deepEqual(await iqError(alice, setIq(xml('data', { xmlns: ns }, 'x'))), { condition: 'not-acceptable', type: 'modify' }, `set in ${ns}`);
    assert.equal((await iqError(alice, getIq(xml('data', { xmlns: ns })))).condition, 'not-acceptable', `get in ${ns}`);
  }
  // A child without xmlns is in jabber:iq:private, the query's namespace.
  assert.equal((await iqError(alice, setIq(xml('storage', {}, 'x')))).condition, 'not-acceptable');
  assert.equal((await iqError(alice, getIq(xml('storage', {})))).condition, 'not-acceptable');
  // A refused element in a set with an acceptable one: nothing of the set is stored.
  const err = await iqError(alice, setIq(xml('mixed', { xmlns: 'urn:example:mixed' }, 'kept?'), xml('bad', { xmlns: 'jabber:client' })));
  assert.equal(err.condition, 'not-acceptable');
  assert.equal((await privateGet(alice, xml('mixed', { xmlns: 'urn:example:mixed' })))[0]!.toString(), '<mixed xmlns="urn:example:mixed"/>');
  // An empty query: a set is not-acceptable (XEP-0049 §2.3), a get bad-request ("Bad Format").
  assert.equal((await iqError(alice, setIq())).condition, 'not-acceptable');
  assert.equal((await iqError(alice, getIq())).condition, 'bad-request');
});

test("another user's private storage is forbidden, for get and set, and is left as it was", async () => {
  const to = 'alice@localhost';
  const get = await iqError(bob, xml('iq', { type: 'get', to }, query(xml('storage', { xmlns: NOTES }))));
  assert.deepEqual(get, { condition: 'forbidden', type: 'auth' });
  const set = await iqError(bob, xml('iq', { type: 'set', to }, query(xml('storage', { xmlns: NOTES }, xml('note', { jid: 'x@y' }, 'overwritten')))));
  assert.deepEqual(set, { condition: 'forbidden', type: 'auth' });
  assert.equal((await privateGet(alice, xml('storage', { xmlns: NOTES })))[0]!.getChildText('note'), 'met at the conference');
  // Addressed to oneself explicitly, it works.
  const own = await bob.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, query(xml('storage', { xmlns: NOTES }))));
  assert.equal(own.attrs.type, 'result');
});

test('limits: an element over maxPrivateElementSize is not-acceptable; a new element beyond maxPrivateElements is resource-constraint', async () => {
  const carol = await parley.login('carol', 'r');
  const big = xml('big', { xmlns: 'urn:example:big' }, 'x'.repeat(MAX_SIZE));
  const tooBig = await iqError(carol, setIq(big));
  assert.deepEqual(tooBig, { condition: 'not-acceptable', type: 'modify' });
  assert.equal((await privateGet(carol, xml('big', { xmlns: 'urn:example:big' })))[0]!.toString(), '<big xmlns="urn:example:big"/>', 'nothing stored');
  // Just under the limit is stored (the size is that of the serialized element, in UTF-8 bytes).
  const fits = `<big xmlns="urn:example:big"></big>`.length;
  await carol.iq(setIq(xml('big', { xmlns: 'urn:example:big' }, 'é'.repeat(Math.floor((MAX_SIZE - fits) / 2)))));

  for (let i = 1; i < MAX_ELEMENTS; i++) await carol.iq(setIq(xml(`e${i}`, { xmlns: 'urn:example:n' }, String(i))));
  assert.equal(await parley.server.service('private').count({ user: 'carol', host: 'localhost' }), MAX_ELEMENTS);
  const full = await iqError(carol, setIq(xml('one-more', { xmlns: 'urn:example:n' }, 'x')));
  assert.deepEqual(full, { condition: 'resource-constraint', type: 'cancel' });
  // A set of several that would pass the limit stores none of them, even those that replace.
  const several = await iqError(carol, setIq(xml('e1', { xmlns: 'urn:example:n' }, 'changed'), xml('one-more', { xmlns: 'urn:example:n' }, 'x')));
  assert.equal(several.condition, 'resource-constraint');
  assert.equal((await privateGet(carol, xml('e1', { xmlns: 'urn:example:n' })))[0]!.toString(), '<e1 xmlns="urn:example:n">1</e1>');
  // Replacing an element is never refused; an empty element removes it and gives the room back.
  await carol.iq(setIq(xml('e1', { xmlns: 'urn:example:n' }, 'replaced')));
  assert.equal((await privateGet(carol, xml('e1', { xmlns: 'urn:example:n' })))[0]!.toString(), '<e1 xmlns="urn:example:n">replaced</e1>');
  await carol.iq(setIq(xml('e2', { xmlns: 'urn:example:n' })));
  assert.equal(await parley.server.service('private').count({ user: 'carol', host: 'localhost' }), MAX_ELEMENTS - 1);
  await carol.iq(setIq(xml('one-more', { xmlns: 'urn:example:n' }, 'now it fits')));
  assert.equal((await privateGet(carol, xml('one-more', { xmlns: 'urn:example:n' })))[0]!.text(), 'now it fits');
  // The API is held to the same limits.
  assert.match(await ok('private_set', { user: 'carol', host: 'localhost', element: `<more xmlns='urn:example:n'>x</more>` }, 403), /is full \(limits.maxPrivateElements: 4\)/);
  assert.match(await ok('private_set', { user: 'dave', host: 'localhost', element: `<big xmlns='urn:example:big'>${'x'.repeat(MAX_SIZE)}</big>` }, 400), /over limits.maxPrivateElementSize \(1024\)/);
  assert.equal((await ok('private_get', { user: 'dave', host: 'localhost', element: 'big', ns: 'urn:example:big' })).res, `<query xmlns="${NS_PRIVATE}"><big xmlns="urn:example:big"/></query>`);
  // Concurrent new elements: exactly the limit is stored, the others refused.
  const results = await Promise.all(
    Array.from({ length: 3 * MAX_ELEMENTS }, (_, i) => parley.api('private_set', { user: 'dave', host: 'localhost', element: `<c${i} xmlns='urn:example:c'>${i}</c${i}>` })),
  );
  assert.deepEqual(results.map((r) => r.status).sort(), [...Array(MAX_ELEMENTS).fill(200), ...Array(2 * MAX_ELEMENTS).fill(403)]);
  assert.equal(await parley.server.service('private').count({ user: 'dave', host: 'localhost' }), MAX_ELEMENTS);
});

// ---- private_get / private_set --------------------------------------------------------------

test('private_set stores a raw XML element that the client then reads; private_get returns what the client stored', async () => {
  const element = `<storage xmlns='storage:bookmarks'><conference jid='room@conference.localhost' autojoin='true' name='Room &amp; co'><nick>alice</nick></conference></storage>`;
  assert.equal(await ok('private_set', { user: 'alice', host: 'localhost', element }), 0);
  const [bookmarks] = await privateGet(alice, xml('storage', { xmlns: 'storage:bookmarks' }));
  const conf = bookmarks!.getChild('conference');
  assert.equal(conf?.attrs.jid, 'room@conference.localhost');
  assert.equal(conf?.attrs.name, 'Room & co');
  assert.equal(conf?.getChildText('nick'), 'alice');

  // What a client stored, private_get answers as ejabberd does: the query holding the element.
  assert.deepEqual(await ok('private_get', { user: 'alice', host: 'localhost', element: 'storage', ns: NOTES }), {
    res: `<query xmlns="${NS_PRIVATE}"><storage xmlns="${NOTES}"><note jid="bob@localhost">met at the conference</note></storage></query>`,
  });
  // Nothing stored: the element, empty. User and host are prepared.
  assert.deepEqual(await ok('private_get', { user: 'ALICE', host: 'LocalHost', element: 'unknown', ns: 'urn:example:none' }), {
    res: `<query xmlns="${NS_PRIVATE}"><unknown xmlns="urn:example:none"/></query>`,
  });
  // private_set replaces; an empty element removes.
  assert.equal(await ok('private_set', { user: 'alice', host: 'localhost', element: `<storage xmlns='${NOTES}'><note jid='carol@localhost'>new</note></storage>` }), 0);
  assert.equal((await privateGet(alice, xml('storage', { xmlns: NOTES })))[0]!.getChild('note')?.attrs.jid, 'carol@localhost');
  assert.equal(await ok('private_set', { user: 'alice', host: 'localhost', element: `<storage xmlns='${NOTES}'/>` }), 0);
  assert.equal((await privateGet(alice, xml('storage', { xmlns: NOTES })))[0]!.toString(), `<storage xmlns="${NOTES}"/>`);
});

test('private_get and private_set refuse unknown users and hosts, malformed XML, reserved namespaces and wrong types', async () => {
  const set = (args: Record<string, unknown>, status: number) => ok('private_set', { user: 'bob', host: 'localhost', element: '<a xmlns="urn:x"/>', ...args }, status);
  const get = (args: Record<string, unknown>, status: number) => ok('private_get', { user: 'bob', host: 'localhost', element: 'a', ns: 'urn:x', ...args }, status);
  assert.equal(await set({ user: 'nobody' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await get({ user: 'nobody' }, 404), 'User nobody@localhost does not exist');
  assert.equal(await set({ host: 'example.org' }, 404), 'Unknown host: example.org');
  assert.equal(await get({ host: 'example.org' }, 404), 'Unknown host: example.org');
  const deep = `<a xmlns="urn:x">${'<b>'.repeat(200)}${'</b>'.repeat(200)}</a>`;
  for (const element of ['<storage xmlns="urn:x"><unclosed></storage>', '<storage xmlns="urn:x"', 'not xml at all', '', '<a xmlns="urn:x"/><b xmlns="urn:x"/>', '<!DOCTYPE a><a/>', '<?xml version="1.0"?><a xmlns="urn:x"/>', deep, '<a xmlns="urn:x">&undefined;</a>']) {
    assert.match(await set({ element }, 400), /^Invalid XML element: /, element);
  }
  assert.equal(await set({ element: '<storage/>' }, 400), 'The element <storage/> has no namespace of its own (xmlns)');
  assert.equal(await set({ element: '<message xmlns="jabber:client"/>' }, 400), 'The namespace jabber:client is reserved');
  assert.equal(await set({ element: `<query xmlns='${NS_PRIVATE}'><a xmlns='urn:x'/></query>` }, 400), `The namespace ${NS_PRIVATE} is reserved`);
  assert.equal(await get({ ns: 'jabber:server' }, 400), 'The namespace jabber:server is reserved');
  assert.equal(await get({ element: 'a b' }, 400), 'Invalid element name: a b');
  assert.equal(await get({ element: '' }, 400), 'Invalid element name: ');
  assert.equal(await get({ ns: '' }, 400), 'Empty namespace');
  assert.equal(await set({ element: 123 }, 400), 'Arg 123 is not in format binary');
  assert.equal(await get({ ns: { a: 1 } }, 400), 'Arg {[{<<97>>,1}]} is not in format binary');
  assert.equal(await ok('private_set', { user: 'bob', host: 'localhost' }, 400), 'Request have missing argument: element');
  // None of it stored anything for bob.
  assert.equal(await parley.server.service('private').count({ user: 'bob', host: 'localhost' }), 0);
});

test('parley ctl private_set / private_get: the same commands on the command line', async () => {
  const set = await ctl('private_set', 'erin', 'localhost', `<prefs xmlns='urn:example:ctl'><v>1</v></prefs>`);
  assert.deepEqual(set, { stdout: '', stderr: '', code: 0 });
  const got = await ctl('private_get', 'erin', 'localhost', 'prefs', 'urn:example:ctl');
  assert.deepEqual(got, { stdout: `<query xmlns="${NS_PRIVATE}"><prefs xmlns="urn:example:ctl"><v>1</v></prefs></query>\n`, stderr: '', code: 0 });
  const bad = await ctl('private_set', 'erin', 'localhost', '<prefs');
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^Error: bad_argument: Invalid XML element: /);
  const erin = await parley.login('erin', 'r');
  assert.equal((await privateGet(erin, xml('prefs', { xmlns: 'urn:example:ctl' })))[0]!.getChildText('v'), '1');
});

test("removing an account removes its private storage", async () => {
  const gone = await parley.login('gone', 'r');
  await gone.iq(setIq(xml('secret', { xmlns: 'urn:example:secret' }, 'kept for gone')));
  assert.equal(await parley.server.service('private').count({ user: 'gone', host: 'localhost' }), 1);
  assert.equal(await ok('unregister', { user: 'gone', host: 'localhost' }), '');
  assert.equal(await parley.server.service('private').count({ user: 'gone', host: 'localhost' }), 0);
  await parley.register('gone');
  assert.deepEqual(await ok('private_get', { user: 'gone', host: 'localhost', element: 'secret', ns: 'urn:example:secret' }), {
    res: `<query xmlns="${NS_PRIVATE}"><secret xmlns="urn:example:secret"/></query>`,
  });
});
