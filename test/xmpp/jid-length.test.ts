// Issue 5 item 10: localparts, domainparts and resourceparts are at most 1023 octets of UTF-8
// after preparation (RFC 7622 §3.2–3.4). parseJID checked it, but nodeprep and resourceprep
// (used directly by resource binding, SASL and the admin API) did not: a 1,024-byte resource
// was bound and a 1,024-byte user name registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JIDError, nameprep, nodeprep, parseJID, resourceprep } from '../../src/xmpp/jid.js';
import { startParley } from '../support/harness.js';
import { RawConn } from '../xmpp-e2e/raw.js';

function tooLong(fn: () => unknown, part: string): void {
  assert.throws(fn, (e: unknown) => e instanceof JIDError && e.message === `invalid ${part}: longer than 1023 bytes`);
}

test('nodeprep, nameprep and resourceprep refuse output over 1023 bytes (ASCII and full paths)', () => {
  assert.equal(nodeprep('A'.repeat(1023)), 'a'.repeat(1023));
  tooLong(() => nodeprep('a'.repeat(1024)), 'localpart');
  assert.equal(resourceprep('r'.repeat(1023)).length, 1023);
  tooLong(() => resourceprep('r'.repeat(1024)), 'resourcepart');
  assert.equal(nameprep('d'.repeat(1023)).length, 1023);
  tooLong(() => nameprep('d'.repeat(1024)), 'domainpart');

  // Non-ASCII (the full stringprep path): bytes of UTF-8 count, not characters.
  assert.equal(nodeprep('é'.repeat(511)).length, 511); // 1022 bytes
  tooLong(() => nodeprep('é'.repeat(512)), 'localpart'); // 1024 bytes
  assert.equal(resourceprep('€'.repeat(341)).length, 341); // 1023 bytes
  tooLong(() => resourceprep('€'.repeat(342)), 'resourcepart'); // 1026 bytes
  tooLong(() => resourceprep('\u{10428}'.repeat(256)), 'resourcepart'); // 4 bytes each: 1024

  // The limit applies after preparation: NFKC can make a short input long ...
  assert.ok(Buffer.byteLength('\uFDFA'.repeat(40)) < 1023);
  tooLong(() => resourceprep('\uFDFA'.repeat(40)), 'resourcepart'); // each becomes 18 Arabic letters
  // ... and mapping to nothing (B.1, soft hyphen) can make a long input short.
  assert.equal(nodeprep('\u00AD'.repeat(2000) + 'a'), 'a');
});

test('parseJID and withResource apply the same limits', () => {
  tooLong(() => parseJID(`${'a'.repeat(1024)}@example.com`), 'localpart');
  tooLong(() => parseJID(`a@example.com/${'r'.repeat(1024)}`), 'resourcepart');
  tooLong(() => parseJID(`a@${'d'.repeat(1024)}`), 'domainpart');
  assert.equal(parseJID(`a@example.com/${'r'.repeat(1023)}`).resource.length, 1023);
  tooLong(() => parseJID('a@example.com').withResource('r'.repeat(1024)), 'resourcepart');
});

test('end to end: binding a 1,024-byte resource is bad-request, 1,023 is bound; the API refuses a 1,024-byte user name', async () => {
  const parley = await startParley();
  try {
    await parley.register('alice');
    const c = await RawConn.tcp(parley.ports.c2s);
    try {
      await c.open();
      c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0alice\0alicepw').toString('base64')}</auth>`);
      await c.expect(/<success /, 5000, 'SASL success');
      await c.open();
      c.write(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${'r'.repeat(1024)}</resource></bind></iq>`);
      const refused = await c.expect(/<iq [^>]*id="b1"[^>]*>[\s\S]*?<\/iq>/, 3000, 'bind answer');
      assert.match(refused[0], /type="error"/);
      assert.match(refused[0], /<bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
      assert.match(refused[0], /resourcepart: longer than 1023 bytes/);
      assert.equal(parley.server.sessions.resources('alice@localhost').length, 0, 'nothing was bound');

      // The same stream can still bind a resource of exactly 1023 bytes.
      const jid = await c.bind('s'.repeat(1023));
      assert.equal(jid, `alice@localhost/${'s'.repeat(1023)}`);
    } finally {
      c.destroy();
    }

    const r = await parley.api('register', { user: 'u'.repeat(1024), host: 'localhost', password: 'pw' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { status: 'error', code: 10001, message: 'Invalid user name: invalid localpart: longer than 1023 bytes' });
    const ok = await parley.api('register', { user: 'u'.repeat(1023), host: 'localhost', password: 'pw' });
    assert.equal(ok.status, 200);
    const exists = await parley.api('check_account', { user: 'u'.repeat(1024), host: 'localhost' });
    assert.equal(exists.body, 1, 'a 1,024-byte name does not exist (and is no error for a yes/no question)');
  } finally {
    await parley.close();
  }
});
