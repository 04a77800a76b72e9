// XEP-0077 for logged-in users: a password change (§3.3) and account removal (§3.2) from a real
// client, on by default as in ejabberd, and turned off or narrowed by c2s.inBandPasswordChange and
// c2s.inBandRemoval (ejabberd's mod_register access_remove).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, iqError, xml, type TestClient } from '../support/client.js';
import { accessCheck } from '../../src/modules/register/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { Element } from '@xmpp/xml';

const NS_REGISTER = 'jabber:iq:register';
const NS_PRIVATE = 'jabber:iq:private';

const register = (...children: Element[]) => xml('iq', { type: 'set' }, xml('query', { xmlns: NS_REGISTER }, ...children));
const passwordChange = (username: string, password: string) => register(xml('username', {}, username), xml('password', {}, password));
const remove = () => register(xml('remove'));

/** Stream errors a client receives (the server closing its stream). */
function streamErrors(c: TestClient): string[] {
  const conditions: string[] = [];
  c.xmpp.on('error', (err: any) => {
    if (err?.name === 'StreamError') conditions.push(err.condition);
  });
  return conditions;
}

async function loginFails(p: Parley, username: string, password: string): Promise<void> {
  await assert.rejects(connect({ service: `xmpp://127.0.0.1:${p.ports.c2s}`, username, password, resource: 'x' }), (err: any) => {
    assert.match(String(err?.condition ?? err?.message), /not-authorized/);
    return true;
  });
}

describe('default configuration: both allowed', () => {
  let parley: Parley;
  before(async () => {
    parley = await startParley();
    await parley.register('pat', 'other', 'rem', 'friend');
  });
  after(async () => {
    await parley?.close();
  });

  test('a get answers <registered/> with the username', async () => {
    const c = await parley.login('pat', 'get');
    const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_REGISTER })));
    const q = res.getChild('query', NS_REGISTER);
    assert.ok(q?.getChild('registered'));
    assert.equal(q?.getChildText('username'), 'pat');
  });

  test('a password change: the new password logs in, the old one no longer does, other sessions stay', async () => {
    const phone = await parley.login('pat', 'phone');
    const laptop = await parley.login('pat', 'laptop');
    const laptopErrors = streamErrors(laptop);
    // The username is prepared as a login is: "PAT" is pat.
    const res = await phone.iq(passwordChange('PAT', 'n3w-secret'));
    assert.equal(res.attrs.type, 'result');
    const again = await parley.login('pat', 'again', { password: 'n3w-secret' });
    assert.equal(again.jid, 'pat@localhost/again');
    await loginFails(parley, 'pat', 'patpw');
    assert.equal((await parley.api('check_password', { user: 'pat', host: 'localhost', password: 'n3w-secret' })).body, 0);
    await laptop.sync();
    assert.deepEqual(laptopErrors, [], 'the other session is not closed');
  });

  test("a password change naming another account, or without username or password, is refused and changes nothing", async () => {
    const c = await parley.login('other', 'r');
    assert.deepEqual(await iqError(c, passwordChange('pat', 'hijacked')), { condition: 'forbidden', type: 'auth' });
    await loginFails(parley, 'pat', 'hijacked');
    assert.equal((await iqError(c, register(xml('password', {}, 'nouser')))).condition, 'bad-request');
    assert.equal((await iqError(c, register(xml('username', {}, 'other')))).condition, 'bad-request');
    assert.equal((await iqError(c, passwordChange('other', ''))).condition, 'bad-request');
    assert.equal((await parley.api('check_password', { user: 'other', host: 'localhost', password: 'otherpw' })).body, 0);
    // Addressed to another account, the request is not the server's to answer for it.
    const to = await iqError(c, xml('iq', { type: 'set', to: 'pat@localhost' }, xml('query', { xmlns: NS_REGISTER }, xml('remove'))));
    assert.equal(to.condition, 'not-allowed');
    assert.equal((await parley.api('check_account', { user: 'pat', host: 'localhost' })).body, 0);
  });

  test('<remove/>: the result, then every session of the account ends; logins fail and its data is gone', async () => {
    const friend = await parley.login('friend', 'f');
    assert.equal((await parley.api('add_rosteritem', { localuser: 'rem', localhost: 'localhost', user: 'friend', host: 'localhost', nick: 'F', group: 'g', subs: 'both' })).body, 0);
    assert.equal((await parley.api('private_set', { user: 'rem', host: 'localhost', element: "<prefs xmlns='urn:example:rem'>x</prefs>" })).body, 0);
    const phone = await parley.login('rem', 'phone');
    const laptop = await parley.login('rem', 'laptop');
    const phoneErrors = streamErrors(phone);
    const laptopErrors = streamErrors(laptop);
    // Left in offline storage for the account: sent while no resource is available.
    await phone.send(xml('presence', { type: 'unavailable' }));
    await laptop.send(xml('presence', { type: 'unavailable' }));
    await phone.sync();
    await laptop.sync();
    await friend.send(xml('message', { to: 'rem@localhost', type: 'chat' }, xml('body', {}, 'stored')));
    await eventually(async () => (await parley.api('get_offline_count', { user: 'rem', server: 'localhost' })).body.value === 1, 3000, 'stored offline');

    const res = await phone.iq(remove());
    assert.equal(res.attrs.type, 'result', 'the removal is confirmed to the client');
    await eventually(() => phoneErrors.length > 0 && laptopErrors.length > 0, 3000, 'both streams closed');
    assert.deepEqual([phoneErrors[0], laptopErrors[0]], ['not-authorized', 'not-authorized']);
    assert.equal((await parley.api('check_account', { user: 'rem', host: 'localhost' })).body, 1);
    await loginFails(parley, 'rem', 'rempw');
    assert.deepEqual((await parley.api('connected_users')).body.filter((j: string) => j.startsWith('rem@')), []);

    // What the account held went with it: a new account of the same name starts empty.
    await parley.register('rem');
    assert.deepEqual((await parley.api('get_roster', { user: 'rem', server: 'localhost' })).body, []);
    assert.deepEqual((await parley.api('get_offline_count', { user: 'rem', server: 'localhost' })).body, { value: 0 });
    assert.deepEqual((await parley.api('private_get', { user: 'rem', host: 'localhost', element: 'prefs', ns: 'urn:example:rem' })).body, {
      res: `<query xmlns="${NS_PRIVATE}"><prefs xmlns="urn:example:rem"/></query>`,
    });
  });
});

