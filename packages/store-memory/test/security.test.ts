import { createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  apicrudCodec,
  gcmCodec,
  type Instance,
  isRegistryError,
  type KeyLayout,
  type Logger,
  type RecordCodec,
  type RecordRef,
  type RegistryEvents,
  type RegistryOptions,
  type RegistryStore,
  recordKey,
  type SecretInput,
  ServiceRegistry,
  serializeRecord,
} from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemoryStore, type MemoryStoreView, memoryStore } from '../src/index.js';

const NEW_SECRET = 'new-secret-5f1c9e0a7b3d4c2e';
const OLD_SECRET = 'old-secret-9a8b7c6d5e4f3a2b';
const OTHER_SECRET = 'other-cluster-secret-1d2e3f4a';
const META_MARKER = 'own-meta-marker-3c41';
const REJECTED_MARKER = 'rejected-plaintext-marker-77d0';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const EVENTS: (keyof RegistryEvents)[] = [
  'registered',
  'refreshed',
  'refresh-failed',
  'recovered',
  'rejected-record',
  'conflict',
  'deregistered',
];

interface CodecCase {
  readonly label: string;
  readonly options: Partial<RegistryOptions>;
  /** Where this mode keeps records: apicrud mode uses Python apicrud's key layout. */
  readonly layout: KeyLayout;
  readonly codec: (secret: SecretInput) => RecordCodec;
  /** Every encoding of the AES key a secret turns into, as the codec derives it (see the check below). */
  readonly keyForms: (secret: string) => string[];
}

const forms = (key: Buffer) => [
  key.toString('hex'),
  key.toString('base64'),
  key.toString('base64url'),
  key.toString('latin1'),
];
// As gcm.ts derives it: HKDF-SHA-256 with the format's salt and info.
const gcmKey = (secret: string) =>
  Buffer.from(hkdfSync('sha256', secret, 'service-registry/record/v1', 'aes-256-gcm key', 32));
// As apicrud does: SHA-256 of the secret, no salt.
const apicrudKey = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

const codecCases: CodecCase[] = [
  {
    label: 'gcm',
    options: { codec: 'gcm' },
    layout: 'native',
    codec: gcmCodec,
    keyForms: (secret) => forms(gcmKey(secret)),
  },
  {
    label: 'apicrud',
    options: { mode: 'apicrud' },
    layout: 'apicrud',
    codec: apicrudCodec,
    keyForms: (secret) => forms(apicrudKey(secret)),
  },
];

/** The memory store as a registry of `codecCase` reads it, for writing raw values. */
const rawView = (store: MemoryStore, codecCase: CodecCase): MemoryStoreView =>
  codecCase.layout === 'native' ? store : store.withLayout(codecCase.layout);

/** One layout of a memory store, whose calls fail while `down`, as a Redis outage does. */
function faultyStore(inner: MemoryStoreView): { store: RegistryStore; state: { down: boolean } } {
  const state = { down: false };
  const guard = () => {
    if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  };
  const store: RegistryStore = {
    name: 'faulty-memory',
    capabilities: { watch: false, nativeExpiry: true, layout: inner.capabilities.layout ?? 'native' },
    async put(ref, value, ttlMs) {
      guard();
      await inner.put(ref, value, ttlMs);
    },
    async delete(ref) {
      guard();
      await inner.delete(ref);
    },
    async list(namespace, service) {
      guard();
      return inner.list(namespace, service);
    },
    close: () => inner.close(),
  };
  return { store, state };
}

const dump = (value: unknown) =>
  inspect(value, {
    depth: Number.POSITIVE_INFINITY,
    showHidden: true,
    breakLength: Number.POSITIVE_INFINITY,
    maxArrayLength: Number.POSITIVE_INFINITY,
    maxStringLength: Number.POSITIVE_INFINITY,
  });

/** Everything a registry tells the world: log lines, event payloads, thrown errors. */
class Capture {
  readonly lines: string[] = [];
  readonly events: { name: string; payload: unknown }[] = [];
  readonly errors: unknown[] = [];
  readonly logger: Logger = {
    debug: (message, fields) => this.lines.push(`debug ${message} ${dump(fields)}`),
    info: (message, fields) => this.lines.push(`info ${message} ${dump(fields)}`),
    warn: (message, fields) => this.lines.push(`warn ${message} ${dump(fields)}`),
    error: (message, fields) => this.lines.push(`error ${message} ${dump(fields)}`),
  };

