/**
 * `npm run commands:coverage`: prints, for each command of ejabberd 20.07's API reference, whether
 * the registry of the server's modules implements it, and the totals; then the same for the
 * commands of the older reference (seed 001) that 20.07 dropped. Exits 1 when a registered
 * command is a placeholder.
 */
import { MODULES } from '../../server.js';
import { commandsOf } from '../../modules/module.js';
import { coverage, coverageText, olderCoverage } from './coverage.js';

const commands = commandsOf(MODULES);
const c = coverage(commands);
const older = olderCoverage(commands);
process.stdout.write(coverageText(c, older));
if ([...c.lines, ...older].some((l) => l.status === 'placeholder')) process.exitCode = 1;
