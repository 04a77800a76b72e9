/**
 * The large-archive scenario: a server of its own on a data directory kept in /tmp across runs,
 * whose archive table is filled in bulk to `rows` messages (archive-fill.ts), then XEP-0313 page
 * queries (RSM max=N) by the accounts with the largest archives: the last page, a page after and
 * before an id somewhere in the archive, each with and without a `with` filter.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AdminApi, accountList, registerAccounts } from './http-api.js';
import { openSessions, closeSessions } from './scenarios.js';
import { startServer, type ManagedServer } from './server-proc.js';
import { fillArchive, archiveRowCount, ARCHIVE_TABLE, type FillPlan, type FillResult } from './archive-fill.js';
import { IqClient, benchMamQueries, attr, xmlEscape, type MamQueryRunResult, type MamVariant } from './step5.js';
import { fmt, ms } from './stats.js';
import type { ScramCache } from './xmpp-raw.js';
import { MIGRATIONS } from '../src/storage/migrations.js';

export interface ArchiveQueryOptions {
  projectRoot: string;
  profile: boolean;
  nofile: number;
  cpu: number;
  configure: (config: Record<string, any>) => void;
  dir: string;
  plan: Omit<FillPlan, 'host'>;
  queries: number;
  max: number;
  concurrency: number;
  scram: ScramCache;
  out: (s: string) => void;
  problem: (s: string) => void;
  onRun?: (r: MamQueryRunResult, startUs: number, endUs: number) => void;
  /** Called with the server once it runs on the filled archive (for CPU figures and profiles). */
  onServer?: (s: ManagedServer) => void;
}

export interface ArchiveQueryResult {
  dir: string;
  plan: FillPlan;
  fill?: FillResult;
  rows?: number;
  fileBytes?: number;
  serverStartSeconds?: number;
  seeds: { ids: number; withIds: number };
  runs: MamQueryRunResult[];
  profileDir?: string;
}

const VARIANTS: MamVariant[] = ['last-page', 'last-page-with', 'after-id', 'after-id-with', 'before-id', 'before-id-with'];
const YEAR_MS = 365 * 24 * 3600 * 1000;
const BASE_MS = 1_764_547_200_000;

