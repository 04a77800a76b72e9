// Data portability (issue 8 item 4) over real HTTP and real XMPP logins: a Prosody 0.12 data
// directory (test/fixtures/prosody-0.12, made by a real Prosody, see its README), ejabberd 23.01's
// PIEFXIS format with its doubly encoded SCRAM keys, Parley's own export imported into a fresh
// Parley, jabberd14 spool files, and what an import says per account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley, type Parley } from '../support/harness.js';
import { runCtl } from '../support/ctl.js';
import { deriveScramCredentials } from '../../src/c2s/sasl.js';
import type { RosterItem } from '../../src/modules/roster/index.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const FIXTURES = join(ROOT, 'test/fixtures');

const servers: Parley[] = [];
after(async () => {
  for (const p of servers) await p.close();
});

async function server(config: Record<string, unknown> = {}): Promise<Parley> {
  const p = await startParley(config);
  servers.push(p);
  return p;
}

async function ok(p: Parley, command: string, args: Record<string, unknown>): Promise<any> {
  const r = await p.api(command, args);
  assert.equal(r.status, 200, `${command} ${JSON.stringify(args)} → ${r.status} ${r.text}`);
  return r.body;
}

function rosterOf(p: Parley, user: string): Promise<RosterItem[]> {
  return p.server.service('roster').list({ user, host: 'localhost' });
}

const byJid = (items: RosterItem[]) => Object.fromEntries(items.map((i) => [i.jid, { name: i.name, subscription: i.subscription, askOut: i.askOut, pendingIn: i.pendingIn, groups: [...i.groups].sort(), visible: i.visible }]));

test('import_prosody: a real Prosody 0.12 directory; old passwords log in; every roster state kept', async () => {
  const p = await server();
  cpSync(join(FIXTURES, 'prosody-0.12'), join(p.dataDir, 'prosody'), { recursive: true });
  assert.equal(await ok(p, 'import_prosody', { dir: 'prosody' }), 0);
  assert.deepEqual((await ok(p, 'registered_users', { host: 'localhost' })).sort(), ['admin', 'alice', 'bob', 'jürgen', 'yann', 'zoe']);

  assert.deepEqual(byJid(await rosterOf(p, 'alice')), {
    'bob@localhost': { name: 'Bobby', subscription: 'both', askOut: false, pendingIn: false, groups: ['Friends'], visible: true },
    'carol@example.com': { name: 'Carol', subscription: 'none', askOut: true, pendingIn: false, groups: ['Work'], visible: true },
    // A contact's request on a named, grouped item: ejabberd's import_prosody drops it.
    'zoe@localhost': { name: 'Zoe', subscription: 'none', askOut: false, pendingIn: true, groups: ['Climbing'], visible: true },
    // A request from someone not in the roster: kept, not shown.
    'yann@localhost': { name: '', subscription: 'none', askOut: false, pendingIn: true, groups: [], visible: false },
  });
  assert.deepEqual(await ok(p, 'get_vcard', { user: 'alice', host: 'localhost', name: 'FN' }), { content: 'Alice Liddell' });
  const priv = await ok(p, 'private_get', { user: 'alice', host: 'localhost', element: 'storage', ns: 'storage:rosternotes' });
  assert.match(priv.res, /friend from school/);
  assert.deepEqual(await ok(p, 'get_offline_count', { user: 'bob', server: 'localhost' }), { value: 1 });

  // Prosody's SCRAM-SHA-1 keys (hex, UUID salt, 10,000 iterations) serve a SCRAM-SHA-1 login.
  const alice = await p.login('alice', 'r', { password: 'alicepw', mechanism: 'SCRAM-SHA-1' });
  assert.equal(alice.mechanism, 'SCRAM-SHA-1');
  // The first PLAIN login adds the keys of the other mechanism.
  const before = await p.server.accounts.storedCredentials({ user: 'bob', host: 'localhost' });
  assert.equal(before?.scramSha256, undefined);
  const bob = await p.login('bob', 'r', { password: 'bobpw' });
  const message = await bob.waitFor((el) => el.is('message'), 5000, 'the offline message');
  assert.equal(message.getChildText('body'), 'Grüße, while you were away');
  const after_ = await p.server.accounts.storedCredentials({ user: 'bob', host: 'localhost' });
  assert.ok(after_?.scramSha256 && after_.scramSha1, 'both mechanisms now');
  // A non-ASCII user from a percent-encoded file name, with his old password.
  assert.equal(await ok(p, 'check_password', { user: 'jürgen', host: 'localhost', password: 'jürgenpw' }), 0);

  // Again: every account exists and is skipped; nothing changes and the answer is still success.
  assert.equal(await ok(p, 'import_prosody', { dir: 'prosody' }), 0);
  assert.equal((await rosterOf(p, 'alice')).length, 4);
});

