/**
 * A short soak: the generator of `npm run soak` (bench/soak-gen.ts) runs a few thousand mutated
 * client sessions (TCP, STARTTLS, direct TLS, WebSocket; byte flips, truncations, splices, invalid
 * UTF-8, random write boundaries, abrupt closes, clients that never read) against an in-process
 * server, bounded to about 6 s. Afterwards nothing was thrown out of the event loop, the
 * server's descriptors are back at their baseline, and a normal client still logs in and gets a
 * message routed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startParley, eventually } from '../support/harness.js';
import { xml } from '../support/client.js';
import { runSoak, soakAccounts, type SoakTarget } from '../../bench/soak-gen.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test('a few thousand mutated sessions leave the server alive, serving, and without leaked descriptors', { timeout: 60_000 }, async () => {
  const p = await startParley({
    c2s: { negotiationTimeout: 10, resumeTimeout: 1 },
    limits: { maxConnectionsPerIp: 1_000_000, authFailuresPerMinute: 1_000_000 },
  });
  const thrown: unknown[] = [];
  const onThrown = (err: unknown) => thrown.push(err);
  process.on('uncaughtException', onThrown);
  process.on('unhandledRejection', onThrown);
  try {
    const accounts = soakAccounts(6);
    for (const a of accounts) {
      const r = await p.api('register', { user: a.user, host: 'localhost', password: a.password });
      assert.equal(r.status, 200, r.text);
    }
    const target: SoakTarget = {
      host: '127.0.0.1',
      c2sPort: p.ports.c2s,
      c2sTlsPort: p.ports.c2sTls,
      httpPort: p.ports.http,
      domain: 'localhost',
      accounts,
    };
    const baseline = openFds();
    const r = await runSoak(target, {
      seed: 20261130,
      sessions: 3000,
      concurrency: 100,
      maxMs: 6000,
      timeoutMs: 1000,
      wsPct: 15,
      starttlsPct: 5,
      tlsPct: 5,
    });
    assert.ok(r.finished >= 300, `only ${r.finished} sessions ran`);
    assert.equal(r.ends.error, 0, `generator errors: ${r.firstErrors.join('; ')}`);
    // Hibernated XEP-0198 sessions end after resumeTimeout (1 s); sockets the server closed go with them.
    await eventually(() => openFds() <= baseline + 3, 8000, `descriptors back at ${baseline} (now ${openFds()})`);
    assert.deepEqual(thrown, []);

    // On a loaded 2-core machine the first login after the burst can take longer than the client
    // library's 2 s open timeout; a server that stopped serving fails every attempt.
    const login = (a: (typeof accounts)[number]) =>
      eventually(() => p.login(a.user, 'after', { password: a.password }), 15_000, `${a.user} logs in after the soak`);
    const alice = await login(accounts[0]!);
    const bob = await login(accounts[1]!);
    await alice.send(xml('message', { to: `${accounts[1]!.user}@localhost/after`, type: 'chat' }, xml('body', {}, 'still here')));
    const got = await bob.waitFor((m) => m.is('message') && m.getChildText('body') === 'still here', 5000, 'the message after the soak');
    assert.equal(got.attrs.from, `${accounts[0]!.user}@localhost/after`);
    assert.deepEqual(thrown, []);
  } finally {
    process.off('uncaughtException', onThrown);
    process.off('unhandledRejection', onThrown);
    await p.close();
  }
});
