import {
  apicrudCodec,
  gcmCodec,
  INSTANCE_STATUSES,
  type Instance,
  type KeyLayout,
  type RecordCodec,
  type RecordRef,
  type RegistryOptions,
  recordKey,
  ServiceRegistry,
  serializeRecord,
  systemClock,
} from '@service-registry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MemoryStore, type MemoryStoreView, memoryStore } from '../src/index.js';

const SECRET = 'fuzz-find-secret-0123456789';
const NAMESPACE = 'fuzz';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const STORE_TTL_MS = 3_600_000;
const SERVICES = ['alpha', 'beta', 'gamma'] as const;
// Store and registry share a frozen clock: the store never expires anything, so a record dies only by
// its own expires_at, as on a store that expires lazily or a replayed value.
const frozenClock = {
  now: () => NOW,
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
};

interface CodecCase {
  readonly label: string;
  readonly options: Partial<RegistryOptions>;
  /** Where the registry of this mode keeps records: apicrud mode uses Python apicrud's key layout. */
  readonly layout: KeyLayout;
  /**
   * Plaintext formats a registry of this mode meets: its own, and for apicrud, Python's (no name, id or
   * expires_at).
   */
  readonly formats: readonly RecordFormat[];
  /** A codec with the registry's secret, to write values as another instance of the cluster would. */
  readonly codec: RecordCodec;
  /**
   * Leading payload bytes whose bit flips go undetected: apicrud's IV, which CBC XORs into the first
   * plaintext block (the malleability SECURITY.md describes). Mutations start after them.
   */
  readonly malleableBytes: number;
}

type RecordFormat = 'native' | 'apicrud' | 'python';

const codecCases: CodecCase[] = [
  {
    label: 'gcm',
    options: { codec: 'gcm' },
    layout: 'native',
    formats: ['native'],
    codec: gcmCodec(SECRET),
    malleableBytes: 0,
  },
  {
    label: 'apicrud',
    options: { mode: 'apicrud' },
    layout: 'apicrud',
    formats: ['native', 'apicrud', 'python'],
    codec: apicrudCodec(SECRET),
    malleableBytes: 16,
  },
];

/** The store as the registry of `codecCase` reads it, for writing raw values. */
const rawView = (store: MemoryStore, codecCase: CodecCase): MemoryStoreView =>
  codecCase.layout === 'native' ? store : store.withLayout(codecCase.layout);

/** A valid record in `format`, and what `find` must make of it. */
function validRecord(instance: Instance, format: RecordFormat): { plaintext: string; expected: Instance } {
  if (format === 'native') return { plaintext: serializeRecord(instance), expected: instance };
  // Everything but the version, the expiry included.
  if (format === 'apicrud') return { plaintext: serializeRecord(instance, 'apicrud'), expected: instance };
  // Python apicrud's own: no expiry, so the store's is the record's only one.
  const { endpoints, ipv4, port, publicUrl, created } = instance.info;
  return {
    plaintext: JSON.stringify({ endpoints, ipv4, port, public_url: publicUrl, created }),
    expected: { ...instance, status: 'up', meta: {}, expiresAt: null },
  };
}

/** `g1.<key id>.` and the payload bytes of a gcm value; an empty head and all bytes for apicrud. */
function splitValue(value: string): { head: string; payload: Buffer } {
  const cut = value.lastIndexOf('.') + 1;
  return { head: value.slice(0, cut), payload: Buffer.from(value.slice(cut), 'base64') };
}

const fields = fc.record({
  service: fc.constantFrom(...SERVICES),
  endpoints: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { maxLength: 4 }),
  ipv4: fc.option(fc.ipV4(), { nil: null }),
  port: fc.integer({ min: 1, max: 65535 }),
  publicUrl: fc.constantFrom('https://api.example.com', 'https://media.example.com', 'http://10.0.0.7:8080'),
  status: fc.constantFrom(...INSTANCE_STATUSES),
  meta: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), {
    maxKeys: 3,
  }),
  ttlLeftMs: fc.integer({ min: 1, max: STORE_TTL_MS }),
  format: fc.nat(),
});
type Fields = typeof fields extends fc.Arbitrary<infer T> ? T : never;

function instanceAt(ref: RecordRef, record: Fields, expiresAt = NOW + record.ttlLeftMs): Instance {
  return {
    name: ref.service,
    id: ref.instanceId,
    info: {
      endpoints: record.endpoints,
      ipv4: record.ipv4,
      port: record.port,
      publicUrl: record.publicUrl,
      created: '2026-11-26T11:59:00',
    },
    status: record.status,
    meta: record.meta,
    expiresAt,
  };
}

