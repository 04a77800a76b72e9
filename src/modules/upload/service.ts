import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModuleContext } from '../module.js';
import type { RouteContext } from '../../router/router.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { StanzaError, errorReply, iqResult } from '../../xmpp/stanza.js';
import { nameprep, type JID } from '../../xmpp/jid.js';
import { bareOf } from '../../xmpp/account.js';
import { Reply, StreamBody, type Dialect, type RequestContext } from '../../http/layer.js';
import type { Codec } from '../../http/codecs.js';
import type { UploadSlot, UploadStore } from './store.js';

export const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_DATA = 'jabber:x:data';

const DAY_MS = 86_400_000;
const PURGE_EVERY_MS = 3_600_000;
/** A PUT whose body stalls this long is dropped (its slot stays open until it expires). */
const STALL_MS = 30_000;
/** Bytes of a file name, as the URL and Content-Disposition carry it. */
const MAX_FILENAME_BYTES = 255;
const CONTENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
/** Shown where they are (clients display them); anything else is offered as a download. */
const INLINE = /^(image\/(png|jpeg|gif|webp|avif)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|text\/plain)$/;

/** Plain text answers of the upload endpoint. */
const text: Codec = {
  mediaType: 'text/plain',
  contentType: 'text/plain; charset=utf-8',
  decode: (b) => b.toString('utf8'),
  encode: (v) => `${String(v)}\n`,
};
const answer = (status: number, message: string, headers?: Record<string, string>) => new Reply(status, message, text, headers);

/** Why a file name is refused, or undefined when it is fine: it names a file, never a path. */
function badFilename(name: string): string | undefined {
  if (name === '') return 'a file name is required';
  if (Buffer.byteLength(name) > MAX_FILENAME_BYTES) return `a file name has at most ${MAX_FILENAME_BYTES} bytes`;
  if (name === '.' || name === '..') return 'not a file name';
  if (/[/\\]/.test(name)) return 'a file name has no path separators';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a file name has no control characters';
  return undefined;
}

