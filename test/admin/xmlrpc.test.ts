import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually, startParley, type Parley } from '../support/harness.js';
import { parseConfig } from '../../src/config/load.js';
import { parseElement } from '../../src/xmpp/xml/parse.js';
import type { Element } from '../../src/xmpp/xml/element.js';
import { commandsIn } from '../../src/admin/define.js';

const command = commandsIn<unknown>();

// ejabberd's XML-RPC interface (ejabberd_xmlrpc, 23.01) over a real socket: the raw XML examples of the
// older API reference (seed 001) sent as written, the same commands as over /api, and every fault.

/** A decoded XML-RPC value: structs as objects (member order kept by insertion), arrays as arrays. */
function valueOf(v: Element): unknown {
  const [t] = v.elements();
  if (!t) return v.text();
  switch (t.name) {
    case 'int':
    case 'i4':
      return Number(t.text());
    case 'string':
      return t.text();
    case 'boolean':
      return t.text() === '1';
    case 'array':
      return t.getChild('data')!.getChildren('value').map(valueOf);
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const m of t.getChildren('member')) out[m.getChildText('name')!] = valueOf(m.getChild('value')!);
      return out;
    }
    default:
      throw new Error(`unexpected type ${t.name}`);
  }
}

interface Answer {
  status: number;
  contentType: string | null;
  result?: unknown;
  fault?: { faultCode: number; faultString: string };
  text: string;
}

