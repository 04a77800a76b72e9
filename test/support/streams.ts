import type { Server } from '../../src/server.js';
import type { LocalSessionDirectory } from '../../src/router/local-directory.js';

/** The stream that carries a session of this node now (white box: tests of per-connection limits look inside it). */
export function streamOf(server: Server, bare: string, resource: string): unknown {
  const record = server.sessions.get(bare, resource);
  const session = record && (server.sessions as LocalSessionDirectory).handleOf(record);
  return (session as unknown as { stream?: unknown } | undefined)?.stream;
}
