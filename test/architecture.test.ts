// The import rules of src/ (.dependency-cruiser.cjs), checked with dependency-cruiser: no import
// cycle, and no feature module reaching into another's files. The second test proves the rules
// catch what they are for, on a small tree that breaks each of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** The rule violations dependency-cruiser finds in `<cwd>/src`. */
function cruise(cwd: string): Promise<Violation[]> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      let out;
      try {
        out = JSON.parse(stdout) as { summary: { violations: Violation[] } };
      } catch {
        reject(new Error(`dependency-cruiser gave no report: ${stderr || err?.message}`));
        return;
      }
      resolvePromise(out.summary.violations);
    });
  });
}

test('src/ has no import cycle and no module reaches into another module', async () => {
  const violations = await cruise(ROOT);
  const listed = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join('\n');
  assert.equal(violations.length, 0, listed);
});

test('the rules catch a cycle, a module importing another module\'s internals or the server, and outside code doing so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-arch-'));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    'src/server.ts': "import { b } from './modules/b/index.js';\nimport { listen } from './listen.js';\nexport const server = b + listen(0);\n",
    'src/listen.ts': "import type { server } from './server.js';\nexport const listen = (s: typeof server) => s;\n",
    'src/t1.ts': "import type { T2 } from './t2.js';\nexport interface T1 { t2?: T2 }\n",
    'src/t2.ts': "import type { T1 } from './t1.js';\nexport interface T2 { t1?: T1 }\n",
    'src/ping.ts': "import { pong } from './pong.js';\nexport const ping = () => pong;\n",
    'src/pong.ts': "import { ping } from './ping.js';\nexport const pong = () => ping;\n",
    'src/modules/a/index.ts': "export { helper } from './helper.js';\n",
    'src/modules/a/helper.ts': 'export const helper = 1;\n',
    'src/modules/a/store.ts': 'export interface AStore { n: number }\n',
    'src/modules/b/index.ts': "import { helper } from '../a/helper.js';\nimport { helper as ok } from '../a/index.js';\nexport const b = helper + ok;\n",
    'src/modules/c/index.ts': "import { server } from '../../server.js';\nexport const c = server;\n",
    'src/admin.ts': "import { helper } from './modules/a/helper.js';\nimport type { AStore } from './modules/a/store.js';\nexport const admin = (s: AStore) => helper + s.n;\n",
  };
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const violations = await cruise(dir);
    const found = new Set(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`));
    for (const expected of [
      'no-cycle: src/ping.ts -> src/pong.ts',
      'no-type-cycle: src/t1.ts -> src/t2.ts',
      'no-type-cycle: src/listen.ts -> src/server.ts',
      'module-internals: src/modules/b/index.ts -> src/modules/a/helper.ts',
      'modules-not-server: src/modules/c/index.ts -> src/server.ts',
      'feature-internals: src/admin.ts -> src/modules/a/helper.ts',
    ]) {
      assert.ok(found.has(expected), `expected ${expected} among:\n${[...found].join('\n')}`);
    }
    // Allowed: a module's index.ts; a store.ts from outside the modules.
    for (const v of found) assert.doesNotMatch(v, /-> src\/modules\/a\/(index|store)\.ts$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
