import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  SUPPORTED_MECHANISMS,
  SaslError,
  createMechanism,
  deriveScramCredentials,
  verifyPasswordAgainstScram,
  verifyPasswordAgainstScramAsync,
  deriveScramCredentialsAsync,
  type SaslBackend,
  type SaslCondition,
  type SaslMechanism,
  type SaslStep,
  type ScramCredentials,
  type ScramHash,
} from '../../src/c2s/sasl.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

// RFC 5802 §5 example (SCRAM-SHA-1)
const RFC5802 = {
  salt: 'QSXCR+Q6sek8bf92',
  clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
  serverNonce: '3rfcNHYJY1ZVvWVs7j',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  // Computed independently (Python hashlib.pbkdf2_hmac / hmac).
  storedKey: '6dlGYMOdZcOPutkcNY8U2g7vK9Y=',
  serverKey: 'D+CSWLOshSulAsxiupA+qs2/fTE=',
};

// RFC 7677 §3 example (SCRAM-SHA-256)
const RFC7677 = {
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  storedKey: 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=',
  serverKey: 'wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
};

const SHA1_CREDS: ScramCredentials = {
  salt: RFC5802.salt,
  iterations: 4096,
  storedKey: RFC5802.storedKey,
  serverKey: RFC5802.serverKey,
};
const SHA256_CREDS: ScramCredentials = {
  salt: RFC7677.salt,
  iterations: 4096,
  storedKey: RFC7677.storedKey,
  serverKey: RFC7677.serverKey,
};

interface RecordingBackend extends SaslBackend {
  scramLookups: Array<[string, ScramHash]>;
  plainChecks: Array<[string, string]>;
}

/** A backend with the single account user/pencil. */
function backend(users: Record<string, { sha1?: ScramCredentials; sha256?: ScramCredentials; password?: string }> = {
  user: { sha1: SHA1_CREDS, sha256: SHA256_CREDS, password: 'pencil' },
}): RecordingBackend {
  const be: RecordingBackend = {
    scramLookups: [],
    plainChecks: [],
    async getScram(username, hash) {
      be.scramLookups.push([username, hash]);
      return users[username]?.[hash];
    },
    async checkPlain(username, password) {
      be.plainChecks.push([username, password]);
      return users[username]?.password === password;
    },
  };
  return be;
}

function mech(name: string, be: SaslBackend = backend(), nonce?: string): SaslMechanism {
  const m = createMechanism(name, be, nonce === undefined ? {} : { nonce: () => nonce });
  assert.ok(m, `mechanism ${name} should exist`);
  return m;
}

async function rejectsWith(p: Promise<unknown>, condition: SaslCondition): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SaslError, `expected SaslError, got ${String(err)}`);
    assert.equal(err.condition, condition);
    return true;
  });
}

function challengeText(step: SaslStep): string {
  assert.equal(step.kind, 'challenge');
  return step.data.toString('utf8');
}