test("import_piefxis: a real export of Debian's ejabberd 23.01; its users log in with SCRAM-SHA-1 and keep every roster state", async () => {
  const p = await server();
  cpSync(join(FIXTURES, 'ejabberd-23.01'), join(p.dataDir, 'ej'), { recursive: true });
  assert.equal(await ok(p, 'import_piefxis', { file: 'ej/20261201-013956.xml' }), 0);
  assert.deepEqual((await ok(p, 'registered_users', { host: 'localhost' })).sort(), ['admin', 'juliet', 'mercutio', 'romeo', 'tybalt']);
  assert.deepEqual(byJid(await rosterOf(p, 'romeo')), {
    'juliet@localhost': { name: 'Juliet', subscription: 'both', askOut: false, pendingIn: false, groups: ['Capulets'], visible: true },
    'mercutio@localhost': { name: 'Mercutio', subscription: 'none', askOut: true, pendingIn: false, groups: ['Friends'], visible: true },
    'tybalt@localhost': { name: '', subscription: 'none', askOut: false, pendingIn: true, groups: [], visible: false },
  });
  // ejabberd writes romeo's request into mercutio's data too, as a presence: kept as mercutio's pending request.
  assert.equal((await rosterOf(p, 'mercutio')).find((i) => i.jid === 'romeo@localhost')?.pendingIn, true);
  assert.deepEqual(await ok(p, 'get_vcard', { user: 'romeo', host: 'localhost', name: 'FN' }), { content: 'Romeo Montague' });
  assert.match((await ok(p, 'private_get', { user: 'romeo', host: 'localhost', element: 'storage', ns: 'storage:bookmarks' })).res, /verona@conference.localhost/);
  const romeo = await p.login('romeo', 'r', { password: 'romeopw', mechanism: 'SCRAM-SHA-1' });
  assert.equal(romeo.mechanism, 'SCRAM-SHA-1');
  const juliet = await p.login('juliet', 'r', { password: 'julietpw', mechanism: 'SCRAM-SHA-1' });
  const m = await juliet.waitFor((el) => el.is('message'), 5000, 'the offline message');
  assert.equal(m.getChildText('body'), 'Wherefore art thou');
});

/** A PIEFXIS user as ejabberd 23.01 writes it with SCRAM storage: keys in base64 twice. */
function ejabberdUser(name: string, password: string, extra = ''): string {
  const c = deriveScramCredentials(password, 'sha1', 4096);
  const twice = (b64: string) => Buffer.from(b64).toString('base64');
  return `<user name='${name}'><scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${twice(c.salt)}</salt><server-key>${twice(c.serverKey)}</server-key><stored-key>${twice(c.storedKey)}</stored-key></scram-credentials>${extra}</user>`;
}

