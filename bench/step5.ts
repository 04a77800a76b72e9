/**
 * Step-5 scenarios (issue 9): a room of many occupants (XEP-0045), MAM page queries over a large
 * archive (XEP-0313 with RSM), and clients that advertise entity capabilities (XEP-0115) for the
 * idle-session memory figure with PEP running. Same raw-socket client as the other scenarios; every
 * loop is bounded by a count and a deadline.
 */
import { createHash } from 'node:crypto';
import { RawXmpp } from './xmpp-raw.js';
import { LatencyRecorder, CpuWindow, sleep, type LatencySummary, type CpuFields } from './stats.js';
import type { ServerTarget } from './server-proc.js';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_MAM = 'urn:xmpp:mam:2';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_CAPS = 'http://jabber.org/protocol/caps';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** The value of attribute `name` in the start tag `tag` (either quote), or undefined. */
export function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)')`).exec(tag);
  if (!m) return undefined;
  return (m[1] ?? m[2])!.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Splits the server's output into top-level stanzas for the few places that must read whole stanzas
 * (IQ results, disco queries). The server's output is well-formed and has no comments or CDATA, and
 * `<` appears in text only escaped, so depth counting over tags is enough. The buffer holds at most
 * one incomplete stanza.
 */
export class StanzaSplitter {
  private buf = '';
  private depth = 0;
  private scan = 0;
  private start = -1;

  /** Feeds a chunk; calls `each` with every complete top-level stanza. */
  push(chunk: string, each: (stanza: string) => void): void {
    this.buf = this.buf.length ? this.buf + chunk : chunk;
    let i = this.scan;
    const s = this.buf;
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt < 0) break;
      const gt = s.indexOf('>', lt);
      if (gt < 0) {
        i = lt;
        break;
      }
      const c = s.charCodeAt(lt + 1);
      if (c === 63 /* ? */) {
        i = gt + 1;
        continue;
      }
      if (c === 47 /* / */) {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          each(s.slice(this.start, gt + 1));
          this.start = -1;
        }
        // The end of the stream itself.
        if (this.depth < 0) this.depth = 0;
      } else if (s.startsWith('<stream:stream', lt)) {
        // The stream header is never closed in this chunk; it does not count as depth.
      } else if (s.charCodeAt(gt - 1) === 47 /* / */) {
        if (this.depth === 0) each(s.slice(lt, gt + 1));
      } else {
        if (this.depth === 0) this.start = lt;
        this.depth++;
      }
      i = gt + 1;
    }
    // Keep only what an incomplete stanza or tag needs.
    const keepFrom = this.start >= 0 ? this.start : i;
    this.buf = s.slice(keepFrom);
    this.scan = i - keepFrom;
    if (this.start >= 0) this.start = 0;
  }
}

// ---- entity capabilities -------------------------------------------------------------------

/** What the benchmark clients say they are: a desktop client interested in the usual PEP nodes. */
export const CAPS_IDENTITY = { category: 'client', type: 'pc', name: 'Parley bench' };
export const CAPS_FEATURES = [
  NS_CAPS,
  NS_DISCO_INFO,
  'http://jabber.org/protocol/disco#items',
  'http://jabber.org/protocol/muc',
  'urn:xmpp:avatar:metadata+notify',
  'http://jabber.org/protocol/nick+notify',
  'http://jabber.org/protocol/geoloc+notify',
  'http://jabber.org/protocol/tune+notify',
  'http://jabber.org/protocol/mood+notify',
  'urn:xmpp:bookmarks:1+notify',
  'eu.siacs.conversations.axolotl.devicelist+notify',
  'urn:xmpp:mam:2',
  'urn:xmpp:carbons:2',
  'urn:xmpp:ping',
].sort();
export const CAPS_NODE = 'https://parley.invalid/bench';

