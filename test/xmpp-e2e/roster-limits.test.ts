/**
 * Issue 5, item 5: one user must not freeze the server through roster changes. The roster has a
 * size limit (limits.maxRosterItems) that holds under concurrency from every path that adds items,
 * and roster versions are a stored counter: no roster change lists or hashes the whole roster.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn } from './raw.js';
import { parseConfig } from '../../src/config/load.js';

const NS_ROSTER = 'jabber:iq:roster';
const LIMIT = 500;
const SMALL = 10;

/** The attack server (limit 500) and one with a small limit for the refusal paths. */
let parley: Parley;
let small: Parley;

before(async () => {
  [parley, small] = await Promise.all([startParley({ limits: { maxRosterItems: LIMIT } }), startParley({ limits: { maxRosterItems: SMALL } })]);
});
after(async () => {
  await Promise.all([parley?.close(), small?.close()]);
});

const conns: RawConn[] = [];
after(() => {
  for (const c of conns) c.destroy();
});

async function online(p: Parley, user: string, resource = 'r'): Promise<RawConn> {
  const c = await RawConn.tcp(p.ports.c2s);
  conns.push(c);
  await c.login(user, `${user}pw`, resource);
  return c;
}

function rosterSet(id: string, jid: string, name = ''): string {
  return `<iq type='set' id='${id}'><query xmlns='${NS_ROSTER}'><item jid='${jid}' name='${name}'/></query></iq>`;
}

/** Every match of a global regexp's first group in the text. */
function all(text: string, re: RegExp): string[] {
  return [...text.matchAll(re)].map((m) => m[1]!);
}

/** Ids of the IQ results, and of the IQ errors with their condition, received so far. */
function answers(c: RawConn, prefix: string): { results: string[]; errors: { id: string; condition: string; text: string }[] } {
  const results = all(c.buf, new RegExp(`<iq type="result" id="(${prefix}\\d+)"`, 'g'));
  const errors = [...c.buf.matchAll(new RegExp(`<iq type="error" id="(${prefix}\\d+)"[^>]*>([\\s\\S]*?)</iq>`, 'g'))].map((m) => ({
    id: m[1]!,
    condition: /<([a-z-]+) xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/.exec(m[2]!)?.[1] ?? '',
    text: /<text [^>]*>([^<]*)<\/text>/.exec(m[2]!)?.[1] ?? '',
  }));
  return { results, errors };
}

/** The `ver` of every roster push received so far, in order. */
function pushVersions(c: RawConn): number[] {
  return all(c.buf, /<iq type="set" id="push\d+"[^>]*><query xmlns="jabber:iq:roster" ver="(\d+)">/g).map(Number);
}

const ids = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