test('import_piefxis: ejabberd 23.01 files (main file with xi:include, SCRAM keys encoded twice, plain passwords); users log in', async () => {
  const p = await server();
  const dir = join(p.dataDir, 'ej');
  mkdirSync(dir);
  writeFileSync(join(dir, '20231114-101500.xml'), "<?xml version='1.0' encoding='UTF-8'?><server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='20231114-101500_localhost.xml'/></server-data>");
  writeFileSync(join(dir, '20231114-101500_localhost.xml'), `<?xml version='1.0' encoding='UTF-8'?><host xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude' jid='localhost'>` +
    ejabberdUser('romeo', 'romeopw',
      "<offline-messages><message xmlns='jabber:client' from='juliet@localhost/balcony' to='romeo@localhost' type='chat'><body>Wherefore art thou</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='2023-11-14T10:00:00.000000Z'>Offline Storage</delay></message></offline-messages>" +
      "<vCard xmlns='vcard-temp'><FN>Romeo Montague</FN></vCard>" +
      "<query xmlns='jabber:iq:roster'><item jid='juliet@localhost' name='Juliet' subscription='both'><group>Capulets</group></item><item jid='mercutio@localhost' subscription='none' ask='subscribe'/></query>" +
      "<presence xmlns='jabber:client' from='tybalt@localhost' to='romeo@localhost' type='subscribe'/>" +
      "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='verona@conference.localhost' name='Verona'/></storage></query>") +
    "<user name='juliet' password='julietpw'/>" +
    "</host>");
  assert.equal(await ok(p, 'import_piefxis', { file: 'ej/20231114-101500.xml' }), 0);
  assert.deepEqual(byJid(await rosterOf(p, 'romeo')), {
    'juliet@localhost': { name: 'Juliet', subscription: 'both', askOut: false, pendingIn: false, groups: ['Capulets'], visible: true },
    // ejabberd's own import drops this pending outgoing request.
    'mercutio@localhost': { name: '', subscription: 'none', askOut: true, pendingIn: false, groups: [], visible: true },
    'tybalt@localhost': { name: '', subscription: 'none', askOut: false, pendingIn: true, groups: [], visible: false },
  });
  assert.deepEqual(await ok(p, 'get_vcard', { user: 'romeo', host: 'localhost', name: 'FN' }), { content: 'Romeo Montague' });
  assert.match((await ok(p, 'private_get', { user: 'romeo', host: 'localhost', element: 'storage', ns: 'storage:bookmarks' })).res, /verona@conference.localhost/);
  const romeo = await p.login('romeo', 'r', { password: 'romeopw', mechanism: 'SCRAM-SHA-1' });
  const m = await romeo.waitFor((el) => el.is('message'), 5000, 'the offline message');
  assert.equal(m.getChildText('body'), 'Wherefore art thou');
  assert.equal(m.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, '2023-11-14T10:00:00.000000Z');
  await p.login('juliet', 'r', { password: 'julietpw' });
});

test('an existing account is skipped and the rest imported; refusals are said per account; bad files and paths are refused', async () => {
  const p = await server();
  await p.register('juliet');
  writeFileSync(join(p.dataDir, 'mixed.xml'), `<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>${ejabberdUser('juliet', 'other')}${ejabberdUser('benvolio', 'benpw')}<user name='nopass'/></host><host jid='elsewhere.test'><user name='x' password='y'/></host></server-data>`);
  const r = await ok(p, 'import_piefxis', { file: 'mixed.xml' });
  assert.equal(r, 1, 'some accounts were refused');
  assert.equal(await ok(p, 'check_password', { user: 'juliet', host: 'localhost', password: 'julietpw' }), 0, 'the existing account kept its password');
  assert.equal(await ok(p, 'check_password', { user: 'benvolio', host: 'localhost', password: 'benpw' }), 0, 'the next account was imported');
  assert.ok(!(await ok(p, 'registered_users', { host: 'localhost' })).includes('nopass'));

  writeFileSync(join(p.dataDir, 'broken.xml'), "<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='a' password='b'>");
  const broken = await p.api('import_piefxis', { file: 'broken.xml' });
  assert.equal(broken.status, 400);
  assert.match(broken.text, /Cannot import broken.xml: .*truncated/);
  writeFileSync(join(p.dataDir, 'dtd.xml'), "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><server-data xmlns='urn:xmpp:pie:0'/>");
  assert.equal((await p.api('import_piefxis', { file: 'dtd.xml' })).status, 400);
  writeFileSync(join(p.dataDir, 'escape.xml'), "<server-data xmlns='urn:xmpp:pie:0'><xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='../../etc/passwd'/></server-data>");
  assert.match((await p.api('import_piefxis', { file: 'escape.xml' })).text, /outside/);
  assert.equal((await p.api('import_piefxis', { file: '/etc/passwd' })).status, 403);
  assert.equal((await p.api('import_piefxis', { file: 'missing.xml' })).status, 404);
  assert.equal((await p.api('export_piefxis', { dir: '/tmp' })).status, 403);
});

