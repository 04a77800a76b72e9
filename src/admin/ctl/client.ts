import net from 'node:net';
import type { CtlResponse } from './server.js';

/** Sends one ctl invocation to a running server; exit code 3 when none answers, as ejabberdctl does. */
export function callCtl(path: string, args: string[], nodeName: string): Promise<CtlResponse> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ args }) + '\n'));
    sock.on('data', (d: string) => (buf += d));
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
