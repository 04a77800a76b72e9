/**
 * The soak's session generator: valid client session transcripts (TCP, STARTTLS, direct TLS,
 * WebSocket), mutated (byte flips, insertions, deletions, truncations, splices from other
 * transcripts, duplicated chunks, multi-byte and invalid UTF-8) and written in random-size pieces
 * with small random delays, sometimes closed abruptly, sometimes never read.
 *
 * Everything a session does is derived from (seed, index), so one session can be printed and
 * replayed on its own (`npm run soak -- --seed S --dump I`). The only input that is not is the
 * previd of a XEP-0198 resumption, taken from ids the server handed out to earlier sessions.
 *
 * Used by `bench/soak.ts` (against a server process) and by `test/xmpp-e2e/soak-quick.test.ts`
 * (in-process), so both exercise the same inputs.
 */
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from 'ws';

export interface SoakAccount {
  user: string;
  password: string;
}

export interface SoakTarget {
  host: string;
  c2sPort: number;
  /** Direct TLS (XEP-0368) listener; without it, direct-TLS sessions go to c2sPort as STARTTLS ones. */
  c2sTlsPort?: number;
  /** HTTP listener serving /ws (RFC 7395); without it, WebSocket sessions become TCP ones. */
  httpPort?: number;
  domain: string;
  accounts: SoakAccount[];
}

export type SoakTransport = 'tcp' | 'starttls' | 'tls' | 'ws';

/** What happens at the end of the transcript. */
export type SoakEnding = 'end' | 'destroy' | 'linger';

export interface SessionPlan {
  index: number;
  transport: SoakTransport;
  /** STARTTLS only: the bytes sent before the TLS handshake (header + `<starttls/>`). */
  pre?: Buffer;
  /** The (mutated) transcript; for WebSocket, the frames. */
  bytes: Buffer;
  frames?: { data: Buffer; binary: boolean }[];
  /** Direct TLS only: talk plain bytes to the TLS port (a broken handshake). */
  plainToTls?: boolean;
  ending: SoakEnding;
  /** Never read from the socket (paused); the server's writes pile up in the kernel buffers. */
  read: boolean;
  /** Destroy the connection after this many bytes were written (abrupt close mid-transcript). */
  cutAt?: number;
  /** Descriptions of the mutations applied, for --dump. */
  mutations: string[];
  /** Seed of the runtime choices (piece sizes and delays). */
  pieceSeed: number;
}

// ---- deterministic randomness ----------------------------------------------------------------

/** mulberry32: small, fast, good enough for test input; deterministic per seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 <= n < max */
  int(max: number): number {
    return max <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * max);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** Roughly log-uniform in [1, max]: small values are common, large ones occur. */
  logInt(max: number): number {
    return Math.max(1, Math.min(max, Math.floor(Math.exp((this.next() / 0x1_0000_0000) * Math.log(max + 1)))));
  }
}

/** A well-mixed 32-bit seed for session `index` of run `seed`. */
export function sessionSeed(seed: number, index: number, salt = 0): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The accounts the soak creates and its sessions log in as. */
export function soakAccounts(n: number): SoakAccount[] {
  return Array.from({ length: n }, (_, i) => ({ user: `soak${i}`, password: `soak-pw-${i}` }));
}

// ---- transcripts -----------------------------------------------------------------------------

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_SM = 'urn:xmpp:sm:3';
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
/** Replaced at send time by a stream id the server handed out (or a made-up one). */
export const PREVID_PLACEHOLDER = '@@PREVID@@';

const TEXTS = [
  'hello',
  'Grüße aus Köln',
  'Привет, мир',
  'こんにちは世界',
  '😀🎉👍🏽 family: 👨‍👩‍👧‍👦',
  'שלום עולם',
  'مرحبا بالعالم',
  'e\u0301\u0302\u0303 combining',
  '&lt;not a tag&gt; &amp; &quot;',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP',
  'a'.repeat(300),
  '\u200b\u200d\ufeff zero width',
];

