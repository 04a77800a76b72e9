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

/** Syntax characters of a regular expression outside a class (with the `u` flag). */
const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const escapeOutside = (c: string) => c.replace(REGEXP_SYNTAX, '\\$&');
/** Inside a class, these (and only these: the `u` flag refuses other identity escapes) need a backslash. */
const escapeInside = (c: string) => (/[\\\]^[-]/.test(c) ? `\\${c}` : c);

function compile(source: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`, 'su');
  } catch (err) {
    throw new PatternError(`Invalid JID pattern ${pattern}: ${(err as Error).message}`);
  }
}

/** A shell glob as a regular expression source (ejabberd_regexp:sh_to_awk, with its set syntax). */
function globSource(glob: string, pattern: string): string {
  const chars = [...glob];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (chars[j] === '!') {
        negate = true;
        j++;
      }
      let set = '';
      // A `]` first in the set is a member, not its end.
      for (let first = true; ; first = false, j++) {
        const d = chars[j];
        if (d === undefined) throw new PatternError(`Invalid JID pattern ${pattern}: [ without ]`);
        if (d === ']' && !first) break;
        if (chars[j + 1] === '-' && chars[j + 2] !== undefined && chars[j + 2] !== ']') {
          set += `${escapeInside(d)}-${escapeInside(chars[j + 2]!)}`;
          j += 2;
        } else set += escapeInside(d);
      }
      out += `[${negate ? '^' : ''}${set}]`;
      i = j;
    } else out += escapeOutside(c);
  }
  return out;
}

/** One part of a glob pattern (user or server), `!` negating it. */
function globPart(part: string, pattern: string): (s: string) => boolean {
  const negate = part.startsWith('!');
  const re = compile(globSource(negate ? part.slice(1) : part, pattern), pattern);
  return negate ? (s) => !re.test(s) : (s) => re.test(s);
}

function likePattern(pattern: string): (jid: string) => boolean {
  const source = [...pattern].map((c) => (c === '%' ? '.*' : c === '_' ? '.' : escapeOutside(c))).join('');
  const re = compile(source, pattern);
  return (jid) => re.test(jid);
}

/** One JID pattern as a predicate on a stored bare JID (`user@server`, or `server`). */
export function jidPattern(raw: string): (jid: string) => boolean {
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
