/**
 * Writes docs/commands.md from the registry of the server's modules, without starting a server
 * (`npm run docs`). The OpenAPI document is served by the server at `/api/openapi.json`.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES } from '../../server.js';
import { commandsOf } from '../../modules/module.js';
import { commandsMarkdown } from './markdown.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
writeFileSync(join(root, 'docs/commands.md'), commandsMarkdown(commandsOf(MODULES)));
