import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import tls from 'node:tls';
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { C2SStream, type ConnectionSlot, type StreamHost, type Transport } from '../c2s/stream.js';
import type { AdminHost } from '../admin/host.js';
import type { TlsMaterial } from './tls-material.js';

/** What the listeners need of the node: what its streams and admin surfaces need, and its TLS material. */
export interface ListenerHost extends StreamHost, AdminHost {
  readonly tls: TlsMaterial;
  /** What modules serve over HTTP (file upload): on the http and https listeners, and alone on the upload listener. */
  readonly moduleDialects?: readonly Dialect[];
}
import type { ConnectionKind } from '../router/session.js';
import { adminDialects } from '../admin/mounts.js';
import { xmlRpcApi } from '../admin/xmlrpc/http.js';
import { HttpLayer, type Dialect } from '../http/layer.js';
import { startCtlServer } from '../admin/ctl/server.js';
import { resolveIn } from '../config/load.js';
import { clientAddress, forwardedOverTls, isLoopbackBind, normalizeIp, trustedProxiesOf, type TrustedProxies } from './address.js';
import { parseProxyHeader, type ProxyHeader } from './proxy-protocol.js';

export interface BoundAddress {
  address: string;
  port: number;
}
export interface BoundAddresses {
  c2s?: BoundAddress;
  c2sTls?: BoundAddress;
  http?: BoundAddress;
  https?: BoundAddress;
  xmlrpc?: BoundAddress;
  /** The public listener of module dialects (upload.listen). */
  upload?: BoundAddress;
  ctl?: string;
}

/** How long a refused connection may linger (read and discarded) before it is destroyed. */
const REFUSED_GRACE_MS = 2000;

/** Where the XML-RPC listener's requests are routed inside its HTTP layer (any request path is taken). */
const XMLRPC_PATH = '/xmlrpc';

export interface RateLimit {
  /** Bytes per second; 0: unlimited. */
  rate: number;
  /** Bytes that may arrive at once. */
  burst: number;
}

/**
 * Inbound token bucket (ejabberd's shaper, Prosody's mod_limits): every read takes its size from the
 * bucket; when it runs dry, reads pause until the rate has refilled it. One subtraction per read, a clock
 * read only when the bucket is overdrawn, one timer only while paused. The refill is computed when the
 * bucket runs dry, so right after an idle period up to twice `burst` can pass before the rate applies.
 */
