import { commandsIn, rescode, restuple, str } from '../../admin/define.js';
import { writeDataFile } from '../../admin/data-files.js';
import { LANGUAGES, manPage, referenceHtml, referenceMarkdown, selectCommands, type Language } from '../../admin/docs/reference.js';
import { badArgument } from '../../errors.js';
import { defineModule, type CommandContext } from '../module.js';

const command = commandsIn<CommandContext>();

function parse(regexp: string, examples: string): { pattern: RegExp; langs: Language[] } {
  if (regexp.length > 256) throw badArgument('regexp is longer than 256 characters');
  let pattern: RegExp;
  try {
    pattern = new RegExp(regexp === '' ? '.' : regexp);
  } catch (err) {
    throw badArgument(`Invalid regexp: ${(err as Error).message}`);
  }
  const langs = examples.split(',').map((l) => l.trim().toLowerCase()).filter((l) => l !== '');
  for (const l of langs) if (!(LANGUAGES as readonly string[]).includes(l)) throw badArgument(`Unknown example language: ${l} (java, perl, xmlrpc, json)`);
  return { pattern, langs: langs as Language[] };
}

const DOC_ARGS = [
  str('file', 'Path to file where generated documentation should be stored', '/home/me/docs/api.md'),
  str('regexp', 'Regexp matching names of commands or modules that will be included inside generated document', '.*'),
  str('examples', 'Comma separated list of languages (chosen from java, perl, xmlrpc, json)that will have example invocation include in markdown document', 'json'),
] as const;

const FILES = 'FILE lies inside the data directory. REGEXP (at most 256 characters; empty for all) is matched against command names and tags.';

/** ejabberd's documentation commands, generated from the registry. */
export const docsModule = defineModule({
  name: 'docs',
  summary: 'Documentation of the admin commands from the registry: markdown, HTML, man page',
  commands: [
    command({
      name: 'gen_markdown_doc_for_commands', tags: ['documentation'], policy: 'admin', desc: 'Generates markdown documentation for ejabberd_commands',
      longdesc: `The layout of ejabberd's API reference (whose pages are this command's output), with example calls in the languages asked for. ${FILES}`,
      args: DOC_ARGS, result: rescode, resultExample: true,
      async exec({ file, regexp, examples }, ctx) {
        const { pattern, langs } = parse(regexp, examples);
        await writeDataFile(ctx.dataDir, file, referenceMarkdown(selectCommands(ctx.node.commands(), pattern), langs));
        return true;
      },
    }),
    command({
      name: 'gen_html_doc_for_commands', tags: ['documentation'], policy: 'admin', desc: 'Generates html documentation for ejabberd_commands',
      longdesc: `One HTML page, every text escaped. ${FILES}`,
      args: DOC_ARGS, result: rescode, resultExample: true,
      async exec({ file, regexp, examples }, ctx) {
        const { pattern, langs } = parse(regexp, examples);
        await writeDataFile(ctx.dataDir, file, referenceHtml(selectCommands(ctx.node.commands(), pattern), langs));
        return true;
      },
    }),
    command({
      name: 'man', tags: ['documentation'], policy: 'admin', desc: 'Generate Unix manpage for current ejabberd version',
      longdesc: 'Writes parley.8 (troff, section 8: parley start, parley ctl and every command) into the data directory, as ejabberd writes ejabberd.8 in its working directory.',
      args: [], result: restuple, resultExample: 'Success',
      async exec(_, ctx) {
        await writeDataFile(ctx.dataDir, 'parley.8', manPage([...ctx.node.commands()].sort((a, b) => a.name.localeCompare(b.name))));
        return 'Success';
      },
    }),
  ],
});