function streamHeader(domain: string, rng: Rng): string {
  const decl = rng.chance(0.7) ? "<?xml version='1.0'?>" : '';
  const from = rng.chance(0.2) ? ` from='${rng.pick(['a@' + domain, 'x', '@@@'])}'` : '';
  const lang = rng.chance(0.3) ? ` xml:lang='${rng.pick(['en', 'de', 'x-'.repeat(5)])}'` : '';
  return `${decl}<stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'${from}${lang}>`;
}

function wsOpen(domain: string): string {
  return `<open xmlns='${NS_FRAMING}' to='${domain}' version='1.0'/>`;
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function saslStep(t: SoakTarget, user: SoakAccount, rng: Rng): string[] {
  const r = rng.int(100);
  if (r < 55) return [`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${b64(`\0${user.user}\0${user.password}`)}</auth>`];
  if (r < 62) return [`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${b64(`\0${user.user}\0wrong-${rng.int(1000)}`)}</auth>`];
  if (r < 67) return [`<auth xmlns='${NS_SASL}' mechanism='PLAIN'/>`, `<response xmlns='${NS_SASL}'>${b64(`\0${user.user}\0${user.password}`)}</response>`];
  if (r < 85) {
    // SCRAM-SHA-1 start: the proof cannot be computed without the server's nonce, so what follows
    // the client-first message is a made-up final message (or an abort).
    const nonce = b64(String(rng.next())).replace(/=/g, '');
    const out = [`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${b64(`n,,n=${user.user},r=${nonce}`)}</auth>`];
    out.push(
      rng.chance(0.5)
        ? `<response xmlns='${NS_SASL}'>${b64(`c=biws,r=${nonce}xyz,p=${b64('proof' + rng.int(99))}`)}</response>`
        : `<abort xmlns='${NS_SASL}'/>`,
    );
    return out;
  }
  if (r < 90) return [`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${b64(`n,,n=${user.user},r=abc`)}</auth>`];
  if (r < 94) return [`<auth xmlns='${NS_SASL}' mechanism='${rng.pick(['ANONYMOUS', 'EXTERNAL', 'DIGEST-MD5', 'X'])}'>=</auth>`];
  return [`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${rng.pick(['=', '!!!', b64('\0\0'), b64(`${user.user}@${t.domain}\0${user.user}\0${user.password}`)])}</auth>`];
}

/** The stanzas of a bound session, in a plausible order. */
function sessionBody(t: SoakTarget, me: SoakAccount, rng: Rng): string[] {
  const out: string[] = [];
  const d = t.domain;
  const other = () => rng.pick(t.accounts).user + '@' + d;
  const text = () => rng.pick(TEXTS);
  let id = 0;
  const nextId = () => `s${++id}`;
  const sm = rng.chance(0.35);
  if (sm) out.push(`<enable xmlns='${NS_SM}'${rng.chance(0.8) ? " resume='true'" : ''}/>`);
  if (rng.chance(0.3)) out.push(`<iq type='set' id='${nextId()}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
  if (rng.chance(0.7)) out.push(`<iq type='get' id='${nextId()}'><query xmlns='jabber:iq:roster'/></iq>`);
  if (rng.chance(0.8)) {
    out.push(
      rng.chance(0.5)
        ? '<presence/>'
        : `<presence><show>${rng.pick(['away', 'chat', 'dnd', 'xa'])}</show><status>${text()}</status><priority>${rng.range(-128, 127)}</priority></presence>`,
    );
  }
  const n = rng.range(0, 8);
  for (let i = 0; i < n; i++) {
    const k = rng.int(13);
    switch (k) {
      case 0:
      case 1:
      case 2:
        out.push(`<message to='${other()}' type='chat' id='${nextId()}'><body>${text()}</body></message>`);
        break;
      case 3:
        out.push(`<message to='${me.user}@${d}' id='${nextId()}'><body>${text()}</body></message>`);
        break;
      case 4:
        out.push(`<iq type='get' to='${d}' id='${nextId()}'><ping xmlns='urn:xmpp:ping'/></iq>`);
        break;
      case 5:
        out.push(`<iq type='get' to='${rng.chance(0.5) ? d : other()}' id='${nextId()}'><query xmlns='http://jabber.org/protocol/disco#${rng.pick(['info', 'items'])}'/></iq>`);
        break;
      case 6:
        out.push(`<iq type='get' to='${d}' id='${nextId()}'><query xmlns='jabber:iq:version'/></iq>`);
        break;
      case 7:
        out.push(`<r xmlns='${NS_SM}'/>`);
        break;
      case 8:
        out.push(`<a xmlns='${NS_SM}' h='${rng.pick([0, 1, 2, 5, 4294967295, -1])}'/>`);
        break;
      case 9:
        out.push(`<presence type='${rng.pick(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'])}' to='${other()}'/>`);
        break;
      case 10:
        out.push(`<presence to='${other()}/${rng.pick(['r', 'x'])}' type='probe'/>`);
        break;
      case 11:
        out.push(`<iq type='get' to='${other()}' id='${nextId()}'><vCard xmlns='vcard-temp'/></iq>`);
        break;
      default:
        out.push(`<message to='${other()}/r${rng.int(4)}' type='${rng.pick(['normal', 'headline', 'groupchat', 'error'])}'><body>${text()}</body><thread>t</thread></message>`);
    }
  }
  if (sm && rng.chance(0.5)) out.push(`<r xmlns='${NS_SM}'/>`, `<a xmlns='${NS_SM}' h='${rng.int(5)}'/>`);
  return out;
}

