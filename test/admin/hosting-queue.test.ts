// The hosting API's queue: changes of one batch share a service token and are applied together;
// limits per token and per key; and a restart while changes are pending (or claimed) applies them
// afterwards, exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect } from '../support/client.js';
import { Server } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import { hosting, hostingConfig, tokenOf, usersOf, PANEL_KEY } from './hosting-support.js';

let parley: Parley;
const SECOND_KEY = 'second-panel-key-0123456789';
const servers: Server[] = [];

before(async () => {
  // A long delay: nothing is applied unless the test says so (applyDue) or restarts with a short one.
  const keys = [...((hostingConfig().hosting as any).keys as unknown[]), { name: 'second', key: SECOND_KEY, domains: ['localhost'] }];
  parley = await startParley(hostingConfig({ applyDelay: 600, maxChangesPerToken: 3, maxPendingPerKey: 5, keys }));
});

after(async () => {
  for (const s of servers) await s.stop();
  await parley?.close();
});

const portOf = (s: Server) => s.addresses.http!.port;
const call = (s: Server, params: Record<string, string>) => hosting(portOf(s), { key: PANEL_KEY, ...params }, 'POST');
const add = (s: Server, user: string) => call(s, { cmd: 'jabber-add_user', username: user, domain: 'localhost', password: `${user}pw` });
const statuses = async (s: Server) => usersOf(await call(s, { cmd: 'jabber-list_users_no_pw' })).filter((l) => !l.startsWith('admin@'));

/** A new node on the same data (directory or PostgreSQL schema), with another apply delay. */
async function restart(from: Server, applyDelay: number, hostingExtra: Record<string, unknown> = {}): Promise<Server> {
  await from.stop();
  const config = parseConfig(JSON.parse(JSON.stringify({ ...from.config, hosting: { ...from.config.hosting, applyDelay, ...hostingExtra } })));
  const s = new Server({ config, logger: pino({ level: 'silent' }) });
  servers.push(s);
  await s.start();
  return s;
}

test('one batch, one token, applied together; a full token or an applied one opens another; a full key is refused', async () => {
  const s = parley.server;
  const [t1, t2, t3] = [tokenOf(await add(s, 'u1')), tokenOf(await add(s, 'u2')), tokenOf(await add(s, 'u3'))];
  assert.equal(t2, t1);
  assert.equal(t3, t1);
  // maxChangesPerToken (3): the fourth change opens a new token.
  const t4 = tokenOf(await add(s, 'u4'));
  assert.notEqual(t4, t1);
  tokenOf(await add(s, 'u5'));
  // maxPendingPerKey (5): the sixth waits for nothing; it is refused, with the reason after a tab.
  const full = await add(s, 'u6');
  assert.equal(full.lines[0]![0], 'error');
  assert.deepEqual(full.lines[1], ['slow_down_bucko', '5 changes are waiting already (hosting.maxPendingPerKey)']);
  assert.deepEqual(await statuses(s), ['u1@localhost ******** pending-active', 'u2@localhost ******** pending-active', 'u3@localhost ******** pending-active', 'u4@localhost ******** pending-active', 'u5@localhost ******** pending-active']);
  // Not due yet: nothing happens.
  await s.hosting!.applyDue();
  assert.equal((await statuses(s)).filter((l) => l.endsWith(' active')).length, 0);
  assert.deepEqual((await parley.api('registered_users', { host: 'localhost' })).body, ['admin']);
});

test('a restart while changes are pending applies them afterwards, exactly once; one claimed by the stopped node too', async () => {
  let s = parley.server;
  await parley.register('gus');
  // The first key is full: another key's change, under its own token.
  const t = tokenOf(await hosting(portOf(s), { key: SECOND_KEY, cmd: 'jabber-deactivate_user', username: 'gus', domain: 'localhost' }));
  assert.ok((await statuses(s)).includes('gus@localhost ******** pending-inactive'));
  // The node stops in the middle of applying the token of u1-u3: it holds the claim.
  const [first] = await s.storage.hosting.pending(['localhost']);
  assert.ok(await s.storage.hosting.claim(first!.token, s.nodeName, Date.now(), 0));

  s = await restart(s, 600);
  // Still pending under a long delay, the claimed token included.
  assert.equal((await statuses(s)).filter((l) => l.includes('pending')).length, 6);
  s = await restart(s, 0.2);
  await eventually(async () => (await statuses(s)).every((l) => !l.includes('pending')), 5000, 'every change applied');
  assert.deepEqual(await statuses(s), [
    'gus@localhost ******** inactive',
    'u1@localhost ******** active',
    'u2@localhost ******** active',
    'u3@localhost ******** active',
    'u4@localhost ******** active',
    'u5@localhost ******** active',
  ]);
  assert.equal(t.length, 19);
  const users = (await fetch(`http://127.0.0.1:${portOf(s)}/api/registered_users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`admin@localhost:${parley.adminPassword}`).toString('base64') },
    body: JSON.stringify({ host: 'localhost' }),
  }).then((r) => r.json())) as string[];
  assert.deepEqual(users, ['admin', 'gus', 'u1', 'u2', 'u3', 'u4', 'u5']);
  const u1 = await connect({ service: `xmpp://127.0.0.1:${s.addresses.c2s!.port}`, username: 'u1', password: 'u1pw', resource: 'r' });
  await u1.stop();

  // Exactly once: the applied changes are gone from the queue. An account removed since is not
  // created again by another restart, and the deactivated one reactivated meanwhile stays active.
  assert.deepEqual(await s.storage.hosting.pending(['localhost']), []);
  await s.accounts.unregister({ user: 'u2', host: 'localhost' });
  await s.accounts.enable({ user: 'gus', host: 'localhost' });
  s = await restart(s, 0.01);
  await new Promise((r) => setTimeout(r, 300));
  await s.hosting!.applyDue();
  assert.ok(!(await statuses(s)).some((l) => l.startsWith('u2@')));
  assert.ok((await statuses(s)).includes('gus@localhost ******** active'));
  // A new change after all that: a new token, applied.
  const again = tokenOf(await add(s, 'u6'));
  assert.notEqual(again, t);
  await eventually(async () => (await statuses(s)).includes('u6@localhost ******** active'), 5000, 'u6 active');
});

test('hosting.maxListedUsers: a larger listing is refused, with the reason', async () => {
  const last = servers.at(-1)!;
  const s = await restart(last, 600, { maxListedUsers: 3 });
  const r = await call(s, { cmd: 'jabber-list_users_no_pw' });
  assert.deepEqual(r.lines, [['error'], ['slow_down_bucko', 'more than 3 users (hosting.maxListedUsers)']]);
  // The domains are still listed.
  assert.equal((await call(s, { cmd: 'jabber-list_valid_domains' })).text, 'success\ndomain\nlocalhost\n');
});
