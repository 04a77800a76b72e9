import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from '../server.js';

export const ADMIN_PASSWORD_FILE = 'admin-password';

/**
 * First start: creates the first configured admin account with a random password, stored
 * (mode 0600) in the data directory and announced once. Later starts leave it alone.
 */
export async function ensureAdminAccount(
  server: Server,
  announce?: (jid: string, password: string, file: string) => void,
): Promise<void> {
  const file = join(server.dataDir, ADMIN_PASSWORD_FILE);
  const [jid] = [...server.admins()];
  if (!jid) return;
  const at = jid.indexOf('@');
  const user = jid.slice(0, at);
  const host = jid.slice(at + 1);
  if (!server.isLocalHost(host) || (await server.accounts.exists(user, host))) return;
  if (existsSync(file)) {
    // The account was removed on purpose, or the database was replaced: recreate it with the stored password.
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) {
      await server.accounts.register(user, host, stored);
      return;
    }
  }
  const password = randomBytes(18).toString('base64url');
  await server.accounts.register(user, host, password);
  writeFileSync(file, password + '\n', { mode: 0o600 });
  announce?.(jid, password, file);
}