test('round trip: Parley → export_piefxis → a fresh Parley → import_piefxis keeps accounts, rosters, vCards, private data and offline messages', async () => {
  const a = await server();
  await a.register('alice', 'bob', 'carol');
  await ok(a, 'add_rosteritem', { localuser: 'alice', localhost: 'localhost', user: 'bob', host: 'localhost', nick: 'Bob B', group: 'Friends;Work', subs: 'both' });
  const roster = a.server.service('roster');
  await roster.importItems({ user: 'alice', host: 'localhost' }, [
    { jid: 'dave@remote.test', name: 'Dave', subscription: 'none', askOut: true, pendingIn: false, approved: false, groups: ['Far'], visible: true },
    // A contact's request on a named item: ejabberd's export drops the name and groups.
    { jid: 'erin@remote.test', name: 'Erin', subscription: 'none', askOut: false, pendingIn: true, approved: false, groups: ['Maybe'], visible: true },
    { jid: 'frank@remote.test', name: '', subscription: 'from', askOut: false, pendingIn: false, approved: false, groups: [], visible: true },
    { jid: 'gina@remote.test', name: '', subscription: 'none', askOut: false, pendingIn: true, approved: false, groups: [], visible: false },
  ]);
  await ok(a, 'set_vcard', { user: 'alice', host: 'localhost', name: 'FN', content: 'Alice <A> & Co' });
  await ok(a, 'private_set', { user: 'alice', host: 'localhost', element: "<storage xmlns='storage:rosternotes'><note jid='bob@localhost'>Ünïcode &amp; more</note></storage>" });
  await ok(a, 'send_message', { type: 'chat', from: 'bob@localhost', to: 'carol@localhost', subject: '', body: 'while you were out' });
  await ok(a, 'send_message', { type: 'chat', from: 'bob@localhost', to: 'carol@localhost', subject: '', body: 'second' });
  mkdirSync(join(a.dataDir, 'export'));
  assert.equal(await ok(a, 'export_piefxis', { dir: 'export' }), 0);
  const files = readdirSync(join(a.dataDir, 'export')).sort();
  assert.equal(files.length, 2);
  assert.match(files[0]!, /^\d{8}-\d{6}\.xml$/);
  assert.match(files[1]!, /^\d{8}-\d{6}_localhost\.xml$/);
  const hostFile = readFileSync(join(a.dataDir, 'export', files[1]!), 'utf8');
  assert.match(hostFile, /<scram-credentials xmlns="urn:xmpp:pie:0#scram" mechanism="SCRAM-SHA-1">/);
  assert.ok(!hostFile.includes('alicepw'), 'no clear password when none is stored');

  const b = await server();
  cpSync(join(a.dataDir, 'export'), join(b.dataDir, 'import'), { recursive: true });
  assert.equal(await ok(b, 'import_piefxis', { file: `import/${files[0]}` }), 0);
  assert.deepEqual((await ok(b, 'registered_users', { host: 'localhost' })).sort(), ['admin', 'alice', 'bob', 'carol']);
  for (const user of ['alice', 'bob', 'carol']) assert.deepEqual(byJid(await rosterOf(b, user)), byJid(await rosterOf(a, user)), `roster of ${user}`);
  assert.equal((await rosterOf(b, 'alice')).length, 5);
  assert.deepEqual(await ok(b, 'get_vcard', { user: 'alice', host: 'localhost', name: 'FN' }), { content: 'Alice <A> & Co' });
  assert.deepEqual(
    await ok(b, 'private_get', { user: 'alice', host: 'localhost', element: 'storage', ns: 'storage:rosternotes' }),
    await ok(a, 'private_get', { user: 'alice', host: 'localhost', element: 'storage', ns: 'storage:rosternotes' }),
  );
  assert.deepEqual(await ok(b, 'get_offline_count', { user: 'carol', server: 'localhost' }), { value: 2 });
  // The same passwords, with either mechanism.
  await b.login('alice', 'r', { password: 'alicepw', mechanism: 'SCRAM-SHA-1' });
  const carol = await b.login('carol', 'r', { password: 'carolpw' });
  await carol.waitFor((el) => el.is('message') && el.getChildText('body') === 'second', 5000, 'both offline messages');
});

