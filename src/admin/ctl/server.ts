import net from 'node:net';
import { chmodSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AdminHost } from '../host.js';
import { auditCommand, isAllowed, runCommand } from '../execute.js';
import { ArgumentError, bindPositionalArgs } from '../ejabberd/args.js';
import { renderCtl, usageOf } from './render.js';

export interface CtlRequest {
  args: string[];
}
export interface CtlResponse {
  stdout: string;
  exitCode: number;
}

function closest(name: string, names: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const dd = dist(name, n);
    if (dd < bestD) (bestD = dd), (best = n);
  }
  return bestD <= Math.max(2, name.length / 3) ? best : undefined;
}

/** Executes one `parley ctl` invocation with full rights, like ejabberdctl on the server's machine. */
export async function executeCtl(server: AdminHost, argv: string[], progress?: (message: string) => void): Promise<CtlResponse> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help') {
    if (rest[0]) {
      const def = server.commands.get(rest[0]);
      if (def) return { stdout: usageOf(def), exitCode: 0 };
    }
    const list = server.commands.list().map((d) => `  ${d.name.padEnd(28)} ${d.desc}`).join('\n');
    return { stdout: `Usage: parley ctl COMMAND [ARGUMENTS]\n\nAvailable commands:\n${list}\n`, exitCode: 0 };
  }
  const def = server.commands.get(name);
  if (!def) {
    const near = closest(name, server.commands.list().map((d) => d.name));
    return { stdout: `Error: unknown command '${name}'.${near ? ` Did you mean '${near}'?` : ''}\n`, exitCode: 1 };
  }
  if (rest.length !== def.args.length) {
    const diff = def.args.length - rest.length;
    const more = diff > 0 ? `${diff} more argument${diff > 1 ? 's' : ''}` : `${-diff} less argument${diff < -1 ? 's' : ''}`;
    return { stdout: `${usageOf(def)}\nError: the command '${name}' requires ${more}.\n`, exitCode: 1 };
  }
  const caller = { surface: 'ctl' as const, admin: true, ...(progress ? { progress } : {}) };
  let args;
  try {
    args = bindPositionalArgs(def, rest);
  } catch (err) {
    if (err instanceof ArgumentError) return { stdout: `Error: bad_argument: ${err.message}\n`, exitCode: 1 };
    throw err;
  }
  if (!isAllowed(server, def, caller, args)) {
    auditCommand(server, def, args, caller, 'forbidden');
    return { stdout: `Error: not_allowed: the command '${name}' is not allowed from the command line\n`, exitCode: 1 };
  }
  return renderCtl(def, await runCommand(server, def, args, caller));
}

async function respond(server: AdminHost, line: string, progress: (message: string) => void): Promise<CtlResponse> {
  try {
    const req = JSON.parse(line) as CtlRequest;
    if (!Array.isArray(req.args) || !req.args.every((a) => typeof a === 'string')) throw new Error('bad request');
    return await executeCtl(server, req.args, progress);
  } catch (err) {
    server.log.error({ err }, 'ctl request failed');
    return { stdout: 'Error: internal_error\n', exitCode: 1 };
  }
}

/** Listens on a Unix socket that only the server's user can open (mode 0600): that is the authentication. */
export async function startCtlServer(server: AdminHost, path: string): Promise<() => Promise<void>> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  const srv = net.createServer((sock) => {
    let buf = '';
    let received = false;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      // One request per connection: bytes after its line are read and dropped, never run.
      if (received) return;
      const nl = d.indexOf('\n');
      if (nl < 0) {
        buf += d;
        if (buf.length > 1 << 20) sock.destroy();
        return;
      }
      received = true;
      const line = buf + d.slice(0, nl);
      buf = '';
      // Progress lines ({"progress": "..."}) may come first; the answer is the last line.
      const progress = (message: string) => {
        if (!sock.destroyed) sock.write(JSON.stringify({ progress: message }) + '\n');
      };
      void respond(server, line, progress).then((response) => sock.end(JSON.stringify(response) + '\n'));
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return () =>
    new Promise<void>((r) => {
      srv.close(() => r());
      rmSync(path, { force: true });
    });
}
