import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JID, JIDError, nameprep, nodeprep, parseJID, resourceprep, tryParseJID } from '../../src/xmpp/jid.js';
import { B_2, C_1_2, D_1, D_2, inRanges, mergeRanges } from '../../src/xmpp/stringprep-tables.js';

/** Asserts that `fn` throws a JIDError whose message mentions `part`. */
function rejects(fn: () => unknown, part: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof JIDError, `expected JIDError, got ${String(err)}`);
    if (typeof part === 'string') assert.ok(err.message.includes(part), `message "${err.message}" lacks "${part}"`);
    else assert.match(err.message, part);
    return true;
  });
}

test('parses and prepares all three parts', () => {
  const j = parseJID('Alice@LocalHost/Res');
  assert.equal(j.local, 'alice');
  assert.equal(j.domain, 'localhost');
  assert.equal(j.resource, 'Res');
  assert.equal(j.bare, 'alice@localhost');
  assert.equal(j.full, 'alice@localhost/Res');
  assert.equal(j.toString(), 'alice@localhost/Res');
  assert.equal(String(j), 'alice@localhost/Res');
  assert.equal(j.isBare(), false);
});

test('domain-only and domain/resource addresses', () => {
  const d = parseJID('Example.COM');
  assert.deepEqual([d.local, d.domain, d.resource], ['', 'example.com', '']);
  assert.equal(d.bare, 'example.com');
  assert.equal(d.full, 'example.com');
  assert.equal(d.isBare(), true);
  const r = parseJID('conference.example.com/Some Room');
  assert.deepEqual([r.local, r.domain, r.resource], ['', 'conference.example.com', 'Some Room']);
  assert.equal(r.full, 'conference.example.com/Some Room');
});

test('trailing dot of the domain is removed', () => {
  const j = parseJID('ALICE@EXAMPLE.COM.');
  assert.equal(j.local, 'alice');
  assert.equal(j.domain, 'example.com');
  assert.equal(j.full, 'alice@example.com');
  assert.equal(parseJID('example.com./r').full, 'example.com/r');
  assert.ok(parseJID('a@example.com.').equals(parseJID('a@example.com')));
});

test('resource keeps case and may contain @ and /', () => {
  const j = parseJID('juliet@capulet.example/Balcony/Window@Night');
  assert.equal(j.local, 'juliet');
  assert.equal(j.domain, 'capulet.example');
  assert.equal(j.resource, 'Balcony/Window@Night');
  const k = parseJID('capulet.example/a@b');
  assert.equal(k.local, '');
  assert.equal(k.domain, 'capulet.example');
  assert.equal(k.resource, 'a@b');
  assert.equal(resourceprep('MiXeD CaSe "&\'<>:'), 'MiXeD CaSe "&\'<>:');
});

test('B.2 case folding in nodeprep and nameprep', () => {
  assert.equal(nodeprep('Straße'), 'strasse');
  assert.equal(parseJID('Straße@Example.com').local, 'strasse');
  assert.equal(nodeprep('ΣΊΣΥΦΟΣ'), 'σίσυφοσ'); // final sigma folds to σ too
  assert.equal(nodeprep('\u0130'), 'i\u0307'); // LATIN CAPITAL I WITH DOT ABOVE
  assert.equal(nodeprep('\u00B5'), '\u03BC'); // MICRO SIGN -> GREEK SMALL MU
  assert.equal(nodeprep('\u2126'), '\u03C9'); // OHM SIGN
  assert.equal(nodeprep('\u{1D400}\u{1D401}'), 'ab'); // MATHEMATICAL BOLD CAPITAL A, B
  assert.equal(nodeprep('\u{10400}'), '\u{10428}'); // DESERET CAPITAL LONG I
  assert.equal(nameprep('BÜCHER'), 'bücher');
  assert.equal(parseJID('Bücher.Example').domain, 'bücher.example');
  // The generated table has all of RFC 3454 B.2 (1371 mappings).
  assert.equal(B_2.length, 1371);
  assert.deepEqual(B_2.find(([cp]) => cp === 0xdf), [0xdf, 'ss']);
});

test('resourceprep does not case fold', () => {
  assert.equal(resourceprep('Straße'), 'Straße');
  assert.equal(resourceprep('ΣΑΣ'), 'ΣΑΣ');
  assert.equal(parseJID('a@b/Straße').resource, 'Straße');
});

