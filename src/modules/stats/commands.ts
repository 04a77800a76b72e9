import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Server } from '../../server.js';
import { VERSION } from '../../version.js';
import { command, intResult, rescode, restuple, str } from '../../admin/define.js';
import { badArgument, notFound } from '../../errors.js';

export function registerStatsCommands(server: Server): void {
  const registered = async (hosts: string[]) => {
    let n = 0;
    for (const h of hosts) n += await server.accounts.count(h);
    return n;
  };

  server.commands.add(command({
    name: 'status', tags: ['server'], policy: 'admin', desc: 'Get status of the ejabberd server',
    args: [], result: restuple,
    exec: () => `The node ${server.nodeName} is started with status: started\nParley ${VERSION} is running in that node`,
  }));

  server.commands.add(command({
    name: 'gc', tags: ['server'], policy: 'admin', desc: 'Force full garbage collection',
    args: [], result: rescode,
    exec: () => {
      fullGc();
      return true;
    },
  }));

  server.commands.add(command({
    name: 'stats', tags: ['statistics'], policy: 'admin',
    desc: 'Get statistical value: registeredusers onlineusers onlineusersnode uptimeseconds processes',
    args: [str('name', 'Statistic name', 'registeredusers')],
    result: intResult('stat'), resultExample: 6,
    async exec({ name }) {
      switch (name) {
        case 'registeredusers': return registered(server.hosts);
        case 'onlineusers':
        case 'onlineusersnode': return server.sessions.count();
        case 'uptimeseconds': return server.uptimeSeconds();
        case 'processes': return process.getActiveResourcesInfo().length;
        default: throw badArgument(`Unknown statistic: ${name}`);
      }
    },
  }));

  server.commands.add(command({
    name: 'stats_host', tags: ['statistics'], policy: 'admin', desc: 'Get statistical value for this host: registeredusers onlineusers',
    args: [str('name', 'Statistic name', 'registeredusers'), str('host', 'Server JID', 'example.com')],
    result: intResult('stat'), resultExample: 6,
    async exec({ name, host }) {
      const h = server.prepareHost(host);
      if (h === undefined) throw notFound(`Unknown host: ${host}`);
      switch (name) {
        case 'registeredusers': return registered([h]);
        case 'onlineusers': return server.sessions.countForHost(h);
        default: throw badArgument(`Unknown statistic: ${name}`);
      }
    },
  }));
}

let gcFunction: (() => void) | undefined;

/** A full, compacting collection of V8's heap (the process need not run with --expose-gc). */
function fullGc(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}
