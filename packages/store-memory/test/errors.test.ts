import {
  isRegistryError,
  type RegistryErrorCode,
  type RegistryOptions,
  ServiceRegistry,
} from '@service-registry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'errors-test-secret-0123456789';
const store = memoryStore();
const base: RegistryOptions = { store, secret: SECRET, publicUrl: 'https://api.example.com' };
const args = { serviceName: 'main', instanceId: 'i-1', port: 8080 };

async function codeOf(run: () => unknown): Promise<{ code: RegistryErrorCode | 'none'; message: string }> {
  try {
    await run();
    return { code: 'none', message: '' };
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    return { code: error.code, message: error.message };
  }
}

// Every bad input the design lists, with the error it must get. The README's table mirrors this one.
const constructorCases: [string, Partial<RegistryOptions> | Record<string, unknown>, RegistryErrorCode][] = [
  ['no secret', { secret: undefined }, 'invalid-secret'],
  ['a short secret', { secret: 'short' }, 'invalid-secret'],
  ['an empty secret list', { secret: [] }, 'invalid-secret'],
  ['a short secret in the list', { secret: [SECRET, 'short'] }, 'invalid-secret'],
  ['ttl below twice the interval', { ttl: 15, interval: 10 }, 'invalid-argument'],
  ['a negative ttl', { ttl: -1 }, 'invalid-argument'],
  ['a ttl that is not a number', { ttl: '30' }, 'invalid-argument'],
  ['an infinite interval', { interval: Number.POSITIVE_INFINITY }, 'invalid-argument'],
  ['a namespace with a colon', { namespace: 'a:b' }, 'invalid-name'],
  ['an empty namespace', { namespace: '' }, 'invalid-name'],
  ['a publicUrl that is not a URL', { publicUrl: 'api.example.com' }, 'invalid-argument'],
  ['a publicUrl with another scheme', { publicUrl: 'ftp://api.example.com' }, 'invalid-argument'],
  ['a baseUrl with whitespace', { baseUrl: '/api v1' }, 'invalid-argument'],
  ['an unknown codec', { codec: 'rot13' }, 'invalid-argument'],
  ['an unknown mode', { mode: 'consul' }, 'invalid-argument'],
  ['no store', { store: undefined }, 'invalid-argument'],
  ['jitter above one half', { jitter: 0.9 }, 'invalid-argument'],
];

const registerCases: [string, unknown, Record<string, unknown>, RegistryErrorCode][] = [
  ['endpoints not an array', 'account', args, 'invalid-argument'],
  ['an endpoint with a space', ['my account'], args, 'invalid-name'],
  ['an empty endpoint', [''], args, 'invalid-name'],
  ['repeated endpoints', ['account', 'account'], args, 'invalid-argument'],
  [
    'thousands of endpoints',
    Array.from({ length: 3000 }, (_, index) => `e${index}`),
    args,
    'record-too-large',
  ],
  ['a service name with a colon', ['a'], { ...args, serviceName: 'main:x' }, 'invalid-name'],
  ['a service name with a glob', ['a'], { ...args, serviceName: 'main*' }, 'invalid-name'],
  ['a service name with a hash tag', ['a'], { ...args, serviceName: 'm{a}in' }, 'invalid-name'],
  ['an instance id with a newline', ['a'], { ...args, instanceId: 'i\n1' }, 'invalid-name'],
  ['an instance id with a control character', ['a'], { ...args, instanceId: 'i\u00071' }, 'invalid-name'],
  ['an instance id of 129 characters', ['a'], { ...args, instanceId: 'i'.repeat(129) }, 'invalid-name'],
  ['an instance id that is a number', ['a'], { ...args, instanceId: 7 }, 'invalid-name'],
  ['port 0', ['a'], { ...args, port: 0 }, 'invalid-argument'],
  ['port 65536', ['a'], { ...args, port: 65536 }, 'invalid-argument'],
  ['a fractional port', ['a'], { ...args, port: 80.5 }, 'invalid-argument'],
  ['a bad ipv4', ['a'], { ...args, ipv4: '10.0.0.256' }, 'invalid-argument'],
  ['an unknown status', ['a'], { ...args, status: 'healthy' }, 'invalid-argument'],
  ['meta with a number', ['a'], { ...args, meta: { weight: 1 } }, 'invalid-argument'],
  [
    'meta of 65 entries',
    ['a'],
    { ...args, meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
    'record-too-large',
  ],
  [
    'a record over the size limit',
    ['a'],
    { ...args, meta: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'.repeat(1024)])) },
    'record-too-large',
  ],
];

describe('bad input gets a typed error at once', () => {
  afterAll(() => store.close());

  it.each(constructorCases)('new ServiceRegistry with %s', async (_, overrides, expected) => {
    const { code, message } = await codeOf(
      () => new ServiceRegistry({ ...base, ...overrides } as RegistryOptions),
    );
    expect(code).toBe(expected);
    expect(message).not.toContain(SECRET);
    expect(message.length).toBeGreaterThan(10);
  });

  it.each(registerCases)('register with %s', async (_, endpoints, options, expected) => {
    const registry = new ServiceRegistry(base);
    const { code } = await codeOf(() => registry.register(endpoints as string[], options as typeof args));
    expect(code).toBe(expected);
    expect(registry.get()).toBeUndefined();
  });

  it('register without a publicUrl, twice, or after close', async () => {
    expect(
      (await codeOf(() => new ServiceRegistry({ store, secret: SECRET }).register(['a'], args))).code,
    ).toBe('invalid-argument');
    const registry = new ServiceRegistry(base);
    await registry.register(['a'], { ...args, refresh: false });
    expect((await codeOf(() => registry.register(['a'], args))).code).toBe('invalid-state');
    await registry.close();
    expect((await codeOf(() => registry.register(['a'], args))).code).toBe('invalid-state');
  });

  it('update and setStatus before register, find with a bad name, setStatus with a bad status', async () => {
    const registry = new ServiceRegistry(base);
    expect((await codeOf(() => registry.update())).code).toBe('invalid-state');
    expect((await codeOf(() => registry.setStatus('down'))).code).toBe('invalid-state');
    expect((await codeOf(() => registry.find('a:b'))).code).toBe('invalid-name');
    expect((await codeOf(() => registry.find('*'))).code).toBe('invalid-name');
    await registry.register(['a'], { ...args, refresh: false });
    expect((await codeOf(() => registry.setStatus('gone' as 'down'))).code).toBe('invalid-argument');
    await registry.close();
  });

  it('messages say what is allowed', async () => {
    const { message } = await codeOf(() => new ServiceRegistry({ ...base, ttl: 15, interval: 10 }));
    expect(message).toMatch(/at least twice interval/);
    const registry = new ServiceRegistry(base);
    const nameError = await codeOf(() => registry.register(['a'], { ...args, serviceName: 'a:b' }));
    expect(nameError.message).toMatch(/colons, braces, glob characters/);
  });
});
