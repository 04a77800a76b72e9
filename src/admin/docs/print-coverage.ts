/**
 * `npm run commands:coverage`: prints, for each command of ejabberd 20.07's API reference, whether
 * the registry of the server's modules implements it, and the totals. Exits 1 when a registered
 * command is a placeholder.
 */
import { MODULES } from '../../server.js';
import { commandsOf } from '../../modules/module.js';
import { coverage, coverageText } from './coverage.js';

const c = coverage(commandsOf(MODULES));
process.stdout.write(coverageText(c));
if (c.lines.some((l) => l.status === 'placeholder')) process.exitCode = 1;
