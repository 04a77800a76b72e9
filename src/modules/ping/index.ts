import type { Server } from '../../server.js';
import { x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { VERSION } from '../../version.js';

/** XEP-0199 ping, XEP-0092 software version and XEP-0202 entity time, answered by the server. */
export function setupBasicIq(server: Server): void {
  server.iq.register({ xmlns: NS.ping, target: 'both', get: () => undefined });
  server.disco.hostFeatures.add(NS.ping);
  server.disco.accountFeatures.add(NS.ping);
  server.iq.register({
    xmlns: NS.version,
    target: 'host',
    get: () => x('query', { xmlns: NS.version }, x('name', null, 'Parley'), x('version', null, VERSION)),
  });
  server.disco.hostFeatures.add(NS.version);
  server.iq.register({
    xmlns: NS.time,
    target: 'host',
    get: () => x('time', { xmlns: NS.time }, x('tzo', null, 'Z'), x('utc', null, new Date().toISOString().replace(/\.\d+Z$/, 'Z'))),
  });
  server.disco.hostFeatures.add(NS.time);
}
