import { defineModule } from '../module.js';
import { x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { VERSION } from '../../version.js';

/** XEP-0199 ping, XEP-0092 software version and XEP-0202 entity time, answered by the server. */
export const pingModule = defineModule({
  name: 'ping',
  summary: 'XMPP Ping (XEP-0199)',
  dependencies: ['disco'],
  setup({ iq, services: { disco } }) {
    iq.register({ xmlns: NS.ping, target: 'both', get: () => undefined });
    disco.hostFeatures.add(NS.ping);
    disco.accountFeatures.add(NS.ping);
    iq.register({
      xmlns: NS.version,
      target: 'host',
      get: () => x('query', { xmlns: NS.version }, x('name', null, 'Parley'), x('version', null, VERSION)),
    });
    disco.hostFeatures.add(NS.version);
    iq.register({
      xmlns: NS.time,
      target: 'host',
      get: () => x('time', { xmlns: NS.time }, x('tzo', null, 'Z'), x('utc', null, new Date().toISOString().replace(/\.\d+Z$/, 'Z'))),
    });
    disco.hostFeatures.add(NS.time);
  },
});
