import type { AnyCommand, ResultSpec } from '../registry.js';
import { successBody } from '../ejabberd/render.js';
import { argTypeText, requestExample, resultTypeText } from './describe.js';

const RESULT_NOTE: Partial<Record<ResultSpec['type'], string>> = {
  rescode: ' (0 on success, 1 on failure)',
  restuple: ' (a message; on failure an error object with code 10001, or 10090 for a conflict)',
};

function section(def: AnyCommand): string {
  const out: string[] = [`## ${def.name}`, '', def.desc, ''];
  if (def.longdesc) out.push(def.longdesc, '');
  out.push('__Arguments:__', '');
  if (def.args.length === 0) out.push('- none');
  for (const a of def.args) out.push(`- *${a.name}* :: ${argTypeText(a.type)} — ${a.desc ?? ''} (example: \`${JSON.stringify(a.example)}\`)`);
  out.push('', '__Result:__', '', `- *${def.result.name}* :: ${resultTypeText(def.result)}${RESULT_NOTE[def.result.type] ?? ''}${def.resultDesc ? ` — ${def.resultDesc}` : ''}`, '');
  out.push(`__Tags:__ ${def.tags.join(', ') || 'none'}`, '', `__Policy:__ ${def.policy}${def.ctlOnly ? ' (command line only)' : ''}`, '');
  out.push('__Example:__', '', '~~~ json', `POST /api/${def.name}`, JSON.stringify(requestExample(def), null, 2), '', 'HTTP/1.1 200 OK');
  out.push(JSON.stringify(successBody(def.name, def.result, def.resultExample), null, 2), '~~~', '');
  return out.join('\n');
}

/** `docs/commands.md`: every command of the registry, generated (`npm run docs`). */
export function commandsMarkdown(commands: readonly AnyCommand[]): string {
  const sorted = [...commands].sort((a, b) => a.name.localeCompare(b.name));
  const head = [
    '# Admin commands',
    '',
    '<!-- Generated from the command registry by `npm run docs`; a test fails when this file differs from what it produces. -->',
    '',
    'Each command is served at `POST /api/<command>` (arguments as a JSON object, ejabberd\'s dialect; the OpenAPI',
    'document is at `GET /api/openapi.json`) and by `parley ctl <command> ARGUMENTS...` (in the order listed).',
    '',
    sorted.map((d) => `- [${d.name}](#${d.name}) — ${d.desc}`).join('\n'),
    '',
  ];
  return [...head, ...sorted.map(section)].join('\n');
}
