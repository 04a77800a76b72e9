// Bad input to the group chat service gets a defined error, never a crash or silence: malformed
// admin items, forms with bad values, unknown payloads, odd history requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, type Parley } from '../support/harness.js';
import { iqError, xml, type TestClient } from '../support/client.js';
import { SERVICE, MUC_ADMIN, MUC_OWNER, DATA, codes, configure, createInstant, errorCondition, join } from '../support/muc.js';

let parley: Parley;
let alice: TestClient;
let bob: TestClient;
const ROOM = `hard@${SERVICE}`;

before(async () => {
  parley = await startParley();
  await parley.register('alice', 'bob');
  [alice, bob] = await Promise.all([parley.login('alice', 'a'), parley.login('bob', 'b')]);
  await createInstant(alice, ROOM, 'Alice');
});

after(async () => {
  await parley?.close();
});

const admin = (...items: ReturnType<typeof xml>[]) => xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MUC_ADMIN }, ...items));
const owner = (form: ReturnType<typeof xml>) => xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MUC_OWNER }, form));

test('malformed muc#admin items: bad-request, jid-malformed, item-not-found; nothing changes', async () => {
  assert.equal((await iqError(alice, admin())).condition, 'bad-request');
  assert.equal((await iqError(alice, admin(xml('item', {})))).condition, 'bad-request');
  assert.equal((await iqError(alice, admin(xml('item', { nick: 'Alice', role: 'king' })))).condition, 'bad-request');
  assert.equal((await iqError(alice, admin(xml('item', { jid: 'a@@b', affiliation: 'member' })))).condition, 'jid-malformed');
  assert.equal((await iqError(alice, admin(xml('item', { nick: 'Nobody', role: 'none' })))).condition, 'item-not-found');
  assert.equal((await iqError(alice, admin(xml('item', { jid: 'bob@localhost', affiliation: 'emperor' })))).condition, 'bad-request');
  // One bad item among good ones: none is applied.
  assert.equal((await iqError(alice, admin(xml('item', { jid: 'bob@localhost', affiliation: 'member' }), xml('item', { jid: 'x@@', affiliation: 'member' })))).condition, 'jid-malformed');
  const list = await alice.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: MUC_ADMIN }, xml('item', { affiliation: 'member' }))));
  assert.equal(list.getChild('query')!.getChildren('item').length, 0);
  assert.equal((await iqError(alice, xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: MUC_ADMIN })))).condition, 'bad-request');
});

test('bad configuration forms: bad-request or not-acceptable, the room unchanged', async () => {
  assert.equal((await iqError(alice, owner(xml('x', { xmlns: DATA, type: 'form' })))).condition, 'bad-request');
  const bad = (v: string, value: string) => owner(xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: v }, xml('value', {}, value))));
  assert.equal((await iqError(alice, bad('muc#roomconfig_maxusers', 'lots'))).condition, 'bad-request');
  assert.equal((await iqError(alice, bad('muc#roomconfig_persistentroom', 'perhaps'))).condition, 'bad-request');
  assert.equal((await iqError(alice, bad('muc#roomconfig_whois', 'everyone'))).condition, 'bad-request');
  assert.equal((await iqError(alice, bad('muc#roomconfig_roomname', 'x'.repeat(300)))).condition, 'not-acceptable');
  const other = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'urn:example:other')));
  assert.equal((await iqError(alice, owner(other))).condition, 'bad-request');
  await configure(alice, ROOM, { 'muc#roomconfig_roomname': 'Still fine' });
});

test('unknown payloads and addresses: service-unavailable, item-not-found; odd history requests are ignored', async () => {
  assert.equal((await iqError(alice, xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'urn:example:unknown' })))).condition, 'service-unavailable');
  assert.equal((await iqError(alice, xml('iq', { type: 'get', to: SERVICE }, xml('query', { xmlns: 'urn:example:unknown' })))).condition, 'service-unavailable');
  assert.equal((await iqError(alice, xml('iq', { type: 'get', to: `nothere@${SERVICE}` }, xml('query', { xmlns: MUC_OWNER })))).condition, 'item-not-found');
  assert.equal((await iqError(bob, xml('iq', { type: 'set', to: ROOM }, xml('subscribe', { xmlns: 'urn:xmpp:mucsub:0' })))).condition, 'not-allowed');
  await bob.send(xml('message', { to: `nothere@${SERVICE}`, type: 'groupchat', id: 'lost' }, xml('body', {}, 'hello?')));
  const lost = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'lost' && el.attrs.type === 'error', 3000, 'error');
  assert.equal(errorCondition(lost), 'item-not-found');
  const p = await join(bob, ROOM, 'Bob', { history: { maxstanzas: 'many', maxchars: '-5', seconds: 'x', since: 'yesterday' } });
  assert.deepEqual(codes(p), ['110']);
  // A registration without a nick is refused.
  assert.equal((await iqError(bob, xml('iq', { type: 'set', to: SERVICE }, xml('query', { xmlns: 'jabber:iq:register' })))).condition, 'not-acceptable');
});