// One field of an otherwise valid record, made certainly invalid.
const brokenField = fc.oneof(
  fc.record({
    field: fc.constant('endpoints'),
    value: fc.oneof(
      fc.string(),
      fc.constant(null),
      fc.array(fc.integer(), { minLength: 1 }),
      fc.constant(Array.from({ length: 257 }, (_, index) => `e${index}`)),
    ),
  }),
  fc.record({
    field: fc.constant('ipv4'),
    value: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string())),
  }),
  fc.record({
    field: fc.constant('port'),
    value: fc.oneof(fc.string(), fc.double({ noInteger: true }), fc.constant(null)),
  }),
  fc.record({
    field: fc.constantFrom('public_url', 'created'),
    value: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())),
  }),
  fc.record({
    field: fc.constant('status'),
    value: fc.string().filter((text) => !INSTANCE_STATUSES.includes(text as never)),
  }),
  fc.record({
    field: fc.constant('meta'),
    value: fc.oneof(
      fc.string(),
      fc.array(fc.string()),
      fc.dictionary(fc.string(), fc.integer(), { minKeys: 1, maxKeys: 3 }),
      fc.constant(Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, 'v']))),
    ),
  }),
  fc.record({
    field: fc.constant('expires_at'),
    value: fc.oneof(fc.string(), fc.constant(null), fc.boolean()),
  }),
  fc.record({
    field: fc.constant('v'),
    value: fc.oneof(
      fc.integer().filter((version) => version !== 1),
      fc.string(),
      fc.constant(null),
    ),
  }),
  fc.record({ field: fc.constantFrom('name', 'id'), value: fc.oneof(fc.string(), fc.constant(null)) }),
);

const bytes = fc.uint8Array({ maxLength: 160 });
const nearStart = fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 31 }) }, { weight: 1, arbitrary: fc.nat() });
const badRecord = fc.oneof(
  fc.record({ kind: fc.constant('latin1' as const), bytes }),
  fc.record({ kind: fc.constant('base64' as const), bytes }),
  fc.record({ kind: fc.constant('codec-shaped' as const), bytes }),
  fc.record({ kind: fc.constant('json-text' as const), text: fc.json() }),
  fc.record({
    kind: fc.constant('json-sealed' as const),
    text: fc.oneof(
      fc.json(),
      fc.object().map((value) => JSON.stringify(value)),
    ),
  }),
  fc.record({ kind: fc.constant('schema' as const), broken: brokenField }),
  fc.record({
    kind: fc.constant('truncated' as const),
    keep: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    inBytes: fc.boolean(),
  }),
  // Positions lean to the start, where the IV, the key id and the first plaintext block are.
  fc.record({
    kind: fc.constant('bit-flip' as const),
    position: nearStart,
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('char-flip' as const), position: nearStart, replacement: fc.nat() }),
  fc.record({
    kind: fc.constant('extended' as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 48 }),
  }),
  fc.record({ kind: fc.constant('key-swap' as const), swap: fc.constantFrom('service', 'instance', 'both') }),
  fc.record({ kind: fc.constant('expired' as const), agoMs: fc.integer({ min: 0, max: 10 * 86_400_000 }) }),
);
type BadRecord = typeof badRecord extends fc.Arbitrary<infer T> ? T : never;

const CHAR_FLIP_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=.-_ é\u0000';

