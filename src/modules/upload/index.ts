import { defineModule } from '../module.js';
import { UploadService } from './service.js';

export { UploadService, NS_UPLOAD } from './service.js';
export type { UploadSlot, UploadStore } from './store.js';

declare module '../module.js' {
  interface ServiceMap {
    upload: UploadService;
  }
}

/** HTTP File Upload (XEP-0363) on upload.<host>, when `upload.enabled`. */
export const uploadModule = defineModule({
  name: 'upload',
  summary: 'HTTP File Upload (XEP-0363)',
  dependencies: ['accounts', 'disco'],
  stores: ({ storage }) => storage.uploads,
  setup: (ctx) => new UploadService(ctx),
});
