import {
  type RegisterOptions,
  RegistryError,
  type RegistryErrorCode,
  type RegistryOptions,
  ServiceRegistry,
} from '@service-registry/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'fuzz-arguments-secret-0123456789';
const store = memoryStore();
const validOptions: RegistryOptions = {
  store,
  secret: SECRET,
  publicUrl: 'https://api.example.com',
  ttl: 30,
  interval: 10,
};
const validRegister: RegisterOptions = { serviceName: 'main', instanceId: 'i-1', port: 8080 };

const throwingProxy = () =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('proxy get');
      },
    },
  );
// Values that are nearly right, or wrong in ways a JSON-minded generator never tries.
const nearlyRight = fc.constantFrom<unknown>(
  undefined,
  null,
  '',
  ' ',
  0,
  -0,
  -1,
  0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 31,
  2 ** 53,
  1e308,
  65_536,
  'a:b',
  '*',
  'x'.repeat(129),
  'short',
  'apicrud',
  'gcm',
  'up',
  'https://example.com',
  [],
  [''],
  [SECRET, 'short'],
  {},
  () => {},
  Symbol('s'),
  true,
  10n,
  new Date(Number.NaN),
  Object.create(null),
  new String('boxed'),
);
const wrong = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
    }),
  },
  { weight: 2, arbitrary: nearlyRight },
  { weight: 1, arbitrary: fc.oneof(fc.double(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 })) },
  { weight: 1, arbitrary: fc.constant(null).map(throwingProxy) },
);

/** Runs `call`: it may succeed, or throw a RegistryError with one of `codes`; anything else fails. */
async function typedOutcome(call: () => unknown, codes?: readonly RegistryErrorCode[]): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof RegistryError)) {
      throw new Error(`threw ${String(error)} instead of a RegistryError`, { cause: error });
    }
    if (codes) expect(codes).toContain(error.code);
    expect(error.message.length).toBeGreaterThan(5);
    expect(error.message).not.toContain(SECRET);
    return error;
  }
}

let nextId = 0;
/** Every public method of a registry that was built: each succeeds or throws a RegistryError. */
async function exercise(registry: ServiceRegistry): Promise<void> {
  const instanceId = `x-${nextId++}`;
  await typedOutcome(() => registry.register(['account'], { ...validRegister, instanceId, refresh: false }));
  await typedOutcome(() => registry.update());
  await typedOutcome(() => registry.setStatus('draining'));
  await typedOutcome(() => registry.find());
  await typedOutcome(() => registry.find('main'));
  await typedOutcome(async () => (await registry.watch(() => {}))());
  await typedOutcome(() => registry.deregister());
  await typedOutcome(() => registry.close());
}

const optionNames = [
  'store',
  'secret',
  'publicUrl',
  'baseUrl',
  'ttl',
  'interval',
  'namespace',
  'codec',
  'mode',
  'jitter',
  'maxRecordBytes',
  'expiryCheck',
  'conflictExempt',
  'logger',
  'clock',
] as const satisfies readonly (keyof RegistryOptions)[];
const registerNames = [
  'serviceName',
  'instanceId',
  'port',
  'ipv4',
  'meta',
  'status',
  'refresh',
] as const satisfies readonly (keyof RegisterOptions)[];
const constructorCodes: RegistryErrorCode[] = ['invalid-argument', 'invalid-secret', 'invalid-name'];
const registerCodes: RegistryErrorCode[] = ['invalid-argument', 'invalid-name', 'record-too-large'];

