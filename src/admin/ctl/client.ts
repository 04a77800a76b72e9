import net from 'node:net';
import type { CtlResponse } from './server.js';

/** Sends one ctl invocation to a running server; exit code 3 when none answers, as ejabberdctl does. */
export function callCtl(path: string, args: string[], nodeName: string, onProgress?: (message: string) => void): Promise<CtlResponse> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ args }) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      // Every complete line but the answer is a progress line: shown as it comes.
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          break;
        }
        if (parsed === null || typeof parsed !== 'object' || !('progress' in parsed)) break;
        onProgress?.(String((parsed as { progress: unknown }).progress));
        buf = buf.slice(nl + 1);
      }
    });
    sock.on('end', () => {
      try {
        resolve(JSON.parse(buf) as CtlResponse);
      } catch {
        resolve({ stdout: 'Error: the server sent an unreadable answer\n', exitCode: 1 });
      }
    });
    sock.on('error', () =>
      resolve({ stdout: `Failed RPC connection to the node ${nodeName}: nodedown\n(is the server running? its control socket is ${path})\n`, exitCode: 3 }),
    );
  });
}
