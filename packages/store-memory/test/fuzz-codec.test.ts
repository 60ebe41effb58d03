import {
  apicrudCodec,
  gcmCodec,
  INSTANCE_STATUSES,
  type Instance,
  isRegistryError,
  isValidName,
  parseRecord,
  type RecordCodec,
  type RegistryOptions,
  recordKey,
  ServiceRegistry,
  serializeRecord,
  systemClock,
} from '@service-registry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MemoryStore, type MemoryStoreView, memoryStore } from '../src/index.js';

const SECRET = 'fuzz-codec-secret-0123456789';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const CREATED = '2026-11-26T12:00:00';
const LIMIT = 65_536;
const frozenClock = {
  now: () => NOW,
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
};

interface CodecCase {
  readonly label: 'gcm' | 'apicrud';
  readonly options: Partial<RegistryOptions>;
  readonly codec: RecordCodec;
  /** What the registry of this mode writes: apicrud mode writes Python apicrud's fields, in its key layout. */
  readonly format: 'native' | 'apicrud';
}
const codecCases: CodecCase[] = [
  { label: 'gcm', options: { codec: 'gcm' }, codec: gcmCodec(SECRET), format: 'native' },
  { label: 'apicrud', options: { mode: 'apicrud' }, codec: apicrudCodec(SECRET), format: 'apicrud' },
];

const rawView = (store: MemoryStore, codecCase: CodecCase): MemoryStoreView =>
  codecCase.format === 'native' ? store : store.withLayout('apicrud');

/** The registry's own unit conversion: whole milliseconds, so every write of a record has one length. */
const ttlMsOf = (args: { ttl: number }): number => Math.round(args.ttl * 1000);

/**
 * The exact length of the value a registry stores for `instance`: in native mode the gcm codec writes
 * `g2.` + key id + `.` + base64(IV, the record without its expiry, tag) + `.` + 22-character MAC + `.`
 * + the expiry; other modes `encodedLength` of the whole record.
 */
function storedLength(instance: Instance, codecCase: CodecCase): number {
  const owner = ownerOf(codecCase);
  if (codecCase.label !== 'gcm' || codecCase.format !== 'native') {
    return encodedLength(serializeRecord(instance, codecCase.format, owner), codecCase.label);
  }
  const body = encodedLength(serializeRecord({ ...instance, expiresAt: null }, 'native', owner), 'gcm');
  return body + 1 + 22 + 1 + String(instance.expiresAt).length;
}

/** The exact length of a value `codec.encode` writes, from the documented formats. */
function encodedLength(plaintext: string, codec: CodecCase['label']): number {
  const bytes = Buffer.byteLength(plaintext, 'utf8');
  const base64 = (length: number) => 4 * Math.ceil(length / 3);
  // gcm: `g1.` + 8-character key id + `.` + base64(12-byte IV, ciphertext, 16-byte tag).
  if (codec === 'gcm') return 3 + 8 + 1 + base64(12 + bytes + 16);
  // apicrud: base64(16-byte IV, ciphertext padded with PKCS#7 to whole 16-byte blocks).
  return base64(16 + bytes + (16 - (bytes % 16)));
}

const nameUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'abcxyzABC0189-_.~@/') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
);
const name = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: nameUnit, minLength: 1, maxLength: 32 }).filter(isValidName) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 128 }).map((length) => 'n'.repeat(length)) },
);
// Meta is free text: any code point, unpaired surrogates included (JSON.stringify escapes them).
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: utf16Unit, maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const metaKey = anyText.filter((key) => key.length >= 1 && key.length <= 128);

const registration = fc.record({
  namespace: name,
  serviceName: name,
  instanceId: name,
  endpoints: fc.uniqueArray(name, { maxLength: 12 }),
  port: fc.integer({ min: 1, max: 65535 }),
  ipv4: fc.option(fc.ipV4(), { nil: null }),
  status: fc.constantFrom(...INSTANCE_STATUSES),
  meta: fc.dictionary(metaKey, anyText, { maxKeys: 8 }),
  publicUrl: fc
    .webUrl({ withQueryParameters: true, withFragments: true })
    .filter((url) => url.length <= 2048),
  ttl: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.double({ min: 0.1, max: 1000, noNaN: true })),
});
type Registration = typeof registration extends fc.Arbitrary<infer T> ? T : never;

/** What `get()` and every reader's `find()` must return for a registration at the frozen clock. */
function expectedInstance(args: Registration, ttlMs: number): Instance {
  return {
    name: args.serviceName,
    id: args.instanceId,
    info: {
      endpoints: args.endpoints,
      ipv4: args.ipv4,
      port: args.port,
      publicUrl: args.publicUrl.replace(/\/+$/, ''),
      created: CREATED,
    },
    status: args.status,
    meta: args.meta,
    expiresAt: NOW + ttlMs,
  };
}