  listen(registry: ServiceRegistry): ServiceRegistry {
    for (const name of EVENTS) registry.on(name, (payload) => this.events.push({ name, payload }));
    return registry;
  }

  async attempt<T>(run: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      this.errors.push(error);
      return undefined;
    }
  }

  names(): string[] {
    return this.events.map((event) => event.name);
  }

  expectNone(forbidden: readonly string[]): void {
    // Events about this instance carry its own registration (meta included) by design; every other
    // event, every line and every error must not carry even that.
    const own = new Set(['registered', 'refreshed', 'recovered']);
    const everything = [...this.lines, ...this.events.map(dump), ...this.errors.map(dump)].join('\n');
    const beyondOwn = [
      ...this.lines,
      ...this.events.filter((event) => !own.has(event.name)).map(dump),
      ...this.errors.map(dump),
    ].join('\n');
    for (const text of forbidden) expect(everything, `leaked ${JSON.stringify(text)}`).not.toContain(text);
    expect(beyondOwn).not.toContain(META_MARKER);
  }
}

describe('the leak checks look for the right bytes', () => {
  it('the test derives the same AES keys as the codecs', async () => {
    const key = 'reg:main:i-1';
    const [, , payload] = (await gcmCodec(NEW_SECRET).encode('hello', key)).split('.');
    const sealed = Buffer.from(payload as string, 'base64');
    const gcm = createDecipheriv('aes-256-gcm', gcmKey(NEW_SECRET), sealed.subarray(0, 12));
    gcm.setAAD(Buffer.from(key));
    gcm.setAuthTag(sealed.subarray(sealed.length - 16));
    expect(Buffer.concat([gcm.update(sealed.subarray(12, sealed.length - 16)), gcm.final()]).toString()).toBe(
      'hello',
    );
    const bytes = Buffer.from(await apicrudCodec(NEW_SECRET).encode('hello', key), 'base64');
    const cbc = createDecipheriv('aes-256-cbc', apicrudKey(NEW_SECRET), bytes.subarray(0, 16));
    expect(Buffer.concat([cbc.update(bytes.subarray(16)), cbc.final()]).toString()).toBe('hello');
  });
});

