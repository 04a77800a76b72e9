import { badArgument } from '../../errors.js';
import { parseTerms, TermSyntaxError, type Term } from './erlang-terms.js';

/**
 * ejabberd's template roster file (`push_roster`, `push_roster_all`): one Erlang term, a list of
 * `{User, Host, Group, Nick}` tuples whose fields are strings or binaries, ended by `.`:
 *
 *     [{<<"user1">>, <<"localhost">>, <<"Workers">>, <<"User 1">>},
 *      {"user2", "localhost", "Workers", <<"User 2"/utf8>>}].
 *
 * Group may name several groups separated by `;`, as add_rosteritem's does.
 */
export interface TemplateEntry {
  user: string;
  host: string;
  group: string;
  nick: string;
}

/** Characters XML does not allow: they would break every roster push that carried them. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** As a client's roster set (names and groups of at most 1024 characters). */
const MAX_TEXT = 1024;
const FIELDS = ['User', 'Host', 'Group', 'Nick'] as const;

const invalid = (why: string) => badArgument(`Invalid roster file: ${why}`);

export function parseRosterTemplate(text: string): TemplateEntry[] {
  let terms: Term[];
  try {
    terms = parseTerms(text);
  } catch (err) {
    if (err instanceof TermSyntaxError) throw invalid(err.message);
    throw err;
  }
  if (terms.length !== 1) throw invalid(`expected one term (a list of tuples ended by .), found ${terms.length}`);
  const list = terms[0]!;
  if (!Array.isArray(list)) throw invalid('expected a list of {User, Host, Group, Nick} tuples');
  return list.map((t, i) => {
    const n = i + 1;
    if (typeof t !== 'object' || Array.isArray(t) || t.tuple.length !== 4) throw invalid(`entry ${n} is not a tuple {User, Host, Group, Nick}`);
    const fields = t.tuple.map((f, k) => {
      if (typeof f !== 'string') throw invalid(`entry ${n}: ${FIELDS[k]} is not a string or binary`);
      const bad = NOT_XML_CHAR.exec(f);
      if (bad) throw invalid(`entry ${n}: ${FIELDS[k]} holds a character that XML does not allow (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
      if (f.length > MAX_TEXT) throw invalid(`entry ${n}: ${FIELDS[k]} is longer than ${MAX_TEXT} characters`);
      return f;
    });
    const [user, host, group, nick] = fields as [string, string, string, string];
    return { user, host, group, nick };
  });
}