/**
 * Registers through a real registry, then reads through another one with the same secret. Returns
 * false when the record was refused as too large, which must happen exactly when it is.
 */
async function registerAndFind(codecCase: CodecCase, args: Registration): Promise<boolean> {
  const store = memoryStore({ clock: frozenClock });
  const common = {
    store,
    secret: SECRET,
    namespace: args.namespace,
    clock: frozenClock,
    ...codecCase.options,
  };
  const writer = new ServiceRegistry({
    ...common,
    publicUrl: args.publicUrl,
    ttl: args.ttl,
    interval: args.ttl / 2,
  });
  // Both formats carry the expiry, in whole milliseconds even for a fractional ttl.
  const expected = expectedInstance(args, ttlMsOf(args));
  const length = storedLength(expected, codecCase);
  let registered: Instance;
  try {
    registered = await writer.register(args.endpoints, {
      serviceName: args.serviceName,
      instanceId: args.instanceId,
      port: args.port,
      ipv4: args.ipv4,
      meta: args.meta,
      status: args.status,
      refresh: false,
    });
  } catch (error) {
    expect(error).toSatisfy((caught) => isRegistryError(caught, 'record-too-large'));
    expect(length).toBeGreaterThan(LIMIT);
    expect(store.size).toBe(0);
    return false;
  }
  expect(length).toBeLessThanOrEqual(LIMIT);
  expect(registered).toEqual(expected);
  expect(Number.isInteger(registered.expiresAt)).toBe(true);
  expect(writer.health()).toMatchObject({ ok: true, lastError: null });

  const [stored, ...others] = await rawView(store, codecCase).list(args.namespace);
  expect(others).toEqual([]);
  expect(stored?.value).toMatch(/^[\x21-\x7e]+$/);
  expect(stored?.value.length).toBe(length);

  const reader = new ServiceRegistry(common);
  const all = await reader.find();
  expect(all.instances).toEqual([expected]);
  expect(all.rejected).toBe(0);
  expect((await reader.find(args.serviceName)).instances).toEqual([expected]);
  await writer.close();
  expect((await reader.find()).instances).toEqual([]);
  return true;
}

describe.each(codecCases)('codec round trip through register and find ($label)', (codecCase) => {
  it('find returns exactly what was registered, for any valid record', async () => {
    await fc.assert(
      fc.asyncProperty(registration, (args) => registerAndFind(codecCase, args).then(() => undefined)),
      { numRuns: 200 },
    );
  });

  it('records near the size limit are stored when they fit and refused when they do not', async () => {
    // 40 to 64 meta values of 900 to 1024 characters straddle the 64 KiB default.
    const big = fc
      .tuple(registration, fc.integer({ min: 40, max: 64 }), fc.integer({ min: 900, max: 1024 }))
      .map(([args, entries, size]) => ({
        ...args,
        meta: Object.fromEntries(
          Array.from({ length: entries }, (_, index) => [`k${index}`, 'v'.repeat(size)]),
        ),
      }));
    let stored = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(big, async (args) => {
        if (await registerAndFind(codecCase, args)) stored++;
        else refused++;
      }),
      { numRuns: 60 },
    );
    expect(stored).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('a record a few bytes under or over the limit, expiry included, is stored or refused at register', async () => {
    const nearLimit = fc
      .tuple(registration, fc.integer({ min: -64, max: 64 }))
      .map(([args, offset]) => fillTo(args, LIMIT + offset, codecCase));
    await fc.assert(
      fc.asyncProperty(nearLimit, (args) => registerAndFind(codecCase, args).then(() => undefined)),
      { numRuns: 100 },
    );
  });

  it('a status change that would pass the limit is refused and changes nothing', async () => {
    // 'up' is the shortest status and 'starting' or 'draining' the longest: 6 more bytes.
    const atLimit = fc
      .tuple(registration, fc.integer({ min: -16, max: 0 }), fc.constantFrom('starting', 'draining', 'down'))
      .map(([args, offset, next]) => ({
        args: {
          ...fillTo({ ...args, status: 'up' as const }, LIMIT + offset, codecCase),
          status: 'up' as const,
        },
        next,
      }));
    await fc.assert(
      fc.asyncProperty(atLimit, async ({ args, next }) => {
        const store = memoryStore({ clock: frozenClock });
        const options = {
          store,
          secret: SECRET,
          namespace: args.namespace,
          clock: frozenClock,
          ...codecCase.options,
        };
        const writer = new ServiceRegistry({
          ...options,
          publicUrl: args.publicUrl,
          ttl: args.ttl,
          interval: args.ttl / 2,
        });
        const { serviceName, instanceId, port, ipv4, meta, status } = args;
        await writer.register(args.endpoints, {
          serviceName,
          instanceId,
          port,
          ipv4,
          meta,
          status,
          refresh: false,
        });
        const expected = expectedInstance(args, ttlMsOf(args));
        const fits = storedLength({ ...expected, status: next }, codecCase) <= LIMIT;
        const outcome = await writer.setStatus(next).catch((caught: unknown) => caught);
        const reader = new ServiceRegistry(options);
        if (fits) {
          expect((await reader.find()).instances).toEqual([{ ...expected, status: next }]);
        } else {
          expect(outcome).toSatisfy((caught) => isRegistryError(caught, 'record-too-large'));
          expect(writer.get()?.status).toBe('up');
          expect(writer.health()).toMatchObject({ ok: true, consecutiveFailures: 0 });
          await writer.update();
          expect((await reader.find()).instances).toEqual([expected]);
        }
      }),
      { numRuns: 100 },
    );
  });
});

/** `args` with meta filled so the encoded record is as long as possible without passing `target`. */
function fillTo(args: Registration, target: number, codecCase: CodecCase): Registration {
  const meta: Record<string, string> = {};
  const lengthNow = () => storedLength(expectedInstance({ ...args, meta }, ttlMsOf(args)), codecCase);
  let entries = 0;
  while (entries < 63 && lengthNow() < target - 1500) meta[`k${entries++}`] = 'v'.repeat(1024);
  // The largest last value that still fits, by bisection (lengths move in steps of 4 characters).
  const last = `k${entries}`;
  let low = 0;
  let high = 1024;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    meta[last] = 'v'.repeat(middle);
    if (lengthNow() <= target) low = middle;
    else high = middle - 1;
  }
  meta[last] = 'v'.repeat(low);
  return { ...args, meta };
}