test('NFKC normalization: full-width letters, ligatures, composition', () => {
  assert.equal(nodeprep('ＡＬＩＣＥ'), 'alice');
  assert.equal(nodeprep('\uFB01x'), 'fix'); // LATIN SMALL LIGATURE FI
  assert.equal(nodeprep('e\u0301'), '\u00E9'); // composed
  assert.equal(nodeprep('\u1100\u1161'), '\uAC00'); // Hangul jamo compose to a syllable
  assert.equal(resourceprep('Ｒｅｓ'), 'Res'); // NFKC, case kept
  assert.equal(nameprep('ＥＸＡＭＰＬＥ'), 'example');
  const j = parseJID('ＡＬＩＣＥ@ＥＸＡＭＰＬＥ．ＣＯＭ/Ｈｏｍｅ');
  assert.equal(j.full, 'alice@example.com/Home');
});

test('NFKC follows Unicode 3.2 for the Corrigendum #4 ideographs', () => {
  // Current Unicode maps U+2F868 to U+36FC; Unicode 3.2 (which stringprep requires) to U+2136A.
  assert.equal(nodeprep('\u{2F868}'), '\u{2136A}');
  assert.equal(resourceprep('\u{2F874}'), '\u5F33');
});

test('B.1 characters are mapped to nothing', () => {
  assert.equal(nodeprep('a\u00ADb\u200Bc\uFEFF'), 'abc');
  assert.equal(resourceprep('R\u00ADes\u200D'), 'Res');
  assert.equal(nameprep('exa\u00ADmple'), 'example');
  // A part that maps to nothing at all is empty.
  rejects(() => parseJID('\u00AD@example.com'), 'localpart');
  rejects(() => parseJID('a@example.com/\u200B'), 'resourcepart');
});

test('IDNA label separators in the domain', () => {
  assert.equal(parseJID('a@example\u3002com').domain, 'example.com');
  assert.equal(parseJID('a@exämple\uFF61com\u3002').domain, 'exämple.com');
  assert.equal(parseJID('a@exämple\uFF0Ecom').domain, 'exämple.com');
});

test('prohibited characters in the localpart are rejected', () => {
  for (const s of ['a"b@x', 'a&b@x', "a'b@x", 'a:b@x', 'a<b@x', 'a>b@x', 'a b@x', 'a\u0000b@x', 'a\u007Fb@x', 'a\tb@x']) {
    rejects(() => parseJID(s), 'invalid localpart');
  }
  // '/' and '@' cannot reach a parsed localpart, but nodeprep itself rejects them.
  rejects(() => nodeprep('a/b'), 'prohibited character U+002F');
  rejects(() => nodeprep('a@b'), 'prohibited character U+0040');
  rejects(() => nodeprep('a"b'), 'prohibited character U+0022');
  // Non-ASCII: C.1.2, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
  for (const cp of [0x00a0, 0x3000, 0x0085, 0x06dd, 0xe000, 0xf0000, 0xfdd0, 0xfffe, 0x1fffe, 0xfffd, 0x2ff0, 0x200e, 0x202e, 0xe0001]) {
    rejects(() => nodeprep('x' + String.fromCodePoint(cp)), 'invalid localpart: prohibited character');
  }
  rejects(() => nodeprep('ä\u0020'), 'U+0020'); // space on the full path as well
  rejects(() => nodeprep('a\uD800'), 'unpaired surrogate');
  rejects(() => parseJID('a@b@c'), 'domainpart'); // the second '@' is in the domain
});

test('unassigned code points (RFC 3454 A.1) are rejected', () => {
  rejects(() => nodeprep('a\u0221'), 'unassigned code point U+0221');
  rejects(() => resourceprep('r\u0221'), 'invalid resourcepart: unassigned');
  rejects(() => nameprep('d\u0221'), 'invalid domainpart: unassigned');
  rejects(() => nodeprep('\u{1F600}'), 'unassigned'); // emoji did not exist in Unicode 3.2
});

