// The two small languages of the roster bulk commands on their own: process_rosteritems' JID
// patterns (globs and SQL LIKE) and the Erlang-term template files of push_roster(_all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jidPattern, jidPatternList, PatternError } from '../../src/modules/roster/jid-patterns.js';
import { parseTerms, TermSyntaxError } from '../../src/modules/roster/erlang-terms.js';
import { parseRosterTemplate } from '../../src/modules/roster/template.js';
import { DomainError } from '../../src/errors.js';

const JIDS = ['alice@example.org', 'bob@example.org', 'b0b@example.org', 'carol@icq.example.net', 'icq.example.net', 'example.org', 'dave@other.org', 'j_d@example.org', 'jxd@example.org'];
const matching = (spec: string) => JIDS.filter(jidPatternList(spec, 'users'));

test('glob patterns: * ? [...] [!...] and ! per part, user part required or absent', () => {
  // The seed's example: contacts that are server JIDs, or whose server part contains icq.
  assert.deepEqual(matching('*:*@*icq*'), ['carol@icq.example.net', 'icq.example.net', 'example.org']);
  assert.deepEqual(matching('*@example.org'), ['alice@example.org', 'bob@example.org', 'b0b@example.org', 'j_d@example.org', 'jxd@example.org']);
  assert.deepEqual(matching('b?b@example.org'), ['bob@example.org', 'b0b@example.org']);
  assert.deepEqual(matching('b[a-z]b@*'), ['bob@example.org']);
  assert.deepEqual(matching('b[!a-z]b@*'), ['b0b@example.org']);
  assert.deepEqual(matching('!*o*@example.org'), ['alice@example.org', 'b0b@example.org', 'j_d@example.org', 'jxd@example.org']);
  assert.deepEqual(matching('*@!example.org'), ['carol@icq.example.net', 'dave@other.org']);
  // `_` is an ordinary character in a glob.
  assert.deepEqual(matching('j_d@*'), ['j_d@example.org']);
  // Several patterns, any of them; `any` is everything; empty entries are skipped; case is folded; a resource is ignored.
  assert.deepEqual(matching('alice@example.org::dave@*'), ['alice@example.org', 'dave@other.org']);
  assert.deepEqual(matching('ALICE@Example.ORG/phone'), ['alice@example.org']);
  assert.deepEqual(matching('bob@example.org:any'), JIDS);
  // A `]` first in a set is a member; regular expression syntax is literal.
  assert.equal(jidPattern('[]x]@a')('x@a'), true);
  assert.equal(jidPattern('[]x]@a')(']@a'), true);
  assert.equal(jidPattern('a.b@c')('axb@c'), false);
  assert.equal(jidPattern('a+(b)|{c}$^@d')('a+(b)|{c}$^@d'), true);
  assert.equal(jidPattern('[\\^-]@d')('^@d'), true);
  assert.equal(jidPattern('[😀-😂]@d')('😁@d'), true);
  // Many runs against a long JID: answered by a linear walk (a backtracking regular expression would not return).
  assert.equal(jidPattern(`${'*a'.repeat(40)}b@d`)(`${'a'.repeat(1000)}@d`), false);
  assert.equal(jidPattern(`${'*a'.repeat(40)}*@d`)(`${'a'.repeat(1000)}@d`), true);
});

test('SQL LIKE patterns: % any run, _ any one character, over the whole JID', () => {
  assert.deepEqual(matching('%@example.org'), ['alice@example.org', 'bob@example.org', 'b0b@example.org', 'j_d@example.org', 'jxd@example.org']);
  assert.deepEqual(matching('%@%icq%'), ['carol@icq.example.net']);
  assert.deepEqual(matching('j_d@%'), ['j_d@example.org', 'jxd@example.org']);
  assert.deepEqual(matching('%.org'), ['alice@example.org', 'bob@example.org', 'b0b@example.org', 'example.org', 'dave@other.org', 'j_d@example.org', 'jxd@example.org']);
});

