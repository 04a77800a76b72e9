import { z } from 'zod';
import { isCidr } from '../transports/address.js';
import { tryParseJID } from '../xmpp/jid.js';

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
/** An XMPP client listener; behind a load balancer it may expect PROXY protocol headers. */
const clientListener = (address: string, p: number) =>
  z
    .union([
      listener(address, p).extend({
        proxyProtocol: z
          .boolean()
          .default(false)
          .describe('connections from trustedProxies start with a PROXY protocol header (v1 or v2) giving the client address'),
      }),
      z.null(),
    ])
    .default({ address, port: p, proxyProtocol: false });
const rateLimit = (rate: number, burst: number) =>
  z
    .object({
      rate: z.number().int().min(0).default(rate).describe('bytes per second (0: unlimited)'),
      burst: z.number().int().min(1).default(burst).describe('bytes that may arrive at once before the rate applies'),
    })
    .strict()
    .default({ rate, burst });

/**
 * Who may do something, like an ejabberd access rule: everyone, the admins, no one, or the listed
 * accounts (user@host, prepared when compared).
 */
const accountJid = z.string().refine((s) => {
  const jid = tryParseJID(s);
  return jid !== undefined && jid.local !== '' && jid.resource === '';
}, 'expected an account JID (user@host)');
const accessRule = z
  .union([z.enum(['all', 'admin', 'none']), z.object({ user: z.array(accountJid) }).strict()])
  .describe("'all', 'admin', 'none', or {user: [jid...]}");

const permissionRule = z
  .object({
    from: z.array(z.enum(['http', 'ctl', 'xmlrpc'])).optional().describe('surfaces the rule applies to (default: all)'),
    who: z
      .union([
        z.enum(['all', 'admin']),
        z
          .object({
            user: z.array(z.string()).optional(),
            ip: z.array(z.string()).optional(),
            oauth: z
              .object({ scope: z.union([z.string(), z.array(z.string()).min(1)]) })
              .strict()
              .optional()
              .describe("callers with an OAuth token holding one of these scopes (ejabberd's who: oauth: scope:)"),
          })
          .strict(),
      ])
      .describe("'admin', 'all', or {user: [jid...], ip: [cidr...], oauth: {scope: [...]}} (any of them matches)"),
    what: z.array(z.string()).min(1).describe("command names, '*', '[tag:name]', or '!name' to exclude"),
  })
  .strict();

