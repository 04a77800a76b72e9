import { defineModule } from '../module.js';
import { compatCommands } from './commands.js';

/** The older ejabberd API reference's commands that the current one dropped (seed 001): see commands.ts. */
export const compatModule = defineModule({
  name: 'compat',
  summary: "Commands of ejabberd's older API reference: test commands and small utilities",
  commands: compatCommands,
});
