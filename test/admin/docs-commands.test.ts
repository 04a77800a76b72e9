// gen_markdown_doc_for_commands, gen_html_doc_for_commands and man over real HTTP: documents made
// from the registry, in the layout of ejabberd's reference, written inside the data directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startParley, type Parley } from '../support/harness.js';

let parley: Parley;
before(async () => {
  parley = await startParley();
});
after(async () => {
  await parley?.close();
});

test('gen_markdown_doc_for_commands: the reference layout, the commands the regexp selects, examples in each language', async () => {
  const r = await parley.api('gen_markdown_doc_for_commands', { file: 'api.md', regexp: '^(add_rosteritem|status)$', examples: 'json,perl,xmlrpc,java' });
  assert.deepEqual({ status: r.status, body: r.body }, { status: 200, body: 0 });
  const md = readFileSync(join(parley.dataDir, 'api.md'), 'utf8');
  assert.match(md, /^---\ntitle: Administration API reference\n/);
  assert.deepEqual([...md.matchAll(/^## (\S+)$/gm)].map((m) => m[1]), ['add_rosteritem', 'status']);
  // The argument lines of seed 000 (L17-L25), as written there.
  assert.match(md, /__Arguments:__\n\n- \*localuser\* :: string : User name\n- \*localhost\* :: string : Server name\n/);
  assert.match(md, /__Result:__\n\n- \*res\* :: integer : Status code \(0 on success, 1 otherwise\)/);
  assert.match(md, /~~~ json\n {4}POST \/api\/add_rosteritem\n/);
  assert.match(md, /XMLRPC::Lite->proxy\(\$url\)->call\("add_rosteritem", \{localuser => "user1"/);
  assert.match(md, /<methodName>status<\/methodName>/);
  assert.match(md, /client\.execute\("add_rosteritem"/);

  // Selection by tag (ejabberd: by module), and no examples at all.
  assert.equal((await parley.api('gen_markdown_doc_for_commands', { file: 'roster.md', regexp: '^roster$', examples: '' })).body, 0);
  const roster = readFileSync(join(parley.dataDir, 'roster.md'), 'utf8');
  assert.match(roster, /^## get_roster$/m);
  assert.doesNotMatch(roster, /^## register$/m);
  assert.doesNotMatch(roster, /__Examples:__/);
});

test('gen_html_doc_for_commands escapes everything; man writes parley.8', async () => {
  assert.equal((await parley.api('gen_html_doc_for_commands', { file: 'api.html', regexp: '', examples: 'json' })).body, 0);
  const html = readFileSync(join(parley.dataDir, 'api.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<h2 id="send_stanza">send_stanza<\/h2>/);
  assert.match(html, /&lt;message&gt;/, 'example stanzas are escaped');
  assert.doesNotMatch(html, /<message>/);
  assert.equal((await parley.api('man', {})).body, 'Success');
  const man = readFileSync(join(parley.dataDir, 'parley.8'), 'utf8');
  assert.match(man, /^\.TH PARLEY 8 /);
  assert.match(man, /^\.B register \\fIuser\\fR \\fIhost\\fR \\fIpassword\\fR$/m);
});

test('bad regexps, languages and paths are refused with clear errors', async () => {
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ file: 'x.md', regexp: '(', examples: 'json' }, 400, /Invalid regexp/],
    [{ file: 'x.md', regexp: 'a'.repeat(300), examples: 'json' }, 400, /longer than 256/],
    [{ file: 'x.md', regexp: '.', examples: 'cobol' }, 400, /Unknown example language: cobol/],
    [{ file: '../outside.md', regexp: '.', examples: 'json' }, 403, /outside the data directory/],
  ];
  for (const [args, status, message] of cases) {
    const r = await parley.api('gen_markdown_doc_for_commands', args);
    assert.equal(r.status, status, `${JSON.stringify(args)} → ${r.status} ${r.text}`);
    assert.match(r.text, message);
  }
});