async function post(port: number, body: string, path = '/'): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  const text = await res.text();
  const out: Answer = { status: res.status, contentType: res.headers.get('content-type'), text };
  if (res.status !== 200) return out;
  assert.ok(text.startsWith('<?xml version="1.0"?>'), text);
  const root = parseElement(text.slice('<?xml version="1.0"?>'.length));
  assert.equal(root.name, 'methodResponse');
  const fault = root.getChild('fault');
  if (fault) out.fault = valueOf(fault.getChild('value')!) as Answer['fault'];
  else {
    const params = root.getChild('params')!.getChildren('param');
    assert.equal(params.length, 1);
    out.result = valueOf(params[0]!.getChild('value')!);
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const member = (name: string, value: string) => `<member><name>${name}</name><value>${value}</value></member>`;
const structOf = (members: Record<string, string | number>) =>
  `<struct>${Object.entries(members)
    .map(([k, v]) => member(k, typeof v === 'number' ? `<int>${v}</int>` : `<string>${esc(v)}</string>`))
    .join('')}</struct>`;
const call = (method: string, ...params: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?><methodCall><methodName>${method}</methodName><params>${params
    .map((p) => `<param><value>${p}</value></param>`)
    .join('')}</params></methodCall>`;

const execFileP = promisify(execFile);

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import xmlrpc.client']);
    return true;
  } catch {
    return false;
  }
}

describe('XML-RPC with the default permission rules', () => {
  let parley: Parley;
  let port: number;
  let adminAuth: string;
  const bobAuth = structOf({ user: 'bob', server: 'localhost', password: 'bobpw' });

  before(async () => {
    parley = await startParley({ xmlrpc: { enabled: true, port: 0, httpPath: true } });
    port = parley.server.addresses.xmlrpc!.port;
    adminAuth = structOf({ user: 'admin', server: 'localhost', password: parley.adminPassword });
    await parley.register('bob', 'carol');
  });
  after(async () => {
    await parley.close();
  });

  test('register: a restuple is {res: 0, text}, and the account exists over /api too', async () => {
    const r = await post(port, call('register', adminAuth, structOf({ user: 'dave', host: 'localhost', password: 'davepw' })));
    assert.equal(r.status, 200);
    assert.match(r.contentType ?? '', /^text\/xml/);
    assert.deepEqual(r.result, { res: 0, text: 'User dave@localhost successfully registered' });
    const check = await parley.api('check_account', { user: 'dave', host: 'localhost' });
    assert.equal(check.body, 0);
    const again = await post(port, call('register', adminAuth, structOf({ user: 'dave', host: 'localhost', password: 'x' })));
    assert.equal(again.fault?.faultCode, -118);
    const api = await parley.api('register', { user: 'dave', host: 'localhost', password: 'x' });
    assert.ok(again.fault!.faultString.startsWith(`Error -118\nA problem '{error,${JSON.stringify(api.body.message)}}' occurred executing the command register with arguments\n`), again.fault!.faultString);
  });

  test('registered_users: a list is an array of one-member structs named after the element', async () => {
    const r = await post(port, call('registered_users', adminAuth, structOf({ host: 'localhost' })));
    const api = await parley.api('registered_users', { host: 'localhost' });
    assert.deepEqual(r.result, { users: (api.body as string[]).map((username) => ({ username })) });
    assert.ok((api.body as string[]).includes('bob'));
  });

  test('add_rosteritem (rescode) and get_roster (list of tuples) agree with /api', async () => {
    const add = await post(
      port,
      call('add_rosteritem', adminAuth, structOf({ localuser: 'bob', localhost: 'localhost', user: 'carol', host: 'localhost', nick: 'Carol', group: 'Friends', subs: 'both' })),
    );
    assert.deepEqual(add.result, { res: 0 });
    const api = await parley.api('get_roster', { user: 'bob', server: 'localhost' });
    assert.equal(api.body.length, 1);
    const roster = await post(port, call('get_roster', adminAuth, structOf({ user: 'bob', server: 'localhost' })));
    // ejabberd 23.01: a tuple is an array of one-member structs, one per field, in declared order.
    const contacts = (api.body as Record<string, string>[]).map((c) => ({ contact: Object.entries(c).map(([k, v]) => ({ [k]: v })) }));
    assert.deepEqual(roster.result, { contacts });
    assert.match(roster.text, /<name>jid<\/name><value><string>carol@localhost<\/string>/);
  });

  test('status (restuple without arguments) and connected_users_number (integer) as the admin', async () => {
    const status = await post(port, call('status', adminAuth));
    const apiStatus = await parley.api('status', {});
    assert.deepEqual(status.result, { res: 0, text: apiStatus.body });
    const client = await parley.login('carol', 'r1');
    const n = await post(port, call('connected_users_number', adminAuth, '<struct></struct>'));
    assert.deepEqual(n.result, { num_sessions: 1 });
    await client.stop();
  });

  test('user policy: an account reads its own roster, not another one; it may not call admin commands', async () => {
    const own = await post(port, call('get_roster', bobAuth, structOf({ user: 'bob', server: 'localhost' })));
    assert.ok(own.result, own.text);
    const other = await post(port, call('get_roster', bobAuth, structOf({ user: 'carol', server: 'localhost' })));
    assert.equal(other.fault?.faultCode, -118);
    assert.match(other.fault!.faultString, /\{error,access_rules_unauthorized\}/);
    const reg = await post(port, call('register', bobAuth, structOf({ user: 'eve', host: 'localhost', password: 'e' })));
    assert.match(reg.fault!.faultString, /^Error -118\nA problem '\{error,access_rules_unauthorized\}' occurred executing the command register with arguments\n\[\{user,<<"eve">>\},\{host,<<"localhost">>\},\{password,<<"e">>\}\]$/);
    assert.equal((await parley.api('check_account', { user: 'eve', host: 'localhost' })).body, 1, 'nothing was created');
  });

  test('without an auth struct nobody is an admin; the default public rule is for /api only', async () => {
    const r = await post(port, call('registered_users', structOf({ host: 'localhost' })));
    assert.equal(r.fault?.faultCode, -118);
    const n = await post(port, call('connected_users_number'));
    assert.match(n.fault!.faultString, /access_rules_unauthorized/);
  });

  test('bad credentials and unknown, foreign or revoked OAuth tokens are refused; a token works within its scopes', async () => {
    const wrong = await post(port, call('status', structOf({ user: 'admin', server: 'localhost', password: 'nope' })));
    assert.deepEqual(wrong.fault, { faultCode: -118, faultString: 'Error -118\nInvalid authentication data' });
    const nobody = await post(port, call('status', structOf({ user: 'ghost', server: 'elsewhere', password: 'x' })));
    assert.deepEqual(nobody.fault, { faultCode: -118, faultString: 'Error -118\nInvalid authentication data' });
    const token = await post(port, call('status', structOf({ user: 'admin', server: 'localhost', token: 'abc' })));
    assert.deepEqual(token.fault, { faultCode: -118, faultString: 'Error -118\nInvalid oauth token' });
    // A real token works, for its own account only, within its scopes.
    const issued = (await parley.api('oauth_issue_token', { jid: 'admin@localhost', ttl: 600, scopes: 'registered_users' })).body;
    const ok = await post(port, call('registered_users', structOf({ user: 'admin', server: 'localhost', token: issued.token }), structOf({ host: 'localhost' })));
    assert.equal(ok.fault, undefined, JSON.stringify(ok));
    const outOfScope = await post(port, call('connected_users_number', structOf({ user: 'admin', server: 'localhost', token: issued.token })));
    assert.match(outOfScope.fault!.faultString, /access_rules_unauthorized/);
    const otherUser = await post(port, call('status', structOf({ user: 'bob', server: 'localhost', token: issued.token })));
    assert.deepEqual(otherUser.fault, { faultCode: -118, faultString: 'Error -118\nInvalid oauth token' });
    await parley.api('oauth_revoke_token', { token: issued.token });
    const revoked = await post(port, call('registered_users', structOf({ user: 'admin', server: 'localhost', token: issued.token }), structOf({ host: 'localhost' })));
    assert.deepEqual(revoked.fault, { faultCode: -118, faultString: 'Error -118\nInvalid oauth token' });
    // `admin` in the auth struct (older ejabberd) is ignored; the credentials decide.
    const admin = await post(port, call('status', `<struct>${member('user', 'bob')}${member('server', 'localhost')}${member('password', 'bobpw')}${member('admin', '<boolean>1</boolean>')}</struct>`));
    assert.match(admin.fault!.faultString, /access_rules_unauthorized/);
  });

  test('argument faults: missing, duplicated, unused, wrong type — with ejabberd codes', async () => {
    const missing = await post(port, call('registered_users', adminAuth, '<struct></struct>'));
    assert.deepEqual(missing.fault, { faultCode: -116, faultString: "Error -116\nRequired attribute 'host' not found:\n[]" });
    const dup = await post(port, call('registered_users', adminAuth, `<struct>${member('host', 'localhost')}${member('host', 'x')}</struct>`));
    assert.equal(dup.fault?.faultCode, -114);
    assert.match(dup.fault!.faultString, /^Error -114\nAttribute 'host' duplicated:/);
    const extra = await post(port, call('registered_users', adminAuth, structOf({ host: 'localhost', color: 'red' })));
    assert.deepEqual(extra.fault, { faultCode: -120, faultString: 'Error -120\nThe call provided additional unused arguments:\n[{color,<<"red">>}]' });
    const type = await post(port, call('registered_users', adminAuth, structOf({ host: 5 })));
    assert.deepEqual(type.fault, { faultCode: -122, faultString: "Error -122\nParameter '5' can't be coerced to type 'binary'" });
    const intType = await post(port, call('delete_old_users', adminAuth, structOf({ days: '30' })));
    assert.deepEqual(intType.fault, { faultCode: -122, faultString: 'Error -122\nParameter \'<<"30">>\' can\'t be coerced to type \'integer\'' });
    const list = await post(port, call('set_vcard2_multi', adminAuth, structOf({ user: 'bob', host: 'localhost', name: 'ORG', subname: 'ORGUNIT', contents: 'Sales' })));
    assert.deepEqual(list.fault, { faultCode: -122, faultString: 'Error -122\nParameter \'<<"Sales">>\' can\'t be coerced to type \'{list,{value,binary}}\'' });
    const xmlChar = await post(port, call('register', adminAuth, structOf({ user: 'x', host: 'localhost', password: 'p' })).replace('<string>x</string>', '<string>x&#x1;</string>'));
    // A character XML 1.0 does not allow cannot even be written in the request.
    assert.equal(xmlChar.fault?.faultCode, -32700, xmlChar.text);
    assert.equal((await parley.api('check_account', { user: 'x', host: 'localhost' })).body, 1, 'nothing was created');
  });

  test('unknown commands, calls of the wrong shape and ctl-only commands are faults -112', async () => {
    const unknown = await post(port, call('no_such_command', adminAuth));
    assert.deepEqual(unknown.fault, { faultCode: -112, faultString: 'Error -112\nUnknown call: {call,no_such_command,[{struct,[]}]}' });
    const twoStructs = await post(port, call('status', structOf({ a: 'b' }), structOf({ c: 'd' })));
    assert.equal(twoStructs.fault?.faultCode, -112);
    const scalar = await post(port, call('status', '<string>x</string>'));
    assert.deepEqual(scalar.fault, { faultCode: -112, faultString: 'Error -112\nUnknown call: {call,status,[<<"x">>]}' });
  });

  test('domain errors are faults -118 with the message /api gives', async () => {
    const r = await post(port, call('get_roster', adminAuth, structOf({ user: 'nobody', server: 'localhost' })));
    const api = await parley.api('get_roster', { user: 'nobody', server: 'localhost' });
    assert.notEqual(api.status, 200);
    assert.equal(r.fault?.faultCode, -118);
    assert.ok(r.fault!.faultString.includes(JSON.stringify(typeof api.body === 'string' ? api.body : api.body.message)), `${r.fault!.faultString} / ${api.text}`);
  });

  test('malformed XML, DTDs and non-calls are faults, never a crash', async () => {
    const bad = [
      '<methodCall><methodName>status</methodName>',
      '<!DOCTYPE methodCall [<!ENTITY big "aaaaaaaaaa">]><methodCall><methodName>&big;</methodName></methodCall>',
      '\xff\xfe',
      '',
      `${'<a>'.repeat(200)}${'</a>'.repeat(200)}`,
    ];
    for (const body of bad) {
      const r = await post(port, body);
      assert.deepEqual(r.fault, { faultCode: -32700, faultString: 'Error -32700\nMalformed XML' }, body);
    }
    const notACall = await post(port, '<methodResponse/>');
    assert.equal(notACall.fault?.faultCode, -32600);
    const badInt = await post(port, call('status', '<struct><member><name>x</name><value><int>one</int></value></member></struct>'));
    assert.equal(badInt.fault?.faultCode, -32600);
    const big = await post(port, call('status', structOf({ x: 'y'.repeat(1_100_000) })));
    assert.equal(big.fault?.faultCode, -32600);
    assert.match(big.fault!.faultString, /larger than 1048576 bytes/);
    // Still serving.
    assert.equal(((await post(port, call('status', adminAuth))).result as { res: number }).res, 0);
  });

  test("a real client (Python's xmlrpc.client) calls commands and gets faults", { skip: !hasPython() && 'python3 is not installed' }, async () => {
    const script = `
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
auth = {"user": "admin", "server": "localhost", "password": sys.argv[2]}
print(s.register(auth, {"user": "pyuser", "host": "localhost", "password": "pypw"}))
print(s.registered_users(auth, {"host": "localhost"})["users"][-1])
try:
    s.registered_users(auth, {"host": "localhost", "extra": 1})
except xmlrpc.client.Fault as f:
    print(f.faultCode)
`;
    const { stdout } = await execFileP('python3', ['-c', script, `http://127.0.0.1:${port}/`, parley.adminPassword]);
    assert.equal(stdout, "{'res': 0, 'text': 'User pyuser@localhost successfully registered'}\n{'username': 'pyuser'}\n-120\n");
  });

  test('a GET is a 400, as ejabberd answers it', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 400);
    await res.text();
  });

  test('xmlrpc.httpPath serves the same at /xmlrpc of the HTTP listener', async () => {
    const r = await post(parley.ports.http, call('registered_users', adminAuth, structOf({ host: 'localhost' })), '/xmlrpc');
    assert.ok(Array.isArray((r.result as { users: unknown[] }).users), r.text);
  });

});