/**
 * One valid session as a list of top-level pieces (header, SASL, restart, bind or resume,
 * stanzas, closing tag). `framing` gives the RFC 7395 form (open/close elements, one per frame).
 */
export function transcript(t: SoakTarget, rng: Rng, framing: boolean): string[] {
  const me = rng.pick(t.accounts);
  const d = t.domain;
  const open = () => (framing ? wsOpen(d) : streamHeader(d, rng));
  const out: string[] = [open()];
  if (rng.chance(0.05)) return [...out, ...sessionBody(t, me, rng)]; // stanzas before authentication
  out.push(...saslStep(t, me, rng));
  out.push(open());
  if (rng.chance(0.08)) {
    out.push(`<resume xmlns='${NS_SM}' previd='${PREVID_PLACEHOLDER}' h='${rng.int(4)}'/>`);
  } else {
    const res = rng.chance(0.85) ? `<resource>r${rng.int(6)}</resource>` : '';
    out.push(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>${res}</bind></iq>`);
  }
  out.push(...sessionBody(t, me, rng));
  if (rng.chance(0.8)) out.push(framing ? `<close xmlns='${NS_FRAMING}'/>` : '</stream:stream>');
  return out;
}

// ---- mutations -------------------------------------------------------------------------------

const INSERTS: Buffer[] = [
  Buffer.from('é', 'utf8'),
  Buffer.from('€', 'utf8'),
  Buffer.from('😀', 'utf8'),
  Buffer.from('\u{10FFFF}', 'utf8'),
  Buffer.from([0xc3]), // truncated 2-byte sequence
  Buffer.from([0xe2, 0x82]), // truncated 3-byte sequence
  Buffer.from([0xf0, 0x9f, 0x98]), // truncated 4-byte sequence
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0x80]), // overlong NUL
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0x80]), // lone continuation byte
  Buffer.from([0x00]),
  Buffer.from([0x0b, 0x1b]),
  Buffer.from('<'),
  Buffer.from('>'),
  Buffer.from('&'),
  Buffer.from("'"),
  Buffer.from('"'),
  Buffer.from('/>'),
  Buffer.from('</'),
  Buffer.from(']]>'),
  Buffer.from('<![CDATA[x'),
  Buffer.from('<!--'),
  Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]>'),
  Buffer.from('<?pi x?>'),
  Buffer.from('&#0;'),
  Buffer.from('&#xD800;'),
  Buffer.from('&#1114112;'),
  Buffer.from('&amp'),
  Buffer.from('&unknown;'),
  Buffer.from(' xmlns="x"'),
  Buffer.from(' xmlns:p=""'),
  Buffer.from(' a="1" a="2"'),
  Buffer.from('<p:x/>'),
  Buffer.from('</stream:stream>'),
  Buffer.from('<stream:stream>'),
  Buffer.from('<a><b><c><d><e><f><g><h>'),
];

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Applies 0 to ~7 mutations to `buf`; `donor` gives fragments of other transcripts for splices. */
export function mutate(buf: Buffer, rng: Rng, donor: () => Buffer, log: string[]): Buffer {
  if (rng.chance(0.1)) return buf; // some sessions stay valid
  let b = buf;
  const n = 1 + Math.min(6, Math.floor(-Math.log(1 - rng.next() / 0x1_0000_0001) * 1.2));
  for (let m = 0; m < n && b.length > 0; m++) {
    const at = rng.int(b.length + 1);
    const op = rng.int(100);
    if (op < 22) {
      // byte flip: one bit, or a random byte
      const i = Math.min(at, b.length - 1);
      const c = Buffer.from(b);
      const before = c[i]!;
      c[i] = rng.chance(0.5) ? before ^ (1 << rng.int(8)) : rng.int(256);
      log.push(`flip@${i}:${before}->${c[i]}`);
      b = c;
    } else if (op < 40) {
      const ins = rng.chance(0.75) ? rng.pick(INSERTS) : randomBytes(rng, rng.logInt(32));
      log.push(`insert@${at}:${ins.toString('hex')}`);
      b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    } else if (op < 55) {
      const len = rng.logInt(Math.max(1, Math.min(64, b.length - at)));
      log.push(`delete@${at}+${len}`);
      b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + len))]);
    } else if (op < 65) {
      log.push(`truncate@${at}`);
      b = b.subarray(0, at);
    } else if (op < 82) {
      const other = donor();
      const from = rng.int(other.length);
      const frag = other.subarray(from, Math.min(other.length, from + rng.logInt(400)));
      const replace = rng.chance(0.5) ? rng.logInt(Math.max(1, Math.min(200, b.length - at))) : 0;
      log.push(`splice@${at}-${replace}:${frag.length}`);
      b = Buffer.concat([b.subarray(0, at), frag, b.subarray(Math.min(b.length, at + replace))]);
    } else if (op < 92) {
      const len = rng.logInt(Math.max(1, Math.min(300, b.length - at)));
      const chunk = b.subarray(at, at + len);
      const times = rng.chance(0.9) ? 1 : rng.range(2, 30);
      log.push(`dup@${at}+${len}x${times}`);
      b = Buffer.concat([b.subarray(0, at + len), ...Array<Buffer>(times).fill(chunk), b.subarray(at + len)]);
    } else {
      // a random multi-byte character in place of one byte (possibly inside a name or a tag)
      const ins = Buffer.from(String.fromCodePoint(rng.chance(0.5) ? rng.range(0x80, 0xffff) : rng.range(0x10000, 0x10ffff)), 'utf8');
      log.push(`char@${at}:${ins.toString('hex')}`);
      b = Buffer.concat([b.subarray(0, at), ins, b.subarray(Math.min(b.length, at + 1))]);
    }
  }
  return b;
}

// ---- plans -----------------------------------------------------------------------------------

export interface PlanOptions {
  /** Share of sessions per transport, in percent: tcp takes the rest. */
  starttlsPct?: number;
  tlsPct?: number;
  wsPct?: number;
}

function donorFor(t: SoakTarget, seed: number, index: number, framing: boolean): () => Buffer {
  let k = 0;
  return () => Buffer.from(transcript(t, new Rng(sessionSeed(seed, index, 100 + k++)), framing).join(''), 'utf8');
}

/** The whole input of session `index` of run `seed`. */
export function planSession(t: SoakTarget, seed: number, index: number, o: PlanOptions = {}): SessionPlan {
  const rng = new Rng(sessionSeed(seed, index));
  const r = rng.int(100);
  const starttls = o.starttlsPct ?? 3;
  const direct = o.tlsPct ?? 3;
  const ws = o.wsPct ?? 10;
  let transport: SoakTransport =
    r < starttls ? 'starttls' : r < starttls + direct ? 'tls' : r < starttls + direct + ws ? 'ws' : 'tcp';
  if (transport === 'ws' && !t.httpPort) transport = 'tcp';
  if (transport === 'tls' && !t.c2sTlsPort) transport = 'starttls';
  const mutations: string[] = [];
  const plan: SessionPlan = {
    index,
    transport,
    bytes: Buffer.alloc(0),
    ending: rng.pick(['end', 'end', 'end', 'end', 'destroy', 'destroy', 'linger'] as const),
    read: rng.chance(0.9),
    mutations,
    pieceSeed: rng.next(),
  };
  const framing = transport === 'ws';
  const parts = transcript(t, rng, framing);
  const donor = donorFor(t, seed, index, framing);
  if (transport === 'starttls') {
    // The opening before the handshake is mutated lightly (1 in 4); the rest goes inside TLS.
    const pre = Buffer.from(streamHeader(t.domain, rng) + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 'utf8');
    plan.pre = rng.chance(0.25) ? mutate(pre, rng, donor, mutations) : pre;
    if (mutations.length) mutations.unshift('pre:');
    if (rng.chance(0.1)) plan.pre = Buffer.concat([plan.pre, Buffer.from("<message to='x'/>")]); // data right after <starttls/>
  }
  if (transport === 'tls') plan.plainToTls = rng.chance(0.15);
  if (framing) {
    if (rng.chance(0.6)) {
      // frame-wise: mutate some frames, drop or duplicate some, add frames of other transcripts
      let frames: Buffer[] = parts.map((p) => Buffer.from(p, 'utf8'));
      const k = rng.range(0, 3);
      for (let i = 0; i < k && frames.length; i++) {
        const j = rng.int(frames.length);
        const op = rng.int(4);
        if (op === 0) {
          mutations.push(`frame ${j}:`);
          frames[j] = mutate(frames[j]!, rng, donor, mutations);
        } else if (op === 1) {
          mutations.push(`drop frame ${j}`);
          frames.splice(j, 1);
        } else if (op === 2) {
          mutations.push(`dup frame ${j}`);
          frames.splice(j, 0, frames[j]!);
        } else {
          const d = donor();
          const from = rng.int(d.length);
          mutations.push(`donor frame at ${j}`);
          frames.splice(j, 0, d.subarray(from, from + rng.logInt(300)));
        }
      }
      if (rng.chance(0.05)) frames = [Buffer.alloc(0), ...frames];
      plan.frames = frames.map((data) => ({ data, binary: rng.chance(0.03) }));
    } else {
      // stream-wise: the concatenation is mutated and cut into frames at random points
      const all = mutate(Buffer.from(parts.join(''), 'utf8'), rng, donor, mutations);
      mutations.push('reframed');
      const frames: { data: Buffer; binary: boolean }[] = [];
      for (let i = 0; i < all.length; ) {
        const len = rng.logInt(Math.max(1, all.length - i));
        frames.push({ data: all.subarray(i, i + len), binary: rng.chance(0.03) });
        i += len;
      }
      plan.frames = frames;
    }
    plan.bytes = Buffer.concat(plan.frames.map((f) => f.data));
  } else {
    plan.bytes = mutate(Buffer.from(parts.join(''), 'utf8'), rng, donor, mutations);
  }
  if (rng.chance(0.1)) plan.cutAt = rng.int(plan.bytes.length + 1);
  return plan;
}

// ---- running a session -----------------------------------------------------------------------

export interface SessionOutcome {
  /** How the session ended: the server closed, we closed, the time bound hit, or we could not connect. */
  end: 'server-closed' | 'client-closed' | 'timeout' | 'connect-error' | 'error';
  bytesWritten: number;
  bytesRead: number;
  /** ms from the start of the session to the connection being usable, and to the first byte from the server */
  connectMs?: number;
  firstByteMs?: number;
  error?: string;
}

export interface RunOptions {
  /** Per-session time bound (ms): the session destroys its connection then. */
  timeoutMs: number;
  /** Largest random delay between written pieces (ms). */
  maxDelayMs?: number;
  /** XEP-0198 ids handed out by the server (filled from replies), used for resumption attempts. */
  previds?: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Conn {
  write(b: Buffer, binary?: boolean): boolean;
  end(): void;
  destroy(): void;
  closed: boolean;
}

/** Runs one planned session to its end; never throws. */
export function runSession(t: SoakTarget, plan: SessionPlan, o: RunOptions): Promise<SessionOutcome> {
  return new Promise((resolve) => {
    const rng = new Rng(plan.pieceSeed);
    const out: SessionOutcome = { end: 'client-closed', bytesWritten: 0, bytesRead: 0 };
    let finished = false;
    let conn: Conn | undefined;
    /** Every socket this session opened: all are destroyed at its end, even one still connecting. */
    const handles: { destroy(): void }[] = [];
    let received = '';
    let tlsWaiter: (() => void) | undefined;
    const finish = (end: SessionOutcome['end'], error?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      out.end = end;
      if (error) out.error = error;
      conn?.destroy();
      for (const h of handles) h.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => finish('timeout'), o.timeoutMs);
    const t0 = performance.now();
    const onData = (d: Buffer | string) => {
      out.firstByteMs ??= performance.now() - t0;
      const s = typeof d === 'string' ? d : d.toString('latin1');
      out.bytesRead += s.length;
      if (o.previds && s.includes('<enabled')) {
        const m = /<enabled[^>]*\bid=['"]([^'"]+)['"]/.exec(s);
        if (m) {
          o.previds.push(m[1]!);
          if (o.previds.length > 256) o.previds.splice(0, 128);
        }
      }
      if (tlsWaiter) {
        received += s;
        if (received.includes('<proceed')) tlsWaiter();
      }
    };
    let bytes = plan.bytes;
    if (o.previds) {
      const ph = bytes.indexOf(PREVID_PLACEHOLDER);
      if (ph >= 0) {
        const id = o.previds.length ? o.previds[rng.int(o.previds.length)]! : 'made-up-' + rng.int(1e6);
        bytes = Buffer.concat([bytes.subarray(0, ph), Buffer.from(id), bytes.subarray(ph + PREVID_PLACEHOLDER.length)]);
      }
    }
    const maxDelay = o.maxDelayMs ?? 3;
    const delays = rng.chance(0.5);
    const pieceMax = rng.pick([1, 8, 64, 512, 1 << 16]);

    /**
     * Writes `b` in random pieces (each its own write, so its own segment on loopback); between
     * some pieces it yields to the event loop or sleeps a little, at most ~16 times a session so
     * that 1-byte pieces do not make a session last seconds. Stops at plan.cutAt (abrupt close).
     */
    const writeAll = async (c: Conn, b: Buffer, countFrom: number): Promise<boolean> => {
      const pieces: number[] = [];
      for (let i = 0; i < b.length; ) {
        const len = rng.logInt(Math.max(1, Math.min(pieceMax, b.length - i)));
        pieces.push(len);
        i += len;
      }
      const pause = Math.min(0.5, 16 / Math.max(1, pieces.length));
      let i = 0;
      for (let len of pieces) {
        if (finished || c.closed) return false;
        if (plan.cutAt !== undefined && countFrom + i + len >= plan.cutAt) {
          len = Math.max(0, plan.cutAt - countFrom - i);
          if (len) c.write(b.subarray(i, i + len));
          out.bytesWritten += len;
          return false;
        }
        c.write(b.subarray(i, i + len));
        out.bytesWritten += len;
        i += len;
        if (rng.chance(pause)) {
          if (delays) await sleep(rng.int(maxDelay + 1));
          else await new Promise<void>((r) => setImmediate(r));
        }
      }
      return true;
    };
    const connected = () => {
      out.connectMs = performance.now() - t0;
    };
    const afterWrite = (complete: boolean) => {
      if (finished) return;
      if (!complete || plan.ending === 'destroy') return finish('client-closed');
      // A connection that is never read never sees the server's close: hold it a little, then drop it.
      if (!plan.read) {
        setTimeout(() => finish('client-closed'), rng.int(Math.min(500, o.timeoutMs)));
        return;
      }
      if (plan.ending === 'end') conn?.end(); // then wait for the server to close (or the time bound)
      // 'linger': keep the connection open until the server closes it or the time bound hits
    };

    const socketConn = (s: net.Socket): Conn => {
      const c: Conn = {
        closed: false,
        write: (b) => (c.closed ? false : s.write(b)),
        end: () => s.end(),
        destroy: () => s.destroy(),
      };
      s.on('close', () => {
        c.closed = true;
        finish('server-closed');
      });
      s.on('error', () => undefined);
      s.setNoDelay(true);
      if (plan.read) s.on('data', onData);
      else s.pause();
      return c;
    };

    const go = async () => {
      try {
        if (plan.transport === 'ws') {
          const ws = new WebSocket(`ws://${t.host}:${t.httpPort}/ws`, ['xmpp'], { perMessageDeflate: false });
          handles.push({ destroy: () => ws.terminate() });
          const c: Conn = {
            closed: false,
            write: (b, binary) => {
              if (ws.readyState !== ws.OPEN) return false;
              ws.send(b, { binary: !!binary });
              return true;
            },
            end: () => ws.close(1000),
            destroy: () => ws.terminate(),
          };
          conn = c;
          ws.on('error', () => undefined);
          ws.on('close', () => {
            c.closed = true;
            finish('server-closed');
          });
          if (plan.read) ws.on('message', (d) => onData(d as Buffer));
          else ws.on('upgrade', (res) => res.socket.pause());
          const opened = await new Promise<boolean>((r) => {
            ws.once('open', () => r(true));
            ws.once('close', () => r(false));
            ws.once('unexpected-response', () => r(false));
          });
          if (!opened) return finish('connect-error', 'websocket upgrade failed');
          connected();
          let written = 0;
          let complete = true;
          for (const f of plan.frames ?? []) {
            if (finished || c.closed) break;
            if (plan.cutAt !== undefined && written + f.data.length > plan.cutAt) {
              complete = false;
              break;
            }
            c.write(f.data, f.binary);
            written += f.data.length;
            out.bytesWritten += f.data.length;
            if (delays && rng.chance(Math.min(0.3, 16 / Math.max(1, plan.frames!.length)))) await sleep(rng.int(maxDelay + 1));
          }
          return afterWrite(complete);
        }
        if (plan.transport === 'tls' && !plan.plainToTls) {
          const s = tls.connect({ host: t.host, port: t.c2sTlsPort!, rejectUnauthorized: false });
          handles.push(s);
          conn = socketConn(s);
          const ok = await new Promise<boolean>((r) => {
            s.once('secureConnect', () => r(true));
            s.once('close', () => r(false));
          });
          if (!ok) return finish('connect-error', 'tls handshake failed');
          connected();
          return afterWrite(await writeAll(conn, bytes, 0));
        }
        const port = plan.transport === 'tls' ? t.c2sTlsPort! : t.c2sPort;
        const s = net.connect({ host: t.host, port });
        handles.push(s);
        const ok = await new Promise<boolean>((r) => {
          s.once('connect', () => r(true));
          s.once('error', () => r(false));
        });
        if (!ok) {
          s.destroy();
          return finish('connect-error', 'connect failed');
        }
        connected();
        if (plan.transport !== 'starttls') {
          conn = socketConn(s);
          return afterWrite(await writeAll(conn, bytes, 0));
        }
        // STARTTLS: the opening in clear, then (if the server says proceed) the rest inside TLS.
        s.on('error', () => undefined);
        s.setNoDelay(true);
        const raw: Conn = { closed: false, write: (b) => s.write(b), end: () => s.end(), destroy: () => s.destroy() };
        conn = raw;
        s.on('data', onData);
        s.once('close', () => {
          raw.closed = true;
          finish('server-closed');
        });
        const proceed = new Promise<boolean>((r) => {
          tlsWaiter = () => r(true);
          s.once('close', () => r(false));
          setTimeout(() => r(false), Math.min(1000, o.timeoutMs / 2));
        });
        if (!(await writeAll(raw, plan.pre!, 0))) return finish('client-closed');
        if (!(await proceed) || finished) {
          // no <proceed/>: send the rest in clear anyway (more garbage for the parser)
          return afterWrite(await writeAll(raw, bytes, plan.pre!.length));
        }
        tlsWaiter = undefined;
        s.removeListener('data', onData);
        const ts = tls.connect({ socket: s, servername: t.domain, rejectUnauthorized: false });
        handles.push(ts);
        conn = socketConn(ts);
        const ok2 = await new Promise<boolean>((r) => {
          ts.once('secureConnect', () => r(true));
          ts.once('close', () => r(false));
        });
        if (!ok2) return finish('connect-error', 'starttls handshake failed');
        return afterWrite(await writeAll(conn, bytes, plan.pre!.length));
      } catch (err) {
        finish('error', (err as Error).message);
      }
    };
    void go();
  });
}

