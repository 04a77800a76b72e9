import type { AffiliationEntry, MucStore, RoomConfig, StoredRoom, StoredRoomState, StoredSubscriber } from '../modules/muc/store.js';
import type { Sql } from './sql.js';

/** Group chat rooms, affiliations, registered nicks and MUC/Sub subscriptions (migration 7), in the SQL both backends share. */
interface RoomRow {
  service: string;
  name: string;
  config_json: string;
  subject: string;
  subject_by: string;
  created_at: number | string;
}

export class SqlMuc implements MucStore {
  constructor(private readonly sql: Sql) {}

  async loadRooms(services: readonly string[]): Promise<StoredRoomState[]> {
    if (services.length === 0) return [];
    const marks = services.map(() => '?').join(', ');
    const rooms = await this.sql.all<RoomRow>(`SELECT service, name, config_json, subject, subject_by, created_at FROM muc_rooms WHERE service IN (${marks})`, services);
    const affs = await this.sql.all<{ service: string; room: string; jid: string; affiliation: string; reason: string }>(
      `SELECT service, room, jid, affiliation, reason FROM muc_affiliations WHERE service IN (${marks})`,
      services,
    );
    const subs = await this.sql.all<{ service: string; room: string; jid: string; nick: string; nodes_json: string }>(
      `SELECT service, room, jid, nick, nodes_json FROM muc_subscriptions WHERE service IN (${marks})`,
      services,
    );
    const byKey = new Map<string, StoredRoomState>();
    for (const r of rooms) {
      byKey.set(`${r.service}\u0000${r.name}`, {
        service: r.service,
        name: r.name,
        config: JSON.parse(r.config_json) as RoomConfig,
        subject: r.subject,
        subjectBy: r.subject_by,
        createdAt: Number(r.created_at),
        affiliations: [],
        subscribers: [],
      });
    }
    for (const a of affs) byKey.get(`${a.service}\u0000${a.room}`)?.affiliations.push({ jid: a.jid, affiliation: a.affiliation as AffiliationEntry['affiliation'], reason: a.reason });
    for (const s of subs) byKey.get(`${s.service}\u0000${s.room}`)?.subscribers.push({ jid: s.jid, nick: s.nick, nodes: JSON.parse(s.nodes_json) as string[] });
    return [...byKey.values()];
  }

  async putRoom(room: StoredRoomState): Promise<void> {
    await this.sql.atomic(async (tx) => {
      await this.upsert(tx, room);
      await tx.run('DELETE FROM muc_affiliations WHERE service = ? AND room = ?', [room.service, room.name]);
      await tx.run('DELETE FROM muc_subscriptions WHERE service = ? AND room = ?', [room.service, room.name]);
      for (const a of room.affiliations) {
        await tx.run('INSERT INTO muc_affiliations (service, room, jid, affiliation, reason) VALUES (?, ?, ?, ?, ?)', [room.service, room.name, a.jid, a.affiliation, a.reason]);
      }
      for (const s of room.subscribers) {
        await tx.run('INSERT INTO muc_subscriptions (service, room, jid, nick, nodes_json) VALUES (?, ?, ?, ?, ?)', [room.service, room.name, s.jid, s.nick, JSON.stringify(s.nodes)]);
      }
    });
  }

  async updateRoom(room: StoredRoom): Promise<void> {
    await this.upsert(this.sql, room);
  }

  private async upsert(sql: Sql, room: StoredRoom): Promise<void> {
    await sql.run(
      `INSERT INTO muc_rooms (service, name, config_json, subject, subject_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (service, name) DO UPDATE SET config_json = excluded.config_json, subject = excluded.subject, subject_by = excluded.subject_by`,
      [room.service, room.name, JSON.stringify(room.config), room.subject, room.subjectBy, room.createdAt],
    );
  }

  async deleteRoom(service: string, name: string): Promise<void> {
    await this.sql.atomic(async (tx) => {
      await tx.run('DELETE FROM muc_affiliations WHERE service = ? AND room = ?', [service, name]);
      await tx.run('DELETE FROM muc_subscriptions WHERE service = ? AND room = ?', [service, name]);
      await tx.run('DELETE FROM muc_rooms WHERE service = ? AND name = ?', [service, name]);
    });
  }

  async setAffiliation(service: string, room: string, entry: AffiliationEntry | { jid: string; affiliation: 'none' }): Promise<void> {
    if (entry.affiliation === 'none') {
      await this.sql.run('DELETE FROM muc_affiliations WHERE service = ? AND room = ? AND jid = ?', [service, room, entry.jid]);
      return;
    }
    await this.sql.run(
      `INSERT INTO muc_affiliations (service, room, jid, affiliation, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (service, room, jid) DO UPDATE SET affiliation = excluded.affiliation, reason = excluded.reason`,
      [service, room, entry.jid, entry.affiliation, (entry as AffiliationEntry).reason ?? ''],
    );
  }

  async setSubscriber(service: string, room: string, jid: string, sub: StoredSubscriber | undefined): Promise<void> {
    if (!sub) {
      await this.sql.run('DELETE FROM muc_subscriptions WHERE service = ? AND room = ? AND jid = ?', [service, room, jid]);
      return;
    }
    await this.sql.run(
      `INSERT INTO muc_subscriptions (service, room, jid, nick, nodes_json) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (service, room, jid) DO UPDATE SET nick = excluded.nick, nodes_json = excluded.nodes_json`,
      [service, room, jid, sub.nick, JSON.stringify(sub.nodes)],
    );
  }

  async registerNick(service: string, jid: string, nick: string): Promise<'ok' | 'taken'> {
    return this.sql.atomic(async (tx) => {
      await tx.lock(`muc_nicks:${service}`);
      const owner = await tx.get<{ jid: string }>('SELECT jid FROM muc_nicks WHERE service = ? AND nick = ?', [service, nick]);
      if (owner && owner.jid !== jid) return 'taken';
      await tx.run('DELETE FROM muc_nicks WHERE service = ? AND jid = ?', [service, jid]);
      await tx.run('INSERT INTO muc_nicks (service, jid, nick) VALUES (?, ?, ?)', [service, jid, nick]);
      return 'ok';
    });
  }

  async unregisterNick(service: string, jid: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM muc_nicks WHERE service = ? AND jid = ?', [service, jid])) > 0;
  }

  async nickOf(service: string, jid: string): Promise<string | undefined> {
    return (await this.sql.get<{ nick: string }>('SELECT nick FROM muc_nicks WHERE service = ? AND jid = ?', [service, jid]))?.nick;
  }

  async nickOwner(service: string, nick: string): Promise<string | undefined> {
    return (await this.sql.get<{ jid: string }>('SELECT jid FROM muc_nicks WHERE service = ? AND nick = ?', [service, nick]))?.jid;
  }

  async removeAccount(jid: string): Promise<void> {
    await this.sql.run('DELETE FROM muc_affiliations WHERE jid = ?', [jid]);
    await this.sql.run('DELETE FROM muc_nicks WHERE jid = ?', [jid]);
    await this.sql.run('DELETE FROM muc_subscriptions WHERE jid = ?', [jid]);
  }
}
