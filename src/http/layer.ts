import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { DomainError } from '../errors.js';
import { authenticate, type AuthScheme, type SchemeResult } from './auth.js';
import { CodecError, json, mediaTypeOf, negotiate, type Codec } from './codecs.js';
import { compilePath, decodeParams, matchPath, splitPath, type PathTemplate } from './router.js';

const gzip = promisify(gzipCallback);

/** The HTTP status of each domain error kind, as every admin dialect answers it. */
export const STATUS_OF: Record<DomainError['kind'], number> = {
  'not-found': 404,
  conflict: 409,
  'bad-argument': 400,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';

/** An answer: its status, its body (encoded by `codec`, or the negotiated one) and extra headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly codec?: Codec,
    readonly headers?: Record<string, string | number>,
  ) {}
}

export const reply = (status: number, body: unknown, codec?: Codec): Reply => new Reply(status, body, codec);

/**
 * A body streamed as it is (a stored file), not encoded by a codec: the body of a Reply. `open` is
 * called only when the body is sent (not for HEAD).
 */
export class StreamBody {
  constructor(
    readonly open: () => Readable,
    readonly length: number,
    readonly contentType: string,
  ) {}
}

/** What a route's handler sees. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The client's address (a trusted proxy's X-Forwarded-For applied). */
  readonly ip: string;
  readonly secure: boolean;
  /** The body decoded by the route's codec (undefined for a route without one). */
  readonly body: unknown;
  /** Runs the dialect's schemes once (later calls return the same result); undefined: anonymous. */
  authenticate(): Promise<SchemeResult>;
}

export interface Route {
  method: Method;
  /** Relative to nothing: the full path, with `:name` parameters (`/api/:command`). */
  path: string;
  /**
   * How the request body is read: a codec, `negotiated` (by Content-Type among the dialect's codecs),
   * `raw` (left unread in `req` for the handler to stream, limits.maxHttpBodySize not applied: the
   * handler applies its own), or absent (the body is discarded).
   */
  body?: Codec | 'negotiated' | 'raw';
  /** `required`: a request without valid credentials is refused before its body is read; `optional`: the handler calls authenticate(). */
  auth?: 'required' | 'optional';
  /** The status of a handler's plain return value (default 200). */
  status?: number;
  /** Returns a Reply, or a plain value sent with `status` (undefined: no body); a thrown DomainError goes to the dialect's mapping. */
  handle(ctx: RequestContext): Promise<Reply | unknown> | Reply | unknown;
}

/** How a dialect words the answers the layer gives on its behalf. */
export interface ErrorMapping {
  /** No route has this path (or the request target is not a path). */
  noRoute(method: string): Reply;
  /** A route has this path but not this method. */
  methodNotAllowed(method: string): Reply;
  /** A path parameter is not valid percent-encoding. */
  badParameter(): Reply;
  bodyTooLarge(limit: number): Reply;
  /** A body its codec cannot read, or a content encoding the layer cannot undo. */
  badBody(err: CodecError): Reply;
  /** A Content-Type that none of the dialect's codecs reads. */
  unsupportedMediaType(type: string | undefined): Reply;
  /** An Accept header that none of the dialect's codecs satisfies. */
  notAcceptable(): Reply;
  unauthorized(result: { ok: false; scheme: string } | undefined): Reply;
  domain(err: DomainError): Reply;
  internal(): Reply;
}

export interface CorsPolicy {
  /** Headers sent with every answer of the dialect (Access-Control-Allow-Origin...). */
  headers: Record<string, string>;
  /** Extra headers of the answer to a preflight (OPTIONS) request. */
  preflight: Record<string, string | number>;
}

/** A dialect: where it is mounted, its routes, how it authenticates and words errors. */
export interface Dialect {
  name: string;
  /** Requests whose path is the prefix or starts with it and '/' are this dialect's. */
  prefix: string;
  routes: Route[];
  /** Tried in order (see authenticate()). */
  auth: AuthScheme[];
  /** Body codecs for negotiation, the default first (JSON when absent). */
  codecs?: Codec[];
  /** No CORS headers when absent. */
  cors?: CorsPolicy;
  /** Reading `Content-Encoding: gzip` bodies, and gzip answers to clients that accept them (both off by default). */
  gzip?: { request?: boolean; response?: boolean };
  errors: ErrorMapping;
}

