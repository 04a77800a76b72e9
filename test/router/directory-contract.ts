/**
 * The contract of a session directory, written against the interface only, so that every
 * implementation (the in-process one today, one shared by several nodes later) runs the same tests:
 * `directoryContract('name', () => makeDirectory())` in a `*.test.ts` file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionDirectory, NewSession } from '../../src/router/directory.js';
import { decodeSessionRecord, encodeSessionRecord, presenceOf, type DeliveryReceipt, type SessionHandle, type SessionRecord } from '../../src/router/session.js';
import { parseJID } from '../../src/xmpp/jid.js';
import { x, type Element } from '../../src/xmpp/xml/element.js';

export interface DirectoryUnderTest {
  directory: SessionDirectory;
  /** The node name the directory stamps on the records it creates. */
  node: string;
  close?(): Promise<void>;
}

/** The live end of a session in these tests: it records what the directory asks of it. */
class RecordingHandle implements SessionHandle {
  sent: Element[] = [];
  injected: Element[] = [];
  closedWith: { condition?: string; text?: string } | undefined;
  send(stanza: Element, receipt?: DeliveryReceipt): void {
    this.sent.push(stanza);
    receipt?.acked();
  }
  drained(): Promise<boolean> {
    return Promise.resolve(this.closedWith === undefined);
  }
  async inject(stanza: Element): Promise<void> {
    this.injected.push(stanza);
  }
  close(condition?: string, text?: string): void {
    this.closedWith = { condition, text };
  }
}

let seq = 0;
function init(full: string, startedAt = Date.now()): NewSession {
  return { id: `test-${++seq}`, jid: parseJID(full), connection: 'c2s', ip: '127.0.0.1', port: 5000 + seq, startedAt };
}

function available(show?: string, status?: string): Element {
  const p = x('presence', { from: 'placeholder' });
  if (show) p.c('show').t(show);
  if (status) p.c('status').t(status);
  return p;
}

const fulls = (records: Iterable<SessionRecord>) => [...records].map((r) => r.jid.full);

