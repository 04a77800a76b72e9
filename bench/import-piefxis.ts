/**
 * Times `import_piefxis` of N generated accounts (ejabberd 23.01's SCRAM encoding, a vCard and ten
 * roster items each) on a test server in this process, and samples the process's RSS meanwhile: the
 * import streams the file, so the peak should not grow with N.
 *
 *   npm run build && node dist/bench/import-piefxis.js 20000
 *   PARLEY_TEST_STORAGE=postgres node dist/bench/import-piefxis.js 5000
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../test/support/harness.js';
import { deriveScramCredentials } from '../src/c2s/sasl.js';

const N = Number(process.argv[2] ?? 5000);
const p = await startParley();
const c = deriveScramCredentials('pw', 'sha1', 4096);
const twice = (b: string) => Buffer.from(b).toString('base64');
const cred = `<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${twice(c.salt)}</salt><server-key>${twice(c.serverKey)}</server-key><stored-key>${twice(c.storedKey)}</stored-key></scram-credentials>`;
const parts: string[] = ["<?xml version='1.0' encoding='UTF-8'?><server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>"];
for (let i = 0; i < N; i++) {
  let items = '';
  for (let j = 1; j <= 10; j++) items += `<item jid='u${(i + j) % N}@localhost' name='Friend ${j}' subscription='both'><group>G</group></item>`;
  parts.push(`<user name='u${i}'>${cred}<vCard xmlns='vcard-temp'><FN>User ${i}</FN></vCard><query xmlns='jabber:iq:roster'>${items}</query></user>`);
}
parts.push('</host></server-data>');
writeFileSync(join(p.dataDir, 'big.xml'), parts.join(''));
const bytes = parts.reduce((n, s) => n + s.length, 0);
parts.length = 0;
global.gc?.();
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const start = performance.now();
const r = await p.api('import_piefxis', { file: 'big.xml' });
const seconds = (performance.now() - start) / 1000;
clearInterval(sampler);
process.stdout.write(
  `${JSON.stringify({ accounts: N, fileBytes: bytes, status: r.status, answer: r.body, seconds: +seconds.toFixed(1), accountsPerSecond: Math.round(N / seconds), rssBeforeMB: Math.round(rss0 / 1e6), rssPeakMB: Math.round(peak / 1e6) })}\n`,
);
await p.close();