export const configSchema = z
  .object({
    hosts: z.array(z.string().min(1)).min(1).default(['localhost']).describe('virtual hosts served'),
    dataDir: z.string().min(1).default('./data').describe('directory for the database, certificates and secrets'),
    admins: z.array(z.string()).optional().describe('admin accounts as user@host, compared after preparation (Admin@Example.org is admin@example.org); an entry that is not user@host stops the start (default: admin@<first host>)'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    logFile: z
      .string()
      .min(1)
      .optional()
      .describe('write the log (JSON lines) to this file, relative to dataDir, instead of standard output; reopen_log and SIGHUP reopen it, rotate_log renames it'),
    storage: z
      .object({
        backend: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().default('parley.db').describe('SQLite file, relative to dataDir'),
        url: z.string().optional().describe('PostgreSQL connection URL (backend: postgres)'),
        schema: z.string().optional().describe('PostgreSQL schema for the tables (default: the search path)'),
        passwordFormat: z.enum(['scram', 'plain']).optional().describe('deprecated alias of auth.passwordFormat (kept for existing configs)'),
        scramIterations: z.number().int().min(4096).max(1_000_000).default(4096),
      })
      .strict()
      .default({ backend: 'sqlite', path: 'parley.db', scramIterations: 4096 }),
    auth: z
      .object({
        passwordFormat: z
          .enum(['scram', 'plain'])
          .optional()
          .describe(
            "how new and changed passwords are stored, as ejabberd's auth_password_format: 'scram' keeps only SCRAM-SHA-1 and SCRAM-SHA-256 keys; 'plain' also keeps the cleartext (needed by check_password_hash and by tools that read passwords back). convert_to_scram turns existing cleartext into SCRAM only (default: scram, or storage.passwordFormat when only that is set)",
          ),
      })
      .strict()
      .default({}),
    tls: z
      .object({
        cert: z.string().optional().describe('PEM certificate chain (default: self-signed, generated into dataDir)'),
        key: z.string().optional().describe('PEM private key'),
      })
      .strict()
      .default({}),
    listen: z
      .object({
        c2s: clientListener('0.0.0.0', 5222).describe('client connections with STARTTLS'),
        c2sTls: clientListener('0.0.0.0', 5223).describe('client connections over direct TLS (XEP-0368)'),
        http: optionalListener('127.0.0.1', 5280).describe('HTTP: /api and /ws'),
        https: optionalListener('127.0.0.1', 5443).describe('HTTPS: /api and /ws'),
      })
      .strict()
      .default({
        c2s: { address: '0.0.0.0', port: 5222, proxyProtocol: false },
        c2sTls: { address: '0.0.0.0', port: 5223, proxyProtocol: false },
        http: { address: '127.0.0.1', port: 5280 },
        https: { address: '127.0.0.1', port: 5443 },
      }),
    c2s: z
      .object({
        requireTls: z.boolean().default(true).describe('refuse authentication before STARTTLS (loopback is exempt)'),
        allowPlainWithoutTlsOnLoopback: z.boolean().default(true),
        inBandRegistration: z.boolean().default(false).describe('XEP-0077 account creation by clients'),
        saslMechanisms: z
          .array(z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']))
          .min(1)
          .default(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'])
          .describe(
            'SASL mechanisms offered, in order. After importing accounts that have SCRAM-SHA-1 keys only (Prosody, ejabberd exports), drop SCRAM-SHA-256 until their first PLAIN logins have added its keys; clients that try SCRAM-SHA-256 on such an account are refused',
          ),
        inBandPasswordChange: accessRule
          .default('all')
          .describe("who may change their own password with XEP-0077 once logged in: 'all' (as ejabberd), 'admin', 'none', or {user: [jid...]}; others get not-allowed"),
        inBandRemoval: accessRule
          .default('all')
          .describe("who may remove their own account with XEP-0077 <remove/> (ejabberd's mod_register access_remove): 'all' (as ejabberd), 'admin', 'none', or {user: [jid...]}; others get forbidden"),
        registrationTimeout: z.number().int().min(0).default(600).describe('seconds between in-band registrations from one address (0: no limit)'),
        resumeTimeout: z.number().int().min(0).default(300).describe('XEP-0198 seconds a lost session may be resumed'),
        negotiationTimeout: z.number().int().min(1).default(60).describe('seconds a new connection has to authenticate and bind'),
        maxUnackedStanzas: z.number().int().min(10).default(5000).describe("XEP-0198 stanzas kept until the client acknowledges them (ejabberd's max_ack_queue); beyond, the stream ends"),
        maxUnackedBytes: z.number().int().min(65_536).default(1_048_576).describe('characters of XEP-0198 stanzas kept unacknowledged, connected or hibernating; beyond, the session ends'),
        maxSessionsPerAccount: z.number().int().min(1).default(10).describe("sessions one account may have at once, hibernating ones included (ejabberd's max_user_sessions)"),
        sessionLimitPolicy: z.enum(['replace-oldest', 'refuse']).default('replace-oldest').describe('over maxSessionsPerAccount: replace the oldest session (a hibernating one first), or refuse the new bind with resource-constraint'),
      })
      .strict()
      .default({
        requireTls: true,
        allowPlainWithoutTlsOnLoopback: true,
        inBandRegistration: false,
        saslMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'],
        inBandPasswordChange: 'all',
        inBandRemoval: 'all',
        registrationTimeout: 600,
        resumeTimeout: 300,
        negotiationTimeout: 60,
        maxUnackedStanzas: 5000,
        maxUnackedBytes: 1_048_576,
        maxSessionsPerAccount: 10,
        sessionLimitPolicy: 'replace-oldest',
      }),
    limits: z
      .object({
        maxStanzaSize: z.number().int().min(1024).default(262_144).describe('largest stanza in bytes'),
        maxConnectionsPerIp: z
          .number()
          .int()
          .min(1)
          .default(5000)
          .describe(
            'open connections from one address on all listeners (c2s, direct TLS, HTTP/HTTPS including keep-alive and WebSocket), counted at accept time; trustedProxies are exempt, their clients are counted by their forwarded address',
          ),
        tlsHandshakeTimeout: z.number().int().min(1).default(10).describe('seconds a TLS handshake (direct TLS, HTTPS, STARTTLS) may take in all'),
        proxyHeaderTimeout: z.number().int().min(1).default(5).describe('seconds a trusted proxy has to send the PROXY protocol header'),
        maxAuthAttempts: z.number().int().min(1).default(5).describe('failed SASL attempts before a stream is closed'),
        authFailuresPerMinute: z.number().int().min(1).default(20).describe('failed logins per IP per minute before refusing'),
        maxHttpBodySize: z.number().int().min(1024).default(1_048_576),
        maxOfflineMessages: z
          .number()
          .int()
          .min(0)
          .default(1000)
          .describe('offline messages stored per account (XEP-0160); one more is refused and its sender gets a resource-constraint error'),
        maxOfflineChars: z
          .number()
          .int()
          .min(1024)
          .default(10_485_760)
          .describe('characters of serialized stanzas stored offline per account; a message that would pass it is refused like one past maxOfflineMessages'),
        maxOutputBuffer: z.number().int().min(65_536).default(2_097_152).describe('bytes one connection may have waiting to be sent; a client that does not read is disconnected (policy-violation) instead'),
        maxRosterItems: z
          .number()
          .int()
          .min(1)
          .default(2000)
          .describe('roster items per account, counting stored pending subscription requests; a full roster refuses new contacts'),
        maxPrivacyLists: z.number().int().min(1).default(32).describe('privacy lists (XEP-0016) per account, the block list (XEP-0191) included; a new list beyond it is refused'),
        maxPrivacyListItems: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe('items per privacy list, blocked JIDs (XEP-0191) included: they are items of the default list'),
        maxCommandFileSize: z
          .number()
          .int()
          .min(1024)
          .default(1_048_576)
          .describe('largest file in bytes an admin command reads from dataDir (the template rosters of push_roster and push_roster_all)'),
        maxVcardSize: z
          .number()
          .int()
          .min(1024)
          .default(196_608)
          .describe(
            "bytes of one account's vCard (XEP-0054) as stored, photo included; a larger one is refused (XMPP not-acceptable, API 400). Keep it below limits.maxStanzaSize, or clients cannot send a vCard this large",
          ),
        maxSubscriptionRequestSize: z
          .number()
          .int()
          .min(512)
          .default(8192)
          .describe(
            'bytes of one inbound subscription request kept until the user answers it (RFC 6121 §3.1.3), extended content included; a larger request is refused with policy-violation',
          ),
        maxLastStatusLength: z
          .number()
          .int()
          .min(0)
          .default(1024)
          .describe('characters of the status text kept as an account\'s last activity (XEP-0012): a longer status of a last unavailable presence is cut, set_last refuses one'),
        maxSharedRosterGroups: z.number().int().min(1).default(1000).describe('shared roster groups per host; beyond, creating a group is refused'),
        maxSharedRosterGroupMembers: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe('accounts named as members of one shared roster group (@all@ and @online@ not counted); beyond, adding a member is refused'),
        maxPrivateElements: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('private XML storage (XEP-0049): elements one account may keep, one per element name and namespace; a new one beyond is refused (resource-constraint)'),
        maxPrivateElementSize: z
          .number()
          .int()
          .min(256)
          .default(65_536)
          .describe('private XML storage (XEP-0049): bytes of one stored element, serialized as UTF-8; a larger one is refused (not-acceptable)'),
        maxOAuthTokensPerAccount: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('OAuth: unexpired tokens one account may hold; issuing one more is refused (oauth_issue_token 403, /oauth/token 400 invalid_request)'),
        maxOAuthClients: z.number().int().min(1).default(1000).describe('OAuth: registered clients; adding one more is refused (403)'),
        maxOAuthTokenTtl: z
          .number()
          .int()
          .min(1)
          .default(31_536_000)
          .describe('OAuth: the longest lifetime of a token in seconds (a year); a longer ttl is refused (400)'),
        maxBackupFileSize: z
          .number()
          .int()
          .min(1024)
          .default(1_073_741_824)
          .describe('largest file in bytes restore and load read (a backup or dump in dataDir); a larger one is refused before anything changes'),
      })
      .strict()
      .default({
        maxStanzaSize: 262_144,
        maxConnectionsPerIp: 5000,
        tlsHandshakeTimeout: 10,
        proxyHeaderTimeout: 5,
        maxAuthAttempts: 5,
        authFailuresPerMinute: 20,
        maxHttpBodySize: 1_048_576,
        maxOfflineMessages: 1000,
        maxOfflineChars: 10_485_760,
        maxOutputBuffer: 2_097_152,
        maxRosterItems: 2000,
        maxPrivacyLists: 32,
        maxPrivacyListItems: 1000,
        maxCommandFileSize: 1_048_576,
        maxVcardSize: 196_608,
        maxSubscriptionRequestSize: 8192,
        maxLastStatusLength: 1024,
        maxSharedRosterGroups: 1000,
        maxSharedRosterGroupMembers: 10_000,
        maxPrivateElements: 100,
        maxPrivateElementSize: 65_536,
        maxOAuthTokensPerAccount: 100,
        maxOAuthClients: 1000,
        maxOAuthTokenTtl: 31_536_000,
        maxBackupFileSize: 1_073_741_824,
      }),
    trustedProxies: z
      .array(z.string().refine(isCidr, 'expected an IP address or CIDR block'))
      .default([])
      .describe(
        'addresses or CIDR blocks of load balancers: their PROXY protocol headers (listeners with proxyProtocol) and X-Forwarded-For (HTTP) give the client address used by every per-address limit',
      ),
    shaper: z
      .object({
        unauthenticated: rateLimit(10_240, 65_536).describe('inbound rate limit of a client connection before it authenticates'),
        authenticated: rateLimit(102_400, 1_048_576).describe('inbound rate limit of an authenticated client connection'),
      })
      .strict()
      .default({ unauthenticated: { rate: 10_240, burst: 65_536 }, authenticated: { rate: 102_400, burst: 1_048_576 } })
      .describe('per-connection inbound rate limits (token bucket); reads pause while a connection is over its rate'),
    apiPermissions: z
      .record(z.string(), permissionRule)
      .optional()
      .describe('ejabberd-style api_permissions; default: admins may call everything, loopback may call status'),
    portability: z
      .object({
        overwrite: z
          .boolean()
          .default(false)
          .describe('import_piefxis, import_prosody, import_file, import_dir: replace the credentials of accounts that exist and merge their data, instead of skipping them'),
      })
      .strict()
      .default({ overwrite: false }),
    oauth: z
      .object({
        expire: z
          .number()
          .int()
          .min(1)
          .default(4_294_967)
          .describe("lifetime in seconds of tokens /oauth/token and the authorization page issue when the client asks none (ejabberd's oauth_expire)"),
      })
      .strict()
      .default({ expire: 4_294_967 }),
    xmlrpc: z
      .object({
        enabled: z.boolean().default(false).describe("ejabberd's XML-RPC interface (ejabberd_xmlrpc) on its own listener"),
        address: z.string().min(1).default('127.0.0.1').describe('address to bind the XML-RPC listener'),
        port: port.default(4560).describe('TCP port of the XML-RPC listener (0 picks a free one)'),
        httpPath: z
          .boolean()
          .default(false)
          .describe('also serve XML-RPC at POST /xmlrpc of the http/https listeners (ejabberd_xmlrpc as a request handler)'),
      })
      .strict()
      .default({ enabled: false, address: '127.0.0.1', port: 4560, httpPath: false })
      .describe('XML-RPC admin interface: the same commands and apiPermissions (from: xmlrpc) as /api; request bodies are limited by limits.maxHttpBodySize and connections by limits.maxConnectionsPerIp'),
    ctl: z
      .object({ socket: z.string().default('ctl.sock').describe('control socket, relative to dataDir') })
      .strict()
      .default({ socket: 'ctl.sock' }),
    mam: z
      .object({
        enabled: z.boolean().default(true).describe('message archive (XEP-0313) of accounts, and of rooms when group chat runs'),
        defaultPolicy: z
          .enum(['always', 'roster', 'never'])
          .default('always')
          .describe("what an account archives until it sets its own preferences: every chat, chats with roster contacts, or none"),
        maxMessagesPerAccount: z
          .number()
          .int()
          .min(1)
          .default(100_000)
          .describe("messages kept in one account's archive; the oldest are removed beyond it (checked every 1% of the limit)"),
        maxMessagesPerRoom: z.number().int().min(1).default(100_000).describe("messages kept in one room's archive; the oldest are removed beyond it"),
        maxPageSize: z.number().int().min(1).max(10_000).default(250).describe('messages one query returns at most (a larger RSM max is lowered to it)'),
        defaultPageSize: z.number().int().min(1).default(50).describe('messages one query returns when it names no RSM max'),
        maxPrefsJids: z.number().int().min(0).default(1000).describe('JIDs of the always and never lists of one account\'s preferences together; more is refused (not-acceptable)'),
        writeQueue: z
          .number()
          .int()
          .min(100)
          .default(20_000)
          .describe('archived messages waiting to be written (in batches, one transaction per turn); past it, delivery waits for the writes'),
        maxCount: z
          .number()
          .int()
          .min(1)
          .default(100_000)
          .describe("messages a query's RSM <count> counts at most (an index range of that many entries); a larger set reports this number"),
        flushInterval: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(50)
          .describe('milliseconds an archived message may wait in memory to be written with others (queries and a stop write it at once); 0: at the end of the turn of the event loop'),
        commitInterval: z
          .number()
          .int()
          .min(0)
          .max(10_000)
          .default(250)
          .describe(
            "SQLite: milliseconds the archive's writer thread keeps written rows in its open transaction before it commits them (queries, retractions, commands and a stop commit at once). One commit writes an index page once for all its rows, so a longer interval costs less per row on a large archive. A crash of the process loses at most this much of the archive, plus what waits for the thread while the core is saturated (it yields to routing); the messages themselves were delivered or stored offline",
          ),
      })
      .strict()
      .default({
        enabled: true,
        defaultPolicy: 'always',
        maxMessagesPerAccount: 100_000,
        maxMessagesPerRoom: 100_000,
        maxPageSize: 250,
        defaultPageSize: 50,
        maxPrefsJids: 1000,
        writeQueue: 20_000,
        flushInterval: 50,
        commitInterval: 250,
        maxCount: 100_000,
      }),
    muc: z
      .object({
        enabled: z.boolean().default(true).describe('group chat (XEP-0045) on a service domain of every host'),
        domain: z.string().min(1).default('conference.{host}').describe('the service domain of each host; {host} is replaced by the host'),
        maxRoomsPerService: z.number().int().min(1).default(10_000).describe('rooms (persistent or with occupants) one service holds; creating one more is refused (not-allowed, API 403)'),
        maxRoomsPerAccount: z.number().int().min(1).default(100).describe('rooms one account owns; creating one more is refused (not-allowed)'),
        maxPersistentRoomsPerAccount: z.number().int().min(0).default(20).describe('persistent rooms one account owns; making one more persistent is refused (not-acceptable)'),
        maxOccupantsPerRoom: z.number().int().min(1).default(1000).describe("occupants of one room (a room's own maxUsers may be lower); one more is refused (service-unavailable), owners and admins excepted"),
        maxJoinedRoomsPerAccount: z.number().int().min(1).default(100).describe('rooms one account is in at once; joining one more is refused (resource-constraint)'),
        maxHistory: z.number().int().min(0).default(100).describe('messages of discussion history one room keeps in memory (a room asks for up to this many)'),
        defaultHistory: z.number().int().min(0).default(20).describe('history length of a new room'),
        maxHistoryChars: z.number().int().min(0).default(262_144).describe('characters of serialized messages one room keeps as history; the oldest go first'),
        maxNickLength: z.number().int().min(1).default(64).describe('characters of a nick; a longer one is refused (not-acceptable)'),
        maxSubjectLength: z.number().int().min(1).default(1024).describe('characters of a subject; a longer one is refused (not-acceptable)'),
        maxTitleLength: z.number().int().min(1).default(256).describe('characters of a room title; a longer one is refused (not-acceptable)'),
        maxDescriptionLength: z.number().int().min(1).default(1024).describe('characters of a room description; a longer one is refused (not-acceptable)'),
        maxAffiliationsPerRoom: z.number().int().min(1).default(10_000).describe('affiliations (owners, admins, members, outcasts) of one room; one more is refused (not-allowed)'),
        maxSubscribersPerRoom: z.number().int().min(1).default(1000).describe('MUC/Sub subscribers of one room; one more is refused (not-allowed)'),
      })
      .strict()
      .default({
        enabled: true,
        domain: 'conference.{host}',
        maxRoomsPerService: 10_000,
        maxRoomsPerAccount: 100,
        maxPersistentRoomsPerAccount: 20,
        maxOccupantsPerRoom: 1000,
        maxJoinedRoomsPerAccount: 100,
        maxHistory: 100,
        defaultHistory: 20,
        maxHistoryChars: 262_144,
        maxNickLength: 64,
        maxSubjectLength: 1024,
        maxTitleLength: 256,
        maxDescriptionLength: 1024,
        maxAffiliationsPerRoom: 10_000,
        maxSubscribersPerRoom: 1000,
      })
      .describe('group chat (XEP-0045 multi-user chat, ejabberd MUC/Sub)'),
    push: z
      .object({
        maxSessionsPerAccount: z
          .number()
          .int()
          .min(0)
          .default(10)
          .describe('push registrations (XEP-0357 enable) kept per account; one more is refused with resource-constraint until one is disabled'),
        includeSender: z.boolean().default(false).describe("notifications name the last message's sender (ejabberd's include_sender)"),
        includeBody: z
          .union([z.boolean(), z.string()])
          .default('New message')
          .describe("notifications carry the last message's body (true), none (false), or this text instead of it (ejabberd's include_body)"),
        notificationsPerMinute: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe('notifications sent to one push registration per minute; more are dropped (the app server already knows there is news)'),
        replyTimeout: z.number().int().min(1).default(30).describe('seconds to wait for the app server to answer a notification'),
      })
      .strict()
      .default({ maxSessionsPerAccount: 10, includeSender: false, includeBody: 'New message', notificationsPerMinute: 30, replyTimeout: 30 })
      .describe('push notifications (XEP-0357) to the app servers clients register'),
    upload: z
      .object({
        enabled: z.boolean().default(false).describe('HTTP File Upload (XEP-0363) on upload.<host>'),
        domain: z.string().min(1).default('upload.{host}').describe('the upload service\'s domain; {host} is replaced by each served host'),
        maxFileSize: z.number().int().min(1).default(10_485_760).describe('bytes of one file; a larger slot request is refused (not-acceptable, file-too-large)'),
        quotaPerAccount: z
          .number()
          .int()
          .min(0)
          .default(104_857_600)
          .describe('bytes one account may hold in uploaded files and open slots; a request past it is refused (resource-constraint)'),
        expireAfterDays: z.number().min(0).default(30).describe('uploaded files are deleted this many days after their upload (0: kept until their account is removed)'),
        slotTimeout: z.number().int().min(1).default(300).describe('seconds a slot waits for its PUT before it is dropped'),
        publicUrl: z
          .string()
          .url()
          .optional()
          .describe('base URL of the PUT and GET URLs given to clients (https://upload.example.org); default: upload.listen if set, else the https listener, else the http listener'),
        directory: z.string().min(1).default('upload').describe('where files are stored, relative to dataDir'),
        listen: z
          .union([
            z
              .object({
                address: z.string().min(1).default('0.0.0.0').describe('address to bind'),
                port: port.default(5444).describe('TCP port (0 picks a free one)'),
                tls: z.boolean().default(true).describe('serve HTTPS with the server certificate'),
              })
              .strict(),
            z.null(),
          ])
          .default(null)
          .describe('a listener serving only /upload (public) while /api stays on the loopback http/https listeners; null: /upload is served on the http and https listeners only'),
      })
      .strict()
      .default({
        enabled: false,
        domain: 'upload.{host}',
        maxFileSize: 10_485_760,
        quotaPerAccount: 104_857_600,
        expireAfterDays: 30,
        slotTimeout: 300,
        directory: 'upload',
        listen: null,
      })
      .describe('HTTP File Upload (XEP-0363): slots requested over XMPP, files PUT and GET over HTTP'),
    openfire: z
      .object({
        enabled: z.boolean().default(false).describe("Openfire's REST API at /plugins/restapi/v1 of the http/https listeners"),
        auth: z
          .enum(['secret', 'basic', 'both'])
          .default('secret')
          .describe('how callers authenticate: the shared secret as the whole Authorization header, basic auth of an admin account, or either'),
        secret: z.string().default('').describe('the shared secret (an empty secret refuses every secret-authenticated request)'),
        allowedIps: z
          .array(z.string().refine((c) => isCidr(c), 'an IP address or CIDR'))
          .default([])
          .describe('callers allowed (IP addresses or CIDR ranges); empty: any address'),
        mucService: z.string().default('conference').describe("the `servicename` of the group chat service (conference.<host>)"),
        maxSystemProperties: z.number().int().min(0).default(1000).describe('system properties stored at most'),
      })
      .strict()
      .default({ enabled: false, auth: 'secret', secret: '', allowedIps: [], mucService: 'conference', maxSystemProperties: 1000 })
      .describe('Openfire REST API dialect (docs/openfire-api.md)'),
    pep: z
      .object({
        maxNodes: z.number().int().min(1).default(100).describe("PEP (XEP-0163): nodes one account may have; creating one more is refused (not-allowed, max-nodes-exceeded)"),
        maxItemsPerNode: z
          .number()
          .int()
          .min(1)
          .default(256)
          .describe('PEP: items one node keeps at most, whatever its pubsub#max_items (`max` means this); the oldest go first'),
        maxItemSize: z
          .number()
          .int()
          .min(256)
          .default(131_072)
          .describe('PEP: bytes of one item payload, serialized as UTF-8; a larger one is refused (not-acceptable, payload-too-big). Keep it below limits.maxStanzaSize'),
        capsCacheSize: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe('entity capabilities (XEP-0115): verified client feature sets kept in memory, by hash; the least recently used go first'),
      })
      .strict()
      .default({ maxNodes: 100, maxItemsPerNode: 256, maxItemSize: 131_072, capsCacheSize: 10_000 })
      .describe("PEP (XEP-0163) limits and entity capabilities"),
    audit: z
      .object({
        enabled: z.boolean().default(true).describe('record every admin action (ejabberd /api, XML-RPC, parley ctl, OAuth grants, Openfire, hosting) and failed admin logins'),
        maxEntries: z.number().int().min(1).default(100_000).describe('entries kept in the database; older ones are trimmed'),
        maxAgeDays: z.number().min(0).default(90).describe('entries older than this are trimmed (0: kept until maxEntries pushes them out)'),
        trimIntervalSeconds: z.number().int().min(1).default(600).describe('how often the log is trimmed to maxEntries and maxAgeDays'),
        maxPending: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe('entries waiting to be written; past it new entries are dropped (and counted in the log) rather than held in memory'),
        file: z.string().min(1).optional().describe('also append each entry as a JSON line to this file, inside dataDir'),
      })
      .strict()
      .default({ enabled: true, maxEntries: 100_000, maxAgeDays: 90, trimIntervalSeconds: 600, maxPending: 10_000 })
      .describe('the audit log of admin actions'),
    userService: z
      .object({
        enabled: z.boolean().default(false).describe("Openfire's User Service (/plugins/restapi/v1/userservice, /plugins/restapi/userservice, /plugins/userService/userservice); off: every request gets UserServiceDisabled"),
        secret: z.string().min(1).optional().describe('the shared secret each request passes as `secret`; unset: every request gets RequestNotAuthorised'),
        allowedIps: z.array(z.string()).default([]).describe('addresses or CIDR ranges allowed to call it; empty: any address'),
        host: z.string().min(1).optional().describe('the host whose accounts it manages (default: the first of hosts)'),
      })
      .strict()
      .default({ enabled: false, allowedIps: [] })
      .describe("Openfire's legacy User Service: account and roster provisioning by shared secret"),
    hosting: z
      .object({
        enabled: z.boolean().default(false).describe('the hosting-panel jabber-* API (DreamHost-style cmd=... with an API key) on the http/https listeners'),
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9._~\/-]*[A-Za-z0-9._~-]$/)
          .default('/hosting/api')
          .describe('where the API is served (GET or POST, the parameters in the query string or a form-encoded body)'),
        applyDelay: z
          .number()
          .min(0)
          .max(86_400)
          .default(30)
          .describe('seconds between the first change of a batch (service token) and its application; later changes join the open batch'),
        maxPendingPerKey: z.number().int().min(1).default(1000).describe('changes one key may have waiting; one more is refused (error slow_down_bucko)'),
        maxChangesPerToken: z.number().int().min(1).default(100).describe('changes one service token gathers; the next change opens a new token'),
        maxListedUsers: z.number().int().min(1).default(100_000).describe('rows jabber-list_users answers at most; a larger listing is refused (error slow_down_bucko)'),
        keys: z
          .array(
            z
              .object({
                name: z.string().min(1).describe('who the key is, in logs and the audit log'),
                key: z.string().min(16).describe('the secret the panel sends as key=...'),
                domains: z.array(z.string().min(1)).optional().describe('served hosts the key manages (default: every host)'),
                commands: z.array(z.string().min(1)).optional().describe('jabber-* commands the key may call (default: all of them)'),
              })
              .strict(),
          )
          .default([])
          .describe('the API keys, each with the domains and commands it may use'),
      })
      .strict()
      .default({ enabled: false, path: '/hosting/api', applyDelay: 30, maxPendingPerKey: 1000, maxChangesPerToken: 100, maxListedUsers: 100_000, keys: [] })
      .describe('the hosting-panel jabber-* API: account changes queued under service tokens, applied after applyDelay'),
  })
  .strict()
  .superRefine((c, issues) => {
    const alias = c.storage.passwordFormat;
    if (alias !== undefined && c.auth.passwordFormat !== undefined && alias !== c.auth.passwordFormat) {
      issues.addIssue({
        code: 'custom',
        path: ['auth', 'passwordFormat'],
        message: `${c.auth.passwordFormat} contradicts storage.passwordFormat (${alias}), its deprecated alias: set only auth.passwordFormat`,
      });
    }
  });

/** How passwords are stored: `auth.passwordFormat`, else its deprecated alias `storage.passwordFormat`, else SCRAM. */
export function passwordFormatOf(config: Config): 'scram' | 'plain' {
  return config.auth.passwordFormat ?? config.storage.passwordFormat ?? 'scram';
}

export type Config = z.infer<typeof configSchema>;
export type PermissionRule = z.infer<typeof permissionRule>;
export type AccessRule = z.infer<typeof accessRule>;