describe('c2s.inBandPasswordChange and c2s.inBandRemoval', () => {
  let parley: Parley;
  before(async () => {
    parley = await startParley({ c2s: { inBandPasswordChange: { user: ['Lucky@LocalHost'] }, inBandRemoval: 'none' } });
    await parley.register('lucky', 'plain');
  });
  after(async () => {
    await parley?.close();
  });

  test('turned off: removal is forbidden and password changes not-allowed, and nothing changes', async () => {
    const c = await parley.login('plain', 'r');
    assert.deepEqual(await iqError(c, remove()), { condition: 'forbidden', type: 'auth' });
    assert.deepEqual(await iqError(c, passwordChange('plain', 'changed')), { condition: 'not-allowed', type: 'cancel' });
    await c.sync();
    assert.equal((await parley.api('check_account', { user: 'plain', host: 'localhost' })).body, 0);
    assert.equal((await parley.api('check_password', { user: 'plain', host: 'localhost', password: 'plainpw' })).body, 0);
    // The admin API is not concerned by the XMPP rule.
    assert.equal((await parley.api('change_password', { user: 'plain', host: 'localhost', newpass: 'viaapi' })).body, 0);
  });

  test('a list of accounts: the listed account (its JID prepared) may, the others may not', async () => {
    const lucky = await parley.login('lucky', 'r');
    assert.equal((await lucky.iq(passwordChange('lucky', 'lucky2'))).attrs.type, 'result');
    assert.equal((await parley.api('check_password', { user: 'lucky', host: 'localhost', password: 'lucky2' })).body, 0);
    assert.deepEqual(await iqError(lucky, remove()), { condition: 'forbidden', type: 'auth' });
  });
});

test('access rules: all, none, admin, a list; an entry that is not an account JID is a configuration error', () => {
  const admins = () => ['Admin@LocalHost'];
  assert.equal(accessCheck('all', admins)('x@localhost'), true);
  assert.equal(accessCheck('none', admins)('admin@localhost'), false);
  const admin = accessCheck('admin', admins);
  assert.deepEqual([admin('admin@localhost'), admin('x@localhost')], [true, false]);
  const listed = accessCheck({ user: ['a@localhost', 'B@LOCALHOST'] }, admins);
  assert.deepEqual([listed('a@localhost'), listed('b@localhost'), listed('c@localhost')], [true, true, false]);
  assert.throws(() => parseConfig({ c2s: { inBandRemoval: { user: ['localhost'] } } }), /c2s\.inBandRemoval\.user\.0.*expected an account JID/s);
  assert.throws(() => parseConfig({ c2s: { inBandPasswordChange: { user: ['a@localhost/res'] } } }), /c2s\.inBandPasswordChange\.user\.0/);
  assert.throws(() => parseConfig({ c2s: { inBandRemoval: 'some' } }), /c2s\.inBandRemoval/);
  assert.equal(parseConfig({}).c2s.inBandRemoval, 'all', 'on by default, as in ejabberd');
  assert.equal(parseConfig({}).c2s.inBandPasswordChange, 'all');
});