test('prohibited characters in the resourcepart are rejected, space is allowed', () => {
  assert.equal(parseJID('a@b/My Phone').resource, 'My Phone');
  for (const s of ['a@b/x\u0000', 'a@b/x\u001F', 'a@b/\u007F', 'a@b/x\u0085', 'a@b/x\u1680y', 'a@b/x\uFFFD', 'a@b/x\uFFFF', 'a@b/\uE000', 'a@b/x\u200Fy']) {
    rejects(() => parseJID(s), 'invalid resourcepart');
  }
  // C.1.1 (ASCII space) is not prohibited by Resourceprep, C.1.2 is; but most
  // C.1.2 spaces become U+0020 under NFKC before the check, so they are allowed.
  assert.equal(resourceprep('ä b'), 'ä b');
  assert.equal(resourceprep('x\u00A0y\u2003z'), 'x y z');
  assert.ok(inRanges(C_1_2, 0x1680));
  rejects(() => resourceprep('a\u1680b'), 'prohibited character U+1680'); // OGHAM SPACE MARK has no decomposition
});

test('prohibited characters in the domainpart are rejected', () => {
  for (const s of ['a@exa mple.com', 'a@a"b.com', 'a@host:5222', 'a@ex\u0000ample', 'a@ex\u00A0ample.com', 'a@ex\uFFFDample', 'a@<b>', 'a@b]', 'a@ä[b']) {
    rejects(() => parseJID(s), 'invalid domainpart');
  }
  // U+2488 (DIGIT ONE FULL STOP) normalizes to "1." and would split a label.
  rejects(() => parseJID('a@x\u2488y.com'), 'invalid domainpart');
});

test('empty parts are rejected', () => {
  rejects(() => parseJID(''), 'invalid domainpart: empty');
  rejects(() => parseJID('@example.com'), 'invalid localpart: empty');
  rejects(() => parseJID('a@example.com/'), 'invalid resourcepart: empty');
  rejects(() => parseJID('a@/r'), 'invalid domainpart: empty');
  rejects(() => parseJID('a@'), 'invalid domainpart: empty');
  rejects(() => parseJID('/r'), 'invalid domainpart: empty');
  rejects(() => parseJID('.'), 'invalid domainpart: empty');
  rejects(() => parseJID('a@.'), 'invalid domainpart: empty');
  rejects(() => parseJID('a@example..com'), 'empty label');
  rejects(() => parseJID('a@.example.com'), 'empty label');
  rejects(() => parseJID('a@example.com..'), 'empty label');
  rejects(() => parseJID('a@ä..com'), 'empty label');
  rejects(() => parseJID('a@\u00AD.com'), 'empty label');
});

test('parts longer than 1023 bytes of UTF-8 are rejected', () => {
  const a1023 = 'a'.repeat(1023);
  assert.equal(parseJID(`${a1023}@example.com`).local.length, 1023);
  rejects(() => parseJID(`${'a'.repeat(1024)}@example.com`), 'localpart: longer than 1023 bytes');
  // Two bytes each: 511 -> 1022 bytes is fine, 512 -> 1024 is not.
  assert.equal(parseJID(`${'é'.repeat(511)}@example.com`).local.length, 511);
  rejects(() => parseJID(`${'é'.repeat(512)}@example.com`), 'localpart: longer than 1023 bytes');
  // Three bytes each: 341 -> 1023 fine, 342 -> 1026 not.
  assert.equal(parseJID(`a@b/${'€'.repeat(341)}`).resource.length, 341);
  rejects(() => parseJID(`a@b/${'€'.repeat(342)}`), 'resourcepart: longer than 1023 bytes');
  // Four bytes each (surrogate pairs): 255 -> 1020 fine, 256 -> 1024 not.
  assert.equal(parseJID(`a@b/${'\u{10428}'.repeat(255)}`).resource.length, 510);
  rejects(() => parseJID(`a@b/${'\u{10428}'.repeat(256)}`), 'resourcepart: longer than 1023 bytes');
  assert.equal(parseJID(`a@b/${'r'.repeat(1023)}`).resource.length, 1023);
  rejects(() => parseJID(`a@b/${'r'.repeat(1024)}`), 'resourcepart: longer than 1023 bytes');
  const domain1023 = `${'d'.repeat(60)}.`.repeat(16) + 'd'.repeat(47); // 61*16 + 47 = 1023
  assert.equal(domain1023.length, 1023);
  assert.equal(parseJID(domain1023).domain, domain1023);
  rejects(() => parseJID(domain1023 + 'd'), 'domainpart: longer than 1023 bytes');
  // The limit applies after preparation: B.1 characters vanish, ß doubles.
  assert.equal(parseJID(`${'a'.repeat(1023)}\u00AD@example.com`).local, a1023);
  rejects(() => parseJID(`${'a'.repeat(1022)}ß@example.com`), 'longer than 1023 bytes');
});

