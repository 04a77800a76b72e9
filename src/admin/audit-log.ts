import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditStore } from './audit.js';

type NewEntry = Parameters<AuditLog['record']>[0];
type Pending = Omit<AuditEntry, 'id'>;

const MAX_DETAILS = 2000;
const MAX_FIELD = 512;
const DAY_MS = 86_400_000;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Argument names whose values never reach the audit log. */
const SECRET_NAME = /pass|secret|token|credential|private|^key$|api_?key|authorization|cookie/i;
const MAX_VALUE = 200;

function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cut(value, MAX_VALUE);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '…';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME.test(k) ? '(redacted)' : redact(v, depth + 1);
  return out;
}

/**
 * A command's arguments (or a request's parameters) as an entry's details: JSON, with the values of
 * secret-named arguments (passwords, tokens, secrets, keys) replaced, long values cut.
 */
export function auditDetails(args: Readonly<Record<string, unknown>> | readonly (readonly [string, unknown])[]): string {
  const obj = Array.isArray(args) ? Object.fromEntries(args as [string, unknown][]) : (args as Record<string, unknown>);
  return cut(JSON.stringify(redact(obj, 0)) ?? '', MAX_DETAILS);
}

/** `file` inside `dataDir` (relative to it, or absolute below it); elsewhere is a configuration error. */
export function auditFilePath(dataDir: string, file: string): string {
  const root = resolve(dataDir);
  const path = resolve(root, file);
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) || file.includes('\0')) {
    throw new ConfigError(`invalid config:\n  audit.file: ${JSON.stringify(file)} is not a file inside dataDir (${root})`);
  }
  return path;
}

/**
 * The audit log of a node: `record` only queues the entry (and appends it to the file, when one is
 * configured); the queue is written in batches right after, off the admin call's path, so an
 * admin call neither waits for the database nor fails with it. A periodic trim keeps the table to
 * `audit.maxEntries` and `audit.maxAgeDays`.
 */
export class AuditRecorder implements AuditLog {
  private pending: Pending[] = [];
  private writing?: Promise<void>;
  private scheduled = false;
  private dropped = 0;
  private file?: WriteStream;
  private trimTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: AuditStore,
    private readonly config: Config['audit'],
    private readonly log: Logger,
    filePath?: string,
  ) {
    if (filePath !== undefined) {
      mkdirSync(dirname(filePath), { recursive: true, mode: 0o750 });
      const file = createWriteStream(filePath, { flags: 'a', mode: 0o600 });
      file.on('error', (err) => {
        this.log.error({ err, file: filePath }, 'audit file cannot be written; entries go to the database only');
        if (this.file === file) this.file = undefined;
      });
      this.file = file;
    }
    this.trimTimer = setInterval(() => void this.trim(), config.trimIntervalSeconds * 1000);
    this.trimTimer.unref();
  }

  record(entry: NewEntry): void {
    try {
      if (!this.config.enabled || this.closed) return;
      const e: Pending = {
        at: entry.at ?? Date.now(),
        surface: entry.surface,
        who: cut(String(entry.who ?? ''), MAX_FIELD),
        from: cut(String(entry.from ?? ''), MAX_FIELD),
        action: cut(String(entry.action ?? ''), MAX_FIELD),
        details: cut(String(entry.details ?? ''), MAX_DETAILS),
        result: cut(String(entry.result ?? ''), MAX_FIELD),
      };
      if (this.file) this.file.write(`${JSON.stringify({ time: new Date(e.at).toISOString(), ...e })}\n`);
      if (this.pending.length >= this.config.maxPending) {
        if (this.dropped++ === 0) this.log.warn({ maxPending: this.config.maxPending }, 'audit entries are recorded faster than they are written: dropping (audit.maxPending)');
        return;
      }
      this.pending.push(e);
      this.schedule();
    } catch (err) {
      this.log.error({ err }, 'audit entry not recorded');
    }
  }

  /** Writes what is queued; resolves once everything recorded before the call is written (or given up). */
  async flush(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (this.writing) await this.writing;
      else this.writeBatch();
    }
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    // What was recorded before the question is part of the answer.
    await this.flush();
    return this.store.query(q);
  }

  /** Removes entries past `audit.maxEntries` and `audit.maxAgeDays`; returns how many went. */
  async trim(): Promise<number> {
    try {
      await this.flush();
      const before = this.config.maxAgeDays > 0 ? Date.now() - this.config.maxAgeDays * DAY_MS : 0;
      return await this.store.trim(this.config.maxEntries, before);
    } catch (err) {
      this.log.error({ err }, 'audit log trim failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.trimTimer);
    await this.flush();
    const file = this.file;
    this.file = undefined;
    if (file) await new Promise<void>((r) => file.end(() => r()));
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // Everything recorded in this turn of the event loop goes in one batch.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.writing) this.writeBatch();
    });
  }

  private writeBatch(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.writing = this.store
      .append(batch)
      .then(() => {
        if (this.dropped > 0) {
          this.log.warn({ dropped: this.dropped }, 'audit entries dropped (audit.maxPending)');
          this.dropped = 0;
        }
      })
      .catch((err: unknown) => {
        this.log.error({ err, entries: batch.length }, 'audit entries could not be written');
      })
      .finally(() => {
        this.writing = undefined;
        if (this.pending.length > 0) this.schedule();
      });
  }
}
