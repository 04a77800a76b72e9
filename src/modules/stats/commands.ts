import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VERSION } from '../../version.js';
import { commandsIn, intResult, outcome, rescode, str } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';
import type { CommandContext } from '../module.js';

type Context = CommandContext<void, 'accounts'>;

/** What `status` tells: the node's name, its state and the software running it. */
export interface NodeStatus {
  node: string;
  status: 'started';
  release: string;
}
const command = commandsIn<Context>();

async function registered({ services }: Context, hosts: readonly string[]): Promise<number> {
  let n = 0;
  for (const h of hosts) n += await services.accounts.count(h);
  return n;
}

export const statsCommands = [
  command({
    name: 'status', tags: ['server'], policy: 'admin', desc: 'Get status of the ejabberd server',
    args: [], result: outcome<NodeStatus>(), resultExample: { node: 'parley@example.com', status: 'started', release: 'Parley 0.1.0' },
    exec: (_, { nodeName }): NodeStatus => ({ node: nodeName, status: 'started', release: `Parley ${VERSION}` }),
  }),

  command({
    name: 'gc', tags: ['server'], policy: 'admin', desc: 'Force full garbage collection',
    args: [], result: rescode, resultExample: true,
    exec: () => {
      fullGc();
      return true;
    },
  }),

  command({
    name: 'stats', tags: ['statistics'], policy: 'admin',
    desc: 'Get statistical value: registeredusers onlineusers onlineusersnode uptimeseconds processes',
    args: [str('name', 'Statistic name', 'registeredusers')],
    result: intResult('stat'), resultExample: 6,
    async exec({ name }, ctx) {
      switch (name) {
        case 'registeredusers': return registered(ctx, ctx.hosts);
        case 'onlineusers':
        case 'onlineusersnode': return ctx.sessions.count();
        case 'uptimeseconds': return ctx.uptimeSeconds();
        case 'processes': return process.getActiveResourcesInfo().length;
        default: throw badArgument(`Unknown statistic: ${name}`);
      }
    },
  }),

  command({
    name: 'stats_host', tags: ['statistics'], policy: 'admin', desc: 'Get statistical value for this host: registeredusers onlineusers',
    args: [str('name', 'Statistic name', 'registeredusers'), str('host', 'Server JID', 'example.com')],
    result: intResult('stat'), resultExample: 6,
    async exec({ name, host }, ctx) {
      const h = ctx.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      switch (name) {
        case 'registeredusers': return registered(ctx, [h]);
        case 'onlineusers': return ctx.sessions.countForHost(h);
        default: throw badArgument(`Unknown statistic: ${name}`);
      }
    },
  }),
];

let gcFunction: (() => void) | undefined;

/** A full, compacting collection of V8's heap (the process need not run with --expose-gc). */
function fullGc(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}