test('bidi rules (RFC 3454 section 6)', () => {
  rejects(() => nodeprep('\u0627a'), 'bidi violation');
  rejects(() => nodeprep('a\u0627'), 'bidi violation');
  rejects(() => parseJID('\u0627a@example.com'), 'invalid localpart: bidi');
  rejects(() => parseJID('a@b/\u05D0x\u05D1'), 'invalid resourcepart: bidi');
  // RandALCat text must start and end with RandALCat (digits are not).
  assert.equal(nodeprep('\u0627\u0628'), '\u0627\u0628');
  assert.equal(nodeprep('\u06271\u0628'), '\u06271\u0628');
  rejects(() => nodeprep('\u06271'), 'must start and end');
  rejects(() => nodeprep('1\u0627'), 'must start and end');
  // A resource of Hebrew text is fine.
  assert.equal(parseJID('a@b/\u05E9\u05DC\u05D5\u05DD').resource, '\u05E9\u05DC\u05D5\u05DD');
  // In a domain the rule holds label by label, as in IDNA.
  assert.equal(parseJID('a@\u0627\u0628.example').domain, '\u0627\u0628.example');
  rejects(() => parseJID('a@\u0627b.example'), 'invalid domainpart: bidi');
  rejects(() => nameprep('\u0627\u0628.example'), 'bidi'); // whole string: mixes R and L
  // Sanity of the generated tables.
  assert.ok(inRanges(D_1, 0x0627) && !inRanges(D_2, 0x0627));
  assert.ok(inRanges(D_2, 0x61) && !inRanges(D_1, 0x61));
});

test('IP literals are accepted as they are', () => {
  assert.equal(parseJID('[::1]').domain, '[::1]');
  const j = parseJID('user@[::1]/res');
  assert.deepEqual([j.local, j.domain, j.resource], ['user', '[::1]', 'res']);
  assert.equal(parseJID('[2001:DB8::1]').domain, '[2001:db8::1]');
  assert.equal(parseJID('[::ffff:192.0.2.1]').domain, '[::ffff:192.0.2.1]');
  assert.equal(parseJID('alice@127.0.0.1/r').domain, '127.0.0.1');
  assert.equal(parseJID('alice@127.0.0.1').full, 'alice@127.0.0.1');
  rejects(() => parseJID('[not-an-ip]'), 'IPv6 literal');
  rejects(() => parseJID('a@[::1'), 'IPv6 literal');
  rejects(() => parseJID('a@[127.0.0.1]'), 'IPv6 literal');
  rejects(() => parseJID('a@::1'), 'invalid domainpart');
});

test('equals, bare, full, bareJID, isBare', () => {
  const a = parseJID('romeo@montague.example/orchard');
  const b = parseJID('ROMEO@Montague.Example/orchard');
  assert.ok(a.equals(b));
  assert.ok(b.equals(a));
  assert.ok(!a.equals(parseJID('romeo@montague.example/Orchard')));
  assert.ok(!a.equals(parseJID('romeo@montague.example')));
  assert.ok(!a.equals(parseJID('juliet@montague.example/orchard')));
  assert.ok(!parseJID('montague.example').equals(parseJID('x@montague.example')));
  const bare = a.bareJID();
  assert.equal(bare.full, 'romeo@montague.example');
  assert.ok(bare.isBare());
  assert.ok(bare.equals(parseJID('Romeo@montague.example')));
  assert.equal(bare.bareJID(), bare, 'a bare JID is its own bareJID()');
  assert.equal(a.bareJID(), bare, 'bareJID() is cached');
  assert.equal(a.bare, 'romeo@montague.example');
  assert.equal(a.full, 'romeo@montague.example/orchard');
  assert.equal(a.full, a.full);
  // The constructor takes prepared parts as they are.
  const raw = new JID('', 'example.net');
  assert.equal(raw.resource, '');
  assert.equal(raw.bare, 'example.net');
  assert.equal(new JID('x', 'y', 'Z').full, 'x@y/Z');
});

