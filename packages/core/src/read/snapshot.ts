import { decodeUtf8OrUndefined } from '../codec/utf8.js';
import type { InstanceInfo, InstanceStatus } from '../record.js';

/**
 * A service's snapshot: what one reader decoded of it, sealed by the codec with the registry's secret
 * and kept in the store beside the records (`RegistryStore.putSnapshot`), so the next cold reader
 * decrypts one value instead of one per record. It vouches for ciphertexts, not for records: a reader
 * uses an entry only for a record the store lists at that moment whose ciphertext bears the entry's
 * mark, so a record that left never comes back and one whose content changed is decoded afresh.
 *
 * The plaintext is lines of JSON, laid out for a fast read of 10,000 records and more. The first is
 * `{"v":3,"at":<store ms>,"n":<rows>}`; each further line is a chunk of rows,
 * `{"d":[<shared values>],"k":"<marks and MACs>","r":[<row>, <row>, ...]}`, each row 11 values of one
 * flat array: `id, markLength, macLength, expiresIn, status, endpoints, ipv4, port, publicUrl, created,
 * meta`. `endpoints`, `publicUrl`, `created` and `meta` are indexes into the chunk's `d`, which holds
 * each distinct value once (a service's instances mostly share their endpoints, URL and meta).
 * `expiresIn` is the record's expiry less `at`. `k` holds every row's ciphertext mark followed by the
 * expiry MAC the writer checked (of that expiry; none, length 0, when it held that record's expiry
 * unchecked, `expiryCheck: 'halfway'`), row after row, compared in place. Against an array and three
 * objects per row, the snapshot of a 10,000-instance service is less than half as long, and parsing it
 * allocates two strings per row, not a dozen objects: that parse is what a cold find pays before its
 * first record.
 *
 * Chunks keep every string a reader makes of a snapshot short: V8 puts a string longer than 128 KiB in
 * its large-object space, and on Node 20 making one costs half a millisecond and more whatever its
 * length (a 1,000-instance snapshot's plaintext is 130 KiB). So the plaintext is read from its bytes
 * line by line (`parseSnapshot`), never as one string.
 */
export const SNAPSHOT_VERSION = 3;
/** A service with fewer live records than this is decoded record by record, and gets no snapshot. */
export const SNAPSHOT_MIN_RECORDS = 64;
/** A cold find that took less than this share of its records from the snapshot writes a new one. */
export const SNAPSHOT_STALE_SHARE = 0.9;
/** A snapshot lives this many record ttls: older, nearly every entry would need its MAC checked anyway. */
export const SNAPSHOT_TTLS = 10;
/** A chunk ends once it holds this many rows, or about this many characters (`CHUNK_CHARS`). */
const CHUNK_ROWS = 512;
/** Well under 128 KiB, so a chunk's line and its `k` stay ordinary strings. */
const CHUNK_CHARS = 48 * 1024;
/** Characters of a row's values other than its strings, about (ids, numbers, commas). */
const ROW_CHARS = 48;
const NEWLINE = 10;

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

/** One chunk as read: its shared values, its marks and MACs, its rows' values. */
interface Chunk {
  readonly shared: readonly unknown[];
  readonly text: string;
  readonly flat: readonly unknown[];
}

/**
 * A snapshot as read: its rows by instance id, each read in place from the parsed arrays (no object
 * per row until a record takes it). A row is a number `rowOf` hands out; the other methods take it.
 */
export class Snapshot {
  /** Store time when it was written. */
  readonly at: number;
  readonly #rows: ReadonlyMap<string, number>;
  readonly #chunks: readonly Chunk[];
  /** By row: its chunk, where its values start in the chunk's `flat`, where its mark starts in `text`. */
  readonly #chunkOf: Int32Array;
  readonly #valuesAt: Int32Array;
  readonly #markAt: Int32Array;