export class Shaper {
  private rate = 0;
  private burst = 0;
  private credit = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
    limit: RateLimit,
  ) {
    this.set(limit);
  }

  /** New limits with a full bucket (on authentication); reads resume if they were paused. */
  set(limit: RateLimit): void {
    this.rate = limit.rate;
    this.burst = limit.burst;
    this.credit = limit.burst;
    this.last = Date.now();
    if (this.timer) {
      this.cancel();
      this.resume();
    }
  }

  consume(bytes: number): void {
    this.credit -= bytes;
    if (this.credit < 0 && this.rate > 0) this.overdrawn();
  }

  /** Forgets a pending resumption (the connection closed, or its reading moved to another socket). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get paused(): boolean {
    return this.timer !== undefined;
  }

  private overdrawn(): void {
    this.refill();
    if (this.credit >= 0 || this.timer) return;
    this.pause();
    this.arm();
  }

  private arm(): void {
    this.timer = setTimeout(this.wake, Math.ceil((-this.credit * 1000) / this.rate));
    this.timer.unref();
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    this.refill();
    if (this.credit < 0) this.arm();
    else this.resume();
  };

  private refill(): void {
    const now = Date.now();
    this.credit = Math.min(this.burst, this.credit + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }
}

/** Socket transport: coalesces the writes of one event-loop turn into one syscall. */
class SocketTransport implements Transport {
  readonly framed = false;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };
  private readonly shaper: Shaper;

  constructor(
    private socket: net.Socket,
    readonly kind: ConnectionKind,
    public secure: boolean,
    private readonly slot: ConnectionSlot,
    private readonly server: ListenerHost,
    /** The client's address: the peer's, or the one a trusted proxy's PROXY header gave. */
    readonly ip: string,
    readonly port: number,
  ) {
    this.shaper = new Shaper(
      () => this.socket.pause(),
      () => {
        if (!this.streamPaused) this.socket.resume();
      },
      server.config.shaper.unauthenticated,
    );
    this.attach(socket);
    socket.resume(); // a socket paused while its PROXY header was read
    if (kind === 'c2s') {
      this.startTls = this.upgrade;
      this.beforeTls = true;
    }
  }

  startTls?: Transport['startTls'];

  /** Bytes of a multi-byte character split across reads, kept for the next read. */
  private pending: Buffer | undefined;

  private readonly onData = (d: Buffer): void => this.data(d);
  private readonly onClose = (): void => {
    this.shaper.cancel();
    this.slot.handler.transportClosed();
  };

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => socket.destroy());
  }

  /** Decodes strictly: invalid UTF-8 ends the stream (RFC 6120 §11.6) instead of becoming U+FFFD. */
  private data(chunk: Buffer): void {
    this.shaper.consume(chunk.length);
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const cut = completeUtf8Length(buf);
    if (cut < buf.length) {
      this.pending = Buffer.from(buf.subarray(cut));
      buf = buf.subarray(0, cut);
    }
    if (!isUtf8(buf)) {
      this.slot.handler.invalidData('invalid UTF-8');
      return;
    }
    if (!buf.length) return;
    if (this.beforeTls) this.endsWithTag = lastNonSpaceIs(buf, 0x3e /* > */);
    this.slot.handler.receive(buf.toString('utf8'));
  }

  /** STARTTLS is still possible: reads are watched for data after `<starttls/>`. */
  private beforeTls = false;
  /** Whether the last read ended with a tag (and white space): false when something followed `<starttls/>`. */
  private endsWithTag = true;

  write(data: string): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(data);
  }

  /** After STARTTLS this is the TLS socket's queue (clear text not yet encrypted and sent). */
  get buffered(): number {
    return this.socket.writableLength;
  }

  /** Also calls back when the connection closes first, so that nobody waits for a drain that never comes. */
  onDrain(cb: () => void): void {
    whenDrained(this.socket, () => this.socket.writableLength, cb);
  }

  authenticated(): void {
    this.shaper.set(this.server.config.shaper.authenticated);
  }

  end(): void {
    this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The stream's own backlog pauses reading too; reads resume when neither it nor the shaper holds them. */
  private streamPaused = false;

  setReadPaused(paused: boolean): void {
    this.streamPaused = paused;
    if (paused) this.socket.pause();
    else if (!this.shaper.paused) this.socket.resume();
  }

  private upgrade(onSecure: () => void, onError: (err: Error) => void): void {
    const raw = this.socket;
    this.beforeTls = false;
    // RFC 6120 §5.4.3.3: nothing may follow <starttls/> before <proceed/>. Text that came with it in the same
    // read went to the XML parser, and the handshake would wait for a ClientHello that never comes.
    if (!this.endsWithTag) {
      raw.destroy();
      onError(new Error('data after <starttls/>'));
      return;
    }
    // Only this transport's listeners: the listeners' own (the address count, the socket set) stay.
    raw.off('data', this.onData);
    raw.off('close', this.onClose);
    // The proceed element must leave before the handshake starts.
    if (this.corked) {
      this.corked = false;
      raw.uncork();
    }
    // Reading moves to the TLS socket, which starts reading by itself.
    this.shaper.cancel();
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.server.tls.context });
    this.socket = secure;
    this.attach(secure);
    const deadline = setTimeout(() => secure.destroy(), this.server.config.limits.tlsHandshakeTimeout * 1000);
    deadline.unref();
    secure.once('close', () => clearTimeout(deadline));
    secure.once('secure', () => {
      clearTimeout(deadline);
      onSecure();
    });
    secure.once('error', (err) => {
      clearTimeout(deadline);
      // Not a half-open socket waiting for the negotiation timeout: closed at once.
      secure.destroy();
      onError(err);
    });
  }
}