test('import_dir and import_file: jabberd14 spool files', async () => {
  const p = await server();
  const spool = join(p.dataDir, 'spool', 'localhost');
  mkdirSync(spool, { recursive: true });
  writeFileSync(join(spool, 'romeo.xml'), `<?xml version='1.0'?><xdb>
  <password xmlns='jabber:iq:auth' xdbns='jabber:iq:auth'>romeopw</password>
  <query xmlns='jabber:iq:roster' xdbns='jabber:iq:roster'>
    <item jid='juliet@localhost' name='Juliet' subscription='both'><group>Capulets</group></item>
    <item jid='rosaline@localhost' subscription='none' subscribe='please'/>
  </query>
  <vCard xmlns='vcard-temp' xdbns='vcard-temp'><FN>Romeo</FN></vCard>
  <foo xmlns='jabber:x:offline' xdbns='jabber:x:offline'><message from='nurse@localhost' to='romeo@localhost'><body>Come</body></message></foo>
  <storage xmlns='storage:bookmarks' xdbns='storage:bookmarks'><url name='Verona' url='https://verona.example'/></storage>
</xdb>`);
  writeFileSync(join(spool, 'broken.xml'), '<xdb><password');
  const r = await p.api('import_dir', { file: 'spool' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /1 imported, 0 skipped, 1 refused/);
  assert.deepEqual(byJid(await rosterOf(p, 'romeo')), {
    'juliet@localhost': { name: 'Juliet', subscription: 'both', askOut: false, pendingIn: false, groups: ['Capulets'], visible: true },
    'rosaline@localhost': { name: '', subscription: 'none', askOut: false, pendingIn: true, groups: [], visible: false },
  });
  assert.deepEqual(await ok(p, 'get_vcard', { user: 'romeo', host: 'localhost', name: 'FN' }), { content: 'Romeo' });
  assert.match((await ok(p, 'private_get', { user: 'romeo', host: 'localhost', element: 'storage', ns: 'storage:bookmarks' })).res, /verona.example/);
  await p.login('romeo', 'r', { password: 'romeopw' });
  // import_file of an account that now exists: skipped, still Success.
  assert.equal(await ok(p, 'import_file', { file: 'spool/localhost/romeo.xml' }), 'Success');
});

test('parley ctl import_piefxis reports each account and the totals on stderr', async () => {
  const p = await server();
  writeFileSync(join(p.dataDir, 'two.xml'), `<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='u1' password='p1'/><user name='u2' password='p2'/><user name='admin' password='x'/></host></server-data>`);
  const configFile = join(p.dataDir, 'parley.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(p.dataDir)}\nlogLevel: silent\n`);
  const out = await runCtl(configFile, ['import_piefxis', 'two.xml']);
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.match(out.stderr, /imported u1@localhost\nimported u2@localhost\nskipped admin@localhost: already exists\n/);
  assert.match(out.stderr, /import_piefxis two.xml: 2 imported, 1 skipped, 0 refused/);
});
