import type { AdminHost } from './host.js';
import type { Dialect } from '../http/layer.js';
import { ejabberdApi } from './ejabberd/http.js';
import { oauthEndpoints } from './oauth/http.js';
import { xmlRpcApi } from './xmlrpc/http.js';
import { userServiceDialects } from './openfire/userservice.js';
import { openfireApi } from './openfire/http.js';
import { hostingApi } from './hosting/http.js';

/** The admin dialects served on the HTTP listeners: one line per dialect. */
export function adminDialects(server: AdminHost): Dialect[] {
  return [
    ejabberdApi(server),
    oauthEndpoints(server),
    ...(server.config.xmlrpc.httpPath ? [xmlRpcApi(server)] : []),
    // Always mounted: when disabled it answers UserServiceDisabled, as Openfire does.
    ...userServiceDialects(server),
    ...(server.config.openfire.enabled ? [openfireApi(server)] : []),
    ...(server.config.hosting.enabled ? [hostingApi(server)] : []),
  ];
}