interface Mounted {
  dialect: Dialect;
  codecs: Codec[];
  /** The headers of an answer before its length, per Content-Type: CORS, type, Vary. */
  headers: Record<string, Record<string, string | number>>;
  routes: { route: Route; template: PathTemplate }[];
}

/** Where the layer gets its limits and the client address. */
export interface HttpEnvironment {
  log: Logger;
  /** limits.maxHttpBodySize, read per request (bytes after decompression). */
  bodyLimit(): number;
  clientIp(req: IncomingMessage): string;
}

/** Answers smaller than this are not worth compressing. */
const GZIP_MIN = 1024;

class BodyTooLarge extends Error {}

const NOT_FOUND_HEADERS = { 'content-type': 'text/plain' };

/**
 * The one HTTP layer for the admin dialects: finds the dialect by path prefix, the route by method and
 * path, reads the body within limits.maxHttpBodySize (gunzipping if the dialect allows), negotiates the
 * codec, authenticates, runs the handler and writes the answer with the dialect's CORS headers. The
 * listeners hand it every HTTP request that is not a WebSocket upgrade.
 */
export class HttpLayer {
  private mounts: Mounted[] = [];

  constructor(private readonly env: HttpEnvironment) {}

  mount(dialect: Dialect): void {
    const p = dialect.prefix;
    if (!p.startsWith('/') || p.endsWith('/')) throw new Error(`bad mount prefix ${p}`);
    if (this.mounts.some((m) => m.dialect.prefix === p)) throw new Error(`two dialects at ${p}`);
    const routes = dialect.routes.map((route) => ({ route, template: compilePath(route.path) }));
    this.mounts.push({ dialect, codecs: dialect.codecs ?? [json], routes, headers: {} });
    // The longest prefix is tried first.
    this.mounts.sort((a, b) => b.dialect.prefix.length - a.dialect.prefix.length);
  }

