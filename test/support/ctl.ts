import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/support → the repository root.
const BIN = join(resolve(fileURLToPath(import.meta.url), '../../../..'), 'bin/parley.js');

/** Runs `parley ctl --config FILE ARGS...` as a real process (no PARLEY_CONFIG from the outside). */
export function runCtl(configFile: string, args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.PARLEY_CONFIG;
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, 'ctl', '--config', configFile, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
