import { defineModule } from '../module.js';
import { BackupService } from './service.js';
import { backupCommands } from './commands.js';

export { BackupService } from './service.js';

declare module '../module.js' {
  interface ServiceMap {
    backup: BackupService;
  }
}

/**
 * Backup, restore, text dumps and SQL exports of the whole database (backup, restore, dump,
 * dump_table, load, export2sql, export_odbc, export2odbc, update_sql), over the storage's
 * whole-database access. A restore tells the features through the `caches-clear` hook (with the tables replaced).
 */
export const backupModule = defineModule({
  name: 'backup',
  summary: 'Backup, restore, text dumps and SQL exports of the whole database',
  dependencies: ['accounts'],
  stores: ({ storage }) => storage.database,
  setup: (ctx) => new BackupService(ctx),
  commands: backupCommands,
});