describe.each(codecCases)('no secret, derived key or plaintext record leaks ($label)', (codecCase) => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('through register, refresh, outage, recovery, bad records, conflicts, deregister and bad secrets', async () => {
    const seen = new Capture();
    const memory = memoryStore();
    const raw = rawView(memory, codecCase);
    const { store, state } = faultyStore(raw);
    const open: ServiceRegistry[] = [];
    const make = (overrides: Partial<RegistryOptions> = {}) => {
      const registry = new ServiceRegistry({
        store,
        secret: [NEW_SECRET, OLD_SECRET],
        publicUrl: 'https://api.example.com',
        ttl: 30,
        interval: 10,
        logger: seen.logger,
        ...codecCase.options,
        ...overrides,
      });
      open.push(registry);
      return seen.listen(registry);
    };
    const register = { serviceName: 'main', instanceId: 'i-1', port: 8080, meta: { marker: META_MARKER } };

    const main = make();
    await main.register(['account', 'location'], register);
    // A member not yet rotated, serving one resource from another URL: a conflict.
    const legacy = make({ secret: OLD_SECRET, publicUrl: 'https://legacy.example.com' });
    await legacy.register(['account'], { ...register, instanceId: 'i-2' });
    await vi.advanceTimersByTimeAsync(25_000);

    state.down = true;
    memory.clear();
    await seen.attempt(() => main.update());
    await seen.attempt(() => main.find());
    await seen.attempt(() => main.deregister());
    await main.register(['account', 'location'], register);
    await vi.advanceTimersByTimeAsync(12_000);
    state.down = false;
    await vi.advanceTimersByTimeAsync(12_000);

    // Bad records, several of them holding a marker in plaintext that only a leak could reveal.
    const codec = codecCase.codec(NEW_SECRET);
    const at = (instanceId: string): RecordRef => ({ namespace: 'reg', service: 'main', instanceId });
    const sealed = async (ref: RecordRef, record: object | string, sealedFor = ref) =>
      raw.putRaw(
        ref,
        await codec.encode(
          typeof record === 'string' ? record : JSON.stringify(record),
          recordKey(sealedFor),
        ),
        60_000,
      );
    const marked: Instance = {
      name: 'main',
      id: 'elsewhere',
      info: { endpoints: [REJECTED_MARKER], ipv4: null, port: 1, publicUrl: 'https://x', created: 'c' },
      status: 'up',
      meta: { marker: REJECTED_MARKER },
      expiresAt: NOW + 600_000,
    };
    await sealed(at('schema'), { endpoints: REJECTED_MARKER, v: REJECTED_MARKER, status: REJECTED_MARKER });
    await sealed(at('version'), {
      ...JSON.parse(serializeRecord(marked)),
      id: 'version',
      v: REJECTED_MARKER,
    });
    await sealed(at('status'), {
      ...JSON.parse(serializeRecord(marked)),
      id: 'status',
      status: REJECTED_MARKER,
    });
    await sealed(at('not-json'), `${REJECTED_MARKER} {`);
    await sealed(at('moved'), serializeRecord(marked), at('elsewhere'));
    await sealed(at('expired'), serializeRecord({ ...marked, id: 'expired', expiresAt: NOW - 1 }));
    raw.putRaw(at('unsealed'), serializeRecord({ ...marked, id: 'unsealed' }), 60_000);
    raw.putRaw(at('raw-marker'), REJECTED_MARKER, 60_000);
    raw.putRaw(
      at('foreign'),
      await codecCase
        .codec(OTHER_SECRET)
        .encode(serializeRecord({ ...marked, id: 'foreign' }), recordKey(at('foreign'))),
      60_000,
    );
    raw.putRaw(at('huge'), REJECTED_MARKER.repeat(10_000), 60_000);
    const found = await seen.attempt(() => make().find());
    expect(found?.instances.map((instance) => instance.id)).toEqual(['i-1', 'i-2']);
    expect(found?.rejected).toBe(10);
    expect(found?.conflicts.map((conflict) => conflict.resource)).toEqual(['account']);

    await seen.attempt(() => main.setStatus('draining'));
    const stop = await main.watch(() => {});
    await vi.advanceTimersByTimeAsync(11_000);
    await stop();
    const bigMeta = Object.fromEntries(
      Array.from({ length: 60 }, (_, index) => [`k${index}`, `${META_MARKER}${'v'.repeat(980)}`]),
    );
    await seen.attempt(() => make().register(['account'], { ...register, instanceId: 'i-3', meta: bigMeta }));
    for (const secret of [
      'tiny-secret-1',
      ['tiny-secret-2', NEW_SECRET],
      [NEW_SECRET, 'tiny-secret-3'],
      [NEW_SECRET, 42],
      [NEW_SECRET, null],
      // A sparse list: its hole must not become a key derived from the empty string.
      Object.assign(new Array<string>(2), { 0: NEW_SECRET }),
      '',
      [],
    ]) {
      await seen.attempt(() => make({ secret: secret as SecretInput }));
    }
    await seen.attempt(() => main.deregister());
    await Promise.all(open.map((registry) => registry.close()));

    expect(seen.names()).toEqual(
      expect.arrayContaining(['registered', 'refreshed', 'refresh-failed', 'recovered', 'rejected-record']),
    );
    expect(seen.names()).toEqual(expect.arrayContaining(['conflict', 'deregistered']));
    expect(seen.errors.map((error) => isRegistryError(error) && error.code)).toEqual(
      expect.arrayContaining(['store-unavailable', 'record-too-large', 'invalid-secret']),
    );
    expect(seen.errors.every((error) => isRegistryError(error))).toBe(true);
    expect(seen.lines.length).toBeGreaterThan(20);
    seen.expectNone([
      NEW_SECRET,
      OLD_SECRET,
      OTHER_SECRET,
      'tiny-secret',
      REJECTED_MARKER,
      '"public_url":',
      '"expires_at":',
      ...[NEW_SECRET, OLD_SECRET, OTHER_SECRET].flatMap(codecCase.keyForms),
    ]);
    // What a user would print: the registry itself, its health and its codec hold no secret either.
    const objects = dump([main, main.health(), codec]);
    for (const secret of [NEW_SECRET, OLD_SECRET, ...codecCase.keyForms(NEW_SECRET)]) {
      expect(objects).not.toContain(secret);
    }
  });
});

