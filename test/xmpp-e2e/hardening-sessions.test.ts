/**
 * Issue 5 items 1 and 2: one account cannot make the server hold unbounded sessions, queues or
 * output. Each test performs the attack with raw sockets, bounded in count and time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { RawConn, NS_SM, within } from './raw.js';
import { streamOf } from '../support/streams.js';

const servers: Parley[] = [];
after(async () => {
  for (const p of servers) await p.close();
});

async function start(config: Record<string, unknown>): Promise<Parley> {
  const p = await startParley(config);
  servers.push(p);
  return p;
}

/** A second user pings the server; resolves with the round trip in ms. */
async function pingTime(c: RawConn, id: string): Promise<number> {
  const t0 = Date.now();
  c.write(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await c.expect(`id="${id}"`, 5000);
  return Date.now() - t0;
}

test('item 1: 600 logins of one account that enable resumption and drop leave at most maxSessionsPerAccount sessions, with bounded memory', async () => {
  const parley = await start({ c2s: { maxSessionsPerAccount: 10, resumeTimeout: 300 } });
  await parley.register('hib', 'other');
  const other = await RawConn.tcp(parley.ports.c2s);
  await other.login('other', 'otherpw', 'watch');
  const heapBefore = process.memoryUsage().heapUsed;
  let maxSeen = 0;
  const N = 600;
  const BATCH = 20;
  for (let i = 0; i < N; i += BATCH) {
    await Promise.all(
      Array.from({ length: BATCH }, async (_, k) => {
        const c = await RawConn.tcp(parley.ports.c2s);
        await c.login('hib', 'hibpw', `h${i + k}`);
        c.write(`<enable xmlns='${NS_SM}' resume='true'/><presence/>`);
        // A batch is twice the limit: under load a newer login of the batch may replace this one
        // before its <enable/> is handled, which is the limit at work too.
        await c.expect(/<enabled [^>]*\/>|<conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
        c.destroy();
      }),
    );
    maxSeen = Math.max(maxSeen, parley.server.sessions.resources('hib@localhost').length);
  }
  assert.ok(maxSeen <= 10, `at most 10 sessions at once (saw ${maxSeen})`);
  await eventually(() => parley.server.sessions.resources('hib@localhost').length === 10, 5000, 'ten sessions, hibernating');
  assert.equal(parley.server.resumable.size <= 10, true, `resumable sessions: ${parley.server.resumable.size}`);
  // Each hibernating session holds at most the presences of the account's other sessions.
  const growth = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  assert.ok(growth < 150, `heap grew by ${growth.toFixed(0)} MB`);
  assert.ok((await pingTime(other, 'p1')) < 2000, 'another user is still served');
  other.destroy();
});

test("item 1: with sessionLimitPolicy 'refuse', a bind over the limit gets resource-constraint and the others stay", async () => {
  const parley = await start({ c2s: { maxSessionsPerAccount: 2, sessionLimitPolicy: 'refuse' } });
  await parley.register('two');
  const a = await RawConn.tcp(parley.ports.c2s);
  const b = await RawConn.tcp(parley.ports.c2s);
  await a.login('two', 'twopw', 'a');
  await b.login('two', 'twopw', 'b');
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.open();
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0two\0twopw').toString('base64')}</auth>`);
  await c.expect(/<success /);
  await c.open();
  c.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>c</resource></bind></iq>`);
  const refused = await c.expect(/<iq [^>]*id="bind1"[^>]*>[\s\S]*?<\/iq>/);
  assert.match(refused[0], /type="error"/);
  assert.match(refused[0], /<resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  // Re-binding an existing resource replaces it and needs no room.
  c.write(`<iq type='set' id='bind2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>b</resource></bind></iq>`);
  await c.expect(/<iq [^>]*id="bind2"[^>]*type="result"|<iq [^>]*type="result"[^>]*id="bind2"/);
  await b.expect(/<conflict /);
  assert.deepEqual(parley.server.sessions.resources('two@localhost').map((s) => s.jid.resource).sort(), ['a', 'b']);
  a.destroy();
  c.destroy();
});

test("item 1: replace-oldest replaces a hibernating session before a connected one", async () => {
  const parley = await start({ c2s: { maxSessionsPerAccount: 2 } });
  await parley.register('rep');
  const live = await RawConn.tcp(parley.ports.c2s);
  await live.login('rep', 'reppw', 'live');
  const gone = await RawConn.tcp(parley.ports.c2s);
  await gone.login('rep', 'reppw', 'gone');
  gone.write(`<enable xmlns='${NS_SM}' resume='true'/>`);
  await gone.expect(/<enabled /);
  gone.destroy();
  await eventually(() => parley.server.sessions.get('rep@localhost', 'gone')?.flags.hibernating === true, 3000, 'hibernating');
  const fresh = await RawConn.tcp(parley.ports.c2s);
  await fresh.login('rep', 'reppw', 'fresh');
  assert.deepEqual(parley.server.sessions.resources('rep@localhost').map((s) => s.jid.resource).sort(), ['fresh', 'live']);
  assert.equal(parley.server.resumable.size, 0, 'the replaced session cannot be resumed');
  live.destroy();
  fresh.destroy();
});

test('item 1: a hibernating session whose queue is full ends, and its messages go to offline storage', async () => {
  const parley = await start({ c2s: { maxUnackedStanzas: 10, resumeTimeout: 300 } });
  await parley.register('sleepy', 'sender');
  const s = await RawConn.tcp(parley.ports.c2s);
  await s.login('sleepy', 'sleepypw', 'phone');
  s.write(`<enable xmlns='${NS_SM}' resume='true'/><presence/>`);
  const id = /id="([^"]+)"/.exec((await s.expect(/<enabled [^>]*\/>/))[0])![1]!;
  s.destroy();
  await eventually(() => parley.server.sessions.get('sleepy@localhost', 'phone')?.flags.hibernating === true, 3000, 'hibernating');
  const sender = await RawConn.tcp(parley.ports.c2s);
  await sender.login('sender', 'senderpw', 'x');
  for (let i = 0; i < 30; i++) sender.write(`<message to='sleepy@localhost' type='chat'><body>m${i}</body></message>`);
  await eventually(() => parley.server.sessions.resources('sleepy@localhost').length === 0, 3000, 'the session ended');
  // Nothing was lost: the 11 queued (10 + the one over the bound) and the rest are stored.
  await eventually(async () => (await parley.api('get_offline_count', { user: 'sleepy', server: 'localhost' })).body.value === 30, 3000, '30 stored');
  const late = await RawConn.tcp(parley.ports.c2s);
  await late.login('sleepy', 'sleepypw', 'again');
  late.write(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  await late.expect('<item-not-found');
  sender.destroy();
  late.destroy();
});

test('item 2: a client that never reads while others send it 16 kB messages is disconnected at the output limit; the server stays small', async () => {
  const limit = 256 * 1024;
  // The flooder's inbound rate is not what is tested here: the shaper is off for authenticated clients.
  const parley = await start({ limits: { maxOutputBuffer: limit }, shaper: { authenticated: { rate: 0, burst: 1_048_576 } } });
  await parley.register('sink', 'flood');
  const sink = await RawConn.tcp(parley.ports.c2s);
  await sink.login('sink', 'sinkpw', 'deaf');
  sink.write('<presence/>');
  await sink.expect('<presence');
  sink.socket!.pause(); // never reads again
  const flood = await RawConn.tcp(parley.ports.c2s);
  await flood.login('flood', 'floodpw', 'f');
  const rssBefore = process.memoryUsage().rss;
  const body = 'x'.repeat(16 * 1024);
  let maxBuffered = 0;
  const session = streamOf(parley.server, 'sink@localhost', 'deaf') as { transport?: { buffered: number } };
  for (let i = 0; i < 2000 && parley.server.sessions.get('sink@localhost', 'deaf'); i++) {
    flood.write(`<message to='sink@localhost/deaf' type='chat'><body>${body}</body></message>`);
    if (i % 20 === 19) {
      await new Promise((r) => setImmediate(r));
      maxBuffered = Math.max(maxBuffered, session.transport?.buffered ?? 0);
    }
  }
  await eventually(() => !parley.server.sessions.get('sink@localhost', 'deaf'), 10_000, 'the deaf client disconnected');
  assert.ok(maxBuffered <= limit, `buffered at most the limit (saw ${maxBuffered})`);
  const growth = (process.memoryUsage().rss - rssBefore) / 1e6;
  assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MB`);
  // The sender is still served.
  assert.ok((await within(pingTime(flood, 'alive'), 5000, 'ping')) < 5000);
  flood.destroy();
  sink.destroy();
});

test('item 2: forty roster gets of a large roster, never read, cannot buffer past the limit', async () => {
  const limit = 256 * 1024;
  const parley = await start({ limits: { maxOutputBuffer: limit } });
  await parley.register('big');
  for (let i = 0; i < 1500; i++) {
    await parley.server.storage.roster.put('big@localhost', {
      jid: `contact${i}@example.net`, name: `Contact number ${i}`, subscription: 'both', askOut: false, pendingIn: false, approved: false, groups: ['Friends'], visible: true,
    });
  }
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('big', 'bigpw', 'r');
  c.socket!.pause();
  const session = streamOf(parley.server, 'big@localhost', 'r') as { transport?: { buffered: number } };
  let maxBuffered = 0;
  for (let i = 0; i < 40; i++) {
    c.write(`<iq type='get' id='r${i}'><query xmlns='jabber:iq:roster'/></iq>`);
    await new Promise((r) => setTimeout(r, 5));
    maxBuffered = Math.max(maxBuffered, session.transport?.buffered ?? 0);
  }
  await eventually(() => !parley.server.sessions.get('big@localhost', 'r'), 5000, 'disconnected');
  assert.ok(maxBuffered <= limit, `buffered at most the limit (saw ${maxBuffered})`);
  c.destroy();
});

test("a client's backlog of stanzas waiting to be handled is bounded: the server stops reading until it drains", async () => {
  const parley = await start({});
  await parley.register('fast');
  const c = await RawConn.tcp(parley.ports.c2s);
  await c.login('fast', 'fastpw', 'f');
  c.write(`<enable xmlns='${NS_SM}'/>`);
  await c.expect(/<enabled /);
  const stream = streamOf(parley.server, 'fast@localhost', 'f') as { queued: number };
  let maxQueued = 0;
  const sample = setInterval(() => (maxQueued = Math.max(maxQueued, stream.queued)), 1);
  // 1,200 password changes: each waits for key derivation on the thread pool, so they pile up
  // unless the server stops reading. Their answers are not read either (the output bound is large enough).
  const iq = `<iq type='set' id='pw'><query xmlns='jabber:iq:register'><username>fast</username><password>fastpw</password></query></iq>`;
  for (let i = 0; i < 12; i++) c.write(iq.repeat(100));
  c.write(`<r xmlns='${NS_SM}'/>`);
  await c.expect(/<a xmlns="urn:xmpp:sm:3" h="1200"\/>/, 30_000);
  clearInterval(sample);
  assert.ok(maxQueued < 900, `at most ${maxQueued} stanzas waited at once`);
  c.destroy();
});
