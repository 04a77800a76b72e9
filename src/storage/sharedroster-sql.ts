import type { AccountRef, AddOutcome, CreateOutcome, GroupRef, SharedGroup, SharedGroupStore } from '../modules/sharedroster/store.js';
import type { Sql } from './sql.js';

/** Shared roster groups (migration 5), in the SQL both backends share. */
interface GroupRow {
  host: string;
  group_id: string;
  name: string;
  description: string;
  displayed_json: string;
  all_users: number | string;
  online_users: number | string;
}

function fromRow(r: GroupRow): SharedGroup {
  return {
    host: r.host,
    id: r.group_id,
    name: r.name,
    description: r.description,
    displayed: JSON.parse(r.displayed_json),
    allUsers: Number(r.all_users) === 1,
    onlineUsers: Number(r.online_users) === 1,
  };
}

const COLUMNS = 'g.host, g.group_id, g.name, g.description, g.displayed_json, g.all_users, g.online_users';

export class SqlSharedGroups implements SharedGroupStore {
  constructor(private readonly sql: Sql) {}

  async put(g: Omit<SharedGroup, 'allUsers' | 'onlineUsers'>, maxGroups: number): Promise<CreateOutcome> {
    return this.sql.atomic(async (tx) => {
      // Creators of one host take turns: the count each reads is current and the limit holds.
      await tx.lock(`shared_groups:${g.host}`);
      const displayed = JSON.stringify(g.displayed);
      const n = await tx.run('UPDATE shared_groups SET name = ?, description = ?, displayed_json = ? WHERE host = ? AND group_id = ?', [
        g.name,
        g.description,
        displayed,
        g.host,
        g.id,
      ]);
      if (n > 0) return 'updated';
      const count = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM shared_groups WHERE host = ?', [g.host]);
      if (Number(count!.n) >= maxGroups) return 'full';
      await tx.run(`INSERT INTO shared_groups (host, group_id, name, description, displayed_json, all_users, online_users) VALUES (?, ?, ?, ?, ?, 0, 0)`, [g.host, g.id, g.name, g.description, displayed]);
      return 'created';
    });
  }

  async get(ref: GroupRef): Promise<SharedGroup | undefined> {
    const row = await this.sql.get<GroupRow>(`SELECT ${COLUMNS} FROM shared_groups g WHERE host = ? AND group_id = ?`, [ref.host, ref.id]);
    return row && fromRow(row);
  }

  async list(host: string): Promise<SharedGroup[]> {
    const rows = await this.sql.all<GroupRow>(`SELECT ${COLUMNS} FROM shared_groups g WHERE host = ? ORDER BY group_id`, [host]);
    return rows.map(fromRow);
  }

  async delete(ref: GroupRef): Promise<boolean> {
    return this.sql.atomic(async (tx) => {
      await tx.run('DELETE FROM shared_group_members WHERE host = ? AND group_id = ?', [ref.host, ref.id]);
      return (await tx.run('DELETE FROM shared_groups WHERE host = ? AND group_id = ?', [ref.host, ref.id])) > 0;
    });
  }

  async setSpecial(ref: GroupRef, special: 'allUsers' | 'onlineUsers', on: boolean): Promise<boolean> {
    const column = special === 'allUsers' ? 'all_users' : 'online_users';
    return (await this.sql.run(`UPDATE shared_groups SET ${column} = ? WHERE host = ? AND group_id = ?`, [on ? 1 : 0, ref.host, ref.id])) > 0;
  }

  async addMember(ref: GroupRef, member: AccountRef, maxMembers: number): Promise<AddOutcome> {
    return this.sql.atomic(async (tx) => {
      await tx.lock(`shared_group_members:${ref.host}:${ref.id}`);
      if (!(await tx.get('SELECT 1 AS x FROM shared_groups WHERE host = ? AND group_id = ?', [ref.host, ref.id]))) return 'no-group';
      const key = [ref.host, ref.id, member.host, member.user];
      if (await tx.get('SELECT 1 AS x FROM shared_group_members WHERE host = ? AND group_id = ? AND member_host = ? AND member_user = ?', key)) return 'present';
      const n = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM shared_group_members WHERE host = ? AND group_id = ?', [ref.host, ref.id]);
      if (Number(n!.n) >= maxMembers) return 'full';
      await tx.run('INSERT INTO shared_group_members (host, group_id, member_host, member_user) VALUES (?, ?, ?, ?)', key);
      return 'added';
    });
  }

  async removeMember(ref: GroupRef, member: AccountRef): Promise<boolean> {
    const n = await this.sql.run('DELETE FROM shared_group_members WHERE host = ? AND group_id = ? AND member_host = ? AND member_user = ?', [
      ref.host,
      ref.id,
      member.host,
      member.user,
    ]);
    return n > 0;
  }

  async members(ref: GroupRef): Promise<AccountRef[]> {
    const rows = await this.sql.all<{ member_user: string; member_host: string }>(
      `SELECT member_user, member_host FROM shared_group_members WHERE host = ? AND group_id = ? ORDER BY member_user, member_host${this.sql.bytewise}`,
      [ref.host, ref.id],
    );
    return rows.map((r) => ({ user: r.member_user, host: r.member_host }));
  }

  async candidateGroups(account: AccountRef): Promise<{ group: SharedGroup; explicit: boolean }[]> {
    const rows = await this.sql.all<GroupRow & { explicit: number | string }>(
      `SELECT ${COLUMNS}, CASE WHEN m.group_id IS NULL THEN 0 ELSE 1 END AS explicit
       FROM shared_groups g
       LEFT JOIN shared_group_members m
         ON m.host = g.host AND m.group_id = g.group_id AND m.member_host = ? AND m.member_user = ?
       WHERE m.group_id IS NOT NULL OR (g.host = ? AND (g.all_users = 1 OR g.online_users = 1))`,
      [account.host, account.user, account.host],
    );
    return rows.map((r) => ({ group: fromRow(r), explicit: Number(r.explicit) === 1 }));
  }

  async removeAccount(account: AccountRef): Promise<void> {
    await this.sql.run('DELETE FROM shared_group_members WHERE member_host = ? AND member_user = ?', [account.host, account.user]);
  }
}
