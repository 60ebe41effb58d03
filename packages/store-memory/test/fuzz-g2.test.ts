// Fuzzing the gcm `g2` value format through a warm reader: after a reader decoded a record, any later
// value at its key is either a value its writer wrote (the instance, with that value's expiry) or
// rejected. Edits, truncations and fields swapped between records never give a new expiry. With
// `expiryCheck: 'halfway'` a later claim on the same body may instead answer the expiry authenticated
// before, until the midpoint, where the same reader answers as one that checks at once.
import {
  gcmCodec,
  type Instance,
  type RecordRef,
  recordKey,
  ServiceRegistry,
  serializeRecord,
  systemClock,
} from '@service-registry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'fuzz-g2-secret-0123456789abcdef';
const NOW = Date.parse('2026-11-26T12:00:00Z');
/** Stands still, except where a test moves it on. */
let current = NOW;
const frozenClock = { ...systemClock, now: () => current };
const refs: RecordRef[] = ['i-1', 'i-2'].map((instanceId) => ({
  namespace: 'reg',
  service: 'main',
  instanceId,
}));

const instanceOf = (ref: RecordRef, port: number, meta: Record<string, string>): Instance => ({
  name: ref.service,
  id: ref.instanceId,
  info: {
    endpoints: ['account'],
    ipv4: null,
    port,
    publicUrl: 'https://x.example',
    created: '2026-11-26T12:00:00',
  },
  status: 'up',
  meta,
  expiresAt: null,
});

/** `[body, mac, expiry]` of a g2 value (the expiry may hold a `.`). */
function fieldsOf(value: string): [string, string, string] {
  const bodyEnd = value.indexOf('.', value.indexOf('.', 3) + 1);
  const macEnd = value.indexOf('.', bodyEnd + 1);
  return [value.slice(0, bodyEnd), value.slice(bodyEnd + 1, macEnd), value.slice(macEnd + 1)];
}

const edit = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    char: fc.constantFrom(...'Aa0+/-_.=9 é'),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), text: fc.constantFrom('0', '.5', '.', 'A', '=') }),
  fc.record({
    kind: fc.constant('swap' as const),
    field: fc.constantFrom(0, 1, 2),
    from: fc.constantFrom('other', 'older'),
  }),
);

describe.each(['every-change', 'halfway'] as const)(
  'g2 values under a warm reader (expiryCheck %s)',
  (expiryCheck) => {
    it('any edit of a refreshed value is rejected or is exactly a value its writer wrote', async () => {
      const codec = gcmCodec(SECRET);
      const encode = codec.encodeRecord as NonNullable<typeof codec.encodeRecord>;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 65535 }),
          fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
          fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 2, maxLength: 2 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          edit,
          async (port, meta, [first, second], fraction, change) => {
            current = NOW;
            const store = memoryStore({ clock: frozenClock });
            const [ref, otherRef] = refs as [RecordRef, RecordRef];
            const content = (at: RecordRef, extra = '') =>
              serializeRecord(instanceOf(at, port, { ...meta, extra }), 'native');
            const older = await encode(content(ref, 'older'), NOW + (first as number), recordKey(ref));
            const v1 = await encode(content(ref), NOW + (first as number) + fraction, recordKey(ref));
            const v2 = await encode(content(ref), NOW + (second as number), recordKey(ref));
            const other = await encode(content(otherRef), NOW + 20_000_000, recordKey(otherRef));
            const reader = new ServiceRegistry({
              store,
              codec,
              namespace: 'reg',
              clock: frozenClock,
              expiryCheck,
            });
            store.putRaw(ref, v1, 30_000_000);
            expect((await reader.find()).instances[0]?.expiresAt).toBe(NOW + (first as number) + fraction);
            let mutated = v2;
            if (change.kind === 'replace') {
              const at = change.at % v2.length;
              mutated = v2.slice(0, at) + change.char + v2.slice(at + 1);
            } else if (change.kind === 'truncate') {
              mutated = v2.slice(0, change.at % v2.length);
            } else if (change.kind === 'append') {
              mutated = v2 + change.text;
            } else {
              const fields = fieldsOf(v2);
              fields[change.field] = fieldsOf(change.from === 'other' ? other : older)[
                change.field
              ] as string;
              mutated = fields.join('.');
            }
            if (mutated.length === 0) return;
            store.putRaw(ref, mutated, 30_000_000);
            const result = await reader.find();
            const cold = await new ServiceRegistry({
              store,
              codec,
              namespace: 'reg',
              clock: frozenClock,
            }).find();
            const written = new Map([
              [v1, NOW + (first as number) + fraction],
              [v2, NOW + (second as number)],
            ]);
            const held = NOW + (first as number) + fraction;
            const expectOutcome = (outcome: typeof result, at: number) => {
              const expiry = written.get(mutated);
              if (expiry !== undefined && expiry > at) {
                expect(outcome.instances.map((instance) => instance.expiresAt)).toEqual([expiry]);
              } else {
                expect(outcome.instances).toEqual([]);
                expect(outcome.rejected).toBe(1);
              }
            };
            expectOutcome(cold, NOW);
            if (expiryCheck === 'every-change') {
              expectOutcome(result, NOW);
              return;
            }
            // Halfway, before the midpoint: a later claim on the same body (a written one or not) is
            // answered with the expiry authenticated before; anything else as at once.
            const expiries = result.instances.map((instance) => instance.expiresAt);
            if (expiries.length === 0 || expiries[0] !== held || written.get(mutated) === held)
              expectOutcome(result, NOW);
            // From the midpoint the same reader checks the value it holds unchecked.
            current = NOW + (held - NOW) / 2;
            expectOutcome(await reader.find(), current);
          },
        ),
        { numRuns: 300 },
      );
    });
  },
);
