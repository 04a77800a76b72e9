import { commandsIn, int, intResult, listOf, rescode, restuple, str, strResult } from '../../admin/define.js';
import type { ArgSpec, ResultSpec } from '../../admin/registry.js';
import { badArgument } from '../../errors.js';
import { parseJID } from '../../xmpp/jid.js';
import type { CommandContext } from '../module.js';

/**
 * The commands of ejabberd's older API reference (seed 001) that the current one dropped: the
 * test commands of ejabberd_xmlrpc's era (echo_*, take_*, tell_*, three deliberately broken ones)
 * and small utilities (pow, seq, substrs, splitjid, splitjids). Scripts written against that
 * reference call them to check a connection; the broken ones show how each surface reports a
 * command that crashes, is declared wrong, or returns the wrong thing.
 */
const command = commandsIn<CommandContext>();

const S = <const N extends string>(name: N) => ({ name, type: 'string' as const });
const I = <const N extends string>(name: N) => ({ name, type: 'integer' as const });
const listArg = <const N extends string, const E extends ArgSpec>(name: N, of: E, desc: string, example: unknown) => ({ name, type: { list: of }, desc, example }) as const;
const tupleArg = <const N extends string, const F extends readonly ArgSpec[]>(name: N, fields: F, desc: string, example: unknown) => ({ name, type: { tuple: fields }, desc, example }) as const;
const tuple = <const N extends string, const F extends readonly ResultSpec[]>(name: N, fields: F) => ({ name, type: 'tuple', fields }) as const;

const TEST = 'A test command of the older API reference (seed 001), kept so scripts written against it run unchanged.';
/** The atoms tell_* commands answer, as strings (atoms are strings on every surface). */
const ATOMS = ['first', 'second', 'third'] as const;

const zero = (name: string, desc: string, args: readonly ArgSpec[]) =>
  command({ name, tags: ['test'], policy: 'admin', desc, longdesc: `${TEST} Answers 0 whatever it is given.`, args, result: intResult('zero'), resultExample: 0, exec: () => 0 });

