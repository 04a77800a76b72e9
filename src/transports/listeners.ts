import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import tls from 'node:tls';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Server } from '../server.js';
import { C2SStream, type ConnectionSlot, type Transport } from '../c2s/stream.js';
import type { ConnectionKind } from '../router/session.js';
import { handleApiRequest } from '../admin/ejabberd/http.js';
import { startCtlServer } from '../admin/ctl/server.js';
import { resolveIn } from '../config/load.js';
import { normalizeIp } from './address.js';

export interface BoundAddress {
  address: string;
  port: number;
}
export interface BoundAddresses {
  c2s?: BoundAddress;
  c2sTls?: BoundAddress;
  http?: BoundAddress;
  https?: BoundAddress;
  ctl?: string;
}

/** Socket transport: coalesces the writes of one event-loop turn into one syscall. */
class SocketTransport implements Transport {
  readonly framed = false;
  readonly ip: string;
  readonly port: number;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private socket: net.Socket,
    readonly kind: ConnectionKind,
    public secure: boolean,
    private readonly slot: ConnectionSlot,
    private readonly server: Server,
  ) {
    this.ip = normalizeIp(socket.remoteAddress ?? '');
    this.port = socket.remotePort ?? 0;
    this.attach(socket);
    if (kind === 'c2s') this.startTls = this.upgrade;
  }

  startTls?: Transport['startTls'];

  /** Bytes of a multi-byte character split across reads, kept for the next read. */
  private pending: Buffer | undefined;

  private attach(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('close', () => this.slot.handler.transportClosed());
    socket.on('error', () => socket.destroy());
  }

  /** Decodes strictly: invalid UTF-8 ends the stream (RFC 6120 §11.6) instead of becoming U+FFFD. */
  private data(chunk: Buffer): void {
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
    if (buf.length) this.slot.handler.receive(buf.toString('utf8'));
  }

  write(data: string): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(data);
  }

  get buffered(): number {
    return this.socket.writableLength;
  }

  onDrain(cb: () => void): void {
    if (this.socket.writableLength === 0) queueMicrotask(cb);
    else this.socket.once('drain', cb);
  }

  end(): void {
    this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  setReadPaused(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  private upgrade(onSecure: () => void, onError: (err: Error) => void): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    raw.on('error', () => raw.destroy());
    // The proceed element must leave before the handshake starts.
    if (this.corked) {
      this.corked = false;
      raw.uncork();
    }
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.server.tls.context });
    this.socket = secure;
    this.attach(secure);
    secure.once('secure', onSecure);
    secure.once('error', onError);
  }
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

class WebSocketTransport implements Transport {
  readonly framed = true;
  readonly kind = 'websocket' as const;
  constructor(private readonly ws: WebSocket, readonly ip: string, readonly port: number, public secure: boolean) {}
  write(data: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
  }
  get buffered(): number {
    return this.ws.bufferedAmount;
  }
  onDrain(cb: () => void): void {
    const check = () => {
      if (this.ws.readyState !== this.ws.OPEN || this.ws.bufferedAmount === 0) cb();
      else setTimeout(check, 10).unref();
    };
    check();
  }
  end(): void {
    this.ws.close(1000);
  }
  destroy(): void {
    this.ws.terminate();
  }
  setReadPaused(paused: boolean): void {
    if (paused) this.ws.pause();
    else this.ws.resume();
  }
}

export class Listeners {
  private servers: (net.Server | http.Server)[] = [];
  private sockets = new Set<net.Socket>();
  private perIp = new Map<string, number>();
  private wss = new WebSocketServer({
    noServer: true,
    maxPayload: 0,
    handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
  });
  private closeCtl?: () => Promise<void>;

  constructor(private readonly server: Server) {
    (this.wss.options as { maxPayload: number }).maxPayload = server.config.limits.maxStanzaSize + 1024;
  }

  async start(): Promise<BoundAddresses> {
    const { listen } = this.server.config;
    const out: BoundAddresses = {};
    if (listen.c2s) out.c2s = await this.listen(net.createServer((s) => this.c2s(s, 'c2s', false)), listen.c2s);
    if (listen.c2sTls) {
      const srv = tls.createServer({ cert: this.server.tls.cert, key: this.server.tls.key }, (s) => this.c2s(s, 'c2s_tls', true));
      srv.on('tlsClientError', () => undefined);
      out.c2sTls = await this.listen(srv, listen.c2sTls);
    }
    if (listen.http) out.http = await this.listen(this.httpServer(http.createServer(), false), listen.http);
    if (listen.https) {
      const srv = https.createServer({ cert: this.server.tls.cert, key: this.server.tls.key });
      srv.on('tlsClientError', () => undefined);
      out.https = await this.listen(this.httpServer(srv, true), listen.https);
    }
    const ctlPath = resolveIn(this.server.dataDir, this.server.config.ctl.socket);
    this.closeCtl = await startCtlServer(this.server, ctlPath);
    out.ctl = ctlPath;
    return out;
  }

  private listen(srv: net.Server, where: { address: string; port: number }): Promise<BoundAddress> {
    this.servers.push(srv);
    srv.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(where.port, where.address, () => {
        srv.off('error', reject);
        const a = srv.address() as net.AddressInfo;
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  private admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.server.config.limits.maxConnectionsPerIp) return false;
    this.perIp.set(ip, n + 1);
    return true;
  }

  private release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  private c2s(socket: net.Socket, kind: ConnectionKind, secure: boolean): void {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    if (!this.admit(ip)) {
      socket.end(
        `<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">` +
          `<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/><text xmlns="urn:ietf:params:xml:ns:xmpp-streams">too many connections from your address</text></stream:error></stream:stream>`,
      );
      return;
    }
    socket.once('close', () => this.release(ip));
    socket.setNoDelay(true);
    const slot = { handler: undefined as unknown as ConnectionSlot['handler'] };
    new C2SStream(this.server, new SocketTransport(socket, kind, secure, slot, this.server), slot);
  }

  private httpServer(srv: http.Server, secure: boolean): http.Server {
    srv.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith('/api/') || path === '/api') {
        void handleApiRequest(this.server, req, res, secure);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    });
    srv.on('upgrade', (req, socket, head) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/ws' && path !== '/xmpp-websocket') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      const ip = normalizeIp(req.socket.remoteAddress ?? '');
      if (!this.admit(ip)) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        return;
      }
      socket.once('close', () => this.release(ip));
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (ws.protocol !== 'xmpp') {
          ws.close(1002, 'the xmpp subprotocol is required');
          return;
        }
        const slot = { handler: undefined as unknown as ConnectionSlot['handler'] };
        new C2SStream(this.server, new WebSocketTransport(ws, ip, req.socket.remotePort ?? 0, secure), slot);
        ws.on('message', (data) => slot.handler.receive(data.toString()));
        ws.on('close', () => slot.handler.transportClosed());
        ws.on('error', () => ws.terminate());
      });
    });
    srv.requestTimeout = 30_000;
    srv.headersTimeout = 10_000;
    return srv;
  }

  async stop(): Promise<void> {
    await this.closeCtl?.();
    for (const ws of this.wss.clients) ws.terminate();
    const closed = Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            (s as http.Server).closeAllConnections?.();
          }),
      ),
    );
    // close() waits for every open connection to end: without this, stop() never returns while a client is connected.
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