test('bad patterns are errors, not crashes', () => {
  assert.throws(() => jidPatternList('', 'users'), (e: unknown) => e instanceof PatternError && /Empty users/.test(e.message));
  assert.throws(() => jidPatternList(':::', 'contacts'), /Empty contacts/);
  assert.throws(() => jidPattern('a[bc@d'), /\[ without \]/);
  assert.throws(() => jidPattern('[z-a]@d'), /range z-a out of order/);
  assert.throws(() => jidPattern('user@'), /no server part/);
  assert.throws(() => jidPattern(`${'*'.repeat(3000)}@${'x'.repeat(100)}`), /longer than 3071 characters/);
});

test('Erlang terms: lists, tuples, strings, binaries with /utf8, escapes, comments', () => {
  assert.deepEqual(parseTerms('[{<<"user1">>, <<"localhost">>, <<"Workers"/utf8>>, "User 1"}].'), [[{ tuple: ['user1', 'localhost', 'Workers', 'User 1'] }]]);
  assert.deepEqual(parseTerms('% a comment\n[ ] . {"a" "b", <<>>, <<"x", "y"/utf8>>}.'), [[], { tuple: ['ab', '', 'xy'] }]);
  assert.deepEqual(parseTerms('"\\"\\\\\\n\\t\\s\\x41\\x{1F600}\\101"'.concat('.')), ['"\\\n\t A\u{1F600}A']);
  assert.deepEqual(parseTerms('"Jörg 名前".'), ['Jörg 名前']);
  const bad: [string, RegExp][] = [
    ['[{"a"}]', /line 1, column 8: expected \./],
    ['[{"a"}.', /expected , or \]/],
    ['[a].', /line 1, column 2: expected a list, tuple, string or binary/],
    ['[1].', /expected a list, tuple, string or binary, found a number$/],
    ['["a"}.', /expected , or \], found }$/],
    ['"open.', /string without its closing "/],
    ['<<"a"/latin1>>.', /unsupported binary segment type latin1/],
    ['<<1>>.', /a binary may only hold strings/],
    ['"\\q".', /unsupported escape \\q/],
    ['"\\xZ".', /\\x needs/],
    ['\n\n  [', /line 3, column 4: expected a term, found the end of the file/],
    ['[[[[[[[[[["deep"]]]]]]]]]].', /nested deeper than 8/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseTerms(text), (e: unknown) => e instanceof TermSyntaxError && re.test(e.message), text);
});

test('template rosters: one list of {User, Host, Group, Nick}, checked field by field', () => {
  assert.deepEqual(parseRosterTemplate('[{<<"user2">>, <<"localhost">>, <<"Workers"/utf8>>, <<"User 2"/utf8>>},\n {"u3", "h", "", ""}].\n'), [
    { user: 'user2', host: 'localhost', group: 'Workers', nick: 'User 2' },
    { user: 'u3', host: 'h', group: '', nick: '' },
  ]);
  assert.deepEqual(parseRosterTemplate('[].'), []);
  const bad: [string, RegExp][] = [
    ['', /expected one term .*found 0/],
    ['[]. [].', /found 2/],
    ['{"a","b","c","d"}.', /expected a list of \{User, Host, Group, Nick\} tuples/],
    ['[{"a","b","c"}].', /entry 1 is not a tuple/],
    ['[{"a","b","c","d"}, "x"].', /entry 2 is not a tuple/],
    ['[{"a","b",["c"],"d"}].', /entry 1: Group is not a string or binary/],
    ['[{"a","b","c","\\x{1}"}].', /entry 1: Nick holds a character that XML does not allow \(U\+0001\)/],
    [`[{"a","b","${'g'.repeat(1025)}",""}].`, /Group is longer than 1024/],
    ['[{"a" "b"}', /Invalid roster file: line 1/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseRosterTemplate(text),
      (e: unknown) => e instanceof DomainError && e.kind === 'bad-argument' && /^Invalid roster file: /.test(e.message) && re.test(e.message),
      text,
    );
  }
});
