/**
 * Shared roster groups seen by real XMPP clients (ejabberd's mod_shared_roster): members of a group
 * see the members of the groups it displays, with presence both ways and nothing stored in their
 * rosters; changes arrive as roster pushes. Groups are changed through the module's service here
 * (the srg_* commands are tested in test/admin/srg-commands.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { xml, settle, type TestClient } from '../support/client.js';
import type { Element } from '@xmpp/xml';
import type { SharedGroupService } from '../../src/modules/sharedroster/index.js';

const NS_ROSTER = 'jabber:iq:roster';

let parley: Parley;
let groups: SharedGroupService;

before(async () => {
  parley = await startParley();
  groups = parley.server.service('sharedroster');
});
after(async () => {
  await parley.close();
});

const acct = (user: string) => ({ user, host: 'localhost' });
const ref = (id: string) => groups.ref('localhost', id);

async function rosterGet(c: TestClient, ver?: string): Promise<{ ver?: string; items: Record<string, { subscription: string; groups: string[] }> } | undefined> {
  const res = await c.iq(xml('iq', { type: 'get' }, xml('query', ver === undefined ? { xmlns: NS_ROSTER } : { xmlns: NS_ROSTER, ver })));
  const q = res.getChild('query', NS_ROSTER);
  if (!q) return undefined;
  const items: Record<string, { subscription: string; groups: string[] }> = {};
  for (const i of q.getChildren('item')) items[i.attrs.jid] = { subscription: i.attrs.subscription, groups: i.getChildren('group').map((g: Element) => g.text()).sort() };
  return { ver: q.attrs.ver, items };
}

const isPush = (jid: string, pred: (item: Element) => boolean = () => true) => (el: Element) => {
  if (!el.is('iq') || el.attrs.type !== 'set') return false;
  const item = el.getChild('query', NS_ROSTER)?.getChild('item');
  return item !== undefined && item.attrs.jid === jid && pred(item);
};
const isAvailableFrom = (bare: string) => (el: Element) => el.is('presence') && el.attrs.type === undefined && String(el.attrs.from).startsWith(`${bare}/`);
const isUnavailableFrom = (bare: string) => (el: Element) => el.is('presence') && el.attrs.type === 'unavailable' && String(el.attrs.from).startsWith(`${bare}/`);

test('members of a group displaying itself see each other, subscribed both ways, and exchange presence with no subscription stored', async () => {
  await parley.register('ann', 'ben');
  await groups.put(ref('team'), { name: 'Team', description: '', displayed: ['team'] });
  await groups.addMember(ref('team'), acct('ann'));
  await groups.addMember(ref('team'), acct('ben'));

  const ann = await parley.login('ann', 'a');
  const ben = await parley.login('ben', 'b');
  // ben's initial presence reaches ann, and ann's answer to ben's probe reaches ben.
  await ann.waitFor(isAvailableFrom('ben@localhost'), 3000, "ben's presence at ann");
  await ben.waitFor(isAvailableFrom('ann@localhost'), 3000, "ann's presence at ben");

  const r = await rosterGet(ann);
  assert.deepEqual(r!.items, { 'ben@localhost': { subscription: 'both', groups: ['Team'] } });
  assert.deepEqual((await rosterGet(ben))!.items, { 'ann@localhost': { subscription: 'both', groups: ['Team'] } });
  // Nothing is stored in their rosters.
  assert.deepEqual(await parley.server.storage.roster.list('ann@localhost'), []);
  // get_roster reports the roster as clients see it.
  const api = await parley.api('get_roster', { user: 'ann', server: 'localhost' });
  assert.deepEqual(api.body, [{ jid: 'ben@localhost', nick: '', subscription: 'both', ask: 'none', group: 'Team' }]);

  // A versioned get with the current version is answered empty; a group change changes the version.
  assert.equal(await rosterGet(ann, r!.ver), undefined);
  await groups.put(ref('team'), { name: 'The team', description: '', displayed: ['team'] });
  const renamed = await ann.waitFor(isPush('ben@localhost', (i) => i.getChildText('group') === 'The team'), 3000, 'push of the new group name');
  const after = await rosterGet(ann, r!.ver);
  assert.notEqual(after!.ver, r!.ver);
  assert.equal(renamed.getChild('query', NS_ROSTER)!.attrs.ver, after!.ver, 'the push carries the version a get then reports');
  assert.deepEqual(after!.items['ben@localhost'], { subscription: 'both', groups: ['The team'] });

  // Directed presence to a shared contact is not tracked as directed (it is a subscription): going
  // unavailable still reaches ben once, through the broadcast.
  await ann.send(xml('presence', { type: 'unavailable' }));
  await ben.waitFor(isUnavailableFrom('ann@localhost'), 3000, "ann's unavailable at ben");
  await ann.send(xml('presence', {}));
  await eventually(() => ben.received.filter(isAvailableFrom('ann@localhost')).length >= 2, 3000, "ann's presence again at ben");
});

test('a shared contact cannot be removed, and subscription requests between shared contacts are not delivered', async () => {
  await parley.register('cid', 'dot');
  await groups.put(ref('pair'), { name: 'Pair', description: '', displayed: ['pair'] });
  await groups.addMember(ref('pair'), acct('cid'));
  await groups.addMember(ref('pair'), acct('dot'));
  const cid = await parley.login('cid', 'c');
  const dot = await parley.login('dot', 'd');
  await rosterGet(cid);

  // The removal is accepted, and the client is told the item is still there.
  await cid.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'dot@localhost', subscription: 'remove' }))));
  await cid.waitFor(isPush('dot@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'the item pushed back');
  assert.deepEqual((await rosterGet(cid))!.items['dot@localhost'], { subscription: 'both', groups: ['Pair'] });

  // A personal group on a shared contact is kept besides the shared one; the shared one is not stored.
  await cid.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'dot@localhost', name: 'Dot' }, xml('group', {}, 'Pair'), xml('group', {}, 'Mine')))));
  await cid.waitFor(isPush('dot@localhost', (i) => i.attrs.name === 'Dot'), 3000, 'the renamed item');
  assert.deepEqual((await rosterGet(cid))!.items['dot@localhost'], { subscription: 'both', groups: ['Mine', 'Pair'] });
  assert.deepEqual((await parley.server.storage.roster.get('cid@localhost', 'dot@localhost'))!.groups, ['Mine']);

  await cid.send(xml('presence', { type: 'subscribe', to: 'dot@localhost' }));
  await settle(cid, dot);
  assert.equal(dot.received.filter((el) => el.is('presence') && el.attrs.type === 'subscribe').length, 0);
  assert.equal((await parley.server.storage.roster.get('cid@localhost', 'dot@localhost'))!.subscription, 'none', 'no state change');
});

test('a member added while online gets the members it now sees pushed, they get it, and presence flows both ways; removal pushes removals', async () => {
  await parley.register('eve', 'fay');
  await groups.put(ref('crew'), { name: 'Crew', description: 'the crew', displayed: ['crew'] });
  await groups.addMember(ref('crew'), acct('eve'));
  const eve = await parley.login('eve', 'e');
  const fay = await parley.login('fay', 'f');
  await rosterGet(eve);
  await rosterGet(fay);

  await groups.addMember(ref('crew'), acct('fay'));
  await fay.waitFor(isPush('eve@localhost', (i) => i.attrs.subscription === 'both' && i.getChildText('group') === 'Crew'), 3000, 'eve pushed to fay');
  await eve.waitFor(isPush('fay@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'fay pushed to eve');
  await eve.waitFor(isAvailableFrom('fay@localhost'), 3000, "fay's presence at eve");
  await fay.waitFor(isAvailableFrom('eve@localhost'), 3000, "eve's presence at fay");

  await groups.removeMember(ref('crew'), acct('fay'));
  await fay.waitFor(isPush('eve@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'eve removed at fay');
  await eve.waitFor(isPush('fay@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'fay removed at eve');
  await eve.waitFor(isUnavailableFrom('fay@localhost'), 3000, 'fay unavailable at eve');
  assert.deepEqual((await rosterGet(fay))!.items, {});

  // Deleting the group takes it out of its members' rosters too.
  await groups.addMember(ref('crew'), acct('fay'));
  await eve.waitFor(isPush('fay@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'fay back at eve');
  const pushes = eve.received.length;
  await groups.delete(ref('crew'));
  await eventually(() => eve.received.slice(pushes).some(isPush('fay@localhost', (i) => i.attrs.subscription === 'remove')), 3000, 'removal after delete');
  assert.deepEqual((await rosterGet(eve))!.items, {});
});

test('groups displayed to others: members of "staff" see "clients" without the clients seeing them', async () => {
  await parley.register('gus', 'hal');
  await groups.put(ref('staff'), { name: 'Staff', description: '', displayed: ['clients'] });
  await groups.put(ref('clients'), { name: 'Clients', description: '', displayed: [] });
  await groups.addMember(ref('staff'), acct('gus'));
  await groups.addMember(ref('clients'), acct('hal'));
  const gus = await parley.login('gus', 'g');
  const hal = await parley.login('hal', 'h');
  assert.deepEqual((await rosterGet(gus))!.items, { 'hal@localhost': { subscription: 'both', groups: ['Clients'] } });
  assert.deepEqual((await rosterGet(hal))!.items, {});
});

test('@all@: every account of the host is a member, a new account is pushed to who sees the group, a removed one taken away', async () => {
  await parley.register('ike');
  await groups.put(ref('everyone'), { name: 'Everyone', description: '', displayed: ['everyone'] });
  await groups.addMember(ref('everyone'), 'allUsers');
  const ike = await parley.login('ike', 'i');
  const seen = (await rosterGet(ike))!.items;
  for (const u of ['admin', 'ann', 'ben', 'hal']) assert.deepEqual(seen[`${u}@localhost`], { subscription: 'both', groups: ['Everyone'] }, u);
  assert.equal(seen['ike@localhost'], undefined, 'not oneself');

  await parley.register('jon');
  await ike.waitFor(isPush('jon@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'the new account pushed');
  const r = await parley.api('unregister', { user: 'jon', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  await ike.waitFor(isPush('jon@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'the removed account pushed away');
  await groups.removeMember(ref('everyone'), 'allUsers');
  await ike.waitFor(isPush('ann@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'the group emptied');
});

test('@online@: an account is a member while it has a session', async () => {
  await parley.register('kim', 'lou');
  await groups.put(ref('here'), { name: 'Here', description: '', displayed: ['here'] });
  await groups.addMember(ref('here'), 'onlineUsers');
  const kim = await parley.login('kim', 'k');
  assert.equal((await rosterGet(kim))!.items['lou@localhost'], undefined, 'lou is offline');
  const lou = await parley.login('lou', 'l');
  await kim.waitFor(isPush('lou@localhost', (i) => i.attrs.subscription === 'both'), 3000, 'lou online pushed to kim');
  await kim.waitFor(isAvailableFrom('lou@localhost'), 3000, "lou's presence at kim");
  assert.deepEqual((await rosterGet(lou))!.items['kim@localhost'], { subscription: 'both', groups: ['Here'] });
  await lou.stop();
  await kim.waitFor(isPush('lou@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'lou offline pushed to kim');
  await kim.waitFor(isUnavailableFrom('lou@localhost'), 3000, 'lou unavailable at kim');
  await groups.delete(ref('here'));
});

test('removing an account removes it from its groups and from the rosters that showed it', async () => {
  await parley.register('max', 'ned');
  await groups.put(ref('duo'), { name: 'Duo', description: '', displayed: ['duo'] });
  await groups.addMember(ref('duo'), acct('max'));
  await groups.addMember(ref('duo'), acct('ned'));
  const max = await parley.login('max', 'm');
  await rosterGet(max);
  const r = await parley.api('unregister', { user: 'ned', host: 'localhost' });
  assert.equal(r.status, 200, r.text);
  await max.waitFor(isPush('ned@localhost', (i) => i.attrs.subscription === 'remove'), 3000, 'ned pushed away');
  assert.deepEqual((await groups.members(ref('duo'))).accounts, [acct('max')]);
  // Registered again, the name is a new account: not a member.
  await parley.register('ned');
  assert.deepEqual((await groups.members(ref('duo'))).accounts, [acct('max')]);
});
