import { defineModule } from '../module.js';
import { DiscoService } from './service.js';

export { DiscoService } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    disco: DiscoService;
  }
}

/** Service discovery (XEP-0030); other modules announce their features through its service. */
export const discoModule = defineModule({
  name: 'disco',
  summary: 'Service Discovery (XEP-0030) of the server and its accounts',
  dependencies: ['accounts', 'roster'],
  setup: (ctx) => new DiscoService(ctx),
});