// ---- many sessions ---------------------------------------------------------------------------

export interface SoakProgress {
  started: number;
  finished: number;
  ends: Record<SessionOutcome['end'], number>;
  bytesWritten: number;
  bytesRead: number;
  firstErrors: string[];
  /** Sessions that ran into their time bound, by transport/ending/read: which ones the server keeps open. */
  timeoutsBy: Record<string, number>;
  /** Sessions whose connection took 900 ms or more to be usable (SYN retransmitted: the accept queue was full). */
  slowConnects: number;
}

export interface SoakRunOptions extends PlanOptions, RunOptions {
  seed: number;
  /** Index of the first session (default 0). */
  first?: number;
  sessions: number;
  concurrency: number;
  /** Stop starting sessions after this many ms (the ones running finish within timeoutMs). */
  maxMs: number;
  /** Called about once a second. */
  onProgress?: (p: SoakProgress) => void;
  /** Checked before each session; returning true stops the run (e.g. the server exited). */
  shouldStop?: () => boolean;
}

/** Runs up to `sessions` sessions with `concurrency` at once; resolves when all have ended. */
export async function runSoak(t: SoakTarget, o: SoakRunOptions): Promise<SoakProgress> {
  const p: SoakProgress = {
    started: 0,
    finished: 0,
    ends: { 'server-closed': 0, 'client-closed': 0, timeout: 0, 'connect-error': 0, error: 0 },
    bytesWritten: 0,
    bytesRead: 0,
    firstErrors: [],
    timeoutsBy: {},
    slowConnects: 0,
  };
  const previds = o.previds ?? [];
  const t0 = performance.now();
  const progress = o.onProgress ? setInterval(() => o.onProgress!(p), 1000) : undefined;
  const worker = async () => {
    while (p.started < o.sessions && performance.now() - t0 < o.maxMs && !o.shouldStop?.()) {
      const index = (o.first ?? 0) + p.started++;
      const plan = planSession(t, o.seed, index, o);
      const r = await runSession(t, plan, { ...o, previds });
      p.finished++;
      p.ends[r.end]++;
      p.bytesWritten += r.bytesWritten;
      p.bytesRead += r.bytesRead;
      if ((r.connectMs ?? 0) >= 900) p.slowConnects++;
      if (r.end === 'timeout') {
        const k = `${plan.transport}/${plan.ending}/${plan.read ? 'read' : 'noread'}${plan.cutAt !== undefined ? '/cut' : ''}`;
        p.timeoutsBy[k] = (p.timeoutsBy[k] ?? 0) + 1;
      }
      if ((r.end === 'error' || r.end === 'connect-error') && p.firstErrors.length < 10) p.firstErrors.push(`#${index} ${plan.transport}: ${r.error}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    if (progress) clearInterval(progress);
  }
  return p;
}
