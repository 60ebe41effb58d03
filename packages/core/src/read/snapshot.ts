import type { InstanceInfo, InstanceStatus } from '../record.js';

/**
 * A service's snapshot: what one reader decoded of it, sealed by the codec with the registry's secret
 * and kept in the store beside the records (`RegistryStore.putSnapshot`), so the next cold reader
 * decrypts one value instead of one per record. It vouches for ciphertexts, not for records: a reader
 * uses an entry only for a record the store lists at that moment whose ciphertext bears the entry's
 * mark, so a record that left never comes back and one whose content changed is decoded afresh.
 *
 * The plaintext is JSON, laid out for a fast read of 10,000 records and more:
 * `{"v":2,"at":<store ms>,"d":[<shared values>],"k":"<marks and MACs>","r":[<row>, <row>, ...]}`, each
 * row 11 values of one flat array: `id, markLength, macLength, expiresIn, status, endpoints, ipv4, port,
 * publicUrl, created, meta`. `endpoints`, `publicUrl`, `created` and `meta` are indexes into `d`, which
 * holds each distinct value once (a service's instances mostly share their endpoints, URL and meta).
 * `expiresIn` is the record's expiry less `at`. `k` holds every row's ciphertext mark followed by the
 * expiry MAC the writer checked (of that expiry; none, length 0, when it held that record's expiry unchecked, `expiryCheck: 'halfway'`),
 * row after row, compared in place. Against an array and three objects per row, the snapshot of a
 * 10,000-instance service is less than half as long, and parsing it allocates two strings per row, not
 * a dozen objects: that parse is what a cold find pays before its first record.
 */
export const SNAPSHOT_VERSION = 2;
/** A service with fewer live records than this is decoded record by record, and gets no snapshot. */
export const SNAPSHOT_MIN_RECORDS = 64;
/** A cold find that took less than this share of its records from the snapshot writes a new one. */
export const SNAPSHOT_STALE_SHARE = 0.9;
/** A snapshot lives this many record ttls: older, nearly every entry would need its MAC checked anyway. */
export const SNAPSHOT_TTLS = 10;

/** Values per row, and where each sits in it. */
const WIDTH = 11;
const ID = 0;
const MARK_LENGTH = 1;
const MAC_LENGTH = 2;
const EXPIRES_AT = 3;
const STATUS = 4;
const ENDPOINTS = 5;
const IPV4 = 6;
const PORT = 7;
const PUBLIC_URL = 8;
const CREATED = 9;
const META = 10;

/** One record as a snapshot's writer hands it over. */
export interface SnapshotEntry {
  readonly mark: string;
  /** The expiry MAC the writer checked, of `expiresAt`; null when it did not check one. */
  readonly mac: string | null;
  /** The expiry the writer authenticated (ms, store time). */
  readonly expiresAt: number;
  readonly info: InstanceInfo;
  readonly status: InstanceStatus;
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * A snapshot as read: its rows by instance id, each read in place from the parsed arrays (no object
 * per row until a record takes it).
 */
export class Snapshot {
  /** Store time when it was written. */
  readonly at: number;
  /** Every row's mark and MAC, one after the other (`markStart` and so on say where). */
  readonly text: string;
  readonly #rows: ReadonlyMap<string, number>;
  readonly #flat: readonly unknown[];
  readonly #shared: readonly unknown[];
  /** Where each row's mark starts in `text`, by row number; one more at the end. */
  readonly #starts: Int32Array;

