/**
 * Removing an account is one transaction every feature takes part in: when one feature's
 * `account-removing` handler throws half-way, the account and everything it owns stay, on both
 * storage backends. Real server, real HTTP, real SQLite file and PostgreSQL schema.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dropSchema, startParley, TEST_PG_URL, type Parley } from '../support/harness.js';
import { RawConn } from '../xmpp-e2e/raw.js';
import { textCodec } from '../../src/storage/kinds.js';

const PG_URL = TEST_PG_URL;
const schema = `parley_unreg_${process.pid}_${randomBytes(4).toString('hex')}`;

after(() => dropSchema(schema));

const backends: [string, Record<string, unknown>][] = [
  ['sqlite', { storage: { backend: 'sqlite' } }],
  ['postgres', { storage: { backend: 'postgres', url: PG_URL, schema } }],
];

for (const [name, config] of backends) {
  describe(`unregister on ${name}`, () => {
    let p: Parley | undefined;
    after(async () => {
      await p?.close();
    });

    it('a feature failing inside the removal transaction leaves the account and all it owns intact', async () => {
      p = await startParley(config);
      const parley = p;
      assert.equal(parley.server.storage.backend, name);
      await parley.register('alice', 'bob');
      const ok = async (command: string, args: Record<string, unknown>) => {
        const r = await parley.api(command, args);
        assert.equal(r.status, 200, `${command}: ${r.text}`);
        return r.body;
      };
      await ok('add_rosteritem', { localuser: 'alice', localhost: 'localhost', user: 'bob', host: 'localhost', nick: 'Bob', group: 'Friends', subs: 'both' });
      for (const body of ['one', 'two']) await ok('send_message', { type: 'chat', from: 'bob@localhost', to: 'alice@localhost', subject: '', body });
      assert.deepEqual(await ok('get_offline_count', { user: 'alice', server: 'localhost' }), { value: 2 });
      // A feature keeping a value per account in a kind store.
      const notes = parley.server.storage.value('throwaway-notes', textCodec);
      await notes.set({ user: 'alice', host: 'localhost' }, '<note>kept</note>');

      // A throwaway feature whose part of the removal fails, after the roster and offline
      // features (registered at start) have already removed theirs inside the transaction.
      const seen: string[] = [];
      let failing = true;
      parley.server.hooks.on('account-removing', async ({ user, host, tx }) => {
        seen.push(`${user}@${host}: roster ${await tx.roster.count(`${user}@${host}`)}, offline ${await tx.offline.count(`${user}@${host}`)}`);
        if (failing) throw new Error('throwaway feature failed');
      });
      let removedEvents = 0;
      parley.server.hooks.on('account-removed', () => {
        removedEvents++;
      });

      const r = await parley.api('unregister', { user: 'alice', host: 'localhost' });
      assert.equal(r.status, 500);
      assert.equal(r.body, 'internal_error', 'the same answer as any internal failure');
      assert.ok(!/throwaway|Error|at /.test(r.text), `no error text or stack trace: ${r.text}`);
      assert.deepEqual(seen, ['alice@localhost: roster 0, offline 0'], 'the other features had removed their part in the transaction');
      assert.equal(removedEvents, 0, 'account-removed follows only a committed removal');

      // Everything is still there.
      assert.equal(await ok('check_account', { user: 'alice', host: 'localhost' }), 0);
      assert.deepEqual(await ok('registered_users', { host: 'localhost' }), ['admin', 'alice', 'bob']);
      const roster = await ok('get_roster', { user: 'alice', host: 'localhost' });
      assert.equal(roster.length, 1);
      assert.equal(roster[0].jid, 'bob@localhost');
      assert.equal(roster[0].nick, 'Bob');
      assert.deepEqual(await ok('get_offline_count', { user: 'alice', server: 'localhost' }), { value: 2 });
      assert.equal(await parley.server.storage.roster.version('alice@localhost'), 1, 'the roster version did not move either');
      assert.equal(await notes.get({ user: 'alice', host: 'localhost' }), '<note>kept</note>');
      const alice = await parley.login('alice', 'after');
      assert.match(alice.jid, /^alice@localhost\//, 'alice can still log in');
      await alice.stop();

      // With the feature fixed, the same removal commits and takes everything.
      failing = false;
      assert.equal((await parley.api('unregister', { user: 'alice', host: 'localhost' })).status, 200);
      assert.equal(removedEvents, 1);
      assert.equal(await ok('check_account', { user: 'alice', host: 'localhost' }), 1);
      assert.equal(await parley.server.storage.roster.count('alice@localhost'), 0);
      assert.equal(await parley.server.storage.offline.count('alice@localhost'), 0);
      assert.equal(await notes.get({ user: 'alice', host: 'localhost' }), undefined);
      assert.deepEqual(await ok('get_roster', { user: 'bob', host: 'localhost' }), [], "bob's roster was empty and stays so");
      assert.equal(await ok('check_account', { user: 'bob', host: 'localhost' }), 0, 'bob stays');
    });
  });
}

describe('in-band account removal (XEP-0077) failing half-way', () => {
  it('answers with an error, not a result, and the account and its session stay', async () => {
    const p = await startParley({ c2s: { inBandRegistration: true } });
    try {
      await p.register('erin');
      await p.api('send_message', { type: 'chat', from: 'admin@localhost', to: 'erin@localhost', subject: '', body: 'kept' });
      p.server.hooks.on('account-removing', () => {
        throw new Error('throwaway feature failed');
      });
      const c = await RawConn.tcp(p.ports.c2s);
      await c.login('erin', 'erinpw', 'r');
      c.write(`<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>`);
      const answer = (await c.expect(/<iq [^>]*id="rm"[^>]*>[\s\S]*?<\/iq>|<iq [^>]*id="rm"[^>]*\/>/))[0];
      assert.match(answer, /type="error"/);
      assert.match(answer, /<internal-server-error /);
      assert.ok(!/throwaway/.test(c.buf), 'no internal detail reaches the client');
      // The stream is still open and served, and the account and its data are intact.
      c.write(`<iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>`);
      assert.match((await c.expect(/<iq [^>]*id="ping1"[^>]*\/?>/))[0], /type="result"/);
      assert.equal(c.closed, false);
      assert.equal((await p.api('check_account', { user: 'erin', host: 'localhost' })).body, 0);
      assert.equal(await p.server.storage.offline.count('erin@localhost'), 1);
      c.destroy();
    } finally {
      await p.close();
    }
  });
});