test('withResource prepares the resource and leaves the original unchanged', () => {
  const a = parseJID('romeo@montague.example');
  const w = a.withResource('Ｍｏｂｉｌｅ\u00AD');
  assert.equal(w.full, 'romeo@montague.example/Mobile');
  assert.equal(a.full, 'romeo@montague.example');
  assert.ok(a.isBare());
  assert.ok(!w.isBare());
  assert.ok(w.bareJID().equals(a));
  assert.equal(w.withResource('other').full, 'romeo@montague.example/other');
  assert.equal(w.withResource('Mobile'), w);
  rejects(() => a.withResource(''), 'invalid resourcepart: empty');
  rejects(() => a.withResource('x\u0000'), 'invalid resourcepart');
  rejects(() => a.withResource('r'.repeat(1024)), 'longer than 1023 bytes');
});

test('JIDs are immutable', () => {
  const j = parseJID('a@b/c');
  assert.throws(() => {
    (j as unknown as { local: string }).local = 'z';
  }, TypeError);
  assert.equal(j.local, 'a');
  assert.equal(j.full, 'a@b/c');
});

test('tryParseJID answers undefined instead of throwing', () => {
  assert.equal(tryParseJID('a b@example.com'), undefined);
  assert.equal(tryParseJID(''), undefined);
  assert.equal(tryParseJID('@x'), undefined);
  assert.equal(tryParseJID('User@Example.com/R')?.full, 'user@example.com/R');
});

test('JIDError is an Error that names the part', () => {
  try {
    parseJID('a"b@example.com');
    assert.fail('should have thrown');
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(err instanceof JIDError);
    assert.equal(err.name, 'JIDError');
    assert.equal(err.message, 'invalid localpart: prohibited character U+0022');
  }
});

test('parse results are cached, and the bounded cache stays correct when it fills', () => {
  const first = parseJID('cache-test@example.com/r');
  assert.equal(parseJID('cache-test@example.com/r'), first);
  const all: JID[] = [];
  for (let i = 0; i < 12_000; i++) all.push(parseJID(`User${i}@Example.com/R${i}`));
  for (let i = 0; i < 12_000; i += 997) {
    assert.equal(all[i].full, `user${i}@example.com/R${i}`);
    assert.ok(parseJID(`User${i}@Example.com/R${i}`).equals(all[i]));
  }
  // Invalid input is never cached into success.
  rejects(() => parseJID('a b@x'), 'localpart');
  rejects(() => parseJID('a b@x'), 'localpart');
  assert.ok(parseJID('cache-test@example.com/r').equals(first));
});

test('ASCII fast paths agree with the full stringprep path', () => {
  // Prefixing 'é' forces the full path (mapping, NFKC, tables); compare each printable ASCII character.
  const run = (f: (s: string) => string, s: string): string | null => {
    try {
      return f(s);
    } catch (err) {
      if (err instanceof JIDError) return null;
      throw err;
    }
  };
  for (let c = 0; c < 0x80; c++) {
    const ch = String.fromCharCode(c);
    for (const f of [nodeprep, nameprep, resourceprep]) {
      const fast = run(f, `x${ch}`);
      const slow = run(f, `é${ch}`);
      assert.equal(fast === null, slow === null, `${f.name} U+${c.toString(16)}: fast/slow disagree on validity`);
      if (fast !== null && slow !== null) assert.equal(fast.slice(1), slow.slice(1), `${f.name} U+${c.toString(16)}`);
    }
  }
});

test('mergeRanges and inRanges', () => {
  const m = mergeRanges([[1, 3, 10, 12], [4, 5]], [13, 20]);
  assert.deepEqual(m, [1, 5, 10, 13, 20, 20]);
  assert.ok(inRanges(m, 1) && inRanges(m, 5) && inRanges(m, 13) && inRanges(m, 20));
  assert.ok(!inRanges(m, 0) && !inRanges(m, 6) && !inRanges(m, 9) && !inRanges(m, 14) && !inRanges(m, 21));
});
