import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AccountService } from '../modules/accounts/index.js';
import type { OAuthService } from '../modules/oauth/index.js';
import type { HostingService } from '../modules/hosting/index.js';
import type { AuthLimiter } from '../c2s/auth-limiter.js';
import type { CommandRegistry } from './registry.js';
import type { ServiceMap, ServiceName } from '../modules/module.js';
import type { AuditLog } from './audit.js';

/**
 * What the admin surfaces (the HTTP dialects, `parley ctl`, the admin account bootstrap) need of the
 * node they run on; the server in `server.ts` is one. They take this, not the server, so that nothing
 * here imports the composition root.
 */
export interface AdminHost {
  readonly config: Config;
  readonly log: Logger;
  readonly dataDir: string;
  readonly commands: CommandRegistry;
  readonly accounts: AccountService;
  readonly authLimiter: AuthLimiter;
  /** OAuth tokens (bearer credentials, /oauth), when the module runs. */
  readonly oauth: OAuthService | undefined;
  /** Where every admin surface records what it was asked to do (never throws, never waits). */
  readonly audit: AuditLog;
  /** The hosting API's queue, when the module runs. */
  readonly hosting?: HostingService | undefined;
  /** The configured admin accounts, as prepared bare JIDs. */
  admins(): Set<string>;
  isLocalHost(domain: string): boolean;
  /** A running module's service, for dialects that adapt feature services; undefined when the module does not run. */
  optionalService<N extends ServiceName>(name: N): ServiceMap[N] | undefined;
}
