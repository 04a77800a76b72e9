/** A file slot (XEP-0363): reserved by a slot request, filled by one PUT, served by GET until it expires. */
export interface UploadSlot {
  /** Random, unguessable: the path segment of the PUT and GET URLs and the stored file's name. */
  readonly id: string;
  /** The account's bare JID. */
  readonly owner: string;
  /** The file name the client gave (checked: no path separators, no control characters). */
  readonly filename: string;
  /** Bytes: what the PUT's Content-Length must be. */
  readonly size: number;
  readonly contentType: string;
  readonly createdAt: number;
  /** When the PUT completed; undefined while the slot waits for it. */
  readonly uploadedAt: number | undefined;
}

export type ReserveOutcome = 'reserved' | 'over-quota';

/** File slots (migration 7). The quota is checked and applied atomically with the reservation. */
export interface UploadStore {
  /**
   * Reserves the slot unless the owner's uploaded files and live reservations would pass `quota`
   * bytes with it. Reservations made before `staleBefore` and never filled are dropped first.
   */
  reserve(slot: UploadSlot, quota: number, staleBefore: number): Promise<ReserveOutcome>;
  get(id: string): Promise<UploadSlot | undefined>;
  /** Marks the slot filled; false when it was filled already or is gone. */
  markUploaded(id: string, at: number): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  /** The owner's slots (filled or not). */
  list(owner: string): Promise<UploadSlot[]>;
  removeAll(owner: string): Promise<number>;
  /** Slots to purge: files uploaded before `uploadedBefore`, and reservations made before `reservedBefore` never filled. */
  expired(uploadedBefore: number, reservedBefore: number, limit: number): Promise<UploadSlot[]>;
  /** Bytes the owner holds: uploaded files and reservations. */
  usage(owner: string): Promise<number>;
}
