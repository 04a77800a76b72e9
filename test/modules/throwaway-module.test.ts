// The module contract from the outside (issue 6, "How it is checked"): a module declared here,
// in the test and nowhere in src/ — a value per account in its own store, an IQ handler for a
// made-up namespace and one admin command — is served over XMPP, over /api and by `parley ctl`,
// and appears in the server's OpenAPI document.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Server } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import { defineModule, type ModuleContext } from '../../src/modules/module.js';
import { commandsIn, str, strResult } from '../../src/admin/define.js';
import type { CommandContext } from '../../src/modules/module.js';
import { textCodec, type ValueStore } from '../../src/storage/kinds.js';
import { StanzaError } from '../../src/xmpp/stanza.js';
import { x } from '../../src/xmpp/xml/element.js';
import { RawConn } from '../xmpp-e2e/raw.js';

const NS_FAVORITE = 'urn:xmpp:parley-test:favorite';
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

// ---- the module ---------------------------------------------------------------------------

interface Account {
  user: string;
  host: string;
}

class FavoriteService {
  constructor(private readonly ctx: ModuleContext<'accounts', ValueStore<string>>) {}

  /** The favorite of an existing account ('' when it has none). */
  async get(user: string, host: string): Promise<string> {
    const { accounts } = this.ctx.services;
    const p = await accounts.existing(user, host);
    return (await this.ctx.store.get(p)) ?? '';
  }

  set(account: Account, value: string): Promise<void> {
    return this.ctx.store.set(account, value);
  }
}

declare module '../../src/modules/module.js' {
  interface ServiceMap {
    favorite: FavoriteService;
  }
}

const command = commandsIn<CommandContext<FavoriteService, 'accounts'>>();
let store: ValueStore<string> | undefined;

const favoriteModule = defineModule({
  name: 'favorite',
  summary: 'A favorite word per account (a module written in a test)',
  dependencies: ['accounts'],
  // A value per account, of the storage's value kind: no SQL, and removed with the account.
  stores: ({ storage }) => (store = storage.value('favorite', textCodec)),
  setup(ctx) {
    const service = new FavoriteService(ctx);
    ctx.iq.register({
      xmlns: NS_FAVORITE,
      target: 'bare',
      get: async ({ from, to }) => {
        if (from.bare !== to.bare) throw new StanzaError('forbidden');
        return x('favorite', { xmlns: NS_FAVORITE }, await service.get(to.local, to.domain));
      },
      set: async ({ from, to, payload }) => {
        if (from.bare !== to.bare) throw new StanzaError('forbidden');
        await service.set({ user: to.local, host: to.domain }, payload.text());
      },
    });
    return service;
  },
  commands: [
    command({
      name: 'get_favorite', tags: ['test'], policy: 'admin', desc: "Get a user's favorite",
      args: [str('user', 'User name', 'user1'), str('host', 'Server name', 'myserver.com')],
      result: strResult('favorite'), resultExample: 'green tea',
      exec: ({ user, host }, { service }) => service.get(user, host),
    }),
  ],
});

// ---- the server with it -------------------------------------------------------------------

let server: Server;
let dataDir: string;
let configFile: string;
let adminAuth: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-module-'));
  const listen = { address: '127.0.0.1', port: 0 };
  const config = parseConfig({ hosts: ['localhost'], dataDir, logLevel: 'silent', listen: { c2s: listen, c2sTls: null, http: listen, https: null } });
  server = new Server({ config, logger: pino({ level: 'silent' }), modules: [favoriteModule] });
  await server.start();
  adminAuth = 'Basic ' + Buffer.from(`admin@localhost:${readFileSync(join(dataDir, 'admin-password'), 'utf8').trim()}`).toString('base64');
  configFile = join(dataDir, 'parley.yml');
  writeFileSync(configFile, `hosts: [localhost]\ndataDir: ${JSON.stringify(dataDir)}\nlogLevel: silent\n`);
  assert.equal((await api('register', { user: 'alice', host: 'localhost', password: 'alicepw' })).status, 200);
  assert.equal((await api('register', { user: 'bob', host: 'localhost', password: 'bobpw' })).status, 200);
});

