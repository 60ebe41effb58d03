import { RegistryError } from './errors.js';
import type { RecordRef } from './store.js';
import { MAX_ENDPOINTS, MAX_META_ENTRIES } from './validate.js';

/** What an instance reports about its health; only `down` instances are left out of the url map. */
export type InstanceStatus = 'starting' | 'up' | 'draining' | 'down';
export const INSTANCE_STATUSES: readonly InstanceStatus[] = ['starting', 'up', 'draining', 'down'];

/** The seed's `info` block, camelCased. */
export interface InstanceInfo {
  readonly endpoints: readonly string[];
  readonly ipv4: string | null;
  readonly port: number;
  readonly publicUrl: string;
  /** UTC time of registration, `YYYY-MM-DDTHH:MM:SS` without a zone, as the seed writes it. */
  readonly created: string;
}

/** One registered instance, as `get()` and `find()` return it. */
export interface Instance {
  readonly name: string;
  readonly id: string;
  readonly info: InstanceInfo;
  readonly status: InstanceStatus;
  readonly meta: Readonly<Record<string, string>>;
  /**
   * When the record stops counting as alive, in ms since the epoch; `null` for records without one
   * (those written by Python apicrud).
   */
  readonly expiresAt: number | null;
}

/** Version of the plaintext format this project writes. */
export const RECORD_FORMAT_VERSION = 1;

/** The stored JSON: the seed's field names plus this project's, so apicrud readers still parse it. */
interface RecordJson {
  endpoints: string[];
  ipv4: string | null;
  port: number;
  public_url: string;
  created: string;
  status?: InstanceStatus;
  meta?: Record<string, string>;
  expires_at?: number;
  name?: string;
  id?: string;
  v?: number;
  /** The writing process's random token: two live writers of one key tell each other apart by it. */
  owner?: string;
}

/** Longest owner token a reader accepts. */
const MAX_OWNER_LENGTH = 64;

export function recordKey(ref: RecordRef): string {
  return `${ref.namespace}:${ref.service}:${ref.instanceId}`;
}

/**
 * The plaintext a registry writes. `native`: every field and the format version. `apicrud`: what
 * Python apicrud's `find` returns unchanged: the seed's five fields, then `name` and `id` (apicrud
 * overwrites both from the key, so its result equals that of its own records, while our reader rejects
 * a value copied to another key: the apicrud codec cannot bind a value to its key), then `expires_at`
 * (ms since the epoch; apicrud returns it as an extra field, our reader drops the record once it has
 * passed, so a captured value cannot be replayed past its expiry even where the store's `EX` is
 * rewritten), then `status` and `meta` only when not the defaults (apicrud ignores them). No `v`:
 * records written by Python apicrud carry no `expires_at` either, and the reader accepts both. ASCII
 * only, escaped as Python's `json.dumps` does.
 */
export function serializeRecord(
  instance: Instance,
  format: 'native' | 'apicrud' = 'native',
  owner?: string,
): string {
  if (format === 'apicrud') return serializeApicrudRecord(instance);
  const json: RecordJson = {
    endpoints: [...instance.info.endpoints],
    ipv4: instance.info.ipv4,
    port: instance.info.port,
    public_url: instance.info.publicUrl,
    created: instance.info.created,
    status: instance.status,
    meta: { ...instance.meta },
    name: instance.name,
    id: instance.id,
    v: RECORD_FORMAT_VERSION,
  };
  if (instance.expiresAt !== null) json.expires_at = instance.expiresAt;
  if (owner !== undefined) json.owner = owner;
  return JSON.stringify(json);
}

function serializeApicrudRecord(instance: Instance): string {
  const json: RecordJson = {
    endpoints: [...instance.info.endpoints],
    ipv4: instance.info.ipv4,
    port: instance.info.port,
    public_url: instance.info.publicUrl,
    created: instance.info.created,
    name: instance.name,
    id: instance.id,
  };
  if (instance.expiresAt !== null) json.expires_at = instance.expiresAt;
  if (instance.status !== 'up') json.status = instance.status;
  if (Object.keys(instance.meta).length > 0) json.meta = { ...instance.meta };
  return JSON.stringify(json).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function reject(reason: string): never {
  throw new RegistryError('invalid-record', reason);
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * Parses a decrypted record and checks it belongs at `ref`. Records of this project's native format
 * (with `v`) must carry their own expiry; apicrud-format records may carry `expires_at`, `name` and `id`
 * (our registry writes them) or not (Python apicrud writes none), and whatever they carry is checked.
 * `besideExpiresAt`: the authenticated expiry a codec carried beside the ciphertext (gcm `g2`); the
 * JSON must then hold none.
 */
export function parseRecord(plaintext: string, ref: RecordRef, besideExpiresAt?: number): Instance {
  let json: unknown;
  try {
    json = JSON.parse(plaintext);
  } catch {
    reject('not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) reject('not a JSON object');
  const record = json as Partial<Record<keyof RecordJson, unknown>>;
  const { endpoints, ipv4, port, public_url: publicUrl, created } = record;
  if (!isStringArray(endpoints) || endpoints.length > MAX_ENDPOINTS) reject('bad endpoints');
  if (ipv4 !== null && typeof ipv4 !== 'string') reject('bad ipv4');
  if (typeof port !== 'number' || !Number.isInteger(port)) reject('bad port');
  if (typeof publicUrl !== 'string') reject('bad public_url');
  if (typeof created !== 'string') reject('bad created');

  const native = record.v !== undefined;
  // Reasons reach logs and events: never echo decrypted content, only its type.
  if (native && record.v !== RECORD_FORMAT_VERSION)
    reject(
      `unknown format version ${typeof record.v === 'number' ? record.v : `of type ${typeof record.v}`}`,
    );
  const status = record.status ?? 'up';
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) reject('bad status');
  const meta = record.meta ?? {};
  if (
    typeof meta !== 'object' ||
    meta === null ||
    Array.isArray(meta) ||
    Object.keys(meta).length > MAX_META_ENTRIES ||
    !Object.values(meta).every((item) => typeof item === 'string')
  ) {
    reject('bad meta');
  }
  if (besideExpiresAt !== undefined && record.expires_at !== undefined) reject('two expiries');
  const expiresAt = besideExpiresAt ?? record.expires_at ?? null;
  if (expiresAt !== null && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)))
    reject('bad expires_at');
  if (native && expiresAt === null) reject('missing expires_at');
  // The codec may not bind a value to its key (apicrud's does not), so the identity inside must match.
  const { owner } = record;
  if (
    owner !== undefined &&
    (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH)
  )
    reject('bad owner');
  if (record.name !== undefined && record.name !== ref.service) reject('record names another service');
  if (record.id !== undefined && record.id !== ref.instanceId) reject('record names another instance');

  return {
    name: ref.service,
    id: ref.instanceId,
    info: { endpoints, ipv4: ipv4 as string | null, port, publicUrl, created },
    status: status as InstanceStatus,
    meta: meta as Record<string, string>,
    expiresAt: expiresAt as number | null,
  };
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, the seed's `created` format. */
export function formatCreated(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}
