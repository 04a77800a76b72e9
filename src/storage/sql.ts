/**
 * One connection's way to run SQL. Statements use `?` placeholders (PostgreSQL's runner numbers
 * them). Bound either to the storage (each statement on its own, outside any open transaction)
 * or to one transaction.
 */
export interface Sql {
  /**
   * Appended to an ORDER BY column of a table from before `{{bytetext}}`, to order it byte-wise
   * (SQLite's default; PostgreSQL's "C" collation, whatever the database's locale).
   */
  readonly bytewise: '' | ' COLLATE "C"';
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  get<R>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` in one transaction (a savepoint when this is already inside one). */
  atomic<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Inside `atomic`: writers that take the same key take turns until their transaction ends
   * (PostgreSQL: an advisory lock; SQLite: nothing to do, a write transaction is exclusive).
   */
  lock(key: string): Promise<void>;
}
