/**
 * A strict reader of the subset of Erlang term syntax that ejabberd's template roster files use
 * (`file:consult`): terms each ended by `.`, where a term is a list `[...]`, a tuple `{...}`, a
 * string `"..."` (adjacent strings join, as in Erlang) or a binary of string segments
 * `<<"...">>` / `<<"..."/utf8>>`. `%` starts a comment to the end of the line. Anything else (atoms,
 * numbers, other binary segments) is an error naming its line and column.
 *
 * The text is Unicode (the caller decodes the file as UTF-8), and every string means its
 * characters: `"é"`, `<<"é">>` and `<<"é"/utf8>>` are the same text (Erlang would keep only the
 * low byte of each character in the middle form; nobody writes a file meaning that).
 */

export type Term = string | Term[] | { readonly tuple: Term[] };

export class TermSyntaxError extends Error {}

/** Lists and tuples nested deeper than this are refused (a roster template needs 2). */
const MAX_DEPTH = 8;

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', d: '\x7f', e: '\x1b', f: '\f', n: '\n', r: '\r', s: ' ', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"' };

class Reader {
  private pos = 0;
  constructor(private readonly text: string) {}

  private where(at = this.pos): string {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at; i++) {
      if (this.text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return `line ${line}, column ${col}`;
  }

  fail(message: string, at = this.pos): never {
    throw new TermSyntaxError(`${this.where(at)}: ${message}`);
  }

  /** Skips whitespace and comments. */
  private skip(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') this.pos++;
      else if (c === '%') {
        const nl = this.text.indexOf('\n', this.pos);
        this.pos = nl < 0 ? this.text.length : nl + 1;
      } else return;
    }
  }

  private peek(): string | undefined {
    this.skip();
    return this.text[this.pos];
  }

  private expect(token: string): void {
    this.skip();
    if (!this.text.startsWith(token, this.pos)) this.fail(`expected ${token}${this.found()}`);
    this.pos += token.length;
  }

  /**
   * What stands where a token was expected, without quoting the file: a command may be pointed at
   * a file that is no template (a secret in the data directory), and its content stays unsaid.
   */
  private found(): string {
    const c = this.text[this.pos];
    if (c === undefined) return ', found the end of the file';
    if (/[\p{L}_]/u.test(c)) return ', found a name (an atom?)';
    if (/[0-9]/.test(c)) return ', found a number';
    if (/[[\]{}(),.<>/|=:;'"#+*-]/.test(c)) return `, found ${c}`;
    return ', found another character';
  }

  /** Every term of the text, each ended by `.`. */
  terms(): Term[] {
    const out: Term[] = [];
    while (this.peek() !== undefined) {
      out.push(this.term(0));
      this.expect('.');
    }
    return out;
  }

  private term(depth: number): Term {
    const c = this.peek();
    if (c === '[' || c === '{') {
      if (depth >= MAX_DEPTH) this.fail(`lists and tuples nested deeper than ${MAX_DEPTH}`);
      const close = c === '[' ? ']' : '}';
      this.pos++;
      const items: Term[] = [];
      if (this.peek() === close) this.pos++;
      else {
        for (;;) {
          items.push(this.term(depth + 1));
          const n = this.peek();
          if (n === ',') this.pos++;
          else if (n === close) {
            this.pos++;
            break;
          } else this.fail(`expected , or ${close}${this.found()}`);
        }
      }
      return c === '[' ? items : { tuple: items };
    }
    if (c === '"') {
      let s = this.string();
      // Adjacent string literals are one string, as in Erlang.
      while (this.peek() === '"') s += this.string();
      return s;
    }
    if (c === '<' && this.text.startsWith('<<', this.pos)) return this.binary();
    if (c === undefined) this.fail('expected a term, found the end of the file');
    return this.fail(`expected a list, tuple, string or binary${this.found()}`);
  }

  private binary(): string {
    this.pos += 2;
    let s = '';
    if (this.peek() === '>' && this.text.startsWith('>>', this.pos)) {
      this.pos += 2;
      return s;
    }
    for (;;) {
      if (this.peek() !== '"') this.fail(`a binary may only hold strings here${this.found()}`);
      s += this.string();
      if (this.peek() === '/') {
        this.pos++;
        this.skip();
        const m = /^[a-z][a-z0-9_]*/.exec(this.text.slice(this.pos, this.pos + 16));
        if (!m || m[0] !== 'utf8') this.fail(`unsupported binary segment type${m ? ` ${m[0]}` : ''} (only /utf8)`);
        this.pos += m[0].length;
      }
      const n = this.peek();
      if (n === ',') this.pos++;
      else if (n === '>' && this.text.startsWith('>>', this.pos)) {
        this.pos += 2;
        return s;
      } else this.fail(`expected , or >>${this.found()}`);
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // the opening quote
    let s = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('string without its closing "', start);
      this.pos++;
      if (c === '"') return s;
      if (c !== '\\') {
        s += c;
        continue;
      }
      const e = this.text[this.pos];
      if (e === undefined) this.fail('string without its closing "', start);
      this.pos++;
      if (e in SIMPLE_ESCAPES) s += SIMPLE_ESCAPES[e];
      else if (e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(this.text.slice(this.pos - 1, this.pos + 2))![0];
        this.pos += m.length - 1;
        s += String.fromCodePoint(parseInt(m, 8));
      } else if (e === 'x') {
        const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2}))/.exec(this.text.slice(this.pos, this.pos + 8));
        if (!m) this.fail('\\x needs two hex digits or {hex digits}', this.pos - 2);
        const cp = parseInt(m[1] ?? m[2]!, 16);
        if (cp > 0x10ffff) this.fail('\\x{...} beyond U+10FFFF', this.pos - 2);
        this.pos += m[0].length;
        s += String.fromCodePoint(cp);
      } else this.fail(`unsupported escape \\${e}`, this.pos - 2);
    }
  }
}

/** The terms of a file's text (each ended by `.`), or a TermSyntaxError naming line and column. */
export function parseTerms(text: string): Term[] {
  return new Reader(text).terms();
}
