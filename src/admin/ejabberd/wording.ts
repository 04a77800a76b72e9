import type { AccountRef } from '../../xmpp/account.js';
import { bareOf } from '../../xmpp/account.js';

/**
 * ejabberd's texts for the restuple outcomes that commands return as domain values (the Openfire and
 * hosting dialects word the same values their own way). A command that returns a string is shown as is.
 */
const TEXTS: Record<string, (value: never) => string> = {
  register: (a: AccountRef) => `User ${bareOf(a)} successfully registered`,
  // ejabberd 20.07 answers an empty text for a successful unregister.
  unregister: () => '',
  delete_old_users: deletedUsers,
  delete_old_users_vhost: deletedUsers,
  status: (s: { node: string; status: string; release: string }) => `The node ${s.node} is started with status: ${s.status}\n${s.release} is running in that node`,
};

/** `Deleted 2 users: ["oldman@myserver.com", "test@myserver.com"]`, as the seed shows it. */
function deletedUsers(accounts: AccountRef[]): string {
  return `Deleted ${accounts.length} users: [${accounts.map((a) => JSON.stringify(bareOf(a))).join(', ')}]`;
}

/** The message ejabberd shows for a restuple command's value. */
export function restupleText(command: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  const text = TEXTS[command];
  if (!text) throw new Error(`no ejabberd wording for the outcome of ${command}`);
  return text(value as never);
}