  constructor(
    at: number,
    rows: ReadonlyMap<string, number>,
    chunks: readonly Chunk[],
    chunkOf: Int32Array,
    valuesAt: Int32Array,
    markAt: Int32Array,
  ) {
    this.at = at;
    this.#rows = rows;
    this.#chunks = chunks;
    this.#chunkOf = chunkOf;
    this.#valuesAt = valuesAt;
    this.#markAt = markAt;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** The row of instance `id`, or -1 when the snapshot has none. */
  rowOf(id: string): number {
    return this.#rows.get(id) ?? -1;
  }

  #flat(row: number): readonly unknown[] {
    return (this.#chunks[this.#chunkOf[row] as number] as Chunk).flat;
  }

  #value(row: number, at: number): unknown {
    return this.#flat(row)[(this.#valuesAt[row] as number) + at];
  }

  #shared(row: number, at: number): unknown {
    const chunk = this.#chunks[this.#chunkOf[row] as number] as Chunk;
    return chunk.shared[chunk.flat[(this.#valuesAt[row] as number) + at] as number];
  }

  /** The text the row's mark and MAC sit in (`markStart` and so on say where). */
  textOf(row: number): string {
    return (this.#chunks[this.#chunkOf[row] as number] as Chunk).text;
  }

  /** Where the row's mark starts in `textOf(row)`; it ends where its MAC starts. */
  markStart(row: number): number {
    return this.#markAt[row] as number;
  }

  macStart(row: number): number {
    return this.markStart(row) + (this.#value(row, MARK_LENGTH) as number);
  }

  /** Where the row's MAC ends: at `macStart` when the writer checked none. */
  macEnd(row: number): number {
    return this.macStart(row) + (this.#value(row, MAC_LENGTH) as number);
  }

  expiresAt(row: number): number {
    return this.at + (this.#value(row, EXPIRES_AT) as number);
  }

  status(row: number): InstanceStatus {
    return this.#value(row, STATUS) as InstanceStatus;
  }

  /** A new info object per call (its shared parts are shared: treat them as read-only, as typed). */
  info(row: number): InstanceInfo {
    const chunk = this.#chunks[this.#chunkOf[row] as number] as Chunk;
    const { flat, shared } = chunk;
    const at = this.#valuesAt[row] as number;
    return {
      endpoints: shared[flat[at + ENDPOINTS] as number] as readonly string[],
      ipv4: flat[at + IPV4] as string | null,
      port: flat[at + PORT] as number,
      publicUrl: shared[flat[at + PUBLIC_URL] as number] as string,
      created: shared[flat[at + CREATED] as number] as string,
    };
  }

  meta(row: number): Readonly<Record<string, string>> {
    return this.#shared(row, META) as Readonly<Record<string, string>>;
  }

  /** Instance `id`'s entry, whole; undefined when the snapshot has none. */
  entry(id: string): SnapshotEntry | undefined {
    const row = this.rowOf(id);
    if (row < 0) return undefined;
    const text = this.textOf(row);
    const macStart = this.macStart(row);
    const macEnd = this.macEnd(row);
    return {
      mark: text.slice(this.markStart(row), macStart),
      mac: macEnd === macStart ? null : text.slice(macStart, macEnd),
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
  /** Characters of the values' JSON, about. */
  chars = 0;
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
      this.chars += json.length + 1;
    }
    this.#byValue.set(value, index);
    return index;
  }
}

export function serializeSnapshot(at: number, entries: Iterable<[string, SnapshotEntry]>): string {
  const lines: string[] = [];
  let rowCount = 0;
  let shared = new SharedValues();
  let rows: unknown[] = [];
  let text: string[] = [];
  let chars = 0;
  const flush = () => {
    if (rows.length === 0) return;
    lines.push(JSON.stringify({ d: shared.values, k: text.join(''), r: rows }));
    shared = new SharedValues();
    rows = [];
    text = [];
    chars = 0;
  };
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
    rowCount++;
    chars += id.length + mark.length + (mac?.length ?? 0) + (info.ipv4?.length ?? 0) + ROW_CHARS;
    if (rows.length >= CHUNK_ROWS * WIDTH || chars + shared.chars >= CHUNK_CHARS) flush();
  }
  flush();
  return [JSON.stringify({ v: SNAPSHOT_VERSION, at, n: rowCount }), ...lines].join('\n');
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

/** The JSON of `bytes` from `start` to `end` (UTF-8), or undefined when it is not UTF-8 or not JSON. */
function parseLine(bytes: Uint8Array, start: number, end: number): unknown {
  const text = decodeUtf8OrUndefined(bytes.subarray(start, end));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A chunk's rows checked and indexed into the tables of `parseSnapshot`; false when malformed. */
function readChunk(
  chunk: Chunk,
  index: number,
  rows: Map<string, number>,
  tables: { chunkOf: Int32Array; valuesAt: Int32Array; markAt: Int32Array },
): boolean {
  const { shared, text, flat } = chunk;
  const kinds = Uint8Array.from(shared, kindOf);
  let at = 0;
  for (let values = 0; values < flat.length; values += WIDTH) {
    const id = flat[values + ID];
    const markLength = flat[values + MARK_LENGTH];
    const macLength = flat[values + MAC_LENGTH];
    const ipv4 = flat[values + IPV4];
    const row = rows.size;
    if (
      row >= tables.chunkOf.length ||
      typeof id !== 'string' ||
      rows.has(id) ||
      !isLength(markLength) ||
      !isLength(macLength) ||
      typeof flat[values + EXPIRES_AT] !== 'number' ||
      typeof flat[values + STATUS] !== 'string' ||
      (ipv4 !== null && typeof ipv4 !== 'string') ||
      typeof flat[values + PORT] !== 'number' ||
      !refersTo(kinds, flat, values + ENDPOINTS, STRINGS) ||
      !refersTo(kinds, flat, values + PUBLIC_URL, STRING) ||
      !refersTo(kinds, flat, values + CREATED, STRING) ||
      !refersTo(kinds, flat, values + META, STRING_MAP)
    ) {
      return false;
    }
    rows.set(id, row);
    tables.chunkOf[row] = index;
    tables.valuesAt[row] = values;
    tables.markAt[row] = at;
    at += (markLength as number) + (macLength as number);
  }
  return at === text.length;
}

/**
 * The snapshot in `bytes` (its plaintext, UTF-8), or undefined when it is not one this release writes
 * (another version, or a shape it does not know). Rows are checked for shape only: the codec
 * authenticated the whole, so they are what a holder of the secret wrote, and that writer took them
 * from records it validated. Read line by line: no string as long as the whole (see the top).
 */
export function parseSnapshot(bytes: Uint8Array): Snapshot | undefined {
  let end = bytes.indexOf(NEWLINE);
  if (end < 0) end = bytes.length;
  const head = parseLine(bytes, 0, end);
  if (!isObject(head) || head.v !== SNAPSHOT_VERSION || typeof head.at !== 'number') return undefined;
  const count = head.n;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > bytes.length)
    return undefined;
  const rows = new Map<string, number>();
  const tables = {
    chunkOf: new Int32Array(count),
    valuesAt: new Int32Array(count),
    markAt: new Int32Array(count),
  };
  const chunks: Chunk[] = [];
  while (end < bytes.length) {
    const start = end + 1;
    end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    const line = parseLine(bytes, start, end);
    if (!isObject(line)) return undefined;
    const { d: shared, k: text, r: flat } = line;
    if (
      !Array.isArray(shared) ||
      typeof text !== 'string' ||
      !Array.isArray(flat) ||
      flat.length === 0 ||
      flat.length % WIDTH !== 0
    )
      return undefined;
    const chunk: Chunk = { shared, text, flat };
    if (!readChunk(chunk, chunks.length, rows, tables)) return undefined;
    chunks.push(chunk);
  }
  if (rows.size !== count) return undefined;
  return new Snapshot(head.at, rows, chunks, tables.chunkOf, tables.valuesAt, tables.markAt);
}