export function directoryContract(name: string, make: () => DirectoryUnderTest | Promise<DirectoryUnderTest>): void {
  const withDirectory = (title: string, fn: (d: SessionDirectory, node: string) => void | Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const t = await make();
      try {
        await fn(t.directory, t.node);
      } finally {
        await t.close?.();
      }
    });

  withDirectory('a session added is found by full JID, as a record with the defaults of a fresh session', (d, node) => {
    const i = init('alice@a.example/phone', 1234);
    const { record, replaced } = d.add(i, new RecordingHandle());
    assert.equal(replaced, undefined);
    const got = d.get('alice@a.example', 'phone');
    assert.ok(got);
    assert.equal(got.id, i.id);
    assert.equal(record.id, i.id);
    assert.equal(got.jid.full, 'alice@a.example/phone');
    assert.equal(got.node, node);
    assert.deepEqual([got.connection, got.ip, got.port, got.startedAt], ['c2s', '127.0.0.1', i.port, 1234]);
    assert.equal(got.presence, undefined);
    assert.equal(got.priority, 0);
    assert.deepEqual({ ...got.flags }, {});
    assert.deepEqual([...got.directedPresence], []);
    assert.equal(d.get('alice@a.example', 'laptop'), undefined);
    assert.equal(d.get('bob@a.example', 'phone'), undefined);
    assert.equal(d.hasSessions('alice@a.example'), true);
    assert.equal(d.hasSessions('bob@a.example'), false);
  });

  withDirectory('resources in binding order; counts and iteration per host and overall', (d) => {
    d.add(init('alice@a.example/one'), new RecordingHandle());
    d.add(init('alice@a.example/two'), new RecordingHandle());
    d.add(init('bob@a.example/x'), new RecordingHandle());
    d.add(init('carol@b.example/y'), new RecordingHandle());
    assert.deepEqual(fulls(d.resources('alice@a.example')), ['alice@a.example/one', 'alice@a.example/two']);
    assert.deepEqual(d.resources('nobody@a.example'), []);
    assert.equal(d.count(), 4);
    assert.equal(d.countForHost('a.example'), 3);
    assert.equal(d.countForHost('b.example'), 1);
    assert.equal(d.countForHost('c.example'), 0);
    assert.deepEqual(fulls(d.all()).sort(), ['alice@a.example/one', 'alice@a.example/two', 'bob@a.example/x', 'carol@b.example/y']);
    assert.deepEqual(fulls(d.forHost('b.example')), ['carol@b.example/y']);
  });

  withDirectory('binding a full JID again replaces the session; removing the replaced one leaves the new one', (d) => {
    const oldHandle = new RecordingHandle();
    const first = d.add(init('alice@a.example/phone'), oldHandle).record;
    const second = d.add(init('alice@a.example/phone'), new RecordingHandle());
    assert.equal(second.replaced?.id, first.id, 'the caller learns which session to close');
    assert.equal(d.get('alice@a.example', 'phone')?.id, second.record.id);
    assert.equal(d.count(), 1);
    assert.equal(d.countForHost('a.example'), 1);
    // The replaced session is still reachable until it is removed (the caller closes it).
    d.close(first, 'conflict', 'Replaced by new connection');
    assert.deepEqual(oldHandle.closedWith, { condition: 'conflict', text: 'Replaced by new connection' });
    assert.equal(d.remove(first), false, 'no longer the registered one');
    assert.equal(d.get('alice@a.example', 'phone')?.id, second.record.id);
    assert.equal(d.remove(second.record), true);
    assert.equal(d.remove(second.record), false, 'removing twice is harmless');
    assert.equal(d.get('alice@a.example', 'phone'), undefined);
    assert.equal(d.hasSessions('alice@a.example'), false);
    assert.equal(d.count(), 0);
    assert.equal(d.countForHost('a.example'), 0);
  });

  withDirectory('available sessions, and message targets by priority (RFC 6121 §8.5.2.1.1)', (d) => {
    const bare = 'alice@a.example';
    const a = d.add(init(`${bare}/a`), new RecordingHandle()).record;
    const b = d.add(init(`${bare}/b`), new RecordingHandle()).record;
    const c = d.add(init(`${bare}/c`), new RecordingHandle()).record;
    d.add(init(`${bare}/silent`), new RecordingHandle());
    assert.deepEqual(d.available(bare), []);
    assert.deepEqual(d.messageTargets(bare), []);
    d.setPresence(a, available(), 1);
    d.setPresence(b, available('away'), 5);
    d.setPresence(c, available(), -1);
    assert.deepEqual(fulls(d.available(bare)), [`${bare}/a`, `${bare}/b`, `${bare}/c`]);
    assert.deepEqual(fulls(d.messageTargets(bare)), [`${bare}/b`], 'the highest priority');
    d.setPresence(a, available(), 5);
    assert.deepEqual(fulls(d.messageTargets(bare)), [`${bare}/a`, `${bare}/b`], 'ties all get it');
    d.setPresence(a, undefined);
    d.setPresence(b, undefined);
    assert.deepEqual(fulls(d.available(bare)), [`${bare}/c`]);
    assert.deepEqual(d.messageTargets(bare), [], 'a negative priority never gets bare-JID messages');
    assert.deepEqual(d.messageTargets('nobody@a.example'), []);
  });

  withDirectory('presence is kept serialized, its priority kept until changed; unavailable clears the presence only', (d) => {
    const s = d.add(init('alice@a.example/phone'), new RecordingHandle()).record;
    d.setPresence(s, available('dnd', 'in a <meeting> & busy'), 7);
    let r = d.get('alice@a.example', 'phone')!;
    assert.equal(typeof r.presence, 'string');
    assert.equal(r.priority, 7);
    for (const p of [d.presenceOf(r)!, presenceOf(r)!]) {
      assert.equal(p.name, 'presence');
      assert.equal(p.getChildText('show'), 'dnd');
      assert.equal(p.getChildText('status'), 'in a <meeting> & busy');
      p.attrs.to = 'changed'; // a copy: the record does not change with it
      p.c('extra');
    }
    assert.doesNotMatch(d.get('alice@a.example', 'phone')!.presence!, /changed|extra/);
    assert.equal(d.presenceOf(r)!.attrs.to, undefined);
    assert.equal(d.presenceOf(r)!.getChild('extra'), undefined);
    d.setPresence(s, available('away'));
    assert.equal(d.get('alice@a.example', 'phone')!.priority, 7, 'priority kept when not given');
    d.setPresence(s, undefined);
    r = d.get('alice@a.example', 'phone')!;
    assert.equal(r.presence, undefined);
    assert.equal(presenceOf(r), undefined);
    assert.equal(d.presenceOf(r), undefined);
    assert.equal(r.priority, 7);
  });

  withDirectory('feature flags and directed presence change only through the directory', (d) => {
    const s = d.add(init('alice@a.example/phone'), new RecordingHandle()).record;
    const other = d.add(init('alice@a.example/laptop'), new RecordingHandle()).record;
    d.setFlag(s, 'rosterRequested', true);
    d.setFlag(s, 'carbons', true);
    d.setFlag(s, 'carbons', false);
    const r = d.get('alice@a.example', 'phone')!;
    assert.equal(r.flags.rosterRequested, true);
    assert.equal(r.flags.carbons, false);
    assert.equal(d.get('alice@a.example', 'laptop')!.flags.rosterRequested, undefined, 'per session');
    d.setDirectedPresence(s, 'room@muc.example/nick', true);
    d.setDirectedPresence(s, 'bob@b.example/x', true);
    d.setDirectedPresence(s, 'room@muc.example/nick', true);
    assert.deepEqual([...d.get('alice@a.example', 'phone')!.directedPresence], ['room@muc.example/nick', 'bob@b.example/x']);
    const before = d.get('alice@a.example', 'phone')!.directedPresence;
    d.setDirectedPresence(s, 'room@muc.example/nick', false);
    assert.deepEqual([...d.get('alice@a.example', 'phone')!.directedPresence], ['bob@b.example/x']);
    assert.deepEqual([...before], ['room@muc.example/nick', 'bob@b.example/x'], 'a list read earlier is not changed under its reader');
    d.clearDirectedPresence(s);
    assert.deepEqual([...d.get('alice@a.example', 'phone')!.directedPresence], []);
    assert.deepEqual([...d.get('alice@a.example', 'laptop')!.directedPresence], []);
    void other;
  });

  withDirectory('deliver, inject, drained and close reach the live session; once removed, they fail', async (d) => {
    const h = new RecordingHandle();
    const s = d.add(init('alice@a.example/phone'), h).record;
    let acked = 0;
    let failed = 0;
    const receipt = { acked: () => acked++, failed: () => failed++ };
    d.deliver(s, x('message', { id: 'm1' }));
    d.deliver(d.get('alice@a.example', 'phone')!, x('message', { id: 'm2' }), receipt);
    assert.deepEqual(h.sent.map((e) => e.attrs.id), ['m1', 'm2']);
    assert.deepEqual([acked, failed], [1, 0]);
    assert.equal(await d.inject(s, x('presence')), true);
    assert.equal(h.injected.length, 1);
    assert.equal(await d.drained(s), true);
    d.close(s, 'policy-violation', 'has been kicked');
    assert.deepEqual(h.closedWith, { condition: 'policy-violation', text: 'has been kicked' });
    assert.equal(d.remove(s), true);
    d.deliver(s, x('message', { id: 'm3' }), receipt);
    assert.deepEqual([acked, failed], [1, 1], 'the receipt fails');
    assert.equal(h.sent.length, 2);
    assert.equal(await d.inject(s, x('presence')), false);
    assert.equal(await d.drained(s), false);
    d.setPresence(s, available()); // a late update of a gone session changes nothing
    assert.equal(d.get('alice@a.example', 'phone'), undefined);
    assert.deepEqual(d.available('alice@a.example'), []);
  });

  withDirectory('records are plain data: JSON in, the same record out', (d) => {
    const s = d.add(init('alice@a.example/phone ☎'), new RecordingHandle()).record;
    d.setPresence(s, available('chat', 'hi'), 3);
    d.setFlag(s, 'carbons', true);
    d.setDirectedPresence(s, 'room@muc.example/nick', true);
    const r = d.get('alice@a.example', 'phone ☎')!;
    const json = encodeSessionRecord(r);
    const back = decodeSessionRecord(json);
    assert.equal(back.jid.full, 'alice@a.example/phone ☎');
    assert.equal(back.jid.bare, 'alice@a.example');
    assert.deepEqual({ ...back, jid: back.jid.full }, { ...r, flags: { ...r.flags }, directedPresence: [...r.directedPresence], jid: r.jid.full });
  });
}
