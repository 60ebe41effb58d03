import type { InstanceInfo, InstanceStatus } from '../record.js';

/**
 * A service's snapshot: what one reader decoded of it, sealed by the codec with the registry's secret
 * and kept in the store beside the records (`RegistryStore.putSnapshot`), so the next cold reader
 * decrypts one value instead of one per record. It vouches for ciphertexts, not for records: a reader
 * uses an entry only for a record the store lists at that moment whose ciphertext bears the entry's
 * mark, so a record that left never comes back and one whose content changed is decoded afresh.
 *
 * The plaintext is JSON: `{"v":1,"at":<store ms>,"r":[[id, mark, tail, expiresAt, info, status, meta], ...]}`.
 * `tail` is the MAC and expiry characters whose MAC the writer checked (null when it held that record's
 * expiry unchecked, `expiryCheck: 'halfway'`), `expiresAt` the expiry it authenticated.
 */
export const SNAPSHOT_VERSION = 1;
/** A service with fewer live records than this is decoded record by record, and gets no snapshot. */
export const SNAPSHOT_MIN_RECORDS = 64;
/** A cold find that took less than this share of its records from the snapshot writes a new one. */
export const SNAPSHOT_STALE_SHARE = 0.9;
/** A snapshot lives this many record ttls: older, nearly every entry would need its MAC checked anyway. */
export const SNAPSHOT_TTLS = 10;

/** One record as a snapshot holds it. */
export interface SnapshotEntry {
  readonly mark: string;
  /** The MAC and expiry characters whose MAC the writer checked; null when it did not. */
  readonly tail: string | null;
  /** The expiry the writer authenticated (ms, store time). */
  readonly expiresAt: number;
  readonly info: InstanceInfo;
  readonly status: InstanceStatus;
  readonly meta: Readonly<Record<string, string>>;
}

export interface Snapshot {
  /** Store time when it was written. */
  readonly at: number;
  /** By instance id. */
  readonly entries: ReadonlyMap<string, SnapshotEntry>;
}

/** What the codec binds a snapshot to: its namespace and service (no record key is this). */
export function snapshotName(namespace: string, service: string): string {
  return `${namespace}:${service}`;
}

export function serializeSnapshot(at: number, entries: Iterable<[string, SnapshotEntry]>): string {
  const rows: unknown[] = [];
  for (const [id, entry] of entries) {
    rows.push([id, entry.mark, entry.tail, entry.expiresAt, entry.info, entry.status, entry.meta]);
  }
  return JSON.stringify({ v: SNAPSHOT_VERSION, at, r: rows });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The snapshot in `json`, or undefined when it is not one this release writes (another version, or a
 * shape it does not know). Rows are checked for shape only: the codec authenticated the whole, so they
 * are what a holder of the secret wrote, and that writer took them from records it validated.
 */
export function parseSnapshot(json: string): Snapshot | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.v !== SNAPSHOT_VERSION || typeof parsed.at !== 'number') return undefined;
  const rows = parsed.r;
  if (!Array.isArray(rows)) return undefined;
  const entries = new Map<string, SnapshotEntry>();
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 7) return undefined;
    const [id, mark, tail, expiresAt, info, status, meta] = row as unknown[];
    if (
      typeof id !== 'string' ||
      typeof mark !== 'string' ||
      (tail !== null && typeof tail !== 'string') ||
      typeof expiresAt !== 'number' ||
      !isObject(info) ||
      typeof status !== 'string' ||
      !isObject(meta)
    ) {
      return undefined;
    }
    entries.set(id, {
      mark,
      tail,
      expiresAt,
      info: info as unknown as InstanceInfo,
      status: status as InstanceStatus,
      meta: meta as Record<string, string>,
    });
  }
  return { at: parsed.at, entries };
}
