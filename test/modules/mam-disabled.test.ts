// mam.enabled: false — nothing is archived, no stanza id is added, queries are not served and the
// account does not announce the archive; the room side refuses to archive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, type TestClient } from '../support/client.js';
import { chat, mamQueryIq, NS_MAM } from '../support/mam.js';
import { x } from '../../src/xmpp/xml/element.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;

before(async () => {
  parley = await startParley({ mam: { enabled: false } });
  await parley.register('alice', 'bob');
  [alice, bob] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b')]);
});

after(() => parley?.close());

test('with the archive off: no stanza id, no archive queries, no feature; rooms are told no', async () => {
  await alice.send(chat('bob@localhost', 'unarchived'));
  const got = await bob.waitFor((el) => el.getChildText('body') === 'unarchived', 5000);
  assert.equal(got.getChild('stanza-id', 'urn:xmpp:sid:0'), undefined);
  assert.equal((await iqError(bob, mamQueryIq({}, 'q'))).condition, 'service-unavailable');
  const info = await bob.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(!info.getChild('query')!.getChildren('feature').some((f: Element) => f.attrs.var === NS_MAM));
  const mam = parley.server.service('mam');
  assert.equal(await mam.archiveRoomMessage('r@conference.localhost', x('message', { type: 'groupchat' }, x('body', {}, 'hi')), 'alice@localhost'), undefined);
});
