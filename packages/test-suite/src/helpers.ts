import type { RecordRef, RegistryStore } from '@service-registry/core';

/** A namespace no other test run uses, so runs can share one store and clean up after themselves. */
export function randomNamespace(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns the elapsed ms. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 25,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

/** Remembers every record written through it, so a test can delete them all afterwards. */
export class WrittenRecords {
  readonly #refs = new Map<string, RecordRef>();

  add(ref: RecordRef): RecordRef {
    this.#refs.set(`${ref.namespace}\0${ref.service}\0${ref.instanceId}`, ref);
    return ref;
  }

  async cleanUp(store: RegistryStore): Promise<void> {
    await Promise.allSettled([...this.#refs.values()].map((ref) => store.delete(ref)));
    this.#refs.clear();
  }
}

/** Base64-ish ASCII of exactly `length` characters, the shape codecs produce. */
export function asciiValue(length: number, seed = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=.';
  let state = seed;
  let out = '';
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out += alphabet[state % alphabet.length];
  }
  return out;
}