  constructor(
    at: number,
    text: string,
    rows: ReadonlyMap<string, number>,
    flat: readonly unknown[],
    shared: readonly unknown[],
    starts: Int32Array,
  ) {
    this.at = at;
    this.text = text;
    this.#rows = rows;
    this.#flat = flat;
    this.#shared = shared;
    this.#starts = starts;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** The row of instance `id`, or -1 when the snapshot has none. */
  rowOf(id: string): number {
    return this.#rows.get(id) ?? -1;
  }

  /** Where the row's mark starts in `text`; it ends where its MAC starts. */
  markStart(row: number): number {
    return this.#starts[row / WIDTH] as number;
  }

  macStart(row: number): number {
    return this.markStart(row) + (this.#flat[row + MARK_LENGTH] as number);
  }

  /** Where the row's MAC ends in `text`: at `macStart` when the writer checked none. */
  macEnd(row: number): number {
    return this.#starts[row / WIDTH + 1] as number;
  }

  expiresAt(row: number): number {
    return this.at + (this.#flat[row + EXPIRES_AT] as number);
  }

  status(row: number): InstanceStatus {
    return this.#flat[row + STATUS] as InstanceStatus;
  }

  /** A new info object per call (its shared parts are shared: treat them as read-only, as typed). */
  info(row: number): InstanceInfo {
    const flat = this.#flat;
    const shared = this.#shared;
    return {
      endpoints: shared[flat[row + ENDPOINTS] as number] as readonly string[],
      ipv4: flat[row + IPV4] as string | null,
      port: flat[row + PORT] as number,
      publicUrl: shared[flat[row + PUBLIC_URL] as number] as string,
      created: shared[flat[row + CREATED] as number] as string,
    };
  }

  meta(row: number): Readonly<Record<string, string>> {
    return this.#shared[this.#flat[row + META] as number] as Readonly<Record<string, string>>;
  }

  /** Instance `id`'s entry, whole; undefined when the snapshot has none. */
  entry(id: string): SnapshotEntry | undefined {
    const row = this.rowOf(id);
    if (row < 0) return undefined;
    const macStart = this.macStart(row);
    const macEnd = this.macEnd(row);
    return {
      mark: this.text.slice(this.markStart(row), macStart),
      mac: macEnd === macStart ? null : this.text.slice(macStart, macEnd),
      expiresAt: this.expiresAt(row),
      info: this.info(row),
      status: this.status(row),
      meta: this.meta(row),
    };
  }
}

/** What the codec binds a snapshot to: its namespace and service (no record key is this). */
export function snapshotName(namespace: string, service: string): string {
  return `${namespace}:${service}`;
}

/** Hands out one index per distinct value: by identity first, else by its JSON. */
class SharedValues {
  readonly values: unknown[] = [];
  readonly #byValue = new Map<unknown, number>();
  readonly #byJson = new Map<string, number>();

  indexOf(value: unknown): number {
    let index = this.#byValue.get(value);
    if (index !== undefined) return index;
    const json = JSON.stringify(value);
    index = this.#byJson.get(json);
    if (index === undefined) {
      index = this.values.length;
      this.values.push(value);
      this.#byJson.set(json, index);
    }
    this.#byValue.set(value, index);
    return index;
  }
}

export function serializeSnapshot(at: number, entries: Iterable<[string, SnapshotEntry]>): string {
  const shared = new SharedValues();
  const rows: unknown[] = [];
  const text: string[] = [];
  for (const [id, entry] of entries) {
    const { info, mark, mac } = entry;
    text.push(mark, mac ?? '');
    rows.push(
      id,
      mark.length,
      mac?.length ?? 0,
      // From `at`: a small integer, where the expiry itself would be a boxed double per row to parse.
      entry.expiresAt - at,
      entry.status,
      shared.indexOf(info.endpoints),
      info.ipv4,
      info.port,
      shared.indexOf(info.publicUrl),
      shared.indexOf(info.created),
      shared.indexOf(entry.meta),
    );
  }
  return JSON.stringify({ v: SNAPSHOT_VERSION, at, d: shared.values, k: text.join(''), r: rows });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a shared value may be, as a row refers to it. */
const STRING = 1;
const STRINGS = 2;
const STRING_MAP = 3;

function kindOf(value: unknown): number {
  if (typeof value === 'string') return STRING;
  if (Array.isArray(value)) return value.every((item) => typeof item === 'string') ? STRINGS : 0;
  if (isObject(value)) return Object.values(value).every((item) => typeof item === 'string') ? STRING_MAP : 0;
  return 0;
}

const isLength = (value: unknown): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1024;

/** Whether `flat[at]` is an index of a shared value of `kind`. */
function refersTo(kinds: Uint8Array, flat: readonly unknown[], at: number, kind: number): boolean {
  const index = flat[at];
  return typeof index === 'number' && kinds[index] === kind && Number.isInteger(index);
}

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
  const { d: shared, k: text, r: flat } = parsed;
  if (!Array.isArray(shared) || typeof text !== 'string' || !Array.isArray(flat) || flat.length % WIDTH !== 0)
    return undefined;
  const kinds = Uint8Array.from(shared, kindOf);
  const rows = new Map<string, number>();
  const starts = new Int32Array(flat.length / WIDTH + 1);
  let at = 0;
  for (let row = 0; row < flat.length; row += WIDTH) {
    const id = flat[row + ID];
    const markLength = flat[row + MARK_LENGTH];
    const macLength = flat[row + MAC_LENGTH];
    const ipv4 = flat[row + IPV4];
    if (
      typeof id !== 'string' ||
      !isLength(markLength) ||
      !isLength(macLength) ||
      typeof flat[row + EXPIRES_AT] !== 'number' ||
      typeof flat[row + STATUS] !== 'string' ||
      (ipv4 !== null && typeof ipv4 !== 'string') ||
      typeof flat[row + PORT] !== 'number' ||
      !refersTo(kinds, flat, row + ENDPOINTS, STRINGS) ||
      !refersTo(kinds, flat, row + PUBLIC_URL, STRING) ||
      !refersTo(kinds, flat, row + CREATED, STRING) ||
      !refersTo(kinds, flat, row + META, STRING_MAP)
    ) {
      return undefined;
    }
    rows.set(id, row);
    at += (markLength as number) + (macLength as number);
    starts[row / WIDTH + 1] = at;
  }
  if (at !== text.length) return undefined;
  return new Snapshot(parsed.at, text, rows, flat, shared, starts);
}