describe.each(codecCases)('records out of place, out of time or out of size ($label)', (codecCase) => {
  const registryOptions = (
    memory: MemoryStore,
    overrides: Partial<RegistryOptions> = {},
  ): RegistryOptions => ({
    store: memory,
    secret: NEW_SECRET,
    publicUrl: 'https://api.example.com',
    ttl: 30,
    interval: 10,
    ...codecCase.options,
    ...overrides,
  });
  const args = { serviceName: 'main', instanceId: 'i-1', port: 8080, refresh: false };
  const ids = (result: { instances: readonly Instance[] }) =>
    result.instances.map((instance) => `${instance.name}:${instance.id}`);

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a record moved to another key is rejected', async () => {
    const memory = memoryStore();
    const raw = rawView(memory, codecCase);
    await new ServiceRegistry(registryOptions(memory)).register(['account'], args);
    const [stored] = await raw.list('reg');
    const value = stored?.value as string;
    raw.putRaw({ namespace: 'reg', service: 'main', instanceId: 'i-2' }, value, 60_000);
    raw.putRaw({ namespace: 'reg', service: 'other', instanceId: 'i-1' }, value, 60_000);
    const result = await new ServiceRegistry(registryOptions(memory)).find();
    expect(ids(result)).toEqual(['main:i-1']);
    expect(result.rejected).toBe(2);
    // Across namespaces only gcm can tell: the apicrud plaintext names the service and id, not the namespace.
    raw.putRaw({ namespace: 'reg2', service: 'main', instanceId: 'i-1' }, value, 60_000);
    const moved = await new ServiceRegistry(registryOptions(memory, { namespace: 'reg2' })).find();
    expect(ids(moved)).toEqual(codecCase.label === 'gcm' ? [] : ['main:i-1']);
  });

  it('a record replayed after it expired is rejected: every record the registry writes carries its expiry', async () => {
    vi.useFakeTimers({ now: NOW });
    const memory = memoryStore();
    const raw = rawView(memory, codecCase);
    await new ServiceRegistry(registryOptions(memory)).register(['account'], args);
    const [stored] = await raw.list('reg');
    await vi.advanceTimersByTimeAsync(31_000);
    expect(await raw.list('reg')).toEqual([]);
    // A store writer puts the captured value back, with a fresh store ttl.
    raw.putRaw(stored as RecordRef, stored?.value as string, 60_000);
    const reader = new ServiceRegistry(registryOptions(memory));
    const reasons: string[] = [];
    reader.on('rejected-record', (event) => reasons.push(event.reason));
    const result = await reader.find();
    expect(result.instances).toEqual([]);
    expect(result.rejected).toBe(1);
    expect(reasons).toEqual(['expired']);
  });

  if (codecCase.label === 'apicrud') {
    it('the residual risk: a record without expiry, as Python apicrud writes it, lives until the store expires it', async () => {
      vi.useFakeTimers({ now: NOW });
      const memory = memoryStore();
      const raw = rawView(memory, codecCase);
      // Python apicrud's `info` dict: the seed's five fields, no name, id or expires_at.
      const python = JSON.stringify({
        endpoints: ['account'],
        ipv4: null,
        port: 8080,
        public_url: 'https://api.example.com',
        created: '2026-11-26T12:00:00',
      });
      const ref = { namespace: 'reg', service: 'main', instanceId: 'py-1' };
      const value = await codecCase.codec(NEW_SECRET).encode(python, recordKey(ref));
      raw.putRaw(ref, value, 60_000);
      await vi.advanceTimersByTimeAsync(61_000);
      expect(await raw.list('reg')).toEqual([]);
      // Replayed long after its writer stopped: only the store's ttl bounds it (SECURITY.md).
      raw.putRaw(ref, value, 60_000);
      const replayed = await new ServiceRegistry(registryOptions(memory)).find();
      expect(ids(replayed)).toEqual(['main:py-1']);
      expect(replayed.instances[0]?.expiresAt).toBeNull();
      expect(replayed.rejected).toBe(0);
      await vi.advanceTimersByTimeAsync(60_000);
      const gone = await new ServiceRegistry(registryOptions(memory)).find();
      expect(gone.instances).toEqual([]);
      expect(gone.rejected).toBe(0);
    });
  }

  it('records above the size limit are refused on write and skipped on read', async () => {
    const memory = memoryStore();
    const raw = rawView(memory, codecCase);
    const codec = codecCase.codec(NEW_SECRET);
    const meta = (entries: number) =>
      Object.fromEntries(Array.from({ length: entries }, (_, index) => [`k${index}`, 'v'.repeat(1000)]));
    const refused = await new ServiceRegistry(registryOptions(memory))
      .register(['account'], { ...args, meta: meta(60) })
      .catch((error: unknown) => error);
    expect(isRegistryError(refused, 'record-too-large')).toBe(true);
    const small = await new ServiceRegistry(registryOptions(memory, { maxRecordBytes: 1024 }))
      .register(['account'], { ...args, meta: meta(1) })
      .catch((error: unknown) => error);
    expect(isRegistryError(small, 'record-too-large')).toBe(true);
    expect(memory.size).toBe(0);

    // Written around the registry, with the right secret: valid but for their size.
    const write = async (
      instanceId: string,
      instanceMeta: Record<string, string>,
      endpoints = ['account'],
    ) => {
      const ref = { namespace: 'reg', service: 'main', instanceId };
      const instance: Instance = {
        name: 'main',
        id: instanceId,
        info: { endpoints, ipv4: null, port: 1, publicUrl: 'https://x', created: 'c' },
        status: 'up',
        meta: instanceMeta,
        expiresAt: Date.now() + 60_000,
      };
      raw.putRaw(ref, await codec.encode(serializeRecord(instance), recordKey(ref)), 60_000);
    };
    await write('huge', meta(64));
    await write('mid', meta(1));
    await write('small', {});
    const reasons: string[] = [];
    const reader = new ServiceRegistry(registryOptions(memory));
    reader.on('rejected-record', (event) => reasons.push(event.reason));
    const result = await reader.find();
    expect(ids(result)).toEqual(['main:mid', 'main:small']);
    expect(reasons).toEqual(['larger than 65536 bytes']);
    const strict = await new ServiceRegistry(registryOptions(memory, { maxRecordBytes: 1024 })).find();
    expect(ids(strict)).toEqual(['main:small']);
    expect(strict.rejected).toBe(2);
  });

  it('thousands of endpoints are refused on write and skipped on read', async () => {
    const memory = memoryStore();
    const raw = rawView(memory, codecCase);
    const codec = codecCase.codec(NEW_SECRET);
    const endpoints = (count: number) => Array.from({ length: count }, (_, index) => `e${index}`);
    const refused = await new ServiceRegistry(registryOptions(memory))
      .register(endpoints(3000), args)
      .catch((error: unknown) => error);
    expect(isRegistryError(refused, 'record-too-large')).toBe(true);
    for (const [instanceId, count] of [
      ['many', 3000],
      ['too-many-bytes', 20_000],
      ['fine', 256],
    ] as const) {
      const ref = { namespace: 'reg', service: 'main', instanceId };
      const record = {
        endpoints: endpoints(count),
        ipv4: null,
        port: 1,
        public_url: 'https://x',
        created: 'c',
        expires_at: Date.now() + 60_000,
        v: 1,
      };
      raw.putRaw(ref, await codec.encode(JSON.stringify(record), recordKey(ref)), 60_000);
    }
    const reasons: string[] = [];
    const reader = new ServiceRegistry(registryOptions(memory));
    reader.on('rejected-record', (event) => reasons.push(event.reason));
    const result = await reader.find();
    expect(ids(result)).toEqual(['main:fine']);
    expect(reasons.sort()).toEqual(['bad endpoints', 'larger than 65536 bytes']);
  });
});

