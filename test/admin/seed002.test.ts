// The seven curl calls of /work/shared/seeds/002 (a real client's ejabberd API usage), run with the
// real curl binary exactly as written, against Parley's HTTPS listener. Only the host, port,
// credentials and domain are changed: root@control-xmpp-dev.zequenze.com:ADMIN_API_TOKEN →
// admin@localhost:<password>, the domain → localhost, 127.0.0.1:5443 → 127.0.0.1:<https port>.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startParley, eventually, type Parley } from '../support/harness.js';
import { connect, xml, type TestClient } from '../support/client.js';

const USER = 'hy400219100000286';
let parley: Parley;
let creds: string;
let base: string;
const clients: TestClient[] = [];

function curl(args: string[]): Promise<{ stdout: string; json: any }> {
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(new Error(`curl ${args.join(' ')}: ${err.message}`));
      let json: any;
      try {
        json = JSON.parse(stdout);
      } catch {
        return reject(new Error(`curl ${args.at(-1)}: not JSON: ${stdout}`));
      }
      resolve({ stdout, json });
    });
  });
}

// Calls 1, 3, 5, 6, 7: POST with a JSON body, as written in the seed (spacing included).
const postCall = (command: string, body: string) =>
  curl(['-k', '--basic', '--user', creds, '-H', 'Content-Type: application/json', '-d', body, `${base}/${command}`]);
// Calls 2 and 4: a plain GET.
const getCall = (command: string) => curl(['-k', '--basic', '--user', creds, `${base}/${command}`]);

before(async () => {
  parley = await startParley();
  creds = `admin@localhost:${parley.adminPassword}`;
  base = `https://127.0.0.1:${parley.ports.https}/api`;
  for (const [user, password] of [[USER, 'pw1'], ['carol', 'pw2']]) {
    const r = await parley.api('register', { user, host: 'localhost', password });
    assert.equal(r.status, 200, r.text);
  }
  const service = `xmpp://127.0.0.1:${parley.ports.c2s}`;
  const phone = await connect({ service, username: USER, password: 'pw1', resource: 'phone' });
  clients.push(phone);
  await phone.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'On the road'), xml('priority', {}, '5')));
  clients.push(await connect({ service, username: USER, password: 'pw1', resource: 'web', priority: 1 }));
  clients.push(await connect({ service, username: 'carol', password: 'pw2', resource: 'desk' }));
  await eventually(async () => (await parley.api('get_presence', { user: USER, host: 'localhost' })).body.status === 'On the road', 3000, 'presence');
});

after(async () => {
  for (const c of clients) await c.stop();
  await parley?.close();
});

const SESSION_KEYS = ['connection', 'ip', 'port', 'priority', 'node', 'uptime', 'status', 'resource', 'statustext'];

test('1. stats_host {"name": "onlineusers", "host": …} → {"stat":3}', async () => {
  const r = await postCall('stats_host', '{"name": "onlineusers", "host": "localhost"}');
  assert.equal(r.stdout, '{"stat":3}');
});

test('2. GET connected_users → every session as a full JID, sorted', async () => {
  const r = await getCall('connected_users');
  assert.deepEqual(r.json, ['carol@localhost/desk', `${USER}@localhost/phone`, `${USER}@localhost/web`]);
  assert.equal(r.stdout, JSON.stringify(r.json), 'compact JSON, no trailing newline');
});

test('3. registered_users { "host": … } → the account names', async () => {
  const r = await postCall('registered_users', '{ "host": "localhost" }');
  assert.equal(r.stdout, `["admin","carol","${USER}"]`);
});

test('4. GET connected_users_info → one object per session with ejabberd\'s ten fields', async () => {
  const r = await getCall('connected_users_info');
  assert.equal(r.json.length, 3);
  for (const s of r.json) {
    assert.deepEqual(Object.keys(s), ['jid', ...SESSION_KEYS]);
    assert.equal(s.connection, 'c2s');
    assert.equal(s.ip, '127.0.0.1');
    assert.equal(s.node, 'parley@localhost');
    assert.ok(Number.isInteger(s.port) && s.port > 0);
    assert.ok(Number.isInteger(s.uptime) && s.uptime >= 0);
  }
  const phone = r.json.find((s: any) => s.jid === `${USER}@localhost/phone`);
  assert.deepEqual([phone.priority, phone.status, phone.resource, phone.statustext], [5, 'away', 'phone', 'On the road']);
  const web = r.json.find((s: any) => s.jid === `${USER}@localhost/web`);
  assert.deepEqual([web.priority, web.status, web.resource, web.statustext], [1, 'available', 'web', '']);
});

test('5. get_presence { "user": …, "host": … } → the highest-priority resource', async () => {
  const r = await postCall('get_presence', `{ "user": "${USER}", "host": "localhost" }`);
  assert.equal(r.stdout, `{"jid":"${USER}@localhost/phone","show":"away","status":"On the road"}`);
});

test('6. user_sessions_info { "user": …, "host": … } → both sessions, without the jid field', async () => {
  const r = await postCall('user_sessions_info', `{ "user": "${USER}", "host": "localhost" }`);
  assert.equal(r.json.length, 2);
  for (const s of r.json) assert.deepEqual(Object.keys(s), SESSION_KEYS);
  assert.deepEqual(r.json.map((s: any) => [s.resource, s.priority, s.status]).sort(), [['phone', 5, 'away'], ['web', 1, 'available']]);
});

test('7. user_resources { "user": …, "host": … } → the resources, sorted', async () => {
  const r = await postCall('user_resources', `{ "user": "${USER}", "host": "localhost" }`);
  assert.equal(r.stdout, '["phone","web"]');
});

test('the answers follow the server: after the phone session ends, the same calls say so', async () => {
  await clients[0]!.stop();
  await eventually(async () => (await parley.api('num_resources', { user: USER, host: 'localhost' })).body.resources === 1, 3000, 'phone gone');
  assert.equal((await postCall('stats_host', '{"name": "onlineusers", "host": "localhost"}')).stdout, '{"stat":2}');
  assert.deepEqual((await getCall('connected_users')).json, ['carol@localhost/desk', `${USER}@localhost/web`]);
  assert.equal((await postCall('user_resources', `{ "user": "${USER}", "host": "localhost" }`)).stdout, '["web"]');
  assert.equal(
    (await postCall('get_presence', `{ "user": "${USER}", "host": "localhost" }`)).stdout,
    `{"jid":"${USER}@localhost/web","show":"available","status":""}`,
  );
  // Wrong credentials through the same curl line: the ejabberd 401 envelope.
  const bad = await curl(['-k', '--basic', '--user', 'admin@localhost:wrong', `${base}/connected_users`]);
  assert.deepEqual(bad.json, { status: 'error', code: 10, message: 'You are not authorized to call this command.' });
});