test('XML-RPC is off unless configured, loopback and port 4560 by default', async () => {
  const cfg = parseConfig({ hosts: ['localhost'] });
  assert.deepEqual(cfg.xmlrpc, { enabled: false, address: '127.0.0.1', port: 4560, httpPath: false });
  const parley = await startParley();
  try {
    assert.equal(parley.server.addresses.xmlrpc, undefined);
    // Nor is it served on the HTTP listener.
    const res = await fetch(`http://127.0.0.1:${parley.ports.http}/xmlrpc`, { method: 'POST', body: call('status') });
    assert.equal(res.status, 404);
    await res.text();
  } finally {
    await parley.close();
  }
});

test('connections to the XML-RPC listener count against limits.maxConnectionsPerIp', async () => {
  const parley = await startParley({ xmlrpc: { enabled: true, port: 0 }, limits: { maxConnectionsPerIp: 2 } });
  try {
    const port = parley.server.addresses.xmlrpc!.port;
    const held = [net.connect(parley.ports.c2s, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    await eventually(() => parley.server.listenerStats!.perIp['127.0.0.1'] === 2, 3000, 'two connections counted');
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: call('status') });
    assert.equal(res.status, 503);
    await res.text().catch(() => undefined);
    for (const s of held) s.destroy();
  } finally {
    await parley.close();
  }
});