function lastNonSpaceIs(buf: Buffer, byte: number): boolean {
  for (let i = buf.length - 1; i >= 0; i--) {
    const b = buf[i]!;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return b === byte;
  }
  return true;
}

/** Length of the prefix of buf that ends on a character boundary (at most 3 bytes are held back). */
function completeUtf8Length(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Calls back once when `pending()` is zero after a 'drain', or when the socket closes. */
function whenDrained(socket: net.Socket, pending: () => number, cb: () => void): void {
  if (socket.destroyed || pending() === 0) {
    queueMicrotask(cb);
    return;
  }
  const check = () => {
    if (!socket.destroyed && pending() > 0) return;
    socket.off('drain', check);
    socket.off('close', check);
    cb();
  };
  socket.on('drain', check);
  socket.on('close', check);
}

class WebSocketTransport implements Transport {
  readonly framed = true;
  readonly kind = 'websocket' as const;
  private readonly shaper: Shaper;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP (or TLS) socket under the WebSocket: its 'drain' tells when ws.bufferedAmount falls. */
    private readonly socket: net.Socket,
    private readonly slot: ConnectionSlot,
    private readonly server: ListenerHost,
    readonly ip: string,
    readonly port: number,
    public secure: boolean,
  ) {
    this.shaper = new Shaper(
      () => ws.pause(),
      () => {
        if (!this.streamPaused) ws.resume();
      },
      server.config.shaper.unauthenticated,
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.shaper.consume(data.length);
      // RFC 7395 §3.2: every frame is a text frame (which ws has checked to be valid UTF-8).
      if (isBinary) this.slot.handler.invalidData('binary WebSocket frames are not allowed');
      else this.slot.handler.receive(data.toString('utf8'));
    });
    ws.on('close', () => {
      this.shaper.cancel();
      this.slot.handler.transportClosed();
    });
    ws.on('error', () => ws.terminate());
  }
  write(data: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
  }
  get buffered(): number {
    return this.ws.bufferedAmount;
  }
  /** Also calls back when the connection closes first. */
  onDrain(cb: () => void): void {
    whenDrained(this.socket, () => (this.ws.readyState === this.ws.OPEN ? this.ws.bufferedAmount : 0), cb);
  }
  authenticated(): void {
    this.shaper.set(this.server.config.shaper.authenticated);
  }
  end(): void {
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
  destroy(): void {
    this.ws.terminate();
  }
  private streamPaused = false;

  setReadPaused(paused: boolean): void {
    this.streamPaused = paused;
    if (paused) this.ws.pause();
    else if (!this.shaper.paused) this.ws.resume();
  }
}

type ListenerName = 'c2s' | 'c2sTls' | 'http' | 'https' | 'xmlrpc' | 'upload';

const POLICY_VIOLATION =
  `<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">` +
  `<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/><text xmlns="urn:ietf:params:xml:ns:xmpp-streams">too many connections from your address</text></stream:error></stream:stream>`;
const SERVICE_UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Counts for tests and diagnostics. */
export interface ListenerStats {
  /** Open TCP connections accepted by any listener (refused ones until they are closed). */
  sockets: number;
  /** Open connections per client address, as limits.maxConnectionsPerIp counts them. */
  perIp: Record<string, number>;
}

/**
 * The listening sockets. Every connection is admitted or refused by its client's address as soon as it is
 * accepted (after the PROXY header, for a trusted proxy), before any TLS work; TLS handshakes have a
 * deadline for the whole handshake; HTTP and HTTPS requests are handed to an http.Server that never
 * listens itself.
 */
export class Listeners {
  private servers: net.Server[] = [];
  private httpServers: http.Server[] = [];
  private sockets = new Set<net.Socket>();
  private perIp = new Map<string, number>();
  private readonly trusted: TrustedProxies;
  private wss = new WebSocketServer({
    noServer: true,
    maxPayload: 0,
    handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
  });
  private closeCtl?: () => Promise<void>;
  /** Every HTTP request that is not a WebSocket upgrade goes to the admin layer. */
  private readonly http: HttpLayer;
  /** The XML-RPC listener's own layer: every request, whatever its path, is an XML-RPC call (as ejabberd's `[]` handler path). */
  private readonly xmlrpc: HttpLayer;
  /** The upload listener's own layer: the module dialects only, never the admin API. */
  private readonly files: HttpLayer;