after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api(command: string, args: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${server.addresses.http!.port}/api/${command}`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, body: await res.json() };
}

/** `parley ctl ...` as an operator runs it: a separate process talking to the control socket. */
function ctl(...args: string[]): Promise<{ stdout: string; code: number }> {
  const env = { ...process.env };
  delete env.PARLEY_CONFIG;
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [join(ROOT, 'bin/parley.js'), 'ctl', '--config', configFile, ...args], { env }, (err, stdout) => {
      resolvePromise({ stdout, code: typeof err?.code === 'number' ? err.code : 0 });
    });
  });
}

const iqReply = (conn: RawConn, id: string) => conn.expect(new RegExp(`<iq [^>]*id="${id}"[^>]*(?:/>|>[\\s\\S]*?</iq>)`), 3000, `reply to ${id}`);

test('over XMPP: the account sets and reads its value with the IQ handler; another account may not', async () => {
  const alice = await RawConn.tcp(server.addresses.c2s!.port);
  const bob = await RawConn.tcp(server.addresses.c2s!.port);
  try {
    await alice.login('alice', 'alicepw', 'desk');
    await bob.login('bob', 'bobpw', 'desk');
    alice.write(`<iq type='get' id='g0'><favorite xmlns='${NS_FAVORITE}'/></iq>`);
    assert.match((await iqReply(alice, 'g0'))[0], new RegExp(`type="result"[\\s\\S]*<favorite xmlns="${NS_FAVORITE}"(?:/>|></favorite>)`));

    alice.write(`<iq type='set' id='s1'><favorite xmlns='${NS_FAVORITE}'>green tea</favorite></iq>`);
    assert.match((await iqReply(alice, 's1'))[0], /type="result"/);
    alice.write(`<iq type='get' id='g1'><favorite xmlns='${NS_FAVORITE}'/></iq>`);
    assert.match((await iqReply(alice, 'g1'))[0], new RegExp(`type="result"[\\s\\S]*<favorite xmlns="${NS_FAVORITE}">green tea</favorite>`));

    bob.write(`<iq type='set' id='b1' to='alice@localhost'><favorite xmlns='${NS_FAVORITE}'>coffee</favorite></iq>`);
    const refused = (await iqReply(bob, 'b1'))[0];
    assert.match(refused, /type="error"/);
    assert.match(refused, /<forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
  } finally {
    alice.destroy();
    bob.destroy();
  }
  // Kept in the storage's value kind, in the server's SQLite file.
  const file = new Database(join(dataDir, 'parley.db'), { readonly: true });
  try {
    assert.deepEqual(file.prepare("SELECT owner, value FROM store_values WHERE feature = 'favorite'").all(), [{ owner: 'alice@localhost', value: 'green tea' }]);
  } finally {
    file.close();
  }
});

test('over /api: the command answers in the ejabberd dialect, domain errors included', async () => {
  assert.deepEqual(await api('get_favorite', { user: 'alice', host: 'localhost' }), { status: 200, body: { favorite: 'green tea' } });
  assert.deepEqual(await api('get_favorite', { user: 'Bob', host: 'LOCALHOST' }), { status: 200, body: { favorite: '' } });
  assert.deepEqual(await api('get_favorite', { user: 'nobody', host: 'localhost' }), { status: 404, body: 'User nobody@localhost does not exist' });
  assert.deepEqual(await api('get_favorite', { user: 'alice' }), { status: 400, body: 'Request have missing argument: host' });
});

test('by `parley ctl`: the same command from the command line', async () => {
  assert.deepEqual(await ctl('get_favorite', 'alice', 'localhost'), { stdout: 'green tea\n', code: 0 });
  assert.deepEqual(await ctl('get_favorite', 'nobody', 'localhost'), { stdout: 'Error: not_found: User nobody@localhost does not exist\n', code: 1 });
  const help = await ctl('help', 'get_favorite');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Command Name: get_favorite[\s\S]*Arguments: USER HOST[\s\S]*Description: Get a user's favorite/);
});

test("in the server's OpenAPI document", async () => {
  const res = await fetch(`http://127.0.0.1:${server.addresses.http!.port}/api/openapi.json`);
  const doc = (await res.json()) as { paths: Record<string, { post: any }> };
  const op = doc.paths['/api/get_favorite']?.post;
  assert.ok(op, 'the module\'s command is documented');
  assert.equal(op.summary, "Get a user's favorite");
  assert.deepEqual(op.requestBody.content['application/json'].example, { user: 'user1', host: 'myserver.com' });
  assert.deepEqual(op.responses['200'].content['application/json'].example, { favorite: 'green tea' });
  assert.ok(doc.paths['/api/register'], 'next to the built-in commands');
});

test("the module's value goes with the account", async () => {
  assert.equal((await api('unregister', { user: 'alice', host: 'localhost' })).status, 200);
  assert.equal(await store!.get({ user: 'alice', host: 'localhost' }), undefined);
});