describe.each(codecCases)('the $label codec alone', ({ codec, label }) => {
  const key = fc
    .tuple(name, name, name)
    .map(([namespace, service, instanceId]) => recordKey({ namespace, service, instanceId }));

  it('decode(encode(text)) is the text, and the value is ASCII', async () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json());
    await fc.assert(
      fc.asyncProperty(text, key, async (plaintext, recordKey) => {
        const value = await codec.encode(plaintext, recordKey);
        expect(value).toMatch(/^[\x21-\x7e]+$/);
        expect(value.length).toBe(encodedLength(plaintext, label));
        expect(await codec.decode(value, recordKey)).toBe(plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses text it could not give back (an unpaired surrogate) with a RegistryError', async () => {
    const lone = fc
      .tuple(
        fc.string({ maxLength: 5 }),
        fc.integer({ min: 0xd800, max: 0xdfff }),
        fc.string({ maxLength: 5 }),
      )
      .map(([before, code, after]) => `${before}${String.fromCharCode(code)}${after}`);
    await fc.assert(
      fc.asyncProperty(lone, key, async (plaintext, recordKey) => {
        const error = await codec.encode(plaintext, recordKey).catch((caught: unknown) => caught);
        expect(error).toSatisfy((caught) => isRegistryError(caught, 'invalid-argument'));
      }),
      { numRuns: 50 },
    );
  });

  it(
    label === 'gcm' ? 'a value decodes under its own key only' : 'the key is ignored (no binding)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.json(), key, key, async (plaintext, own, other) => {
          fc.pre(own !== other);
          const value = await codec.encode(plaintext, own);
          const decoded = await codec.decode(value, other).catch((caught: unknown) => caught);
          if (label === 'gcm')
            expect(decoded).toSatisfy((caught) => isRegistryError(caught, 'invalid-record'));
          else expect(decoded).toBe(plaintext);
        }),
        { numRuns: 100 },
      );
    },
  );
});

/** Native records carry the writer's 16-hex-digit owner token; its length is what counts for the limit. */
function ownerOf(codecCase: CodecCase): string | undefined {
  return codecCase.format === 'native' ? '0123456789abcdef' : undefined;
}

describe('serializeRecord and parseRecord (public exports)', () => {
  it('round-trip any record with an expiry, and parse only at its own service and instance', () => {
    const record = fc.tuple(registration, fc.integer({ min: 0, max: 2 ** 45 }), name, name);
    fc.assert(
      fc.property(record, ([args, expiresAt, otherService, otherId]) => {
        const instance = { ...expectedInstance(args, 0), expiresAt };
        const ref = { namespace: args.namespace, service: args.serviceName, instanceId: args.instanceId };
        const text = serializeRecord(instance);
        expect(parseRecord(text, ref)).toEqual(instance);
        // The apicrud format keeps everything but the version, non-ASCII escaped as Python's json.dumps does.
        const apicrudText = serializeRecord(instance, 'apicrud');
        expect(apicrudText).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(apicrudText)).not.toHaveProperty('v');
        expect(JSON.parse(apicrudText)).toHaveProperty('expires_at', expiresAt);
        expect(parseRecord(apicrudText, ref)).toEqual(instance);
        fc.pre(otherService !== args.serviceName || otherId !== args.instanceId);
        for (const written of [text, apicrudText]) {
          expect(() => parseRecord(written, { ...ref, service: otherService, instanceId: otherId })).toThrow(
            /another (service|instance)/,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
