// The archive's side of group chat (the RoomArchive contract the room engine calls), exercised
// directly on the running service: archiving, queries answered to a real client from the room's
// JID, moderation, removal; and the size limits of room and account archives (oldest trimmed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startParley, eventually, type Parley } from '../support/harness.js';
import type { TestClient } from '../support/client.js';
import { chat, mamQuery } from '../support/mam.js';
import { x, type Element as ServerElement } from '../../src/xmpp/xml/element.js';
import { parseJID } from '../../src/xmpp/jid.js';
import { StanzaError } from '../../src/xmpp/stanza.js';
import type { MamService } from '../../src/modules/mam/index.js';
import type { RoomArchive } from '../../src/modules/mam/contract.js';

const ROOM = 'tea@conference.localhost';
let parley: Parley;
let mam: MamService;
let alice: TestClient;
let bob: TestClient;
let queries = 0;

before(async () => {
  parley = await startParley({ mam: { maxMessagesPerRoom: 5, maxMessagesPerAccount: 4, maxCount: 4 } });
  await parley.register('alice', 'bob');
  [alice, bob] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b')]);
  mam = parley.server.service('mam');
});

after(() => parley?.close());

function groupchat(nick: string, body: string): ServerElement {
  return x('message', { from: `${ROOM}/${nick}`, type: 'groupchat', id: `${nick}-${body}` }, x('body', {}, body), x('occupant-id', { xmlns: 'urn:xmpp:occupant-id:0', id: nick }));
}

/** A room query as the room engine passes it on, answered to alice's session. */
async function roomQuery(rsm: Record<string, string> = {}, room = ROOM): Promise<{ items: { id: string; body?: string; message: Element }[]; fin: ServerElement }> {
  const queryid = `room-${++queries}`;
  const set = Object.entries(rsm).map(([k, v]) => x(k, {}, v));
  const payload = x('query', { xmlns: 'urn:xmpp:mam:2', queryid }, set.length ? x('set', { xmlns: 'http://jabber.org/protocol/rsm' }, ...set) : undefined);
  const archive: RoomArchive = mam;
  const fin = await archive.queryRoom(room, parseJID(alice.jid), x('iq', { type: 'set', id: 'q' }, payload), payload);
  assert.ok(fin);
  await alice.sync();
  const items = alice.received
    .filter((m) => m.getChild('result', 'urn:xmpp:mam:2')?.attrs.queryid === queryid)
    .map((m) => {
      assert.equal(m.attrs.from, room, 'results come from the room');
      const r = m.getChild('result', 'urn:xmpp:mam:2')!;
      const message = r.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!;
      return { id: r.attrs.id as string, body: message.getChildText('body') ?? undefined, message };
    });
  return { items, fin };
}

test('archiveRoomMessage gives increasing stanza ids; queryRoom pages the room archive to the requester from the room', async () => {
  const ids: string[] = [];
  for (const b of ['one', 'two', 'three']) ids.push((await mam.archiveRoomMessage(ROOM, groupchat('anna', b), 'anna@localhost/phone'))!);
  assert.ok(ids.every((id) => /^\d+$/.test(id)));
  assert.ok(BigInt(ids[1]!) > BigInt(ids[0]!) && BigInt(ids[2]!) > BigInt(ids[1]!));
  const all = await roomQuery();
  assert.deepEqual(all.items.map((i) => i.body), ['one', 'two', 'three']);
  assert.deepEqual(all.items.map((i) => i.id), ids);
  assert.equal(all.items[0]!.message.attrs.from, `${ROOM}/anna`);
  assert.equal(all.fin.attrs.complete, 'true');
  const last = await roomQuery({ max: '2', before: '' });
  assert.deepEqual(last.items.map((i) => i.body), ['two', 'three']);
  assert.equal(last.fin.attrs.complete, undefined);
  assert.equal(last.fin.getChild('set')!.getChildText('count'), '3');
  await assert.rejects(roomQuery({ after: '42' }), (err: unknown) => err instanceof StanzaError && err.condition === 'item-not-found');
  assert.deepEqual((await roomQuery({}, 'other@conference.localhost')).items, [], 'rooms have separate archives');
});

test('moderateRoomMessage replaces a message by a tombstone naming the moderator and the reason', async () => {
  const { items } = await roomQuery();
  const target = items.find((i) => i.body === 'two')!;
  assert.equal(await mam.moderateRoomMessage(ROOM, target.id, `${ROOM}/mod`, 'spam'), true);
  assert.equal(await mam.moderateRoomMessage(ROOM, '12345', `${ROOM}/mod`), false);
  assert.equal(await mam.moderateRoomMessage('other@conference.localhost', target.id, `${ROOM}/mod`), false, 'ids are per room');
  const after = await roomQuery();
  const tomb = after.items.find((i) => i.id === target.id)!;
  assert.equal(tomb.body, undefined);
  const retracted = tomb.message.getChild('retracted', 'urn:xmpp:message-retract:1')!;
  assert.ok(retracted.attrs.stamp);
  assert.equal(retracted.getChild('moderated', 'urn:xmpp:message-moderate:1')!.attrs.by, `${ROOM}/mod`);
  assert.equal(retracted.getChildText('reason'), 'spam');
  assert.ok(tomb.message.getChild('occupant-id', 'urn:xmpp:occupant-id:0'), 'the occupant id stays');
  assert.deepEqual(after.items.map((i) => i.body), ['one', undefined, 'three']);
});

test('a room archive keeps mam.maxMessagesPerRoom messages, the oldest removed; counts stop at mam.maxCount; removeRoomArchive removes it all', async () => {
  for (let i = 0; i < 6; i++) await mam.archiveRoomMessage(ROOM, groupchat('bert', `more-${i}`), 'bert@localhost');
  await eventually(async () => (await roomQuery()).items.length === 5, 3000, 'trimmed to 5');
  const kept = await roomQuery();
  assert.deepEqual(kept.items.map((i) => i.body), ['more-1', 'more-2', 'more-3', 'more-4', 'more-5']);
  assert.equal(kept.fin.getChild('set')!.getChildText('count'), '4', 'counted up to mam.maxCount');
  assert.equal(await mam.removeRoomArchive(ROOM), 5);
  assert.deepEqual((await roomQuery()).items, []);
  assert.equal(await mam.removeRoomArchive(ROOM), 0);
});

test("an account's archive keeps mam.maxMessagesPerAccount messages, the oldest removed", async () => {
  for (let i = 0; i < 6; i++) {
    await alice.send(chat('bob@localhost', `n${i}`));
    await bob.waitFor((el) => el.getChildText('body') === `n${i}`, 5000);
  }
  await eventually(async () => (await mamQuery(bob)).items.length === 4, 3000, 'trimmed to 4');
  assert.deepEqual((await mamQuery(bob)).items.map((i) => i.body), ['n2', 'n3', 'n4', 'n5']);
});
