// Issue 5 item 10: the time a failed login takes must not tell whether the user name exists.
// Before the fix an unknown user failed at once while a known one with a wrong password ran
// PBKDF2 (about 1 ms at 4096 iterations): PLAIN, HTTP basic auth and check_password all leaked it.
// SCRAM offered unknown users 4096 iterations whatever `storage.scramIterations` said.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startParley, type Parley } from '../support/harness.js';
import { createMechanism, SaslError } from '../../src/c2s/sasl.js';

// Enough iterations that PBKDF2 dominates scheduling noise on a busy machine.
const ITERATIONS = 10_000;
const ROUNDS = 30;

let parley: Parley;

before(async () => {
  parley = await startParley({ storage: { scramIterations: ITERATIONS } });
  await parley.register('alice');
});

after(async () => parley?.close());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median time of `check(known)` and `check(unknown)`, interleaved so that load affects both alike. */
async function medians(check: (user: string) => Promise<boolean>): Promise<{ known: number; unknown: number }> {
  // Warm up both paths (the decoy credentials are derived on first use).
  assert.equal(await check('alice'), false);
  assert.equal(await check('nobody'), false);
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [user, into] of [['alice', known], [`nobody${i}`, unknown]] as const) {
      const t = performance.now();
      assert.equal(await check(user), false, `${user} with a wrong password`);
      into.push(performance.now() - t);
    }
  }
  return { known: median(known), unknown: median(unknown) };
}

function assertAlike(t: { diagnostic(s: string): void }, what: string, m: { known: number; unknown: number }): void {
  const ratio = m.unknown / m.known;
  t.diagnostic(`${what}: median ${m.known.toFixed(2)} ms for an existing user, ${m.unknown.toFixed(2)} ms for a missing one (ratio ${ratio.toFixed(2)})`);
  assert.ok(ratio > 0.5 && ratio < 2, `${what}: unknown/known = ${ratio.toFixed(2)} (${m.unknown.toFixed(2)} / ${m.known.toFixed(2)} ms)`);
}

test('HTTP basic auth and check_password: a missing user fails as slowly as a wrong password', async (t) => {
  const accounts = parley.server.accounts;
  assertAlike(t, 'checkPassword', await medians((user) => accounts.checkPassword({ user, host: 'localhost' }, 'wrong')));
  // The right password is still accepted, and the decoy accepts nothing, not even its own kind of input.
  assert.equal(await accounts.checkPassword({ user: 'alice', host: 'localhost' }, 'alicepw'), true);
  assert.equal(await accounts.checkPassword({ user: 'nobody', host: 'localhost' }, ''), false);
});

test('SASL PLAIN: a missing user fails as slowly as a wrong password', async (t) => {
  const backend = parley.server.accounts.saslBackend('localhost');
  assertAlike(t, 'checkPlain', await medians((user) => backend.checkPlain(user, 'wrong')));
  assert.equal(await backend.checkPlain('alice', 'alicepw'), true);
});

test('SCRAM: a missing user is offered the configured iteration count and fails at the same step', async () => {
  const backend = parley.server.accounts.saslBackend('localhost');
  for (const user of ['alice', 'nobody']) {
    const mech = createMechanism('SCRAM-SHA-256', backend)!;
    const first = await mech.start(Buffer.from(`n,,n=${user},r=clientnonce`));
    assert.equal(first.kind, 'challenge');
    const serverFirst = (first as { data: Buffer }).data.toString();
    assert.match(serverFirst, new RegExp(`,i=${ITERATIONS}$`), `${user}: ${serverFirst}`);
    const nonce = /^r=([^,]+)/.exec(serverFirst)![1];
    const proof = Buffer.alloc(32, 1).toString('base64');
    await assert.rejects(
      mech.step(Buffer.from(`c=biws,r=${nonce},p=${proof}`)),
      (e: unknown) => e instanceof SaslError && e.condition === 'not-authorized',
      user,
    );
  }
});
