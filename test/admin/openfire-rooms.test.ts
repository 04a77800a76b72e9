import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type Parley } from '../support/harness.js';
import { xml as el } from '../support/client.js';
import type { Element } from '../../src/xmpp/xml/element.js';
import { of, startOpenfire } from './openfire-support.js';

// Chat rooms over the Openfire REST API (the room service of the group chat module), joined by real
// clients; and the security audit log the API's own calls land in.

const MUC = 'http://jabber.org/protocol/muc';

describe('openfire api chat rooms and security log', () => {
  let p: Parley;
  before(async () => {
    p = await startOpenfire();
    await p.register('owner1', 'member1', 'stranger');
  });
  after(() => p.close());

  const join = async (user: string, room: string, nick: string): Promise<Element> => {
    const c = await p.login(user, `join-${room}-${nick}`);
    await c.send(el('presence', { to: `${room}@conference.localhost/${nick}` }, el('x', { xmlns: MUC })));
    const answer = await c.waitFor((s) => s.name === 'presence' && s.attrs.from === `${room}@conference.localhost/${nick}`, 3000, `${user} join answer`);
    return answer;
  };

  test('create with every field (XML), read back (JSON), members-only honoured for clients', async () => {
    const body =
      '<chatRoom><roomName>global-1</roomName><naturalName>global-1_test_hello</naturalName><description>Global chat room</description>' +
      '<subject>Global chat room subject</subject><maxUsers>0</maxUsers><persistent>true</persistent><publicRoom>true</publicRoom>' +
      '<registrationEnabled>false</registrationEnabled><canAnyoneDiscoverJID>true</canAnyoneDiscoverJID><canOccupantsChangeSubject>false</canOccupantsChangeSubject>' +
      '<canOccupantsInvite>false</canOccupantsInvite><canChangeNickname>false</canChangeNickname><logEnabled>true</logEnabled>' +
      '<loginRestrictedToNickname>false</loginRestrictedToNickname><membersOnly>true</membersOnly><moderated>false</moderated>' +
      '<broadcastPresenceRoles><broadcastPresenceRole>moderator</broadcastPresenceRole><broadcastPresenceRole>participant</broadcastPresenceRole></broadcastPresenceRoles>' +
      '<owners><owner>owner1@localhost</owner></owners><members><member>member1</member></members></chatRoom>';
    assert.equal((await of(p, 'POST', '/chatrooms', { body })).status, 201);
    const dup = await of(p, 'POST', '/chatrooms', { body, json: true });
    assert.equal(dup.status, 409);
    const r = await of(p, 'GET', '/chatrooms/global-1', { json: true });
    assert.equal(r.status, 200);
    assert.equal(r.json.naturalName, 'global-1_test_hello');
    assert.equal(r.json.description, 'Global chat room');
    assert.equal(r.json.subject, 'Global chat room subject');
    assert.equal(r.json.membersOnly, true);
    assert.equal(r.json.publicRoom, true);
    assert.equal(r.json.canAnyoneDiscoverJID, true);
    assert.deepEqual(r.json.broadcastPresenceRoles, ['moderator', 'participant']);
    assert.deepEqual(r.json.owners, ['owner1@localhost']);
    assert.deepEqual(r.json.members, ['member1@localhost']);
    const x = await of(p, 'GET', '/chatrooms/global-1');
    assert.equal(x.xml!.name, 'chatRoom');
    assert.deepEqual(x.xml!.getChild('owners')!.getChildren('owner').map((o) => o.text()), ['owner1@localhost']);
    // A member joins; a stranger is refused (members-only).
    const ok = await join('member1', 'global-1', 'mem');
    assert.notEqual(ok.attrs.type, 'error');
    const refused = await join('stranger', 'global-1', 'str');
    assert.equal(refused.attrs.type, 'error');
    assert.ok(refused.getChild('error')!.getChild('registration-required'));
    // Occupants and participants.
    const occ = await of(p, 'GET', '/chatrooms/global-1/occupants', { json: true });
    assert.deepEqual(occ.json.occupants.map((o: any) => o.jid), ['global-1@conference.localhost/mem']);
    const part = await of(p, 'GET', '/chatrooms/global-1/participants');
    assert.equal(part.xml!.getChildren('participant').length, 1);
    // The room's history is its archive: what an occupant said is there.
    const talker = await p.login('owner1', 'talk');
    await talker.send(el('presence', { to: 'global-1@conference.localhost/boss' }, el('x', { xmlns: MUC })));
    await talker.waitFor((s) => s.name === 'presence' && s.attrs.from === 'global-1@conference.localhost/boss', 3000, 'owner joins');
    await talker.send(el('message', { to: 'global-1@conference.localhost', type: 'groupchat' }, el('body', {}, 'kept in the archive')));
    await talker.waitFor((s) => s.name === 'message' && s.getChildText('body') === 'kept in the archive', 3000, 'reflection');
    const hist = await of(p, 'GET', '/chatrooms/global-1/chathistory', { json: true });
    assert.equal(hist.status, 200);
    assert.deepEqual(hist.json.messages.map((m: any) => [m.from, m.type, m.body]), [['global-1@conference.localhost/boss', 'groupchat', 'kept in the archive']]);
    const histXml = await of(p, 'GET', '/chatrooms/global-1/chathistory');
    assert.equal(histXml.xml!.getChildren('message')[0]!.getChildText('body'), 'kept in the archive');
  });

  test('pre-1.3 JSON create, list with type and search, update, roles by path, invitation, delete', async () => {
    const old = {
      roomName: 'hidden',
      naturalName: 'Hidden room',
      description: 'Not listed',
      publicRoom: 'false',
      persistent: 'true',
      maxUsers: '10',
      owners: { owner: 'owner1@localhost' },
      admins: { admin: ['member1@localhost'] },
    };
    assert.equal((await of(p, 'POST', '/chatrooms', { body: old })).status, 201);
    const pub = await of(p, 'GET', '/chatrooms', { json: true });
    assert.deepEqual(pub.json.chatRooms.map((r: any) => r.roomName), ['global-1']);
    const all = await of(p, 'GET', '/chatrooms?type=all', { json: true });
    assert.deepEqual(all.json.chatRooms.map((r: any) => r.roomName).sort(), ['global-1', 'hidden']);
    const search = await of(p, 'GET', '/chatrooms?type=all&search=hid', { json: true });
    assert.deepEqual(search.json.chatRooms.map((r: any) => r.roomName), ['hidden']);
    const h = await of(p, 'GET', '/chatrooms/hidden', { json: true });
    assert.equal(h.json.maxUsers, 10);
    assert.deepEqual(h.json.admins, ['member1@localhost']);
    assert.equal((await of(p, 'GET', '/chatrooms?servicename=nothere')).status, 404);
    // Update (1.3 JSON): public now, new description.
    assert.equal((await of(p, 'PUT', '/chatrooms/hidden', { body: { roomName: 'hidden', naturalName: 'Hidden room', description: 'Listed now', publicRoom: true } })).status, 200);
    assert.equal((await of(p, 'GET', '/chatrooms/hidden', { json: true })).json.description, 'Listed now');
    assert.equal((await of(p, 'GET', '/chatrooms', { json: true })).json.chatRooms.length, 2);
    // Roles by path.
    assert.equal((await of(p, 'POST', '/chatrooms/hidden/outcasts/stranger')).status, 201);
    assert.equal((await of(p, 'POST', '/chatrooms/hidden/members/stranger@localhost')).status, 201);
    let h2 = await of(p, 'GET', '/chatrooms/hidden', { json: true });
    assert.deepEqual(h2.json.members, ['stranger@localhost']);
    assert.deepEqual(h2.json.outcasts, []);
    assert.equal((await of(p, 'DELETE', '/chatrooms/hidden/members/stranger')).status, 200);
    h2 = await of(p, 'GET', '/chatrooms/hidden', { json: true });
    assert.deepEqual(h2.json.members, []);
    assert.equal((await of(p, 'POST', '/chatrooms/nothere/owners/stranger', { json: true })).json.exception, 'RoomNotFoundException');
    // Invitation: the user's client receives it.
    const s = await p.login('stranger', 'inv');
    assert.equal((await of(p, 'POST', '/chatrooms/hidden/invite/stranger', { body: '<mucInvitation><reason>Come</reason></mucInvitation>' })).status, 200);
    const inv = await s.waitFor((m) => m.name === 'message' && !!m.getChild('x', 'jabber:x:conference'), 3000, 'invitation');
    assert.equal(inv.getChild('x', 'jabber:x:conference')!.attrs.jid, 'hidden@conference.localhost');
    // Delete.
    assert.equal((await of(p, 'DELETE', '/chatrooms/hidden')).status, 200);
    const gone = await of(p, 'GET', '/chatrooms/hidden', { json: true });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.exception, 'RoomNotFoundException');
  });

  test('the security log holds the API calls, with offset, limit and time filters', async () => {
    const since = Math.floor(Date.now() / 1000);
    assert.equal((await of(p, 'POST', '/users', { body: { username: 'audited', password: 'pw' } })).status, 201);
    assert.equal((await of(p, 'DELETE', '/users/audited', { auth: 'not the secret' })).status, 401);
    const log = await eventually(async () => {
      const r = await of(p, 'GET', `/logs/security?startTime=${since}`, { json: true });
      const summaries = r.json.logs.map((l: any) => l.summary);
      return summaries.includes('POST /plugins/restapi/v1/users: ok') && summaries.includes('DELETE /plugins/restapi/v1/users/:username: 401') ? r : undefined;
    }, 5000, 'audit entries');
    assert.ok(log!.json.logs.every((l: any) => l.timestamp >= since));
    const one = await of(p, 'GET', '/logs/security?limit=1', { json: true });
    assert.equal(one.json.logs.length, 1);
    const x = await of(p, 'GET', '/logs/security?limit=2&offset=1');
    assert.equal(x.xml!.getChildren('log').length, 2);
    assert.equal((await of(p, 'GET', '/logs/security?endTime=1')).xml!.getChildren('log').length, 0);
    // A user created by Openfire is seen by /api.
    assert.ok(((await p.api('registered_users', { host: 'localhost' })).body as string[]).includes('audited'));
  });
});
