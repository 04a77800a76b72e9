import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const listener = (address: string, p: number) =>
  z
    .object({
      address: z.string().min(1).default(address).describe('address to bind'),
      port: port.default(p).describe('TCP port (0 picks a free one)'),
    })
    .strict();
const optionalListener = (address: string, p: number) =>
  z.union([listener(address, p), z.null()]).default({ address, port: p });

const permissionRule = z
  .object({
    from: z.array(z.enum(['http', 'ctl', 'xmlrpc'])).optional().describe('surfaces the rule applies to (default: all)'),
    who: z
      .union([
        z.enum(['all', 'admin']),
        z.object({ user: z.array(z.string()).optional(), ip: z.array(z.string()).optional() }).strict(),
      ])
      .describe("'admin', 'all', or {user: [jid...], ip: [cidr...]}"),
    what: z.array(z.string()).min(1).describe("command names, '*', '[tag:name]', or '!name' to exclude"),
  })
  .strict();

export const configSchema = z
  .object({
    hosts: z.array(z.string().min(1)).min(1).default(['localhost']).describe('virtual hosts served'),
    dataDir: z.string().min(1).default('./data').describe('directory for the database, certificates and secrets'),
    admins: z.array(z.string()).optional().describe('admin JIDs (default: admin@<first host>)'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    storage: z
      .object({
        backend: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().default('parley.db').describe('SQLite file, relative to dataDir'),
        url: z.string().optional().describe('PostgreSQL connection URL (backend: postgres)'),
        schema: z.string().optional().describe('PostgreSQL schema for the tables (default: the search path)'),
        passwordFormat: z.enum(['scram', 'plain']).default('scram').describe('how passwords are stored'),
        scramIterations: z.number().int().min(4096).max(1_000_000).default(4096),
      })
      .strict()
      .default({ backend: 'sqlite', path: 'parley.db', passwordFormat: 'scram', scramIterations: 4096 }),
    tls: z
      .object({
        cert: z.string().optional().describe('PEM certificate chain (default: self-signed, generated into dataDir)'),
        key: z.string().optional().describe('PEM private key'),
      })
      .strict()
      .default({}),
    listen: z
      .object({
        c2s: optionalListener('0.0.0.0', 5222).describe('client connections with STARTTLS'),
        c2sTls: optionalListener('0.0.0.0', 5223).describe('client connections over direct TLS (XEP-0368)'),
        http: optionalListener('127.0.0.1', 5280).describe('HTTP: /api and /ws'),
        https: optionalListener('127.0.0.1', 5443).describe('HTTPS: /api and /ws'),
      })
      .strict()
      .default({
        c2s: { address: '0.0.0.0', port: 5222 },
        c2sTls: { address: '0.0.0.0', port: 5223 },
        http: { address: '127.0.0.1', port: 5280 },
        https: { address: '127.0.0.1', port: 5443 },
      }),
    c2s: z
      .object({
        requireTls: z.boolean().default(true).describe('refuse authentication before STARTTLS (loopback is exempt)'),
        allowPlainWithoutTlsOnLoopback: z.boolean().default(true),
        inBandRegistration: z.boolean().default(false).describe('XEP-0077 account creation by clients'),
        registrationTimeout: z.number().int().min(0).default(600).describe('seconds between in-band registrations from one address (0: no limit)'),
        resumeTimeout: z.number().int().min(0).default(300).describe('XEP-0198 seconds a lost session may be resumed'),
        negotiationTimeout: z.number().int().min(1).default(60).describe('seconds a new connection has to authenticate and bind'),
        maxUnackedStanzas: z.number().int().min(10).default(10_000),
      })
      .strict()
      .default({
        requireTls: true,
        allowPlainWithoutTlsOnLoopback: true,
        inBandRegistration: false,
        registrationTimeout: 600,
        resumeTimeout: 300,
        negotiationTimeout: 60,
        maxUnackedStanzas: 10_000,
      }),
    limits: z
      .object({
        maxStanzaSize: z.number().int().min(1024).default(262_144).describe('largest stanza in bytes'),
        maxConnectionsPerIp: z.number().int().min(1).default(5000).describe('client connections (TCP, TLS, WebSocket) from one address'),
        maxAuthAttempts: z.number().int().min(1).default(5).describe('failed SASL attempts before a stream is closed'),
        authFailuresPerMinute: z.number().int().min(1).default(20).describe('failed logins per IP per minute before refusing'),
        maxHttpBodySize: z.number().int().min(1024).default(1_048_576),
        maxOfflineMessages: z.number().int().min(0).default(1000).describe('per account'),
        maxRosterItems: z
          .number()
          .int()
          .min(1)
          .default(2000)
          .describe('roster items per account, counting stored pending subscription requests; a full roster refuses new contacts'),
      })
      .strict()
      .default({
        maxStanzaSize: 262_144,
        maxConnectionsPerIp: 5000,
        maxAuthAttempts: 5,
        authFailuresPerMinute: 20,
        maxHttpBodySize: 1_048_576,
        maxOfflineMessages: 1000,
        maxRosterItems: 2000,
      }),
    apiPermissions: z
      .record(z.string(), permissionRule)
      .optional()
      .describe('ejabberd-style api_permissions; default: admins may call everything, loopback may call status'),
    ctl: z
      .object({ socket: z.string().default('ctl.sock').describe('control socket, relative to dataDir') })
      .strict()
      .default({ socket: 'ctl.sock' }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type PermissionRule = z.infer<typeof permissionRule>;
