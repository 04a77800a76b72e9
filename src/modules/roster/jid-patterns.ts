/**
 * The JID patterns of `process_rosteritems` (ejabberd's mod_roster): a list separated by `:`, or
 * `any`. Each pattern is read one of two ways, as ejabberd reads it on one backend or the other:
 *
 * - glob (ejabberd on Mnesia): the pattern is split like a JID into user and server parts (a
 *   resource is ignored), each matched as a shell glob: `*` any run, `?` any one character,
 *   `[...]` one of a set (`[!...]` none of it, `a-z` a range), and a part that starts with `!`
 *   matches what the rest does not. A pattern without `@` matches only server JIDs (contacts
 *   without a user part), so `*` is every server JID and `*@*` every other JID.
 * - SQL LIKE (ejabberd on SQL): a pattern with `%` and none of `* ? [ !` is matched against the
 *   whole bare JID, `%` any run and `_` any one character. (A literal `_` in such a pattern still
 *   matches itself, among others; outside this form `_` and `%` are ordinary characters.)
 *
 * Patterns are compared in lower case, as JIDs are stored prepared.
 */

export class PatternError extends Error {}

const MAX_PATTERN = 3071;

/**
 * A pattern compiled to tokens of one character each, matched without regular expressions: the
 * two-pointer wildcard walk takes at most (pattern length × JID length) steps, so no pattern can
 * make a match take long (a regular expression of many `.*` backtracks exponentially).
 */
type Token = { k: 'char'; c: string } | { k: 'one' } | { k: 'run' } | { k: 'set'; negate: boolean; ranges: [number, number][] };

function matchesOne(t: Token, c: string): boolean {
  switch (t.k) {
    case 'char':
      return t.c === c;
    case 'one':
      return true;
    case 'set':
      {
      const cp = c.codePointAt(0)!;
      return t.ranges.some(([lo, hi]) => lo <= cp && cp <= hi) !== t.negate;
    }
    case 'run':
      return false;
  }
}

function matches(tokens: readonly Token[], text: string): boolean {
  const s = [...text];
  let t = 0;
  let i = 0;
  let run = -1; // the last `run` token seen, and where in the text it is taken to end
  let runEnd = 0;
  while (i < s.length) {
    const tok = tokens[t];
    if (tok && tok.k === 'run') {
      run = t++;
      runEnd = i;
    } else if (tok && matchesOne(tok, s[i]!)) {
      t++;
      i++;
    } else if (run >= 0) {
      t = run + 1;
      i = ++runEnd;
    } else return false;
  }
  while (tokens[t]?.k === 'run') t++;
  return t === tokens.length;
}

/** A shell glob as tokens (ejabberd_regexp:sh_to_awk's syntax): `*`, `?`, `[...]`, `[!...]`. */
function globTokens(glob: string, pattern: string): Token[] {
  const chars = [...glob];
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') out.push({ k: 'run' });
    else if (c === '?') out.push({ k: 'one' });
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (chars[j] === '!') {
        negate = true;
        j++;
      }
      const ranges: [number, number][] = [];
      // A `]` first in the set is a member, not its end.
      for (let first = true; ; first = false, j++) {
        const d = chars[j];
        if (d === undefined) throw new PatternError(`Invalid JID pattern ${pattern}: [ without ]`);
        if (d === ']' && !first) break;
        const hi = chars[j + 2];
        if (chars[j + 1] === '-' && hi !== undefined && hi !== ']') {
          const [a, b] = [d.codePointAt(0)!, hi.codePointAt(0)!];
          if (b < a) throw new PatternError(`Invalid JID pattern ${pattern}: range ${d}-${hi} out of order`);
          ranges.push([a, b]);
          j += 2;
        } else ranges.push([d.codePointAt(0)!, d.codePointAt(0)!]);
      }
      out.push({ k: 'set', negate, ranges });
      i = j;
    } else out.push({ k: 'char', c });
  }
  return out;
}

/** One part of a glob pattern (user or server), `!` negating it. */
function globPart(part: string, pattern: string): (s: string) => boolean {
  const negate = part.startsWith('!');
  const tokens = globTokens(negate ? part.slice(1) : part, pattern);
  return negate ? (s) => !matches(tokens, s) : (s) => matches(tokens, s);
}

function likePattern(pattern: string): (jid: string) => boolean {
  const tokens: Token[] = [...pattern].map((c) => (c === '%' ? { k: 'run' } : c === '_' ? { k: 'one' } : { k: 'char', c }));
  return (jid) => matches(tokens, jid);
}

/** One JID pattern as a predicate on a stored bare JID (`user@server`, or `server`). */
export function jidPattern(raw: string): (jid: string) => boolean {
  // No JID is longer (RFC 7622: three parts of at most 1023 bytes); the walk stays JID-sized.
  if (raw.length > MAX_PATTERN) throw new PatternError(`Invalid JID pattern: longer than ${MAX_PATTERN} characters`);
  const pattern = raw.normalize('NFKC').toLowerCase();
  if (pattern.includes('%') && !/[*?[!]/.test(pattern)) return likePattern(pattern);
  const slash = pattern.indexOf('/');
  const bare = slash >= 0 ? pattern.slice(0, slash) : pattern;
  const at = bare.indexOf('@');
  const server = bare.slice(at + 1);
  if (server === '') throw new PatternError(`Invalid JID pattern ${raw}: no server part`);
  const serverOk = globPart(server, raw);
  if (at < 0) return (jid) => !jid.includes('@') && serverOk(jid);
  const userOk = globPart(bare.slice(0, at), raw);
  return (jid) => {
    const i = jid.indexOf('@');
    return i >= 0 && userOk(jid.slice(0, i)) && serverOk(jid.slice(i + 1));
  };
}

/** A `:`-separated list of patterns, or `any`, as one predicate (any pattern matching). Empty entries are skipped. */
export function jidPatternList(spec: string, what: string): (jid: string) => boolean {
  const tokens = spec.split(':').filter((t) => t !== '');
  if (tokens.length === 0) throw new PatternError(`Empty ${what}: give any, or JID patterns separated by :`);
  if (tokens.includes('any')) return () => true;
  const tests = tokens.map(jidPattern);
  return (jid) => tests.some((t) => t(jid));
}