  constructor(private readonly server: ListenerHost) {
    (this.wss.options as { maxPayload: number }).maxPayload = server.config.limits.maxStanzaSize + 1024;
    this.trusted = trustedProxiesOf(server.config);
    this.http = new HttpLayer({
      log: server.log,
      bodyLimit: () => server.config.limits.maxHttpBodySize,
      clientIp: (req) => clientAddress(server, req),
    });
    for (const dialect of adminDialects(server)) this.http.mount(dialect);
    for (const dialect of server.moduleDialects ?? []) this.http.mount(dialect);
    this.files = new HttpLayer({
      log: server.log,
      bodyLimit: () => server.config.limits.maxHttpBodySize,
      clientIp: (req) => clientAddress(server, req),
    });
    for (const dialect of server.moduleDialects ?? []) this.files.mount(dialect);
    this.xmlrpc = new HttpLayer({
      log: server.log,
      bodyLimit: () => server.config.limits.maxHttpBodySize,
      clientIp: (req) => clientAddress(server, req),
    });
    this.xmlrpc.mount(xmlRpcApi(server, XMLRPC_PATH));
  }

  async start(): Promise<BoundAddresses> {
    const { listen } = this.server.config;
    const out: BoundAddresses = {};
    if (listen.c2s) out.c2s = await this.listen('c2s', listen.c2s, listen.c2s.proxyProtocol);
    if (listen.c2sTls) out.c2sTls = await this.listen('c2sTls', listen.c2sTls, listen.c2sTls.proxyProtocol);
    if (listen.http) {
      out.http = await this.listen('http', listen.http, false);
      if (!isLoopbackBind(listen.http.address)) {
        this.server.log.warn(
          { address: listen.http.address, port: out.http.port },
          'the HTTP listener (admin API and WebSocket, without TLS) is reachable from other machines: passwords and messages cross the network in clear text; bind it to 127.0.0.1 or use the https listener',
        );
      }
    }
    if (listen.https) out.https = await this.listen('https', listen.https, false);
    const { xmlrpc } = this.server.config;
    if (xmlrpc.enabled) {
      out.xmlrpc = await this.listen('xmlrpc', xmlrpc, false);
      if (!isLoopbackBind(xmlrpc.address)) {
        this.server.log.warn(
          { address: xmlrpc.address, port: out.xmlrpc.port },
          'the XML-RPC listener (without TLS) is reachable from other machines: passwords cross the network in clear text; bind it to 127.0.0.1',
        );
      }
    }
    const upload = this.server.config.upload;
    if (upload.enabled && upload.listen) {
      out.upload = await this.listen('upload', upload.listen, false);
      if (!upload.listen.tls && !isLoopbackBind(upload.listen.address)) {
        this.server.log.warn(
          { address: upload.listen.address, port: out.upload.port },
          'the upload listener (without TLS) is reachable from other machines: files and their upload authorizations cross the network in clear text; set upload.listen.tls or put a TLS proxy in front (upload.publicUrl)',
        );
      }
    }
    const ctlPath = resolveIn(this.server.dataDir, this.server.config.ctl.socket);
    this.closeCtl = await startCtlServer(this.server, ctlPath);
    out.ctl = ctlPath;
    return out;
  }

  stats(): ListenerStats {
    return { sockets: this.sockets.size, perIp: Object.fromEntries(this.perIp) };
  }