/** Content-Disposition for a stored name: a plain ASCII fallback and the exact UTF-8 name (RFC 6266). */
function disposition(contentType: string, filename: string): string {
  const kind = INLINE.test(contentType) ? 'inline' : 'attachment';
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * HTTP File Upload (XEP-0363) on `upload.<host>`: a local account asks the service for a slot (file
 * name, size, type) over XMPP and gets a PUT URL with an Authorization header and a GET URL; it PUTs
 * the file once, within `upload.slotTimeout`, and anyone with the GET URL can fetch it until it expires.
 * Files live under the upload directory by slot id (the client's file name is never a path); sizes
 * count against `upload.quotaPerAccount` from the slot request on, so concurrent requests cannot pass it.
 */
export class UploadService {
  readonly directory: string;
  /** Signs PUT authorizations; slots requested before a restart cannot be filled after it (they last minutes). */
  private readonly secret = randomBytes(32);
  /** Slots whose PUT is running (one PUT per slot). */
  private readonly uploading = new Set<string>();
  /** Files of accounts being removed, deleted once the removal is committed. */
  private readonly removing = new Map<string, string[]>();
  /** The upload domains, one per host; an account of any host may use any of them. */
  readonly domains: readonly string[];

  constructor(private readonly ctx: ModuleContext<'accounts' | 'disco', UploadStore>) {
    const config = ctx.config.upload;
    this.directory = resolve(ctx.dataDir, config.directory);
    if (!config.enabled) {
      this.domains = [];
      return;
    }
    mkdirSync(this.directory, { recursive: true, mode: 0o750 });
    const domains: string[] = [];
    for (const host of ctx.hosts) {
      const domain = nameprep(config.domain.replaceAll('{host}', host));
      ctx.router.addDomain(domain, (route) => this.serve(route));
      ctx.services.disco.addHostItem(host, domain, 'HTTP File Upload');
      domains.push(domain);
    }
    this.domains = domains;
    ctx.http.mount(this.dialect());
    ctx.hooks.on('account-removing', async ({ tx, ...account }) => {
      const owner = bareOf(account);
      const slots = await tx.uploads.list(owner);
      await tx.uploads.removeAll(owner);
      this.removing.set(owner, slots.map((s) => s.id));
    });
    ctx.hooks.on('account-removed', async (account) => {
      const owner = bareOf(account);
      const ids = this.removing.get(owner) ?? [];
      this.removing.delete(owner);
      for (const id of ids) await this.deleteFiles(id);
    });
    const timer = setInterval(() => {
      this.purge().catch((err) => ctx.log.error({ err }, 'purging expired uploads failed'));
    }, PURGE_EVERY_MS);
    timer.unref();
    ctx.hooks.on('node-stopping', () => clearInterval(timer));
  }

  // ---- XMPP: the service's domain ------------------------------------------------------------

  private async serve(route: RouteContext): Promise<void> {
    const { stanza, from, to } = route;
    if (stanza.name !== 'iq') return; // messages and presence to the service are ignored
    const type = stanza.attrs.type;
    if (type !== 'get' && type !== 'set') return;
    const payload = stanza.elements()[0];
    let reply: Element;
    try {
      if (stanza.elements().length !== 1 || !payload) throw new StanzaError('bad-request', 'an IQ carries exactly one payload');
      reply = iqResult(stanza, await this.answer(type, payload, from, to));
    } catch (err) {
      if (!(err instanceof StanzaError)) {
        this.ctx.log.error({ err, from: from.full }, 'upload slot request failed');
        err = new StanzaError('internal-server-error');
      }
      const e = err as StanzaError;
      reply = errorReply(stanza, e.condition, e.text, e.type);
      if (e instanceof FileTooLarge) {
        reply.getChild('error')!.append(x('file-too-large', { xmlns: NS_UPLOAD }, x('max-file-size', null, String(e.max))));
      }
    }
    await this.ctx.send(reply, to, from);
  }

  private async answer(type: 'get' | 'set', payload: Element, from: JID, to: JID): Promise<Element | undefined> {
    const ns = payload.attrs.xmlns;
    if (type === 'get' && ns === NS_DISCO_INFO && payload.name === 'query') {
      if (payload.attrs.node) throw new StanzaError('item-not-found');
      return this.info();
    }
    if (type === 'get' && ns === NS_DISCO_ITEMS && payload.name === 'query') {
      if (payload.attrs.node) throw new StanzaError('item-not-found');
      return x('query', { xmlns: NS_DISCO_ITEMS });
    }
    if (type === 'get' && ns === NS_UPLOAD && payload.name === 'request') return this.requestSlot(payload, from, to);
    throw new StanzaError('service-unavailable');
  }

  private info(): Element {
    const max = String(this.ctx.config.upload.maxFileSize);
    return x(
      'query',
      { xmlns: NS_DISCO_INFO },
      x('identity', { category: 'store', type: 'file', name: 'HTTP File Upload' }),
      x('feature', { var: NS_DISCO_INFO }),
      x('feature', { var: NS_DISCO_ITEMS }),
      x('feature', { var: NS_UPLOAD }),
      x(
        'x',
        { xmlns: NS_DATA, type: 'result' },
        x('field', { var: 'FORM_TYPE', type: 'hidden' }, x('value', null, NS_UPLOAD)),
        x('field', { var: 'max-file-size' }, x('value', null, max)),
      ),
    );
  }

  private async requestSlot(request: Element, from: JID, to: JID): Promise<Element> {
    if (from.local === '' || !this.ctx.isLocalHost(from.domain)) throw new StanzaError('forbidden', 'only accounts of this server may upload');
    const config = this.ctx.config.upload;
    const filename = request.attrs.filename ?? '';
    const bad = badFilename(filename);
    if (bad) throw new StanzaError('bad-request', bad);
    const sizeText = request.attrs.size ?? '';
    if (!/^[0-9]{1,15}$/.test(sizeText) || Number(sizeText) === 0) throw new StanzaError('bad-request', 'the size is a positive number of bytes');
    const size = Number(sizeText);
    if (size > config.maxFileSize) throw new FileTooLarge(config.maxFileSize);
    const contentType = (request.attrs['content-type'] ?? '').trim() || 'application/octet-stream';
    if (!CONTENT_TYPE.test(contentType)) throw new StanzaError('bad-request', 'the content type is a MIME type (type/subtype)');
    const slot: UploadSlot = {
      id: randomBytes(18).toString('base64url'),
      owner: from.bare,
      filename,
      size,
      contentType,
      createdAt: Date.now(),
      uploadedAt: undefined,
    };
    const outcome = await this.ctx.store.reserve(slot, config.quotaPerAccount, slot.createdAt - config.slotTimeout * 1000);
    if (outcome === 'over-quota') throw new StanzaError('resource-constraint', `the files of an account hold at most ${config.quotaPerAccount} bytes`);
    const url = `${this.baseUrl(to)}/upload/${slot.id}/${encodeURIComponent(filename)}`;
    return x(
      'slot',
      { xmlns: NS_UPLOAD },
      x('put', { url }, x('header', { name: 'Authorization' }, `Bearer ${this.token(slot.id)}`)),
      x('get', { url }),
    );
  }

  /** Where clients reach the endpoint: upload.publicUrl, else the listener it is served on. */
  baseUrl(service: JID): string {
    const { publicUrl, listen } = this.ctx.config.upload;
    if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, '');
    const https = this.ctx.http.address('https');
    const [scheme, bound] = listen
      ? [listen.tls ? 'https' : 'http', this.ctx.http.address('upload')]
      : https
        ? ['https', https]
        : ['http', this.ctx.http.address('http')];
    if (!bound) throw new StanzaError('service-unavailable', 'no HTTP listener serves uploads');
    // A wildcard address is no place to connect to: the service's own name is.
    const wildcard = bound.address === '0.0.0.0' || bound.address === '::';
    const host = wildcard ? service.domain : bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    return `${scheme}://${host}:${bound.port}`;
  }

  private token(id: string): string {
    return createHmac('sha256', this.secret).update(id).digest('base64url');
  }

  private authorized(id: string, header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    const want = Buffer.from(this.token(id));
    return given.length === want.length && timingSafeEqual(given, want);
  }

  // ---- HTTP: PUT and GET -------------------------------------------------------------------

  private dialect(): Dialect {
    const get = (ctx: RequestContext) => this.get(ctx);
    return {
      name: 'upload',
      prefix: '/upload',
      routes: [
        { method: 'PUT', path: '/upload/:slot/:filename', body: 'raw', handle: (ctx) => this.put(ctx) },
        { method: 'GET', path: '/upload/:slot/:filename', handle: get },
        { method: 'HEAD', path: '/upload/:slot/:filename', handle: get },
      ],
      auth: [],
      codecs: [text],
      // Web clients upload from their own origin (XEP-0363 §7).
      cors: {
        headers: { 'access-control-allow-origin': '*' },
        preflight: {
          'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
          'access-control-allow-headers': 'Authorization, Content-Type',
          'access-control-max-age': 86400,
        },
      },
      errors: {
        noRoute: () => answer(404, 'Not Found'),
        methodNotAllowed: () => answer(405, 'Method Not Allowed', { allow: 'GET, HEAD, PUT, OPTIONS' }),
        badParameter: () => answer(404, 'Not Found'),
        bodyTooLarge: () => answer(413, 'Payload Too Large'),
        badBody: (err) => answer(400, err.message),
        unsupportedMediaType: () => answer(415, 'Unsupported Media Type'),
        notAcceptable: () => answer(406, 'Not Acceptable'),
        unauthorized: () => answer(403, 'Forbidden'),
        domain: (err) => answer(400, err.message),
        internal: () => answer(500, 'Internal Server Error'),
      },
    };
  }

  private async live(id: string, filename: string): Promise<UploadSlot | undefined> {
    const slot = await this.ctx.store.get(id);
    return slot && slot.filename === filename ? slot : undefined;
  }

  private async put(ctx: RequestContext): Promise<Reply> {
    const { req } = ctx;
    // Refusals close the connection: the body they did not read must not be taken for a next request.
    const refuse = (status: number, message: string) => {
      req.resume();
      return answer(status, message, { connection: 'close' });
    };
    const id = ctx.params.slot!;
    const slot = await this.live(id, ctx.params.filename!);
    if (!slot) return refuse(404, 'Not Found');
    if (!this.authorized(id, req.headers.authorization)) return refuse(403, 'Forbidden');
    if (slot.uploadedAt !== undefined || this.uploading.has(id)) return refuse(409, 'this slot has its file already');
    if (slot.createdAt + this.ctx.config.upload.slotTimeout * 1000 < Date.now()) return refuse(404, 'the slot has expired');
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader === undefined) return refuse(411, 'Content-Length is required');
    const length = Number(lengthHeader);
    if (length > slot.size) return refuse(413, `the slot is for ${slot.size} bytes`);
    if (length !== slot.size) return refuse(400, `the slot is for ${slot.size} bytes, Content-Length is ${lengthHeader}`);
    this.uploading.add(id);
    try {
      const written = await this.receive(req, slot);
      if (!written) return refuse(400, `the body is not the ${slot.size} bytes announced`);
      if (!(await this.ctx.store.markUploaded(id, Date.now()))) {
        await this.deleteFiles(id);
        return refuse(404, 'the slot is gone');
      }
      return answer(201, 'Created');
    } finally {
      this.uploading.delete(id);
    }
  }

  /** Streams the body to the slot's file; true when exactly the slot's size arrived and was stored. */
  private receive(req: RequestContext['req'], slot: UploadSlot): Promise<boolean> {
    const part = join(this.directory, `${slot.id}.part`);
    return new Promise((done) => {
      const file = createWriteStream(part, { flags: 'wx', mode: 0o640 });
      let received = 0;
      let finished = false;
      let stall: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(stall);
        stall = setTimeout(() => fail(), STALL_MS);
        stall.unref();
      };
      const fail = () => {
        if (finished) return;
        finished = true;
        clearTimeout(stall);
        req.unpipe(file);
        file.destroy();
        req.resume();
        unlink(part).catch(() => undefined);
        done(false);
      };
      arm();
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // The parser stops at Content-Length, which equals the size; this guards the file all the same.
        if (received > slot.size) fail();
        else arm();
      });
      req.on('aborted', fail);
      req.on('error', fail);
      file.on('error', (err) => {
        this.ctx.log.error({ err, slot: slot.id }, 'writing an upload failed');
        fail();
      });
      file.on('finish', () => {
        if (finished) return;
        finished = true;
        clearTimeout(stall);
        if (received !== slot.size) {
          unlink(part).catch(() => undefined);
          done(false);
          return;
        }
        rename(part, join(this.directory, slot.id)).then(
          () => done(true),
          (err) => {
            this.ctx.log.error({ err, slot: slot.id }, 'storing an upload failed');
            unlink(part).catch(() => undefined);
            done(false);
          },
        );
      });
      req.pipe(file);
    });
  }

  private async get(ctx: RequestContext): Promise<Reply> {
    const id = ctx.params.slot!;
    const slot = await this.live(id, ctx.params.filename!);
    if (!slot || slot.uploadedAt === undefined) return answer(404, 'Not Found');
    const path = join(this.directory, id);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return answer(404, 'Not Found');
    }
    return new Reply(200, new StreamBody(() => createReadStream(path), size, slot.contentType), undefined, {
      'content-disposition': disposition(slot.contentType, slot.filename),
      'x-content-type-options': 'nosniff',
      // Whatever was uploaded, it runs no script in this origin.
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'public, max-age=31536000, immutable',
    });
  }

  // ---- expiry ------------------------------------------------------------------------------

  /**
   * Removes the files uploaded more than upload.expireAfterDays ago (never when 0) and the slots
   * never filled within upload.slotTimeout; returns how many slots went.
   */
  async purge(now = Date.now()): Promise<number> {
    const { expireAfterDays, slotTimeout } = this.ctx.config.upload;
    const uploadedBefore = expireAfterDays > 0 ? now - expireAfterDays * DAY_MS : 0;
    const reservedBefore = now - slotTimeout * 1000;
    let removed = 0;
    for (;;) {
      const batch = (await this.ctx.store.expired(uploadedBefore, reservedBefore, 500)).filter((s) => !this.uploading.has(s.id));
      if (batch.length === 0) return removed;
      for (const slot of batch) {
        if (await this.ctx.store.remove(slot.id)) removed++;
        await this.deleteFiles(slot.id);
      }
      if (batch.length < 500) return removed;
    }
  }

  /** Bytes the account holds (uploaded files and open slots). */
  usage(owner: string): Promise<number> {
    return this.ctx.store.usage(owner);
  }

  private async deleteFiles(id: string): Promise<void> {
    for (const name of [id, `${id}.part`]) {
      try {
        await unlink(join(this.directory, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.ctx.log.warn({ err, slot: id }, 'deleting an uploaded file failed');
      }
    }
  }
}

/** A slot request over upload.maxFileSize: not-acceptable with XEP-0363's file-too-large. */
class FileTooLarge extends StanzaError {
  constructor(readonly max: number) {
    super('not-acceptable', `files are limited to ${max} bytes`, 'modify');
  }
}
