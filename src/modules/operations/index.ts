import { defineModule } from '../module.js';
import { operationsCommands } from './commands.js';

/**
 * Operating the node (ejabberd's lifecycle, logging, configuration, module and cluster commands):
 * what ejabberd does to its Erlang node, done to this Parley process through `ctx.node`. Where
 * ejabberd's mechanism has no Parley counterpart (hot code loading, the contributed-module
 * repository, Mnesia), the command answers a clear `unavailable` error, never a silent success.
 */
export const operationsModule = defineModule({
  name: 'operations',
  summary: 'Node operations: stop, restart, logging, configuration reload, modules, cluster',
  commands: operationsCommands,
});