/** Minimal independent SCRAM client computation for building client-final messages. */
function clientProof(hash: ScramHash, password: string, saltB64: string, iterations: number, authMessage: string): string {
  const len = hash === 'sha1' ? 20 : 32;
  const salted = pbkdf2Sync(password, Buffer.from(saltB64, 'base64'), iterations, len, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const sig = createHmac(hash, storedKey).update(authMessage).digest();
  return Buffer.from(clientKey.map((x, i) => x ^ sig[i]!)).toString('base64');
}

function parseServerFirst(s: string): { r: string; s: string; i: number } {
  const m = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(s);
  assert.ok(m, `bad server-first ${s}`);
  return { r: m[1]!, s: m[2]!, i: Number(m[3]) };
}

/** Run a full SCRAM exchange with our client; returns the final step promise. */
async function scramLogin(opts: {
  name?: string;
  hash?: ScramHash;
  be?: SaslBackend;
  password: string;
  gs2?: string;
  bare?: string;
  mutateFinal?: (withoutProof: string, combinedNonce: string) => string;
}): Promise<SaslStep> {
  const hash = opts.hash ?? 'sha256';
  const name = opts.name ?? (hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256');
  const gs2 = opts.gs2 ?? 'n,,';
  const bare = opts.bare ?? 'n=user,r=clientnonce123';
  const m = mech(name, opts.be ?? backend());
  const sf = challengeText(await m.start(b(gs2 + bare)));
  const parsed = parseServerFirst(sf);
  let withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${parsed.r}`;
  if (opts.mutateFinal) withoutProof = opts.mutateFinal(withoutProof, parsed.r);
  const proof = clientProof(hash, opts.password, parsed.s, parsed.i, `${bare},${sf},${withoutProof}`);
  return m.step(b(`${withoutProof},p=${proof}`));
}

describe('deriveScramCredentials', () => {
  it('matches the RFC 5802 SCRAM-SHA-1 example keys', () => {
    const creds = deriveScramCredentials('pencil', 'sha1', 4096, Buffer.from(RFC5802.salt, 'base64'));
    assert.deepEqual(creds, SHA1_CREDS);
  });

  it('matches the RFC 7677 SCRAM-SHA-256 example keys', () => {
    const creds = deriveScramCredentials('pencil', 'sha256', 4096, Buffer.from(RFC7677.salt, 'base64'));
    assert.deepEqual(creds, SHA256_CREDS);
  });

  it('defaults to 4096 iterations and a fresh 16-byte salt', () => {
    const a = deriveScramCredentials('pencil', 'sha256');
    const c = deriveScramCredentials('pencil', 'sha256');
    assert.equal(a.iterations, 4096);
    assert.equal(Buffer.from(a.salt, 'base64').length, 16);
    assert.notEqual(a.salt, c.salt);
    assert.notEqual(a.storedKey, c.storedKey);
    assert.equal(Buffer.from(a.storedKey, 'base64').length, 32);
    assert.equal(Buffer.from(a.serverKey, 'base64').length, 32);
  });

  it('applies SASLprep (soft hyphen is mapped to nothing, NBSP to space)', () => {
    const salt = Buffer.from(RFC5802.salt, 'base64');
    assert.deepEqual(deriveScramCredentials('pen\u00adcil', 'sha1', 4096, salt), SHA1_CREDS);
    assert.deepEqual(
      deriveScramCredentials('a\u00a0b', 'sha1', 1, salt),
      deriveScramCredentials('a b', 'sha1', 1, salt),
    );
  });

  it('rejects passwords with prohibited characters as malformed-request', () => {
    assert.throws(
      () => deriveScramCredentials('bad\u0007pw', 'sha256', 1),
      (err: unknown) => err instanceof SaslError && err.condition === 'malformed-request',
    );
  });

  it('rejects invalid iteration counts', () => {
    assert.throws(() => deriveScramCredentials('pencil', 'sha256', 0), RangeError);
    assert.throws(() => deriveScramCredentials('pencil', 'sha256', 1.5), RangeError);
  });
});

describe('verifyPasswordAgainstScram', () => {
  it('accepts the right password and rejects wrong ones', () => {
    assert.equal(verifyPasswordAgainstScram('pencil', 'sha1', SHA1_CREDS), true);
    assert.equal(verifyPasswordAgainstScram('pencil', 'sha256', SHA256_CREDS), true);
    assert.equal(verifyPasswordAgainstScram('pencil ', 'sha256', SHA256_CREDS), false);
    assert.equal(verifyPasswordAgainstScram('Pencil', 'sha1', SHA1_CREDS), false);
  });

  it('SASLpreps the candidate password', () => {
    assert.equal(verifyPasswordAgainstScram('pen\u00adcil', 'sha256', SHA256_CREDS), true);
  });

  it('returns false (does not throw) for prohibited characters and unusable credentials', () => {
    assert.equal(verifyPasswordAgainstScram('pen\u0000cil', 'sha256', SHA256_CREDS), false);
    assert.equal(verifyPasswordAgainstScram('pencil', 'sha256', SHA1_CREDS), false);
    assert.equal(verifyPasswordAgainstScram('pencil', 'sha256', { ...SHA256_CREDS, iterations: 0 }), false);
  });
});

describe('createMechanism', () => {
  it('advertises SCRAM-SHA-256, SCRAM-SHA-1, PLAIN in preference order', () => {
    assert.deepEqual([...SUPPORTED_MECHANISMS], ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    for (const name of SUPPORTED_MECHANISMS) assert.equal(createMechanism(name, backend())?.name, name);
  });

  it('returns undefined for unknown mechanisms', () => {
    assert.equal(createMechanism('DIGEST-MD5', backend()), undefined);
    assert.equal(createMechanism('SCRAM-SHA-1-PLUS', backend()), undefined);
    assert.equal(createMechanism('plain', backend()), undefined);
  });
});

describe('SCRAM RFC examples', () => {
  it('reproduces the RFC 5802 SCRAM-SHA-1 exchange', async () => {
    const be = backend();
    const m = mech('SCRAM-SHA-1', be, RFC5802.serverNonce);
    const first = await m.start(b(RFC5802.clientFirst));
    assert.equal(challengeText(first), RFC5802.serverFirst);
    assert.deepEqual(be.scramLookups, [['user', 'sha1']]);
    const final = await m.step(b(RFC5802.clientFinal));
    assert.equal(final.kind, 'success');
    assert.equal(final.username, 'user');
    assert.equal(final.authzid, undefined);
    assert.equal(final.data?.toString('utf8'), RFC5802.serverFinal);
    assert.equal(final.data?.toString('utf8'), 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  });

  it('reproduces the RFC 7677 SCRAM-SHA-256 exchange', async () => {
    const be = backend();
    const m = mech('SCRAM-SHA-256', be, RFC7677.serverNonce);
    assert.equal(challengeText(await m.start(b(RFC7677.clientFirst))), RFC7677.serverFirst);
    assert.deepEqual(be.scramLookups, [['user', 'sha256']]);
    const final = await m.step(b(RFC7677.clientFinal));
    assert.equal(final.kind, 'success');
    assert.equal(final.username, 'user');
    assert.equal(final.data?.toString('utf8'), RFC7677.serverFinal);
  });

  it('works with credentials produced by deriveScramCredentials', async () => {
    const creds = deriveScramCredentials('pencil', 'sha1', 4096, Buffer.from(RFC5802.salt, 'base64'));
    const m = mech('SCRAM-SHA-1', backend({ user: { sha1: creds } }), RFC5802.serverNonce);
    await m.start(b(RFC5802.clientFirst));
    const final = await m.step(b(RFC5802.clientFinal));
    assert.equal(final.kind === 'success' && final.data?.toString(), RFC5802.serverFinal);
  });

  it('sends an empty challenge when there is no initial response, then proceeds', async () => {
    const m = mech('SCRAM-SHA-1', backend(), RFC5802.serverNonce);
    const empty = await m.start(Buffer.alloc(0));
    assert.equal(empty.kind, 'challenge');
    assert.equal(empty.data.length, 0);
    assert.equal(challengeText(await m.step(b(RFC5802.clientFirst))), RFC5802.serverFirst);
    const final = await m.step(b(RFC5802.clientFinal));
    assert.equal(final.kind, 'success');
  });

  it('uses a random 24-byte base64 server nonce by default', async () => {
    const a = parseServerFirst(challengeText(await mech('SCRAM-SHA-256').start(b(RFC7677.clientFirst))));
    const c = parseServerFirst(challengeText(await mech('SCRAM-SHA-256').start(b(RFC7677.clientFirst))));
    assert.ok(a.r.startsWith(RFC7677.clientNonce));
    const serverPart = a.r.slice(RFC7677.clientNonce.length);
    assert.equal(Buffer.from(serverPart, 'base64').length, 24);
    assert.notEqual(a.r, c.r);
  });
});

describe('SCRAM exchange', () => {
  it('succeeds with a correct password for both hashes', async () => {
    for (const hash of ['sha1', 'sha256'] as const) {
      const step = await scramLogin({ hash, password: 'pencil' });
      assert.equal(step.kind, 'success');
      assert.equal(step.username, 'user');
      assert.match(step.data?.toString() ?? '', /^v=[A-Za-z0-9+/]+=*$/);
    }
  });

  it('rejects a wrong password with not-authorized', async () => {
    await rejectsWith(scramLogin({ password: 'pencil2' }), 'not-authorized');
    await rejectsWith(scramLogin({ hash: 'sha1', password: 'Pencil' }), 'not-authorized');
  });

  it('gives an unknown user a plausible challenge, then not-authorized', async () => {
    const be = backend();
    const m = mech('SCRAM-SHA-256', be);
    const sf = parseServerFirst(challengeText(await m.start(b('n,,n=nobody,r=abcdef'))));
    assert.deepEqual(be.scramLookups, [['nobody', 'sha256']]);
    assert.ok(sf.r.startsWith('abcdef') && sf.r.length > 'abcdef'.length);
    assert.equal(sf.i, 4096);
    assert.equal(Buffer.from(sf.s, 'base64').length, 16);
    const bare = 'n=nobody,r=abcdef';
    const withoutProof = `c=biws,r=${sf.r}`;
    const proof = clientProof('sha256', 'whatever', sf.s, sf.i, `${bare},r=${sf.r},s=${sf.s},i=${sf.i},${withoutProof}`);
    await rejectsWith(m.step(b(`${withoutProof},p=${proof}`)), 'not-authorized');
  });

  it('uses a deterministic fake salt per unknown user (no enumeration by salt changes)', async () => {
    const salt = async (user: string, name = 'SCRAM-SHA-256') =>
      parseServerFirst(challengeText(await mech(name).start(b(`n,,n=${user},r=xyz`)))).s;
    const s1 = await salt('ghost');
    assert.equal(await salt('ghost'), s1);
    assert.notEqual(await salt('ghost2'), s1);
    assert.notEqual(await salt('ghost', 'SCRAM-SHA-1'), s1);
  });

  it('rejects a tampered c= (GS2 header mismatch)', async () => {
    // Claims "y,," in the channel binding but the client-first used "n,,".
    await rejectsWith(
      scramLogin({ password: 'pencil', mutateFinal: (w) => w.replace('c=biws', `c=${Buffer.from('y,,').toString('base64')}`) }),
      'not-authorized',
    );
    // Sneaks in an authzid that wasn't in the client-first.
    await rejectsWith(
      scramLogin({ password: 'pencil', mutateFinal: (w) => w.replace('c=biws', `c=${Buffer.from('n,a=admin,').toString('base64')}`) }),
      'not-authorized',
    );
  });

  it('rejects a nonce mismatch', async () => {
    await rejectsWith(
      scramLogin({ password: 'pencil', mutateFinal: (w, r) => w.replace(`r=${r}`, `r=${r}X`) }),
      'not-authorized',
    );
    await rejectsWith(
      scramLogin({ password: 'pencil', mutateFinal: (w) => w.replace(/r=.*/, 'r=clientnonce123') }),
      'not-authorized',
    );
  });

  it('rejects the RFC proof when the server nonce differs (replay)', async () => {
    const m = mech('SCRAM-SHA-1', backend(), 'differentServerNonce');
    await m.start(b(RFC5802.clientFirst));
    await rejectsWith(m.step(b(RFC5802.clientFinal)), 'not-authorized');
  });

  it('rejects p= channel binding (no -PLUS offered)', async () => {
    const be = backend();
    await rejectsWith(mech('SCRAM-SHA-256', be).start(b('p=tls-exporter,,n=user,r=abc')), 'malformed-request');
    assert.deepEqual(be.scramLookups, []);
  });

  it('accepts the y flag and returns the authzid from the GS2 header', async () => {
    const gs2 = 'y,a=user@example.com,';
    const step = await scramLogin({ password: 'pencil', gs2 });
    assert.equal(step.kind, 'success');
    assert.equal(step.username, 'user');
    assert.equal(step.authzid, 'user@example.com');
  });

  it('decodes =2C and =3D in username and authzid', async () => {
    const be = backend({ 'a,b=c': { sha256: SHA256_CREDS } });
    const step = await scramLogin({ be, password: 'pencil', gs2: 'n,a=x=2Cy=3Dz,', bare: 'n=a=2Cb=3Dc,r=nonce' });
    assert.equal(step.kind, 'success');
    assert.equal(step.username, 'a,b=c');
    assert.equal(step.authzid, 'x,y=z');
    assert.deepEqual((be as RecordingBackend).scramLookups, [['a,b=c', 'sha256']]);
  });

  it('ignores unknown optional extensions', async () => {
    const step = await scramLogin({
      password: 'pencil',
      bare: 'n=user,r=nonce,x=ext',
      mutateFinal: (w) => `${w},y=ext2`,
    });
    assert.equal(step.kind, 'success');
  });

  it('cannot be stepped again after success or failure', async () => {
    const m = mech('SCRAM-SHA-1', backend(), RFC5802.serverNonce);
    await m.start(b(RFC5802.clientFirst));
    assert.equal((await m.step(b(RFC5802.clientFinal))).kind, 'success');
    await rejectsWith(m.step(b(RFC5802.clientFinal)), 'malformed-request');
    await rejectsWith(m.start(b(RFC5802.clientFirst)), 'malformed-request');

    const f = mech('SCRAM-SHA-1', backend(), RFC5802.serverNonce);
    await f.start(b(RFC5802.clientFirst));
    await rejectsWith(f.step(b(RFC5802.clientFinal.replace('p=v', 'p=w'))), 'not-authorized');
    await rejectsWith(f.step(b(RFC5802.clientFinal)), 'malformed-request');
  });

  it('reports backend errors as temporary-auth-failure', async () => {
    const be: SaslBackend = {
      getScram: async () => {
        throw new Error('db down');
      },
      checkPlain: async () => true,
    };
    await rejectsWith(mech('SCRAM-SHA-256', be).start(b('n,,n=user,r=abc')), 'temporary-auth-failure');
  });

  describe('malformed client-first messages', () => {
    const cases: Array<[string, string | Buffer]> = [
      ['garbage', 'hello'],
      ['missing GS2 header', 'n=user,r=abc'],
      ['only one comma', 'n,n=user'],
      ['bad cbind flag', 'x,,n=user,r=abc'],
      ['GS2 nonstd flag', 'F,n,,n=user,r=abc'],
      ['authzid without a=', 'n,user@example.com,n=user,r=abc'],
      ['empty authzid after a=', 'n,a=,n=user,r=abc'],
      ['mandatory extension m=', 'n,,m=foo,n=user,r=abc'],
      ['missing n=', 'n,,r=abc'],
      ['missing r=', 'n,,n=user'],
      ['swapped n/r', 'n,,r=abc,n=user'],
      ['empty username', 'n,,n=,r=abc'],
      ['bad escape in username', 'n,,n=us=41er,r=abc'],
      ['lowercase escape', 'n,,n=us=2cer,r=abc'],
      ['dangling =', 'n,,n=user=,r=abc'],
      ['empty nonce', 'n,,n=user,r='],
      ['non-printable nonce', 'n,,n=user,r=ab\u00e9c'],
      ['malformed extension', 'n,,n=user,r=abc,foo'],
      ['invalid UTF-8', Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])],
      ['NUL in username', 'n,,n=us\u0000er,r=abc'],
    ];
    for (const [label, msg] of cases) {
      it(label, async () => {
        const be = backend();
        await rejectsWith(mech('SCRAM-SHA-256', be).start(typeof msg === 'string' ? b(msg) : msg), 'malformed-request');
        assert.deepEqual(be.scramLookups, [], 'backend must not be consulted for malformed input');
      });
    }
  });

  describe('malformed client-final messages', () => {
    const r = RFC5802.clientNonce + RFC5802.serverNonce;
    const cases: Array<[string, string | Buffer]> = [
      ['empty', ''],
      ['garbage', 'hello'],
      ['missing proof', `c=biws,r=${r}`],
      ['proof not last', `c=biws,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=,r=${r}`],
      ['missing c=', `r=${r},x=1,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=`],
      ['c= not base64', `c=bi!s,r=${r},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=`],
      ['proof not base64', `c=biws,r=${r},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts`],
      ['proof wrong length', `c=biws,r=${r},p=${Buffer.alloc(32).toString('base64')}`],
      ['m= extension', `c=biws,r=${r},m=x,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=`],
      ['invalid UTF-8', Buffer.concat([b('c=biws,r='), Buffer.from([0xc3, 0x28]), b(',p=AAAA')])],
    ];
    for (const [label, msg] of cases) {
      it(label, async () => {
        const m = mech('SCRAM-SHA-1', backend(), RFC5802.serverNonce);
        await m.start(b(RFC5802.clientFirst));
        await rejectsWith(m.step(typeof msg === 'string' ? b(msg) : msg), 'malformed-request');
      });
    }
  });
});

describe('PLAIN', () => {
  it('succeeds with the right password', async () => {
    const be = backend();
    const step = await mech('PLAIN', be).start(b('\0user\0pencil'));
    assert.equal(step.kind, 'success');
    assert.equal(step.username, 'user');
    assert.equal(step.authzid, undefined);
    assert.equal(step.data, undefined);
    assert.deepEqual(be.plainChecks, [['user', 'pencil']]);
  });

  it('returns the authzid for the caller to check', async () => {
    const step = await mech('PLAIN').start(b('user@example.com\0user\0pencil'));
    assert.equal(step.kind, 'success');
    assert.equal(step.username, 'user');
    assert.equal(step.authzid, 'user@example.com');
  });

  it('handles UTF-8 credentials', async () => {
    const be = backend({ 'jürgen': { password: 'pässwörd☃' } });
    const step = await mech('PLAIN', be).start(b('\0jürgen\0pässwörd☃'));
    assert.equal(step.kind === 'success' && step.username, 'jürgen');
  });

  it('rejects a wrong password or unknown user with not-authorized', async () => {
    await rejectsWith(mech('PLAIN').start(b('\0user\0pencil2')), 'not-authorized');
    await rejectsWith(mech('PLAIN').start(b('\0nobody\0pencil')), 'not-authorized');
  });

  it('sends an empty challenge when there is no initial response', async () => {
    const m = mech('PLAIN');
    const first = await m.start(Buffer.alloc(0));
    assert.equal(first.kind, 'challenge');
    assert.equal(first.data.length, 0);
    const step = await m.step(b('\0user\0pencil'));
    assert.equal(step.kind === 'success' && step.username, 'user');
  });

  it('cannot be reused after completion', async () => {
    const m = mech('PLAIN');
    await m.start(b('\0user\0pencil'));
    await rejectsWith(m.step(b('\0user\0pencil')), 'malformed-request');
  });

  describe('malformed messages', () => {
    const cases: Array<[string, Buffer]> = [
      ['no NULs', b('userpencil')],
      ['one NUL', b('user\0pencil')],
      ['too many NULs', b('\0user\0pencil\0')],
      ['empty authcid', b('\0\0pencil')],
      ['empty password', b('\0user\0')],
      ['empty response after challenge', Buffer.alloc(0)],
      ['invalid UTF-8', Buffer.concat([b('\0us'), Buffer.from([0xff]), b('er\0pencil')])],
      ['oversized', b(`\0user\0${'x'.repeat(10000)}`)],
    ];
    for (const [label, msg] of cases) {
      it(label, async () => {
        const be = backend();
        const m = mech('PLAIN', be);
        const p = msg.length === 0 ? m.start(msg).then(() => m.step(msg)) : m.start(msg);
        await rejectsWith(p, 'malformed-request');
        assert.deepEqual(be.plainChecks, []);
      });
    }
  });
});

describe('async variants (what the server uses: PBKDF2 on the thread pool)', () => {
  it('deriveScramCredentialsAsync gives the same keys as the synchronous derivation', async () => {
    const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
    for (const hash of ['sha1', 'sha256'] as const) {
      assert.deepEqual(await deriveScramCredentialsAsync('pencil', hash, 4096, salt), deriveScramCredentials('pencil', hash, 4096, salt));
    }
  });
  it('verifyPasswordAgainstScramAsync accepts the right password only', async () => {
    assert.equal(await verifyPasswordAgainstScramAsync('pencil', 'sha1', SHA1_CREDS), true);
    assert.equal(await verifyPasswordAgainstScramAsync('pencil', 'sha256', SHA256_CREDS), true);
    assert.equal(await verifyPasswordAgainstScramAsync('Pencil', 'sha256', SHA256_CREDS), false);
    assert.equal(await verifyPasswordAgainstScramAsync('pen\u0000cil', 'sha256', SHA256_CREDS), false);
    assert.equal(await verifyPasswordAgainstScramAsync('pencil', 'sha256', { ...SHA256_CREDS, iterations: 0 }), false);
  });
});