/** `global.gc`, reached without `--expose-gc` on the command line. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('bounded memory', () => {
  const MIB = 2 ** 20;

  it.each(codecCases)(
    '2,000 values of 1 MiB: find stays fast and keeps none of them ($label)',
    async (codecCase) => {
      const gc = collectGarbage();
      const memory = memoryStore();
      const raw = rawView(memory, codecCase);
      const reader = new ServiceRegistry({ store: memory, secret: NEW_SECRET, ...codecCase.options });
      const writer = new ServiceRegistry({
        store: memory,
        secret: NEW_SECRET,
        publicUrl: 'https://api.example.com',
        ...codecCase.options,
      });
      await writer.register(['account'], {
        serviceName: 'main',
        instanceId: 'i-1',
        port: 8080,
        refresh: false,
      });
      // One shared 1 MiB base keeps the test's own footprint small; each value is still a distinct string.
      const base = 'A'.repeat(MIB);
      for (let index = 0; index < 2000; index++) {
        raw.putRaw(
          { namespace: 'reg', service: `s${index % 20}`, instanceId: `big-${index}` },
          base + index,
          60_000,
        );
      }
      await reader.find('main');
      const before = heapAfterGc(gc);
      const started = performance.now();
      const result = await reader.find();
      const elapsedMs = performance.now() - started;
      const grownBytes = heapAfterGc(gc) - before;
      expect(result.instances.map((instance) => instance.id)).toEqual(['i-1']);
      expect(result.rejected).toBe(2000);
      // Skipped on their length alone: nothing decoded, copied or cached. Generous bounds, far below
      // what decoding 2 GiB would cost.
      expect(elapsedMs).toBeLessThan(2000);
      expect(grownBytes).toBeLessThan(16 * MIB);
      await writer.close();
    },
  );

  it('values just under the limit, rewritten again and again, cannot pin the heap through the decode cache', async () => {
    const gc = collectGarbage();
    const memory = memoryStore();
    const reader = new ServiceRegistry({ store: memory, secret: NEW_SECRET });
    await reader.find();
    const before = heapAfterGc(gc);
    // 2,400 distinct 60 KB values (144 MB) over 6 rounds, as a flood of garbage rewritten with fresh
    // bytes would leave; each is read, rejected and remembered as rejected.
    for (let round = 0; round < 6; round++) {
      memory.clear();
      for (let index = 0; index < 400; index++) {
        const value = `g1.AAAAAAAA.${randomBytes(45_000).toString('base64')}`;
        memory.putRaw({ namespace: 'reg', service: 'flood', instanceId: `v-${index}` }, value, 60_000);
      }
      expect((await reader.find()).rejected).toBe(400);
    }
    memory.clear();
    const retainedBytes = heapAfterGc(gc) - before;
    // The cache holds at most 32 Mi characters of keys and values.
    expect(retainedBytes).toBeLessThan(48 * MIB);
  });
});

describe.each(codecCases)('key rotation, readers first ($label)', (codecCase) => {
  it('every phase of the documented procedure keeps every instance visible to every other', async () => {
    const memory = memoryStore();
    const running = new Map<string, ServiceRegistry>();
    // A deploy: the instance restarts with new secrets and rewrites its record at once.
    const deploy = async (instanceId: string, secret: SecretInput) => {
      await running.get(instanceId)?.close({ deregister: false });
      const registry = new ServiceRegistry({
        store: memory,
        secret,
        publicUrl: 'https://api.example.com',
        ...codecCase.options,
      });
      await registry.register(['account'], { serviceName: 'main', instanceId, port: 8080, refresh: false });
      running.set(instanceId, registry);
    };
    const everyoneSeesEveryone = async () => {
      for (const registry of running.values()) {
        const result = await registry.find();
        expect(result.instances.map((instance) => instance.id)).toEqual(['a', 'b']);
        expect(result.rejected).toBe(0);
      }
    };
    await deploy('a', OLD_SECRET);
    await deploy('b', OLD_SECRET);
    // 1. Readers first: [old, new] everywhere. Old still encrypts; everyone can already read new.
    await deploy('a', [OLD_SECRET, NEW_SECRET]);
    await everyoneSeesEveryone();
    await deploy('b', [OLD_SECRET, NEW_SECRET]);
    await everyoneSeesEveryone();
    // 2. Writers: [new, old] everywhere. New encrypts; old records stay readable.
    await deploy('a', [NEW_SECRET, OLD_SECRET]);
    await everyoneSeesEveryone();
    await deploy('b', [NEW_SECRET, OLD_SECRET]);
    await everyoneSeesEveryone();
    // 3. After one ttl every record has been rewritten with new: drop old.
    await deploy('a', NEW_SECRET);
    await everyoneSeesEveryone();
    await deploy('b', NEW_SECRET);
    await everyoneSeesEveryone();
    await Promise.all([...running.values()].map((registry) => registry.close()));
  });

  it('skipping the readers-first step hides the first rotated writer from the others', async () => {
    const memory = memoryStore();
    const options = { store: memory, publicUrl: 'https://api.example.com', ...codecCase.options };
    const args = { serviceName: 'main', port: 8080, refresh: false };
    await new ServiceRegistry({ ...options, secret: [NEW_SECRET, OLD_SECRET] }).register(['a'], {
      ...args,
      instanceId: 'a',
    });
    const stale = new ServiceRegistry({ ...options, secret: OLD_SECRET });
    await stale.register(['b'], { ...args, instanceId: 'b' });
    const result = await stale.find();
    expect(result.instances.map((instance) => instance.id)).toEqual(['b']);
    expect(result.rejected).toBe(1);
  });
});

describe('secrets', () => {
  it('a sparse secret list is refused, not read as a key derived from the empty string', () => {
    const sparse = Object.assign(new Array<string>(2), { 0: NEW_SECRET });
    for (const make of [
      () => gcmCodec(sparse),
      () => apicrudCodec(sparse),
      () => new ServiceRegistry({ store: memoryStore(), secret: sparse }),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: 'invalid-secret' }));
    }
  });
});