/** Deterministic pseudo-random numbers, so that two runs ask the same queries. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export async function archiveQueryPhase(o: ArchiveQueryOptions): Promise<ArchiveQueryResult> {
  const domain = 'localhost';
  const plan: FillPlan = { ...o.plan, host: domain };
  const dataDir = join(o.dir, 'data');
  const dbFile = join(dataDir, 'parley.db');
  const planFile = join(o.dir, 'fill-plan.json');
  const res: ArchiveQueryResult = { dir: o.dir, plan, seeds: { ids: 0, withIds: 0 }, runs: [] };
  // A directory filled with another plan is started over.
  // The fill's own version and the schema's migrations: a change of either makes an old directory stale
  // (a database migrated under other version numbers would not start).
  const stamp = JSON.stringify({ fill: 3, ...plan, migrations: MIGRATIONS.map((m) => `${m.version} ${m.description}`) });
  if (existsSync(planFile)) {
    const old = readFileSync(planFile, 'utf8');
    if (old !== stamp) {
      o.out(`  ${o.dir} was filled with another plan or schema; starting it over`);
      rmSync(o.dir, { recursive: true, force: true });
    }
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(planFile, stamp);

  let server = await startServer({ projectRoot: o.projectRoot, profile: false, nofile: o.nofile, cpu: o.cpu, configure: o.configure, dataDir });
  try {
    const api = new AdminApi(server, 16);
    const accounts = accountList(plan.owners);
    o.out(`  server on ${dataDir}: registering ${fmt(plan.owners)} accounts (those that exist are kept)…`);
    const reg = await registerAccounts(api, domain, accounts, 16, 10 * 60_000);
    api.close();
    o.out(`  ${fmt(reg.created)} created, ${fmt(reg.existed)} existed, ${fmt(reg.failed)} failed`);
    if (reg.failed) o.problem(`archive-query: account registration failed ${reg.failed} times: ${reg.firstError}`);
    await server.stop();

    const before = archiveRowCount(dbFile);
    if (before === undefined) throw new Error(`no table ${ARCHIVE_TABLE} in ${dbFile}: is the mam module in this build?`);
    if (before !== plan.rows) {
      o.out(`  filling ${ARCHIVE_TABLE} with ${fmt(plan.rows)} rows (${plan.hotOwners} archives of ${fmt(plan.hotRows)}, the rest over ${fmt(plan.owners - plan.hotOwners)} accounts, ${plan.peers} peers each)…`);
      res.fill = fillArchive(dbFile, plan, (s) => o.out(s));
      o.out(
        `  filled in ${res.fill.seconds.toFixed(1)} s (rows ${res.fill.insertSeconds.toFixed(1)} s, indexes ${res.fill.indexSeconds.toFixed(1)} s): ${fmt(res.fill.rowsAfter)} rows, ${fmt(res.fill.fileBytes / 2 ** 20)} MB`,
      );
    } else {
      o.out(`  ${dbFile} already holds ${fmt(before)} archive rows: reused (delete ${o.dir} to fill again)`);
    }
    res.rows = archiveRowCount(dbFile);
    res.fileBytes = statSync(dbFile).size;

    const t0 = performance.now();
    server = await startServer({ projectRoot: o.projectRoot, profile: o.profile, nofile: o.nofile, cpu: o.cpu, configure: o.configure, dataDir });
    res.serverStartSeconds = (performance.now() - t0) / 1000;
    if (server.profileDir) res.profileDir = server.profileDir;
    o.onServer?.(server);
    o.out(`  server started on the filled archive in ${res.serverStartSeconds.toFixed(1)} s (pid ${server.pid})`);

    // One session per large archive.
    const hot = accounts.slice(0, plan.hotOwners);
    const open = await openSessions(server, hot, hot.length, 1, 'q', hot.length, 120, o.scram);
    if (open.opened < hot.length) throw new Error(`only ${open.opened} of ${hot.length} query sessions opened: ${open.firstError}`);
    const clients = open.conns.map((c) => new IqClient(c));
    const peerOf = (owner: number, r: number) => `bench${(owner + 1 + Math.floor(r * plan.peers)) % plan.owners}@${domain}`;

    // Ids somewhere in each archive, found through the protocol (a page of one from a random date).
    const random = rng(20261201);
    const seedsPer = Math.min(200, Math.max(20, Math.ceil(o.queries / plan.hotOwners)));
    const ids: string[][] = hot.map(() => []);
    const withIds: { peer: string; id: string }[][] = hot.map(() => []);
    for (let h = 0; h < hot.length; h++) {
      for (let k = 0; k < seedsPer * 2; k++) {
        const withPeer = k % 2 === 1 ? peerOf(h, random()) : undefined;
        const start = new Date(BASE_MS + Math.floor(random() * YEAR_MS * 0.98)).toISOString();
        const { before: st } = await clients[h]!.request(
          (id) =>
            `<iq type='set' id='${id}'><query xmlns='urn:xmpp:mam:2' queryid='${id}'><x xmlns='jabber:x:data' type='submit'>` +
            `<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='start'><value>${start}</value></field>` +
            (withPeer ? `<field var='with'><value>${xmlEscape(withPeer)}</value></field>` : '') +
            `</x><set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set></query></iq>`,
        );
        const r = st.map((x) => /<result\b[^>]*>/.exec(x)?.[0]).find((x) => x);
        const id = r ? attr(r, 'id') : undefined;
        if (!id) continue;
        if (withPeer) withIds[h]!.push({ peer: withPeer, id });
        else ids[h]!.push(id);
      }
    }
    res.seeds = { ids: ids.reduce((n, a) => n + a.length, 0), withIds: withIds.reduce((n, a) => n + a.length, 0) };
    o.out(`  ${res.seeds.ids} ids and ${res.seeds.withIds} ids of one conversation found at random dates (pages of one from 'start')`);
    if (!res.seeds.ids || !res.seeds.withIds) throw new Error('no archive ids found with a start-date query: the archive answers nothing');

    for (const variant of VARIANTS) {
      const pick = (i: number) => {
        const h = i % hot.length;
        if (variant === 'last-page') return { client: h, spec: {} };
        if (variant === 'last-page-with') return { client: h, spec: { withJid: peerOf(h, random()) } };
        if (variant.endsWith('-with')) {
          const a = withIds[h]!.length ? withIds[h]! : withIds.find((x) => x.length)!;
          const s = a[Math.floor(random() * a.length)]!;
          return { client: withIds[h]!.length ? h : withIds.indexOf(a), spec: { withJid: s.peer, id: s.id } };
        }
        const a = ids[h]!.length ? ids[h]! : ids.find((x) => x.length)!;
        return { client: ids[h]!.length ? h : ids.indexOf(a), spec: { id: a[Math.floor(random() * a.length)]! } };
      };
      const s0 = Number(process.hrtime.bigint() / 1000n);
      const r = await benchMamQueries(server, clients, variant, o.queries, o.max, pick, o.concurrency, 300);
      o.onRun?.(r, s0, Number(process.hrtime.bigint() / 1000n));
      res.runs.push(r);
      o.out(
        `  ${variant}: ${fmt(r.queries)} queries, ${fmt(r.perSecond)}/s, p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}; ${r.meanResults.toFixed(1)} results per page, ${r.failed} failed; CPU srv ${fmt(r.serverCpuPct)}%`,
      );
      if (r.failed) o.problem(`archive-query ${variant}: ${r.failed} queries failed: ${r.firstError}`);
    }
    await closeSessions(open.conns);
  } finally {
    await server.stop();
  }
  return res;
}