/** XEP-0115 §5.1 verification string (no extended forms), SHA-1, base64. */
export function capsVer(): string {
  const s = `${CAPS_IDENTITY.category}/${CAPS_IDENTITY.type}//${CAPS_IDENTITY.name}<` + CAPS_FEATURES.map((f) => f + '<').join('');
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

export function capsPresence(): string {
  return `<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${CAPS_NODE}' ver='${capsVer()}'/></presence>`;
}

function discoInfoResult(id: string, to: string, node: string | undefined): string {
  const features = CAPS_FEATURES.map((f) => `<feature var='${f}'/>`).join('');
  return (
    `<iq type='result' id='${xmlEscape(id)}' to='${xmlEscape(to)}'>` +
    `<query xmlns='${NS_DISCO_INFO}'${node ? ` node='${xmlEscape(node)}'` : ''}>` +
    `<identity category='${CAPS_IDENTITY.category}' type='${CAPS_IDENTITY.type}' name='${CAPS_IDENTITY.name}'/>${features}</query></iq>`
  );
}

export interface CapsCounters {
  discoQueries: number;
  otherIqs: number;
  pepEvents: number;
}

/**
 * Makes a session behave as a client with capabilities: it answers the server's disco#info queries
 * (what a PEP service sends to learn the +notify features behind a new `ver`), answers other IQ
 * gets and sets with service-unavailable as RFC 6120 asks, and counts PEP notifications.
 */
export function answerCaps(c: RawXmpp, counters: CapsCounters): void {
  const split = new StanzaSplitter();
  c.onData = (chunk) => {
    // Cheap exit: most chunks of an idle session are presences.
    split.push(chunk, (st) => {
      if (st.startsWith('<message')) {
        if (st.indexOf('http://jabber.org/protocol/pubsub#event') >= 0) counters.pepEvents++;
        return;
      }
      if (!st.startsWith('<iq')) return;
      const tagEnd = st.indexOf('>');
      const tag = st.slice(0, tagEnd + 1);
      const type = attr(tag, 'type');
      if (type !== 'get' && type !== 'set') return;
      const id = attr(tag, 'id') ?? '';
      const from = attr(tag, 'from') ?? '';
      if (type === 'get' && st.indexOf(NS_DISCO_INFO) >= 0) {
        counters.discoQueries++;
        const q = /<query\b[^>]*>/.exec(st)?.[0] ?? '';
        c.write(discoInfoResult(id, from, attr(q, 'node')));
      } else {
        counters.otherIqs++;
        c.write(
          `<iq type='error' id='${xmlEscape(id)}' to='${xmlEscape(from)}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
        );
      }
    });
  };
}

// ---- IQ round trips over a raw session ----------------------------------------------------

/**
 * One request/answer helper per session: sends an IQ and resolves with the answer (the whole
 * `<iq>` stanza) plus every non-IQ stanza that arrived before it (MAM results, for instance).
 */
export class IqClient {
  private readonly split = new StanzaSplitter();
  private pending: { id: string; resolve: (r: { iq: string; before: string[] }) => void; before: string[]; timer: NodeJS.Timeout } | undefined;
  private seq = 0;
  /** Stanzas that arrived with no request waiting (counted, dropped). */
  stray = 0;

  constructor(readonly conn: RawXmpp) {
    conn.onData = (chunk) =>
      this.split.push(chunk, (st) => {
        const p = this.pending;
        if (!p) {
          this.stray++;
          return;
        }
        if (st.startsWith('<iq')) {
          const tag = st.slice(0, st.indexOf('>') + 1);
          if (attr(tag, 'id') === p.id) {
            this.pending = undefined;
            clearTimeout(p.timer);
            p.resolve({ iq: st, before: p.before });
            return;
          }
        }
        p.before.push(st);
      });
  }

  /** `build(id)` returns the IQ to send. Rejects after `timeoutMs`. */
  request(build: (id: string) => string, timeoutMs = 30_000): Promise<{ iq: string; before: string[] }> {
    if (this.pending) throw new Error('one request at a time');
    const id = `q${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`no answer to IQ ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = { id, resolve, before: [], timer };
      this.conn.write(build(id));
    });
  }
}

// ---- MAM page queries ------------------------------------------------------------------------

export type MamVariant = 'last-page' | 'last-page-with' | 'after-id' | 'after-id-with' | 'before-id' | 'before-id-with';

export interface MamQuerySpec {
  /** The account's peer to filter on (`with`), for the -with variants. */
  withJid?: string;
  /** The RSM id for after-id / before-id. */
  id?: string;
}

export function mamQueryIq(id: string, max: number, spec: MamQuerySpec, direction: 'last' | 'after' | 'before'): string {
  const form = spec.withJid
    ? `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${NS_MAM}</value></field><field var='with'><value>${xmlEscape(spec.withJid)}</value></field></x>`
    : '';
  const rsm =
    direction === 'last'
      ? `<set xmlns='${NS_RSM}'><max>${max}</max><before/></set>`
      : direction === 'after'
        ? `<set xmlns='${NS_RSM}'><max>${max}</max><after>${xmlEscape(spec.id!)}</after></set>`
        : `<set xmlns='${NS_RSM}'><max>${max}</max><before>${xmlEscape(spec.id!)}</before></set>`;
  return `<iq type='set' id='${id}'><query xmlns='${NS_MAM}' queryid='${id}'>${form}${rsm}</query></iq>`;
}

export interface MamQueryRunResult extends CpuFields {
  variant: MamVariant;
  queries: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
  /** results per page (mean), and pages that came back shorter than max although more existed */
  meanResults: number;
  shortPages: number;
  /** whether `<fin complete='true'>` was seen */
  completes: number;
  firstError?: string;
}

/**
 * `count` queries of one variant, one in flight per session, over several sessions in turn
 * (each session is an account with a large archive); `pick(i)` chooses the account and the spec.
 */
export async function benchMamQueries(
  t: ServerTarget,
  clients: IqClient[],
  variant: MamVariant,
  count: number,
  max: number,
  pick: (i: number) => { client: number; spec: MamQuerySpec },
  concurrency: number,
  maxSeconds: number,
): Promise<MamQueryRunResult> {
  const lat = new LatencyRecorder(Math.max(count, 1));
  const direction = variant.startsWith('last') ? 'last' : variant.startsWith('after') ? 'after' : 'before';
  let next = 0;
  let failed = 0;
  let results = 0;
  let shortPages = 0;
  let completes = 0;
  let firstError: string | undefined;
  const cpu = new CpuWindow(t.pid);
  const deadline = performance.now() + maxSeconds * 1000;
  // One worker per session in use at a time; `concurrency` sessions query in parallel.
  const busy = new Set<number>();
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      let { client, spec } = pick(i);
      // Sessions serve one request at a time: take the next free one.
      for (let k = 0; busy.has(client) && k < clients.length; k++) client = (client + 1) % clients.length;
      if (busy.has(client)) {
        await sleep(1);
        continue;
      }
      busy.add(client);
      const c = clients[client]!;
      const s = performance.now();
      try {
        const { iq, before } = await c.request((id) => mamQueryIq(id, max, spec, direction));
        const d = performance.now() - s;
        if (iq.indexOf("type='result'") < 0 && iq.indexOf('type="result"') < 0) throw new Error(`error answer: ${iq.slice(0, 400)}`);
        lat.record(d);
        const n = before.filter((st) => st.indexOf('<result') >= 0 && st.indexOf(NS_MAM) >= 0).length;
        results += n;
        const complete = /<fin\b[^>]*complete=["']true["']/.test(iq);
        if (complete) completes++;
        else if (n < max) shortPages++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      } finally {
        busy.delete(client);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
  const c = cpu.end();
  const r: MamQueryRunResult = {
    variant,
    queries: lat.count,
    failed,
    seconds: c.wallS,
    perSecond: lat.count / c.wallS,
    latencyMs: lat.summary(),
    meanResults: lat.count ? results / lat.count : 0,
    shortPages,
    completes,
    serverCpuPct: c.serverPct,
    generatorCpuPct: c.generatorPct,
    otherLoadPct: c.otherLoadPct,
  };
  if (firstError) r.firstError = firstError;
  return r;
}

// ---- a room of many occupants ----------------------------------------------------------------

export interface RoomJoinResult extends CpuFields {
  /** the sessions that joined, in join order (not in the JSON report) */
  joined?: RawXmpp[];
  occupants: number;
  failed: number;
  seconds: number;
  perSecond: number;
  /** presence stanzas the occupants received while joining (the server's broadcast work) */
  presencesReceived: number;
  created: boolean;
  firstError?: string;
}

export interface RoomRunResult extends CpuFields {
  /** room messages per second offered (posted by the senders together) */
  offered: number;
  senders: number;
  occupants: number;
  seconds: number;
  posted: number;
  /** messages every occupant received within the run and drain */
  complete: number;
  deliveries: number;
  deliveriesPerSecond: number;
  /** send → the last occupant's receipt, per message */
  lastReceiptMs: LatencySummary;
  /** send → each occupant's receipt, per delivery */
  deliveryMs: LatencySummary;
  /** deliveries still missing after the drain wait */
  missing: number;
  errorStanzas: number;
  overloaded: boolean;
}

const ROOM_MARK = '<body>R:';

/**
 * Joins every session to `room` (XEP-0045 presence with `<history maxstanzas='0'/>`), `concurrency`
 * joins in flight after the first, which creates the room and configures it as an instant room
 * (owner form submitted empty, XEP-0045 §10.1.2) unless the server made it open already.
 * A join completes on the occupant's own presence (status 110).
 */
export async function joinRoom(
  t: ServerTarget,
  conns: RawXmpp[],
  room: string,
  concurrency: number,
  maxSeconds: number,
  roomConfig?: Record<string, string>,
): Promise<RoomJoinResult> {
  let presences = 0;
  let failed = 0;
  let firstError: string | undefined;
  let created = false;
  const cpu = new CpuWindow(t.pid);
  const deadline = performance.now() + maxSeconds * 1000;
  const joinOne = (c: RawXmpp, nick: string, isFirst: boolean) =>
    new Promise<void>((resolve, reject) => {
      let tail = '';
      const own = `${room}/${nick}`;
      const split = new StanzaSplitter();
      const timer = setTimeout(() => reject(new Error(`${c.jid}: no self-presence from ${own} within 60 s`)), 60_000);
      let done = false;
      c.onData = (chunk) => {
        // Count presences cheaply for every chunk; parse stanzas only until this session joined.
        const s = tail + chunk;
        let p = s.indexOf('<presence');
        while (p >= 0) {
          presences++;
          p = s.indexOf('<presence', p + 9);
        }
        tail = s.slice(-9);
        if (done) return;
        split.push(chunk, (st) => {
          if (done || !st.startsWith('<presence')) return;
          const tag = st.slice(0, st.indexOf('>') + 1);
          if (attr(tag, 'from') !== own) return;
          if (attr(tag, 'type') === 'error') {
            done = true;
            clearTimeout(timer);
            reject(new Error(`${c.jid}: join refused: ${st.slice(0, 400)}`));
            return;
          }
          if (/code=["']110["']/.test(st)) {
            done = true;
            clearTimeout(timer);
            if (isFirst && /code=["']201["']/.test(st)) created = true;
            resolve();
          }
        });
      };
      c.write(`<presence to='${own}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
    });

  const first = conns[0]!;
  await joinOne(first, 'n0', true);
  if (created || roomConfig) {
    // An instant room (or the configuration the caller asked for): submit the owner form.
    const iqc = new IqClient(first);
    const fields = Object.entries(roomConfig ?? {})
      .map(([k, v]) => `<field var='${xmlEscape(k)}'><value>${xmlEscape(v)}</value></field>`)
      .join('');
    const { iq } = await iqc.request(
      (id) =>
        `<iq type='set' id='${id}' to='${room}'><query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>${fields}</x></query></iq>`,
    );
    if (iq.indexOf('type="result"') < 0 && iq.indexOf("type='result'") < 0) throw new Error(`room configuration refused: ${iq.slice(0, 400)}`);
    first.onData = (chunk) => {
      let p = chunk.indexOf('<presence');
      while (p >= 0) {
        presences++;
        p = chunk.indexOf('<presence', p + 9);
      }
    };
  }
  let next = 1;
  const joined: RawXmpp[] = [first];
  const worker = async () => {
    while (next < conns.length && performance.now() < deadline && failed < 20) {
      const i = next++;
      try {
        await joinOne(conns[i]!, `n${i}`, false);
        joined.push(conns[i]!);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const c = cpu.end();
  const r: RoomJoinResult = {
    joined,
    occupants: joined.length,
    failed,
    seconds: c.wallS,
    perSecond: joined.length / c.wallS,
    presencesReceived: presences,
    created,
    serverCpuPct: c.serverPct,
    generatorCpuPct: c.generatorPct,
    otherLoadPct: c.otherLoadPct,
  };
  if (firstError) r.firstError = firstError;
  return r;
}

export interface RoomBenchOptions {
  room: string;
  senders: number;
  /** room messages/s offered, one run each */
  rates: number[];
  warmupS: number;
  durationS: number;
  /** the wait for the last deliveries after each run */
  drainS: number;
  onRun?: (r: RoomRunResult, startNs: bigint, endNs: bigint) => void;
  /** stop raising the rate once a run is overloaded */
  stopWhenOverloaded?: boolean;
}

/**
 * Groupchat fan-out: the first `senders` occupants take turns posting at the offered rate; every
 * occupant (the sender too: the room reflects its message, XEP-0045 §7.4) timestamps each receipt.
 * A message is complete when all occupants received it.
 */
export async function benchRoom(t: ServerTarget, conns: RawXmpp[], o: RoomBenchOptions): Promise<RoomRunResult[]> {
  const occupants = conns.length;
  const RING = 1 << 16;
  const sentAt = new Float64Array(RING);
  const got = new Uint32Array(RING);
  const lastAt = new Float64Array(RING);
  let seq = 0;
  let measuring = false;
  let firstMeasured = -1;
  let lastMeasured = -1;
  const lastReceipt = new LatencyRecorder(1_000_000);
  const perDelivery = new LatencyRecorder(2_000_000);
  let deliveries = 0;
  /** deliveries that happened during the measured seconds, whichever message they belong to */
  let deliveriesTimed = 0;
  /** deliveries of the messages posted during the measured seconds */
  let deliveriesInWindow = 0;
  let errorStanzas = 0;

  const onData = (state: { rest: string }, chunk: string) => {
    const s = state.rest.length ? state.rest + chunk : chunk;
    if (s.indexOf('type="error"') >= 0 || s.indexOf("type='error'") >= 0) errorStanzas++;
    const now = performance.now();
    let pos = 0;
    state.rest = '';
    for (;;) {
      const b = s.indexOf(ROOM_MARK, pos);
      if (b < 0) {
        state.rest = s.length - pos > 7 ? s.slice(s.length - 7) : s.slice(pos);
        break;
      }
      const e = s.indexOf('<', b + 8);
      if (e < 0) {
        state.rest = s.slice(b);
        break;
      }
      const n = Number(s.slice(b + 8, e));
      pos = e;
      if (!(n >= 0) || n >= seq || seq - n > RING) continue;
      const k = n % RING;
      got[k]!++;
      lastAt[k] = now;
      deliveries++;
      if (measuring) deliveriesTimed++;
      const inWindow = n >= firstMeasured && firstMeasured >= 0 && (lastMeasured < 0 || n <= lastMeasured);
      if (inWindow) {
        deliveriesInWindow++;
        perDelivery.record(now - sentAt[k]!);
        if (got[k] === occupants) lastReceipt.record(now - sentAt[k]!);
      }
    }
  };
  for (const c of conns) {
    const st = { rest: '' };
    c.onData = (d) => onData(st, d);
  }

  const results: RoomRunResult[] = [];
  for (const rate of o.rates) {
    // Reset per run.
    deliveries = 0;
    deliveriesTimed = 0;
    deliveriesInWindow = 0;
    errorStanzas = 0;
    lastReceipt.reset();
    perDelivery.reset();
    firstMeasured = -1;
    lastMeasured = -1;
    const t0 = performance.now();
    let issued = 0;
    let rr = 0;
    // Bounded: each tick posts at most one second's worth; cleared below.
    const timer = setInterval(() => {
      const due = Math.min(Math.floor(((performance.now() - t0) * rate) / 1000) - issued, Math.max(1, rate));
      for (let i = 0; i < due; i++) {
        const k = seq % RING;
        got[k] = 0;
        lastAt[k] = 0;
        sentAt[k] = performance.now();
        const sender = conns[rr]!;
        rr = (rr + 1) % Math.min(o.senders, occupants);
        sender.write(`<message to='${o.room}' type='groupchat'><body>R:${seq}</body></message>`);
        seq++;
      }
      if (due > 0) issued += due;
    }, 1);
    await sleep(o.warmupS * 1000);
    firstMeasured = seq;
    const cpu = new CpuWindow(t.pid);
    const startNs = process.hrtime.bigint();
    measuring = true;
    await sleep(o.durationS * 1000);
    measuring = false;
    lastMeasured = seq - 1;
    const c = cpu.end();
    const endNs = process.hrtime.bigint();
    clearInterval(timer);
    const postedInWindow = lastMeasured - firstMeasured + 1;
    // Drain: wait until every measured message reached everyone, or the drain bound.
    const drainEnd = performance.now() + o.drainS * 1000;
    const allIn = () => {
      for (let n = firstMeasured; n <= lastMeasured; n++) if (got[n % RING]! < occupants) return false;
      return true;
    };
    while (performance.now() < drainEnd && !allIn()) await sleep(50);
    let complete = 0;
    let missing = 0;
    for (let n = firstMeasured; n <= lastMeasured; n++) {
      const g = got[n % RING]!;
      if (g >= occupants) complete++;
      else missing += occupants - g;
    }
    const deliveriesPerSecond = deliveriesTimed / c.wallS;
    const r: RoomRunResult = {
      offered: rate,
      senders: Math.min(o.senders, occupants),
      occupants,
      seconds: c.wallS,
      posted: postedInWindow,
      complete,
      deliveries: deliveriesInWindow,
      deliveriesPerSecond,
      lastReceiptMs: lastReceipt.summary(),
      deliveryMs: perDelivery.summary(),
      missing,
      errorStanzas,
      serverCpuPct: c.serverPct,
      generatorCpuPct: c.generatorPct,
      otherLoadPct: c.otherLoadPct,
      // Not sustained: a message never reached everyone, or the fan-out fell behind what was offered.
      overloaded: complete < postedInWindow || deliveriesPerSecond < 0.95 * rate * occupants,
    };
    o.onRun?.(r, startNs, endNs);
    results.push(r);
    if (o.stopWhenOverloaded && r.overloaded) break;
    await sleep(1000);
  }
  return results;
}

// ---- MAM preferences ------------------------------------------------------------------------

/** Sets every session's account to archive everything (`<prefs default='always'/>`), `concurrency` at a time. */
export async function setArchivePrefs(conns: RawXmpp[], concurrency: number, maxMs: number): Promise<{ ok: number; failed: number; firstError?: string }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + maxMs;
  const worker = async () => {
    while (next < conns.length && performance.now() < deadline) {
      const c = conns[next++]!;
      const saved = c.onData;
      const iqc = new IqClient(c);
      try {
        const { iq } = await iqc.request((id) => `<iq type='set' id='${id}'><prefs xmlns='${NS_MAM}' default='always'/></iq>`, 30_000);
        if (iq.indexOf("type='result'") >= 0 || iq.indexOf('type="result"') >= 0) ok++;
        else {
          failed++;
          firstError ??= iq.slice(0, 400);
        }
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      } finally {
        c.onData = saved;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return firstError ? { ok, failed, firstError } : { ok, failed };
}