/** A value that must be rejected at `ref`, built from a valid record of the same cluster. */
async function badValue(
  bad: BadRecord,
  record: Fields,
  ref: RecordRef,
  codecCase: CodecCase,
): Promise<string> {
  const { codec, malleableBytes } = codecCase;
  const key = recordKey(ref);
  // Either format a registry of this mode writes, both with an expiry, name and id.
  const written = codecCase.formats.includes('apicrud') && record.format % 2 === 1 ? 'apicrud' : 'native';
  const valid = () => codec.encode(serializeRecord(instanceAt(ref, record)), key);
  switch (bad.kind) {
    case 'latin1':
      return Buffer.from(bad.bytes).toString('latin1');
    case 'base64':
      return Buffer.from(bad.bytes).toString('base64');
    case 'codec-shaped': {
      // Passes the format checks, so the bytes reach the cipher.
      const { head } = splitValue(await valid());
      const length = Math.max(32, Math.ceil(bad.bytes.length / 16) * 16);
      const payload = Buffer.alloc(length);
      payload.set(bad.bytes);
      return `${head}${payload.toString('base64')}`;
    }
    case 'json-text':
      return bad.text;
    case 'json-sealed':
      return codec.encode(bad.text, key);
    case 'schema': {
      const json = JSON.parse(serializeRecord(instanceAt(ref, record)));
      let { value } = bad.broken;
      if (bad.broken.field === 'name' && value === ref.service) value = `${ref.service}x`;
      if (bad.broken.field === 'id' && value === ref.instanceId) value = `${ref.instanceId}x`;
      return codec.encode(JSON.stringify({ ...json, [bad.broken.field]: value }), key);
    }
    case 'truncated': {
      const value = await valid();
      if (!bad.inBytes) return value.slice(0, Math.floor(bad.keep * value.length));
      const { head, payload } = splitValue(value);
      return `${head}${payload.subarray(0, Math.floor(bad.keep * payload.length)).toString('base64')}`;
    }
    case 'bit-flip': {
      const { head, payload } = splitValue(await valid());
      const index = malleableBytes + (bad.position % (payload.length - malleableBytes));
      payload[index] = (payload[index] as number) ^ (1 << bad.bit);
      return `${head}${payload.toString('base64')}`;
    }
    case 'char-flip': {
      const value = await valid();
      // 22 base64 characters carry the first 16 bytes (and 4 bits of the 17th).
      const first = malleableBytes === 0 ? 0 : Math.ceil((malleableBytes * 4) / 3);
      const index = first + (bad.position % (value.length - first));
      let replacement = CHAR_FLIP_ALPHABET.charAt(bad.replacement % CHAR_FLIP_ALPHABET.length);
      if (replacement === value.charAt(index)) replacement = replacement === 'A' ? 'B' : 'A';
      return `${value.slice(0, index)}${replacement}${value.slice(index + 1)}`;
    }
    case 'extended': {
      const { head, payload } = splitValue(await valid());
      return `${head}${Buffer.concat([payload, bad.extra]).toString('base64')}`;
    }
    case 'key-swap': {
      // A genuine record of another instance, copied here.
      const from: RecordRef = {
        namespace: ref.namespace,
        service: bad.swap === 'instance' ? ref.service : `${ref.service}-other`,
        instanceId: bad.swap === 'service' ? ref.instanceId : `${ref.instanceId}-other`,
      };
      return codec.encode(serializeRecord(instanceAt(from, record), written), recordKey(from));
    }
    case 'expired':
      return codec.encode(serializeRecord(instanceAt(ref, record, NOW - bad.agoMs), written), key);
  }
}

const byNameThenId = (left: Instance, right: Instance) =>
  left.name === right.name ? (left.id < right.id ? -1 : 1) : left.name < right.name ? -1 : 1;