  private listen(name: ListenerName, where: { address: string; port: number }, proxyProtocol: boolean): Promise<BoundAddress> {
    const web = name === 'http' || name === 'https' || name === 'xmlrpc' || name === 'upload';
    // Half-open as http.Server's own sockets are; the HTTP code closes them.
    const srv = net.createServer({ allowHalfOpen: web, noDelay: true }, (s) => this.accept(s, name, proxyProtocol));
    this.servers.push(srv);
    const httpServer =
      name === 'xmlrpc' ? this.xmlRpcServer() : name === 'upload' ? this.filesServer(this.server.config.upload.listen?.tls === true) : web ? this.httpServer(name === 'https') : undefined;
    this.route[name] = (socket) => httpServer!.emit('connection', socket);
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(where.port, where.address, () => {
        srv.off('error', reject);
        const a = srv.address() as net.AddressInfo;
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  private route: Partial<Record<ListenerName, (socket: net.Socket) => void>> = {};

  private accept(raw: net.Socket, name: ListenerName, proxyProtocol: boolean): void {
    this.sockets.add(raw);
    raw.once('close', () => this.sockets.delete(raw));
    raw.on('error', () => raw.destroy());
    const peer = normalizeIp(raw.remoteAddress ?? '');
    if (proxyProtocol && this.trusted.has(peer)) {
      this.readProxyHeader(raw, (source) => this.admitted(raw, name, source?.address ?? peer, source?.port ?? raw.remotePort ?? 0));
    } else {
      this.admitted(raw, name, peer, raw.remotePort ?? 0);
    }
  }

  /** Reads the PROXY protocol header within limits.proxyHeaderTimeout; a malformed or late one closes the connection. */
  private readProxyHeader(raw: net.Socket, done: (source: ProxyHeader['source']) => void): void {
    let buf: Buffer | undefined;
    const timer = setTimeout(() => raw.destroy(), this.server.config.limits.proxyHeaderTimeout * 1000);
    timer.unref();
    const onData = (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      let header: ProxyHeader | undefined;
      try {
        header = parseProxyHeader(buf);
      } catch (err) {
        this.server.log.debug({ err: (err as Error).message, proxy: raw.remoteAddress }, 'bad PROXY protocol header');
        clearTimeout(timer);
        raw.destroy();
        return;
      }
      if (!header) return;
      raw.pause();
      raw.off('data', onData);
      clearTimeout(timer);
      if (header.length < buf.length) raw.unshift(buf.subarray(header.length));
      done(header.source);
    };
    raw.on('data', onData);
    raw.once('close', () => clearTimeout(timer));
  }

  private admitted(raw: net.Socket, name: ListenerName, ip: string, port: number): void {
    if (!this.count(raw, ip)) {
      this.refuse(raw, name);
      return;
    }
    switch (name) {
      case 'c2s':
        this.stream(raw, 'c2s', false, ip, port);
        break;
      case 'c2sTls':
        this.handshake(raw, (secure) => this.stream(secure, 'c2s_tls', true, ip, port));
        break;
      case 'http':
        this.route.http!(raw);
        break;
      case 'xmlrpc':
        this.route.xmlrpc!(raw);
        break;
      case 'https':
        this.handshake(raw, (secure) => this.route.https!(secure));
        break;
      case 'upload':
        if (this.server.config.upload.listen?.tls) this.handshake(raw, (secure) => this.route.upload!(secure));
        else this.route.upload!(raw);
        break;
    }
  }

  /**
   * Counts the connection against its address until it closes; false when the address is at its limit.
   * A trusted proxy's own address is not limited: its clients are counted by the address it forwards.
   */
  private count(socket: net.Socket, ip: string): boolean {
    if (this.trusted.has(ip)) return true;
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.server.config.limits.maxConnectionsPerIp) return false;
    this.perIp.set(ip, n + 1);
    socket.once('close', () => this.release(ip));
    return true;
  }

  private release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /**
   * Over the limit. In clear text the client is told why; what it sends is read and discarded, and the
   * socket is destroyed when the client closes its side or after a short grace, so that a client that
   * never closes cannot hold the descriptor. Before a TLS handshake there is nobody to tell: closed at once.
   */
  private refuse(raw: net.Socket, name: ListenerName): void {
    if (name === 'c2sTls' || name === 'https' || (name === 'upload' && this.server.config.upload.listen?.tls)) {
      raw.destroy();
      return;
    }
    const grace = setTimeout(() => raw.destroy(), REFUSED_GRACE_MS);
    grace.unref();
    raw.once('close', () => clearTimeout(grace));
    raw.on('end', () => raw.destroy());
    raw.resume();
    raw.end(name === 'c2s' ? POLICY_VIOLATION : SERVICE_UNAVAILABLE);
  }

  /** Server side TLS over an accepted socket, with a deadline for the whole handshake (not per byte). */
  private handshake(raw: net.Socket, onSecure: (secure: tls.TLSSocket) => void): void {
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.server.tls.context });
    const deadline = setTimeout(() => secure.destroy(), this.server.config.limits.tlsHandshakeTimeout * 1000);
    deadline.unref();
    secure.on('error', () => secure.destroy());
    secure.once('close', () => {
      clearTimeout(deadline);
      raw.destroy();
    });
    secure.once('secure', () => {
      clearTimeout(deadline);
      onSecure(secure);
    });
  }