describe('every public entry point answers wrong types and out-of-range values with a RegistryError', () => {
  afterAll(() => store.close());

  it('new ServiceRegistry(anything)', async () => {
    await fc.assert(
      fc.asyncProperty(wrong, async (options) => {
        const built = await typedOutcome(
          () => new ServiceRegistry(options as RegistryOptions),
          constructorCodes,
        );
        if (built instanceof ServiceRegistry) await exercise(built);
      }),
      { numRuns: 200 },
    );
  });

  it.each(optionNames)('new ServiceRegistry with a wrong %s', async (name) => {
    await fc.assert(
      fc.asyncProperty(wrong, async (value) => {
        const options = { ...validOptions, [name]: value } as RegistryOptions;
        const built = await typedOutcome(() => new ServiceRegistry(options), constructorCodes);
        if (built instanceof ServiceRegistry) await exercise(built);
      }),
      { numRuns: 100 },
    );
  });

  it.each(optionNames)('new ServiceRegistry whose %s getter throws', async (name) => {
    const options = { ...validOptions };
    Object.defineProperty(options, name, {
      enumerable: true,
      get() {
        throw new TypeError(`no ${name} today`);
      },
    });
    const error = await typedOutcome(() => new ServiceRegistry(options), ['invalid-argument']);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).cause).toBeInstanceOf(TypeError);
  });

  it('register(anything, anything)', async () => {
    await fc.assert(
      fc.asyncProperty(wrong, wrong, async (endpoints, options) => {
        const registry = new ServiceRegistry(validOptions);
        await typedOutcome(
          () => registry.register(endpoints as string[], options as RegisterOptions),
          [...registerCodes],
        );
        await registry.close();
      }),
      { numRuns: 200 },
    );
  });

  it('register with wrong endpoints', async () => {
    await fc.assert(
      fc.asyncProperty(wrong, async (endpoints) => {
        const registry = new ServiceRegistry(validOptions);
        await typedOutcome(() => registry.register(endpoints as string[], validRegister), registerCodes);
        await registry.close();
      }),
      { numRuns: 200 },
    );
  });

  it.each(registerNames)('register with a wrong %s', async (name) => {
    await fc.assert(
      fc.asyncProperty(wrong, async (value) => {
        const registry = new ServiceRegistry(validOptions);
        const options = { ...validRegister, instanceId: `r-${nextId++}`, [name]: value } as RegisterOptions;
        await typedOutcome(() => registry.register(['account'], options), registerCodes);
        await registry.close();
      }),
      { numRuns: 100 },
    );
  });

  it.each(registerNames)('register whose %s getter throws', async (name) => {
    const options = { ...validRegister };
    Object.defineProperty(options, name, {
      enumerable: true,
      get() {
        throw new TypeError(`no ${name} today`);
      },
    });
    const registry = new ServiceRegistry(validOptions);
    const error = await typedOutcome(() => registry.register(['account'], options), ['invalid-argument']);
    expect((error as RegistryError).cause).toBeInstanceOf(TypeError);
    expect(registry.get()).toBeUndefined();
  });

  it('find(anything)', async () => {
    const registry = new ServiceRegistry(validOptions);
    await fc.assert(
      fc.asyncProperty(wrong, async (service) => {
        await typedOutcome(() => registry.find(service as string), ['invalid-name']);
      }),
      { numRuns: 300 },
    );
  });

  it('setStatus(anything), before and after register', async () => {
    const registry = new ServiceRegistry(validOptions);
    await fc.assert(
      fc.asyncProperty(wrong, async (status) => {
        await typedOutcome(() => registry.setStatus(status as 'up'), ['invalid-argument', 'invalid-state']);
      }),
      { numRuns: 100 },
    );
    await registry.register(['account'], { ...validRegister, instanceId: 'status-1', refresh: false });
    await fc.assert(
      fc.asyncProperty(wrong, async (status) => {
        await typedOutcome(() => registry.setStatus(status as 'up'), ['invalid-argument']);
      }),
      { numRuns: 200 },
    );
    await registry.close();
  });

  it('watch(anything, anything)', async () => {
    const registry = new ServiceRegistry(validOptions);
    const listener = fc.oneof(
      wrong,
      fc.constant(() => {}),
    );
    const watchOptions = fc.oneof(
      wrong,
      fc.record({ service: wrong, pollInterval: wrong }, { requiredKeys: [] }),
      fc.record({ pollInterval: fc.oneof(fc.double(), fc.integer()) }),
    );
    await fc.assert(
      fc.asyncProperty(listener, watchOptions, async (onChange, options) => {
        const stop = await typedOutcome(
          () => registry.watch(onChange as () => void, options as { service?: string }),
          ['invalid-argument', 'invalid-name'],
        );
        if (typeof stop === 'function') await stop();
      }),
      { numRuns: 300 },
    );
    await registry.close();
  });

  it('on(anything, anything) and close(anything)', async () => {
    await fc.assert(
      fc.asyncProperty(wrong, wrong, wrong, async (event, listener, closeOptions) => {
        const registry = new ServiceRegistry(validOptions);
        await typedOutcome(
          () => registry.on(event as 'refreshed', listener as () => void),
          ['invalid-argument'],
        );
        await typedOutcome(
          () => registry.close(closeOptions as { deregister?: boolean }),
          ['invalid-argument'],
        );
        await registry.close();
      }),
      { numRuns: 200 },
    );
  });

  it('a poll or refresh interval that setTimeout cannot hold is refused, not turned into a busy loop', async () => {
    const registry = new ServiceRegistry(validOptions);
    for (const pollInterval of [0, -1, Number.NaN, 2_200_000]) {
      const error = await typedOutcome(
        () => registry.watch(() => {}, { pollInterval }),
        ['invalid-argument'],
      );
      expect(error).toBeInstanceOf(RegistryError);
    }
    const error = await typedOutcome(
      () => new ServiceRegistry({ ...validOptions, interval: 2_200_000, ttl: 4_400_000 }),
      ['invalid-argument'],
    );
    expect(error).toBeInstanceOf(RegistryError);
  });
});