describe.each(codecCases)('find over valid and bad records ($label codec)', (codecCase) => {
  const registryFor = (store: ReturnType<typeof memoryStore>) =>
    new ServiceRegistry({
      store,
      secret: SECRET,
      namespace: NAMESPACE,
      clock: frozenClock,
      ...codecCase.options,
    });

  it('never throws, returns exactly the valid records and counts every bad one', async () => {
    const formatOf = (record: Fields) =>
      codecCase.formats[record.format % codecCase.formats.length] as RecordFormat;
    const scenario = fc.record({
      valid: fc.array(fields, { maxLength: 4 }),
      bad: fc.array(fc.tuple(badRecord, fields), { minLength: 1, maxLength: 8 }),
      service: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ valid, bad, service }) => {
        const store = memoryStore({ clock: frozenClock });
        const raw = rawView(store, codecCase);
        const expected: Instance[] = [];
        for (const [index, record] of valid.entries()) {
          const ref = { namespace: NAMESPACE, service: record.service, instanceId: `ok-${index}` };
          const { plaintext, expected: instance } = validRecord(instanceAt(ref, record), formatOf(record));
          raw.putRaw(ref, await codecCase.codec.encode(plaintext, recordKey(ref)), STORE_TTL_MS);
          if (service === undefined || service === ref.service) expected.push(instance);
        }
        const badKeys: string[] = [];
        for (const [index, [kind, record]] of bad.entries()) {
          const ref = { namespace: NAMESPACE, service: record.service, instanceId: `bad-${index}` };
          raw.putRaw(ref, await badValue(kind, record, ref, codecCase), STORE_TTL_MS);
          if (service === undefined || service === ref.service) badKeys.push(recordKey(ref));
        }

        const registry = registryFor(store);
        const rejectedKeys: string[] = [];
        registry.on('rejected-record', (event) => rejectedKeys.push(event.key));
        const result = await registry.find(service);
        expect(result.instances).toEqual(expected.sort(byNameThenId));
        expect(result.rejected).toBe(badKeys.length);
        expect(rejectedKeys.sort()).toEqual(badKeys.sort());
        // The second read comes from the decode cache; expiry and counts must not change.
        const again = await registry.find(service);
        expect(again.instances).toEqual(result.instances);
        expect(again.rejected).toBe(badKeys.length);
        expect(registry.health().rejectedRecords).toBe(2 * badKeys.length);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a value copied from another key, whatever the key', async () => {
    const otherRef = fc.record({
      namespace: fc.constant(NAMESPACE),
      service: fc.constantFrom(...SERVICES),
      instanceId: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
    });
    await fc.assert(
      fc.asyncProperty(fields, otherRef, otherRef, async (record, from, to) => {
        fc.pre(recordKey(from) !== recordKey(to));
        const store = memoryStore({ clock: frozenClock });
        const raw = rawView(store, codecCase);
        const value = await codecCase.codec.encode(
          serializeRecord(instanceAt(from, record)),
          recordKey(from),
        );
        raw.putRaw(from, value, STORE_TTL_MS);
        raw.putRaw(to, value, STORE_TTL_MS);
        const result = await registryFor(store).find();
        expect(result.instances.map((instance) => `${instance.name}:${instance.id}`)).toEqual([
          `${from.service}:${from.instanceId}`,
        ]);
        expect(result.rejected).toBe(1);
      }),
      { numRuns: 100 },
    );
  });
});

describe("apicrud's weaker guarantees, pinned so a change is noticed (see SECURITY.md)", () => {
  const apicrud = codecCases[1] as CodecCase;
  const gcm = codecCases[0] as CodecCase;
  const record: Fields = {
    service: 'alpha',
    endpoints: ['account'],
    ipv4: null,
    port: 8080,
    publicUrl: 'https://api.example.com',
    status: 'up',
    meta: {},
    ttlLeftMs: 60_000,
    format: 0,
  };
  const ref = { namespace: NAMESPACE, service: 'alpha', instanceId: 'i-1' };

  it('a flipped IV bit silently edits the first block under apicrud; gcm rejects it', async () => {
    for (const codecCase of [apicrud, gcm]) {
      const store = memoryStore({ clock: frozenClock });
      const plaintext = serializeRecord(instanceAt(ref, record));
      // The plaintext starts `{"endpoints":["account"`: byte 15 is the `a` of `account`.
      expect(plaintext.charAt(15)).toBe('a');
      const { head, payload } = splitValue(await codecCase.codec.encode(plaintext, recordKey(ref)));
      // apicrud: IV byte 15; gcm: the same offset, inside its 12-byte IV and first ciphertext bytes.
      payload[15] = (payload[15] as number) ^ 0x02;
      rawView(store, codecCase).putRaw(ref, `${head}${payload.toString('base64')}`, STORE_TTL_MS);
      const result = await new ServiceRegistry({
        store,
        secret: SECRET,
        namespace: NAMESPACE,
        clock: frozenClock,
        ...codecCase.options,
      }).find();
      if (codecCase === apicrud) {
        expect(result.instances.map((instance) => instance.info.endpoints)).toEqual([['cccount']]);
      } else {
        expect(result.instances).toEqual([]);
        expect(result.rejected).toBe(1);
      }
    }
  });

  it('a value copied to another namespace is accepted under apicrud (its plaintext names no namespace)', async () => {
    for (const codecCase of [apicrud, gcm]) {
      const store = memoryStore({ clock: frozenClock });
      const from = { ...ref, namespace: 'other-cluster' };
      const value = await codecCase.codec.encode(serializeRecord(instanceAt(from, record)), recordKey(from));
      rawView(store, codecCase).putRaw(ref, value, STORE_TTL_MS);
      const result = await new ServiceRegistry({
        store,
        secret: SECRET,
        namespace: NAMESPACE,
        clock: frozenClock,
        ...codecCase.options,
      }).find();
      expect(result.instances).toHaveLength(codecCase === apicrud ? 1 : 0);
    }
  });
});
