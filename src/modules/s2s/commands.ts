import { commandsIn, intResult, rescode } from '../../admin/define.js';
import type { CommandContext } from '../module.js';

const command = commandsIn<CommandContext<void>>();

/** What every s2s command says in its documentation until server-to-server federation exists. */
const NO_FEDERATION =
  'Parley does not federate yet: it opens and accepts no server-to-server (s2s) connections, ' +
  'and a stanza to a domain it does not serve is answered with remote-server-not-found.';

export const s2sCommands = [
  command({
    name: 'incoming_s2s_number', tags: ['statistics', 's2s'], policy: 'admin', desc: 'Number of incoming s2s connections on the node',
    longdesc: `${NO_FEDERATION} The number is therefore always 0.`,
    args: [], result: intResult('s2s_incoming'), resultExample: 0,
    exec: () => 0,
  }),

  command({
    name: 'outgoing_s2s_number', tags: ['statistics', 's2s'], policy: 'admin', desc: 'Number of outgoing s2s connections on the node',
    longdesc: `${NO_FEDERATION} The number is therefore always 0.`,
    args: [], result: intResult('s2s_outgoing'), resultExample: 0,
    exec: () => 0,
  }),

  command({
    name: 'stop_s2s_connections', tags: ['s2s'], policy: 'admin', desc: 'Stop all s2s outgoing and incoming connections',
    longdesc: `${NO_FEDERATION} There is nothing to stop: the command succeeds and changes nothing (client sessions are untouched).`,
    args: [], result: rescode, resultExample: true,
    exec: () => true,
  }),
];