  handle(req: IncomingMessage, res: ServerResponse, secure: boolean): void {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    for (const m of this.mounts) {
      const p = m.dialect.prefix;
      if (path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 0x2f /* / */)) {
        this.dispatch(m, req, res, secure).catch((err: unknown) => {
          this.env.log.error({ err, dialect: m.dialect.name }, 'HTTP API request failed');
          if (res.headersSent) return res.destroy();
          void Promise.resolve(this.send(m, req, res, m.dialect.errors.internal())).catch(() => res.destroy());
        });
        return;
      }
    }
    req.resume();
    res.writeHead(404, NOT_FOUND_HEADERS).end('Not Found');
  }

  private async dispatch(m: Mounted, req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    const d = m.dialect;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS' && d.cors) {
      req.resume();
      res.writeHead(200, { ...d.cors.headers, ...d.cors.preflight });
      res.end();
      return;
    }
    const fail = (r: Reply) => {
      req.resume();
      return this.send(m, req, res, r);
    };
    const split = splitPath(req.url ?? '/');
    if (!split) return fail(d.errors.noRoute(method));
    let found: { route: Route; raw: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const { route, template } of m.routes) {
      const raw = matchPath(template, split.segments);
      if (!raw) continue;
      pathMatched = true;
      if (route.method === method) {
        found = { route, raw };
        break;
      }
    }
    if (!found) return fail(pathMatched ? d.errors.methodNotAllowed(method) : d.errors.noRoute(method));
    const params = decodeParams(found.raw);
    if (!params) return fail(d.errors.badParameter());
    const route = found.route;

    let auth: Promise<SchemeResult> | undefined;
    const ip = this.env.clientIp(req);
    const ctx: { -readonly [K in keyof RequestContext]: RequestContext[K] } = {
      req,
      method,
      params,
      query: split.query,
      ip,
      secure,
      body: undefined,
      authenticate: () => (auth ??= authenticate(d.auth, { authorization: req.headers.authorization, query: split.query, ip })),
    };
    if (route.auth === 'required') {
      const r = await ctx.authenticate();
      if (!r?.ok) return fail(d.errors.unauthorized(r));
    }
    if (route.body === 'raw') {
      // The handler streams it.
    } else if (route.body) {
      let codec: Codec | undefined = route.body === 'negotiated' ? undefined : route.body;
      if (!codec) {
        const type = mediaTypeOf(req.headers['content-type']);
        codec = m.codecs.find((c) => c.mediaType === type);
        if (!codec) return fail(d.errors.unsupportedMediaType(type));
      }
      let body: Buffer;
      try {
        body = await this.readBody(d, req);
      } catch (err) {
        if (err instanceof BodyTooLarge) return this.send(m, req, res, d.errors.bodyTooLarge(this.env.bodyLimit()));
        if (err instanceof CodecError) return this.send(m, req, res, d.errors.badBody(err));
        throw err;
      }
      try {
        ctx.body = codec.decode(body);
      } catch (err) {
        if (err instanceof CodecError) return this.send(m, req, res, d.errors.badBody(err));
        throw err;
      }
    } else {
      req.resume();
    }
    let out: Reply;
    try {
      const value = await route.handle(ctx);
      out = value instanceof Reply ? value : new Reply(route.status ?? 200, value);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      out = d.errors.domain(err);
    }
    return this.send(m, req, res, out);
  }

  /**
   * The body within the limit (which applies to the decompressed bytes too). Over the limit the rest is
   * read and discarded, so that the answer reaches a client still sending.
   */
  private readBody(d: Dialect, req: IncomingMessage): Promise<Buffer> {
    const limit = this.env.bodyLimit();
    const encoding = d.gzip?.request ? (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() : 'identity';
    return new Promise((resolve, reject) => {
      if (encoding !== 'identity' && encoding !== 'gzip') {
        req.resume();
        reject(new CodecError(`unsupported content encoding ${encoding}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const source: NodeJS.ReadableStream = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
      const stop = (err: Error) => {
        if (done) return;
        done = true;
        if (source !== req) (source as ReturnType<typeof createGunzip>).destroy();
        req.unpipe();
        req.resume();
        reject(err);
      };
      source.on('data', (c: Buffer) => {
        if (done) return;
        size += c.length;
        if (size > limit) return stop(new BodyTooLarge());
        chunks.push(c);
      });
      source.on('end', () => {
        if (done) return;
        done = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
      source.on('error', (err: Error) => stop(source === req ? err : new CodecError(`bad gzip body: ${err.message}`)));
      if (source !== req) req.on('error', (err) => stop(err));
    });
  }

  /** Writes the answer; a promise only while a gzip answer is being compressed. */
  private send(m: Mounted, req: IncomingMessage, res: ServerResponse, r: Reply): void | Promise<void> {
    const d = m.dialect;
    if (r.body instanceof StreamBody) return this.stream(m, req, res, r, r.body);
    if (r.body === undefined) {
      res.writeHead(r.status, { ...d.cors?.headers, 'content-length': 0, ...r.headers });
      res.end();
      return;
    }
    let codec = r.codec;
    if (!codec) {
      codec = m.codecs.length === 1 ? m.codecs[0]! : negotiate(req.headers.accept, m.codecs);
      if (!codec) {
        const fallback = d.errors.notAcceptable();
        codec = fallback.codec ?? m.codecs[0]!;
        r = fallback;
      }
    }
    const text = codec.encode(r.body);
    if (d.gzip?.response && text.length >= GZIP_MIN && /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '')) {
      return gzip(text).then((zipped) => this.write(m, res, r, codec, zipped, 'gzip'));
    }
    this.write(m, res, r, codec, text, undefined);
  }

  private stream(m: Mounted, req: IncomingMessage, res: ServerResponse, r: Reply, body: StreamBody): void {
    res.writeHead(r.status, { ...m.dialect.cors?.headers, 'content-type': body.contentType, 'content-length': body.length, ...r.headers });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    pipeline(body.open(), res, (err) => {
      if (err) this.env.log.debug({ err, dialect: m.dialect.name }, 'streamed HTTP answer cut short');
    });
  }

  private write(m: Mounted, res: ServerResponse, r: Reply, codec: Codec, payload: string | Buffer, encoding: 'gzip' | undefined): void {
    const d = m.dialect;
    const type = codec.contentType;
    const base = (m.headers[type] ??= { ...d.cors?.headers, 'content-type': type, ...(d.gzip?.response ? { vary: 'Accept-Encoding' } : {}) });
    const out: Record<string, string | number> = Object.assign({}, base);
    if (encoding) out['content-encoding'] = encoding;
    out['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (r.headers) Object.assign(out, r.headers);
    res.writeHead(r.status, out);
    res.end(payload);
  }

}
