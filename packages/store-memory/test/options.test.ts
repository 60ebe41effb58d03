import { assertKnownOptions, isRegistryError, nearestName, ServiceRegistry } from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'a-secret-of-at-least-16-characters';

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(isRegistryError(error, 'invalid-argument'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('options nobody would mean', () => {
  it("a codec object's optional methods must be functions when given", () => {
    const codec = {
      name: 'custom',
      encode: async (text: string) => text,
      decode: async (text: string) => text,
    };
    expect(() => new ServiceRegistry({ store: memoryStore(), codec })).not.toThrow();
    expect(
      refusal(
        () => new ServiceRegistry({ store: memoryStore(), codec: { ...codec, encodeRecord: 1 } as never }),
      ),
    ).toBe("the codec's encodeRecord must be a function when given");
  });

  it('nearestName finds typos, swaps and case slips, and nothing for a far name', () => {
    const known = ['interval', 'ttl', 'namespace', 'publicUrl', 'baseUrl'];
    expect(nearestName('intervall', known)).toBe('interval');
    expect(nearestName('inetrval', known)).toBe('interval');
    expect(nearestName('publicURL', known)).toBe('publicUrl');
    expect(nearestName('ttll', known)).toBe('ttl');
    expect(nearestName('colour', known)).toBeUndefined();
  });

  it('a misspelt ServiceRegistry option is refused, naming the nearest known one', () => {
    const options = { store: memoryStore(), secret: SECRET, intervall: 5 };
    expect(refusal(() => new ServiceRegistry(options as never))).toBe(
      'unknown ServiceRegistry option "intervall" (did you mean interval?)',
    );
    expect(
      refusal(() => new ServiceRegistry({ store: memoryStore(), secret: SECRET, colour: 1 } as never)),
    ).toMatch(/^unknown ServiceRegistry option "colour"; known: store, secret, publicUrl,/);
  });

  it('a misspelt register option is refused before anything is written', async () => {
    const store = memoryStore();
    const registry = new ServiceRegistry({ store, secret: SECRET, publicUrl: 'https://a.example' });
    await expect(
      registry.register(['x'], { serviceName: 's', instanceId: 'i', port: 80, refesh: false } as never),
    ).rejects.toThrow('unknown register option "refesh" (did you mean refresh?)');
    expect(store.size).toBe(0);
    await registry.close();
  });

  it('a misspelt memoryStore option is refused', () => {
    expect(refusal(() => memoryStore({ clok: { now: () => 0 } } as never))).toBe(
      'unknown memoryStore option "clok" (did you mean clock?)',
    );
  });

  it('assertKnownOptions with onlyNear lets far keys through, for options handed on to a client', () => {
    expect(() =>
      assertKnownOptions({ lookup: 1 }, ['host', 'port'], 'x option', { onlyNear: true }),
    ).not.toThrow();
    expect(
      refusal(() => assertKnownOptions({ hots: 1 }, ['host', 'port'], 'x option', { onlyNear: true })),
    ).toBe('unknown x option "hots" (did you mean host?)');
  });

  it("baseUrl must be empty or start with '/': 'v1' would give https://a.examplev1", () => {
    expect(refusal(() => new ServiceRegistry({ store: memoryStore(), secret: SECRET, baseUrl: 'v1' }))).toBe(
      `baseUrl must be empty or start with '/', got "v1" (did you mean "/v1"?)`,
    );
    expect(() => new ServiceRegistry({ store: memoryStore(), secret: SECRET, baseUrl: '' })).not.toThrow();
    expect(
      () => new ServiceRegistry({ store: memoryStore(), secret: SECRET, baseUrl: '/api/v1' }),
    ).not.toThrow();
  });

  it('no interval is demanded when none is given: a short ttl brings half of itself', async () => {
    const store = memoryStore();
    const registry = new ServiceRegistry({ store, secret: SECRET, publicUrl: 'https://a.example', ttl: 4 });
    await registry.register(['x'], { serviceName: 's', instanceId: 'i', port: 80, refresh: false });
    expect((await registry.find()).instances).toHaveLength(1);
    await registry.close();
    // Both given: the rule stands, so one lost refresh never expires a record.
    expect(refusal(() => new ServiceRegistry({ store, secret: SECRET, ttl: 4, interval: 3 }))).toMatch(
      /ttl \(4 s\) must be at least twice interval \(3 s\)/,
    );
  });
});