describe('XML-RPC: the raw examples of seed 001, sent as written', () => {
  let parley: Parley;
  let port: number;

  before(async () => {
    // ejabberd deployments of XML-RPC commonly allow loopback callers without credentials.
    parley = await startParley({
      xmlrpc: { enabled: true, port: 0 },
      apiPermissions: {
        'admin access': { from: ['http'], who: 'admin', what: ['*'] },
        'local xmlrpc': { from: ['xmlrpc'], who: { ip: ['127.0.0.1/32'] }, what: ['*'] },
      },
    });
    port = parley.server.addresses.xmlrpc!.port;
    await parley.register('aaaaa', 'ccccc');
    // The seed's test commands (001 L1850-L1910, L9340-L9391) are Parley's own (src/modules/compat).
  });
  after(async () => {
    await parley.close();
  });

  test('add_rosteritem (001 L43-L95, old argument names)', async () => {
    const xml = `
    <methodCall>
      <methodName>add_rosteritem</methodName>
      <params>
        <param>
          <value>
            <struct>
              <member>
                <name>localuser</name>
                <value>
                  <string>aaaaa</string>
                </value>
              </member>
              <member>
                <name>localserver</name>
                <value>
                  <string>localhost</string>
                </value>
              </member>
              <member>
                <name>user</name>
                <value>
                  <string>ccccc</string>
                </value>
              </member>
              <member>
                <name>server</name>
                <value>
                  <string>localhost</string>
                </value>
              </member>
              <member>
                <name>nick</name>
                <value>
                  <string>eeeee</string>
                </value>
              </member>
              <member>
                <name>group</name>
                <value>
                  <string>fffff</string>
                </value>
              </member>
              <member>
                <name>subs</name>
                <value>
                  <string>both</string>
                </value>
              </member>
            </struct>
          </value>
        </param>
      </params>
    </methodCall>`;
    const r = await post(port, xml);
    assert.deepEqual(r.result, { res: 0 }, r.text);
    const roster = await parley.api('get_roster', { user: 'aaaaa', server: 'localhost' });
    assert.equal(roster.body[0].jid, 'ccccc@localhost');
    assert.equal(roster.body[0].nick, 'eeeee');
  });

  test('connected_users (001 L704-L716, an empty struct)', async () => {
    const client = await parley.login('aaaaa', 'home');
    const xml = `
    <methodCall>
      <methodName>connected_users</methodName>
      <params>
        <param>
          <value>
            <struct>
            </struct>
          </value>
        </param>
      </params>
    </methodCall>`;
    const r = await post(port, xml);
    assert.deepEqual(r.result, { connected_users: [{ sessions: 'aaaaa@localhost/home' }] });
    await client.stop();
  });

  test('echo_integer_list_string (001 L1885-L1908): a list argument of single-member structs', async () => {
    const xml = `
    <methodCall>
      <methodName>echo_integer_list_string</methodName>
      <params>
        <param>
          <value>
            <struct>
              <member>
                <name>thisinteger</name>
                <value>
                  <integer>1</integer>
                </value>
              </member>
              <member>
                <name>thislist</name>
                <value>
                  <array>
                    <data>
                      <value>
                        <struct>
                          <member>
                            <name>thisstring</name>
                            <value>
                              <string>aaaaa</string>
                            </value>
                          </member>
                        </struct>
                      </value>
                      <value>
                        <struct>
                          <member>
                            <name>thisstring</name>
                            <value>
                              <string>bbbbb</string>
                            </value>
                          </member>
                        </struct>
                      </value>
                    </data>
                  </array>
                </value>
              </member>
            </struct>
          </value>
        </param>
      </params>
    </methodCall>`;
    const r = await post(port, xml);
    assert.deepEqual(r.result, { thistuple: [{ thatinteger: 1 }, { thatlist: [{ thatstring: 'aaaaa' }, { thatstring: 'bbbbb' }] }] });
    const wrongElement = await post(port, xml.replace(/thisstring/g, 'other'));
    assert.equal(wrongElement.fault?.faultCode, -122, wrongElement.text);
  });

  test('take_tuple_2integer (001 L9373-L9391): a tuple argument as a nested struct', async () => {
    const xml = `
    <methodCall>
      <methodName>take_tuple_2integer</methodName>
      <params>
        <param>
          <value>
            <struct>
              <member>
                <name>thistuple</name>
                <value>
                  <struct>
                  <member>
                    <name>thisinteger1</name>
                    <value>
                      <integer>1</integer>
                    </value>
                  </member>
                  <member>
                    <name>thisinteger2</name>
                    <value>
                      <integer>2</integer>
                    </value>
                  </member>
                  </struct>
                </value>
              </member>
            </struct>
          </value>
        </param>
      </params>
    </methodCall>`;
    assert.deepEqual((await post(port, xml)).result, { zero: 0 });
    // ejabberd 23.01's own form: the struct inside an array.
    const arrayForm = xml.replace('<value>\n                  <struct>', '<value><array><data><value><struct>').replace('</struct>\n                </value>', '</struct></value></data></array></value>');
    assert.deepEqual((await post(port, arrayForm)).result, { zero: 0 }, arrayForm);
    const missingField = await post(port, xml.replace('thisinteger2', 'thisinteger3'));
    assert.equal(missingField.fault?.faultCode, -116);
  });

  test('the loopback rule is for XML-RPC only', async () => {
    const r = await parley.api('registered_users', { host: 'localhost' }, null);
    assert.equal(r.status, 403);
  });
});