test('600 roster sets as fast as possible: 500 stored, 100 refused; later sets cost no more, and another user is served meanwhile', async () => {
  await parley.register('filler', 'bystander');
  const filler = await online(parley, 'filler', 'f');
  // An interested resource: every stored change is pushed to it (where the whole roster used to be hashed).
  filler.write(`<iq type='get' id='g0'><query xmlns='${NS_ROSTER}'/></iq>`);
  await filler.expect(/<iq type="result" id="g0"/);
  const bystander = await online(parley, 'bystander', 'b');

  // The first 50 into the empty roster on their own, timed; then the other 550 at once.
  const sets = Array.from({ length: 600 }, (_, i) => rosterSet(`s${i}`, `contact${i}@example.org`, `Contact ${i}`));
  const t0 = performance.now();
  filler.write(sets.slice(0, 50).join(''));
  await filler.expect(/<iq type="result" id="s49"/, 10_000, 'the first 50 answers');
  const first50 = performance.now() - t0;
  filler.write(sets.slice(50).join(''));
  await eventually(() => answers(filler, 's').results.length + answers(filler, 's').errors.length === 600, 15_000, '600 answers');
  const burstMs = performance.now() - t0;

  const { results, errors } = answers(filler, 's');
  assert.deepEqual(results, ids('s', 0, LIMIT), 'the first 500 were stored, in order');
  assert.deepEqual(
    errors.map((e) => e.id),
    ids('s', LIMIT, 600),
  );
  for (const e of errors) {
    assert.equal(e.condition, 'not-allowed');
    assert.equal(e.text, `Roster of filler@localhost is full (limits.maxRosterItems: ${LIMIT})`);
  }
  assert.deepEqual(
    pushVersions(filler),
    Array.from({ length: LIMIT }, (_, i) => i + 1),
    'one push per stored item, the version one higher each time',
  );
  const roster = await parley.api('get_roster', { user: 'filler', server: 'localhost' });
  assert.equal(roster.status, 200);
  assert.equal(roster.body.length, LIMIT);

  // Then 50 more in one write: changes to items that exist (a full roster still takes them), each
  // one a new version and a push. Meanwhile the other user pings the server.
  let more = '';
  for (let i = 0; i < 50; i++) more += rosterSet(`u${i}`, `contact${i * 10}@example.org`, `Renamed ${i}`);
  const t1 = performance.now();
  filler.write(more);
  bystander.write(`<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await bystander.expect(/<iq type="result" id="ping1"/, 3000, 'pong');
  const pingMs = performance.now() - t1;
  await filler.expect(/<iq type="result" id="u49"/, 10_000, 'the last 50 answers');
  const last50 = performance.now() - t1;
  assert.deepEqual(answers(filler, 'u').results, ids('u', 0, 50));
  assert.deepEqual(
    pushVersions(filler).slice(LIMIT),
    Array.from({ length: 50 }, (_, i) => LIMIT + 1 + i),
  );

  console.log(`# roster burst: 600 sets in ${burstMs.toFixed(0)} ms; first 50 ${first50.toFixed(0)} ms; 50 updates of a full roster ${last50.toFixed(0)} ms; ping ${pingMs.toFixed(0)} ms`);
  assert.ok(pingMs < 500, `the other user was answered in ${pingMs.toFixed(0)} ms`);
  // The cost of a change does not depend on the roster's size (generous bounds: the machine is shared).
  assert.ok(last50 < 4 * first50 + 150, `50 changes to a roster of ${LIMIT}: ${last50.toFixed(0)} ms; the first 50 into an empty one: ${first50.toFixed(0)} ms`);
});

test('roster versions: one more per change a client sees, none for a pending request; a current ver gets an empty result', async () => {
  await parley.register('verity', 'stranger');
  const c = await online(parley, 'verity', 'v');
  c.write(`<iq type='get' id='g1'><query xmlns='${NS_ROSTER}' ver=''/></iq>`);
  await c.expect(/<iq type="result" id="g1"[^>]*><query xmlns="jabber:iq:roster" ver="0"\/><\/iq>/, 3000, 'empty roster, version 0');

  c.write(rosterSet('a1', 'ann@example.org', 'Ann'));
  await c.expect(/<query xmlns="jabber:iq:roster" ver="1"><item jid="ann@example.org"[^>]* name="Ann"/, 3000, 'push ver 1');
  c.write(rosterSet('a2', 'bob@example.org', 'Bob'));
  await c.expect(/ver="2"><item jid="bob@example.org"/, 3000, 'push ver 2');
  c.write(rosterSet('a3', 'ann@example.org', 'Annie'));
  await c.expect(/ver="3"><item jid="ann@example.org"[^>]* name="Annie"/, 3000, 'push ver 3');
  c.write(`<iq type='set' id='a4'><query xmlns='${NS_ROSTER}'><item jid='bob@example.org' subscription='remove'/></query></iq>`);
  await c.expect(/ver="4"><item jid="bob@example.org" subscription="remove"[^>]*\/>/, 3000, 'push ver 4');

  c.write(`<iq type='get' id='g2'><query xmlns='${NS_ROSTER}' ver='4'/></iq>`);
  await c.expect(/<iq type="result" id="g2"[^>]*\/>/, 3000, 'current: an empty result');

  // A stranger's subscription request is stored (verity is not available) but not shown: no new version.
  const stranger = await online(parley, 'stranger', 's');
  stranger.write(`<presence to='verity@localhost' type='subscribe'/>`);
  await eventually(async () => (await parley.api('get_roster', { user: 'verity', server: 'localhost' })).body.some((r: any) => r.jid === 'stranger@localhost' && r.ask === 'in'), 3000, 'pending request stored');
  c.write(`<iq type='get' id='g3'><query xmlns='${NS_ROSTER}' ver='4'/></iq>`);
  await c.expect(/<iq type="result" id="g3"[^>]*\/>/, 3000, 'still current');

  // A stale version gets the whole visible roster with the current version.
  c.write(`<iq type='get' id='g4'><query xmlns='${NS_ROSTER}' ver='3'/></iq>`);
  const full = await c.expect(/<iq type="result" id="g4"[^>]*>([\s\S]*?)<\/iq>/, 3000, 'full roster');
  assert.equal(full[1], '<query xmlns="jabber:iq:roster" ver="4"><item jid="ann@example.org" subscription="none" name="Annie"/></query>');
});

test('a full roster: new items are refused on every path, existing ones still change', async () => {
  await small.register('full', 'pal', 'pal2');
  const full = await online(small, 'full', 'f');
  full.write(`<iq type='get' id='g'><query xmlns='${NS_ROSTER}'/></iq><presence/>`);
  await full.expect(/<iq type="result" id="g"/);
  let fill = '';
  for (let i = 0; i < SMALL; i++) fill += rosterSet(`f${i}`, `item${i}@example.org`);
  full.write(fill);
  await full.expect(/<iq type="result" id="f9"/, 5000, 'filled');
  const pal = await online(small, 'pal', 'p');
  pal.write('<presence/>');
  const fullText = `Roster of full@localhost is full (limits.maxRosterItems: ${SMALL})`;

  // Roster set of a new item.
  full.write(rosterSet('n1', 'new@example.org'));
  const err = await full.expect(/<iq type="error" id="n1"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(err[0], /<error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  assert.ok(err[0].includes(fullText), err[0]);

  // add_rosteritem: forbidden.
  const add = { localuser: 'full', localhost: 'localhost', user: 'new', host: 'example.org', nick: '', group: '', subs: 'none' };
  const r = await small.api('add_rosteritem', add);
  assert.equal(r.status, 403, r.text);
  assert.ok(r.text.includes(fullText), r.text);

  // Outbound subscribe and pre-approval: a presence error to the client, nothing to the contact.
  full.write(`<presence to='pal@localhost' type='subscribe' id='o1'/>`);
  const perr = await full.expect(/<presence type="error" id="o1"[^>]*>[\s\S]*?<\/presence>/);
  assert.match(perr[0], /from="pal@localhost"/);
  assert.match(perr[0], /<not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  full.write(`<presence to='pal2@localhost' type='subscribed' id='o2'/>`);
  await full.expect(/<presence type="error" id="o2"[^>]*>[\s\S]*?<not-allowed [\s\S]*?<\/presence>/);

  // Inbound subscribe: not stored, not delivered; the requester gets resource-constraint.
  pal.write(`<presence to='full@localhost' type='subscribe'/>`);
  const ierr = await pal.expect(/<presence type="error"[^>]* from="full@localhost"[^>]*>[\s\S]*?<\/presence>/);
  assert.match(ierr[0], /<error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  assert.ok(await pal.absent(/type="subscribe"/, 200), 'pal got no subscribe from full');
  assert.ok(await full.absent(/<presence [^>]*type="subscribe"/, 200), 'full got no request');
  const rows = (await small.api('get_roster', { user: 'full', server: 'localhost' })).body as { jid: string }[];
  assert.deepEqual(new Set(rows.map((row) => row.jid)).size, SMALL);
  assert.ok(!rows.some((row) => row.jid.startsWith('pal')), JSON.stringify(rows));

  // Changes to items already there work, by every path.
  full.write(rosterSet('e1', 'item0@example.org', 'renamed'));
  await full.expect(/<iq type="result" id="e1"/);
  assert.equal((await small.api('add_rosteritem', { ...add, user: 'item1', nick: 'Admin set' })).status, 200);
  // Room after a removal.
  full.write(`<iq type='set' id='e2'><query xmlns='${NS_ROSTER}'><item jid='item2@example.org' subscription='remove'/></query></iq>`);
  await full.expect(/<iq type="result" id="e2"/);
  full.write(`<presence to='pal@localhost' type='subscribe' id='o3'/>`);
  await pal.expect(/<presence [^>]*type="subscribe"/, 3000, 'the subscribe goes out now');
  assert.ok(await full.absent(/<presence type="error" id="o3"/, 100));
});

test('the limit holds when roster sets, add_rosteritem and subscriptions both ways arrive at once', async () => {
  const senders = Array.from({ length: 8 }, (_, i) => `sender${i}`);
  await small.register('busy', ...senders);
  const busy = await online(small, 'busy', 'b');
  const inbound = await Promise.all(senders.map((u) => online(small, u, 's')));
  // Available, so that a presence error addressed to the account reaches them.
  for (const c of inbound) c.write('<presence/>');
  await Promise.all(inbound.map((c, i) => c.expect(`<presence from="${senders[i]}@localhost/s" to="${senders[i]}@localhost/s"/>`)));

  // 32 new items from four paths against a limit of 10, all at once.
  let mine = '';
  for (let i = 0; i < 8; i++) mine += rosterSet(`r${i}`, `set${i}@example.org`);
  for (let i = 0; i < 8; i++) mine += `<presence to='ghost${i}@localhost' type='subscribe' id='o${i}'/>`;
  busy.write(mine);
  for (const c of inbound) c.write(`<presence to='busy@localhost' type='subscribe'/>`);
  const api = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      small.api('add_rosteritem', { localuser: 'busy', localhost: 'localhost', user: `admin${i}`, host: 'example.org', nick: '', group: '', subs: 'both' }),
    ),
  );
  assert.deepEqual(new Set(api.map((a) => a.status)).size <= 2 && api.every((a) => a.status === 200 || a.status === 403), true, api.map((a) => a.text).join(' '));

  const refused = () =>
    answers(busy, 'r').errors.filter((e) => e.condition === 'not-allowed').length +
    all(busy.buf, /<presence type="error" id="(o\d+)"[^>]*>[\s\S]*?<not-allowed /g).length +
    api.filter((a) => a.status === 403).length +
    inbound.filter((c) => /<presence type="error"[^>]* from="busy@localhost"[^>]*>[\s\S]*?<resource-constraint /.test(c.buf)).length;
  const stored = async () => new Set(((await small.api('get_roster', { user: 'busy', server: 'localhost' })).body as { jid: string }[]).map((row) => row.jid)).size;
  // Every attempt was answered or stored: exactly 10 stored and 22 refused.
  await eventually(async () => refused() === 32 - SMALL && (await stored()) === SMALL, 10_000, `${SMALL} stored and ${32 - SMALL} refused`).catch(async (err) => {
    throw new Error(`${err.message}: ${await stored()} stored, ${refused()} refused; busy received ${busy.buf.slice(-3000)}`);
  });
  assert.equal(answers(busy, 'r').results.length + answers(busy, 'r').errors.length, 8, 'every roster set was answered');
  // Nothing more arrives later (every attempt was already answered: a short bounded window for a straggler).
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await stored(), SMALL);
  assert.equal(refused(), 32 - SMALL);
});

test('limits.maxRosterItems: default 2000; 0 and fractions are refused', () => {
  assert.equal(parseConfig({}).limits.maxRosterItems, 2000);
  assert.equal(parseConfig({ limits: { maxRosterItems: 1 } }).limits.maxRosterItems, 1);
  for (const bad of [0, -1, 2.5, 'many']) {
    assert.throws(() => parseConfig({ limits: { maxRosterItems: bad } }), /limits\.maxRosterItems/);
  }
});