  private stream(socket: net.Socket, kind: ConnectionKind, secure: boolean, ip: string, port: number): void {
    socket.setNoDelay(true);
    const slot = { handler: undefined as unknown as ConnectionSlot['handler'] };
    new C2SStream(this.server, new SocketTransport(socket, kind, secure, slot, this.server, ip, port), slot);
  }

  /** The XML-RPC listener's HTTP server: no WebSocket, every path is the XML-RPC endpoint. */
  private xmlRpcServer(): http.Server {
    const srv = this.plainHttpServer();
    srv.on('request', (req, res) => {
      req.url = XMLRPC_PATH;
      this.xmlrpc.handle(req, res, false);
    });
    srv.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
    });
    return srv;
  }

  /**
   * The upload listener's HTTP server: module dialects only, no WebSocket. A file of
   * upload.maxFileSize over a slow mobile link takes longer than an API call: the request deadline
   * is longer than the admin listeners' (requests still idle for 30 s are dropped by the handler).
   */
  private filesServer(secure: boolean): http.Server {
    const srv = this.plainHttpServer();
    srv.requestTimeout = 900_000;
    srv.on('request', (req, res) => this.files.handle(req, res, secure));
    srv.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
    });
    return srv;
  }

  /** An http.Server that never listens (connections are handed to it), with the header and request deadlines. */
  private plainHttpServer(): http.Server {
    const srv = http.createServer();
    this.httpServers.push(srv);
    srv.requestTimeout = 30_000;
    srv.headersTimeout = 10_000;
    // The server never listens, but 'listening' starts its checks of the header and request timeouts.
    srv.emit('listening');
    return srv;
  }

  private httpServer(secure: boolean): http.Server {
    const srv = this.plainHttpServer();
    srv.on('request', (req, res) => this.http.handle(req, res, secure));
    srv.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/ws' && path !== '/xmpp-websocket') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
        return;
      }
      // Behind a trusted proxy the connection is the proxy's (not counted): the client is counted from here.
      const peer = normalizeIp(req.socket.remoteAddress ?? '');
      const ip = clientAddress(this.server, req);
      if (ip !== peer && !this.count(socket, ip)) {
        socket.end(SERVICE_UNAVAILABLE);
        setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (ws.protocol !== 'xmpp') {
          ws.close(1002, 'the xmpp subprotocol is required');
          return;
        }
        const slot = { handler: undefined as unknown as ConnectionSlot['handler'] };
        const encrypted = secure || forwardedOverTls(this.server, req);
        new C2SStream(this.server, new WebSocketTransport(ws, socket, slot, this.server, ip, req.socket.remotePort ?? 0, encrypted), slot);
      });
    });
    return srv;
  }

  async stop(): Promise<void> {
    await this.closeCtl?.();
    for (const ws of this.wss.clients) ws.terminate();
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const h of this.httpServers) {
      h.closeAllConnections();
      h.close(() => undefined);
    }
    // close() waits for every open connection to end: without this, stop() never returns while a client is connected.
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
