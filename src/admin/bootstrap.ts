import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AdminHost } from './host.js';
import { accountOf } from '../xmpp/account.js';
import { tryParseJID } from '../xmpp/jid.js';

export const ADMIN_PASSWORD_FILE = 'admin-password';

/**
 * First start: creates the first configured admin account with a random password, stored
 * (mode 0600) in the data directory and announced once. Later starts leave it alone.
 */
export async function ensureAdminAccount(
  server: AdminHost,
  announce?: (jid: string, password: string, file: string) => void,
): Promise<void> {
  const file = join(server.dataDir, ADMIN_PASSWORD_FILE);
  const [jid] = [...server.admins()];
  if (!jid) return;
  const parsed = tryParseJID(jid);
  const account = parsed?.local ? accountOf(parsed) : undefined;
  if (!account || !server.isLocalHost(account.host) || (await server.accounts.exists(account))) return;
  if (existsSync(file)) {
    // The account was removed on purpose, or the database was replaced: recreate it with the stored password.
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) {
      await server.accounts.register(account, stored);
      return;
    }
  }
  const password = randomBytes(18).toString('base64url');
  await server.accounts.register(account, password);
  writeFileSync(file, password + '\n', { mode: 0o600 });
  announce?.(jid, password, file);
}