export const compatCommands = [
  command({
    name: 'echo_integer', tags: ['test'], policy: 'admin', desc: 'Echo Integer', longdesc: TEST,
    args: [int('thisinteger', 'An integer', 5)], result: intResult('thatinteger'), resultExample: 5,
    exec: ({ thisinteger }) => thisinteger,
  }),
  command({
    name: 'echo_string', tags: ['test'], policy: 'admin', desc: 'Echo String', longdesc: TEST,
    args: [str('thisstring', 'A string', 'abcd')], result: strResult('thatstring'), resultExample: 'abcd',
    exec: ({ thisstring }) => thisstring,
  }),
  command({
    name: 'echo_integer_string', tags: ['test'], policy: 'admin', desc: 'Echo integer and string, in result as a tuple', longdesc: TEST,
    args: [int('thisinteger', 'An integer', 55), str('thisstring', 'A string', 'abc')],
    result: tuple('thistuple', [I('thisinteger'), S('thisstring')]), resultExample: { thisinteger: 55, thisstring: 'abc' },
    exec: ({ thisinteger, thisstring }) => ({ thisinteger, thisstring }),
  }),
  command({
    name: 'echo_list_integer', tags: ['test'], policy: 'admin', desc: 'Echo List of integers', longdesc: TEST,
    args: [listArg('thislist', I('thisinteger'), 'Integers', [55, 4567])], result: listOf('thatlist', I('thatinteger')), resultExample: [55, 4567],
    exec: ({ thislist }) => thislist,
  }),
  command({
    name: 'echo_list_string', tags: ['test'], policy: 'admin', desc: 'Echo List of strings', longdesc: TEST,
    args: [listArg('thislist', S('thisstring'), 'Strings', ['abc', 'bobo baba'])], result: listOf('thatlist', S('thatstring')), resultExample: ['abc', 'bobo baba'],
    exec: ({ thislist }) => thislist,
  }),
  command({
    name: 'echo_integer_list_string', tags: ['test'], policy: 'admin', desc: 'Echo an integer and List of strings', longdesc: TEST,
    args: [int('thisinteger', 'An integer', 123456), listArg('thislist', S('thisstring'), 'Strings', ['abc', 'bobo baba'])],
    result: tuple('thistuple', [I('thatinteger'), listOf('thatlist', S('thatstring'))]), resultExample: { thatinteger: 123456, thatlist: ['abc', 'bobo baba'] },
    exec: ({ thisinteger, thislist }) => ({ thatinteger: thisinteger, thatlist: thislist }),
  }),
  command({
    name: 'echo_isatils', tags: ['test'], policy: 'admin', desc: 'Echo integer, string, atom and tuple of integer and list of strings', longdesc: TEST,
    args: [
      int('thisinteger', 'An integer', 123456990), str('thisstring', 'A string', 'This is ISATILS'), str('thisatom', 'An atom', 'test_isatils'),
      tupleArg('thistuple', [I('listlen'), { name: 'thislist', type: { list: S('contentstring') } }], 'A length and strings', { listlen: 2, thislist: ['word1', 'word 2'] }),
    ],
    result: tuple('results', [I('thatinteger'), S('thatstring'), S('thatatom'), tuple('thattuple', [I('listlen'), listOf('thatlist', S('contentstring'))])]),
    resultExample: { thatinteger: 123456990, thatstring: 'This is ISATILS', thatatom: 'test_isatils', thattuple: { listlen: 2, thatlist: ['word1', 'word 2'] } },
    exec: ({ thisinteger, thisstring, thisatom, thistuple }) => ({
      thatinteger: thisinteger, thatstring: thisstring, thatatom: thisatom, thattuple: { listlen: thistuple.listlen, thatlist: thistuple.thislist },
    }),
  }),
  zero('take_integer', 'Take Integer in args, give Integer zero', [int('thisinteger', 'An integer', 5)]),
  zero('take_string', 'Take String, give Integer zero', [str('thisstring', 'A string', 'abcd')]),
  zero('take_integer_string', 'Take integer and string, give Integer zero', [int('thisinteger', 'An integer', 5), str('thisstring', 'A string', 'abcd')]),
  zero('take_list_integer', 'Take List of integers, give Integer zero', [listArg('thislist', I('thisinteger'), 'Integers', [1, 2])]),
  zero('take_list_string', 'Take List of strings, give Integer zero', [listArg('thislist', S('thisstring'), 'Strings', ['a', 'b'])]),
  zero('take_tuple_2integer', 'Take Tuple of two integers, give Integer zero', [tupleArg('thistuple', [I('thisinteger1'), I('thisinteger2')], 'Two integers', { thisinteger1: 55, thisinteger2: 4567 })]),
  zero('take_tuple_2string', 'Take Tuple of two strings, give Integer zero', [tupleArg('thistuple', [S('thisstring1'), S('thisstring2')], 'Two strings', { thisstring1: 'abc', thisstring2: 'def' })]),
  command({
    name: 'tell_atom', tags: ['test'], policy: 'admin', desc: 'Tell Atom, give Integer zero', longdesc: `${TEST} Answers the atom zero for 0, nonzero otherwise.`,
    args: [int('thisinteger', 'An integer', 0)], result: strResult('thisatom'), resultExample: 'zero',
    exec: ({ thisinteger }) => (thisinteger === 0 ? 'zero' : 'nonzero'),
  }),
  command({
    name: 'tell_list_3atom', tags: ['test'], policy: 'admin', desc: 'Tell a list with 3 atoms', longdesc: TEST,
    args: [], result: listOf('thatlist', S('thisatom')), resultExample: [...ATOMS], exec: () => [...ATOMS],
  }),
  command({
    name: 'tell_list_3integer', tags: ['test'], policy: 'admin', desc: 'Tell a list with 3 integers', longdesc: TEST,
    args: [], result: listOf('thatlist', I('thisinteger')), resultExample: [123, 456, 789], exec: () => [123, 456, 789],
  }),
  command({
    name: 'tell_list_3string', tags: ['test'], policy: 'admin', desc: 'Tell a list with 3 strings', longdesc: TEST,
    args: [], result: listOf('thatlist', S('thisstring')), resultExample: ['one', 'two', 'three'], exec: () => ['one', 'two', 'three'],
  }),
  command({
    name: 'tell_list_3tuple', tags: ['test'], policy: 'admin', desc: 'Tell a list with 3 tuples',
    longdesc: `${TEST} The string field is spelt thistring, as in the reference.`,
    args: [], result: listOf('thatlist', tuple('thistuple', [I('thisinteger'), S('thistring'), S('thisatom')])),
    resultExample: [{ thisinteger: 1, thistring: 'one', thisatom: 'first' }],
    exec: () => ATOMS.map((a, i) => ({ thisinteger: i + 1, thistring: ['one', 'two', 'three'][i]!, thisatom: a })),
  }),
  command({
    name: 'tell_rescode', tags: ['test'], policy: 'admin', desc: 'Tell rescode', longdesc: `${TEST} Success (0) for 0, failure (1) otherwise.`,
    args: [int('thisinteger', 'An integer', 0)], result: rescode, resultExample: true, exec: ({ thisinteger }) => thisinteger === 0,
  }),
  command({
    name: 'tell_restuple', tags: ['test'], policy: 'admin', desc: 'Tell restuple', longdesc: `${TEST} "Success" for 0, an error (400) otherwise.`,
    args: [int('thisinteger', 'An integer', 0)], result: restuple, resultExample: 'Success',
    exec: ({ thisinteger }) => {
      if (thisinteger !== 0) throw badArgument(`Told ${thisinteger}`);
      return 'Success';
    },
  }),
  command({
    name: 'tell_tuple_3atom', tags: ['test'], policy: 'admin', desc: 'Tell a tuple with 3 atoms', longdesc: TEST,
    args: [], result: tuple('thattuple', [S('first'), S('second'), S('third')]), resultExample: { first: 'first', second: 'second', third: 'third' },
    exec: () => ({ first: 'first', second: 'second', third: 'third' }),
  }),
  command({
    name: 'tell_tuple_3integer', tags: ['test'], policy: 'admin', desc: 'Tell a tuple with 3 integers', longdesc: TEST,
    args: [], result: tuple('thattuple', [I('first'), I('second'), I('third')]), resultExample: { first: 123, second: 456, third: 789 },
    exec: () => ({ first: 123, second: 456, third: 789 }),
  }),
  command({
    name: 'tell_tuple_3string', tags: ['test'], policy: 'admin', desc: 'Tell a tuple with 3 strings', longdesc: TEST,
    args: [], result: tuple('thattuple', [S('first'), S('second'), S('third')]), resultExample: { first: 'one', second: 'two', third: 'three' },
    exec: () => ({ first: 'one', second: 'two', third: 'three' }),
  }),
  command({
    name: 'tell_tuple_3list', tags: ['test'], policy: 'admin', desc: 'Tell a tuple with 3 lists', longdesc: TEST,
    args: [], result: tuple('thattuple', [listOf('first', I('thisinteger')), listOf('second', S('thisstring')), listOf('third', S('thisatom'))]),
    resultExample: { first: [1, 2], second: ['one', 'two'], third: ['first', 'second'] },
    exec: () => ({ first: [1, 2], second: ['one', 'two'], third: ['first', 'second'] }),
  }),
  command({
    name: 'this_crashes', tags: ['test'], policy: 'admin', desc: 'This command crashes: test+5',
    longdesc: `${TEST} It fails on purpose, as ejabberd's does: the caller gets the surface's internal error (HTTP 500 "internal_error"), the node keeps running.`,
    args: [int('aninteger', 'An integer', 5)], result: intResult('result'), resultExample: 10,
    exec: () => {
      throw new TypeError("bad argument in arithmetic expression: 'test' + 5");
    },
  }),
  command({
    name: 'this_wrong_args', tags: ['test'], policy: 'admin', desc: 'This problematic command defines 2 arguments but function expects 1',
    longdesc: `${TEST} Its declaration does not match its code on purpose: the caller gets the internal error.`,
    args: [int('a', 'An integer', 1), int('b', 'An integer', 2)], result: intResult('result'), resultExample: 3,
    exec: () => {
      throw new TypeError('this_wrong_args/1 called with 2 arguments');
    },
  }),
  command({
    name: 'this_wrong_return', tags: ['test'], policy: 'admin', desc: "This problematic command doesn't give a proper return",
    longdesc: `${TEST} It returns what its declaration does not allow, on purpose: the registry's result check turns that into the internal error instead of a malformed answer.`,
    args: [], result: intResult('result'), resultExample: 1,
    exec: () => 'not an integer' as unknown as number,
  }),

  // ---- utilities --------------------------------------------------------------------------------
  command({
    name: 'pow', tags: ['test'], policy: 'admin', desc: 'Return the power of base for exponent',
    longdesc: 'This is an example command. The formula is: power = base ^ exponent. Exponents from 0 to 1024; a result beyond 2^53 is refused (400) rather than rounded.',
    args: [int('base', 'Base integer', 5), int('exponent', 'Exponent integer', 7)], result: intResult('power'), resultExample: 78125,
    exec: ({ base, exponent }) => {
      if (exponent < 0 || exponent > 1024) throw badArgument(`Invalid exponent: ${exponent} (0 to 1024)`);
      const p = base ** exponent;
      if (!Number.isSafeInteger(p)) throw badArgument(`${base}^${exponent} is larger than 2^53`);
      return p;
    },
  }),
  command({
    name: 'seq', tags: ['test'], policy: 'admin', desc: 'Return list of integers between two integers',
    longdesc: 'FROM to TO inclusive (empty when TO < FROM), at most 10,000 integers.',
    args: [int('from', 'First integer', 3), int('to', 'Last integer', 7)], result: listOf('sequence', I('intermediate')), resultExample: [3, 4, 5, 6, 7],
    exec: ({ from, to }) => {
      if (to - from >= 10_000) throw badArgument('A sequence of more than 10000 integers');
      const out: number[] = [];
      for (let i = from; i <= to; i++) out.push(i);
      return out;
    },
  }),
  command({
    name: 'substrs', tags: ['test'], policy: 'admin', desc: 'Return list of substrings of length increasing',
    longdesc: 'The prefixes of WORD, shortest first (abcd: a, ab, abc, abcd); WORD up to 1000 characters.',
    args: [str('word', 'A word', 'abcd')], result: listOf('substrings', S('miniword')), resultExample: ['a', 'ab', 'abc', 'abcd'],
    exec: ({ word }) => {
      const chars = [...word];
      if (chars.length > 1000) throw badArgument('A word of more than 1000 characters');
      return chars.map((_, i) => chars.slice(0, i + 1).join(''));
    },
  }),
  command({
    name: 'splitjid', tags: ['test'], policy: 'admin', desc: 'Split JID in parts: user, server, resource',
    longdesc: 'The JID is prepared as the server prepares every JID; an invalid one is an error (400).',
    args: [str('jid', 'A JID', 'abcd@localhost/work')], result: tuple('jidparts', [S('user'), S('server'), S('resource')]),
    resultExample: { user: 'abcd', server: 'localhost', resource: 'work' },
    exec: ({ jid }) => split(jid),
  }),
  command({
    name: 'splitjids', tags: ['test'], policy: 'admin', desc: 'Split JIDs in parts: user, server, resource',
    longdesc: 'As splitjid, for each JID of the list (at most 10,000).',
    args: [listArg('jids', S('jid'), 'JIDs', ['abcd@localhost/work', 'efgh@example.com'])],
    result: listOf('jidsparts', tuple('jidparts', [S('user'), S('server'), S('resource')])),
    resultExample: [{ user: 'abcd', server: 'localhost', resource: 'work' }, { user: 'efgh', server: 'example.com', resource: '' }],
    exec: ({ jids }) => {
      if (jids.length > 10_000) throw badArgument('More than 10000 JIDs');
      return jids.map(split);
    },
  }),
];

function split(jid: string): { user: string; server: string; resource: string } {
  try {
    const j = parseJID(jid);
    return { user: j.local, server: j.domain, resource: j.resource };
  } catch (err) {
    throw badArgument(`Invalid JID: ${jid}: ${(err as Error).message}`);
  }
}
