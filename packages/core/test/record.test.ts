import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../src/errors.js';
import { INSTANCE_STATUSES, type Instance, parseRecord, serializeRecord } from '../src/record.js';
import { isValidName } from '../src/validate.js';

const ref = { namespace: 'reg', service: 'main', instanceId: 'i-1' };
const NOW = Date.parse('2026-11-26T12:00:00Z');

const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter(isValidName);
// Meta may hold any text, unpaired surrogates included: JSON.stringify escapes them.
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    maxLength: 10,
  }),
);
const instance = (service: string, instanceId: string): fc.Arbitrary<Instance> =>
  fc.record({
    name: fc.constant(service),
    id: fc.constant(instanceId),
    info: fc.record({
      endpoints: fc.uniqueArray(name, { maxLength: 8 }),
      ipv4: fc.option(fc.ipV4(), { nil: null }),
      port: fc.integer({ min: 1, max: 65535 }),
      publicUrl: fc.webUrl(),
      created: fc.constant('2026-11-26T12:00:00'),
    }),
    status: fc.constantFrom(...INSTANCE_STATUSES),
    meta: fc.dictionary(anyText, anyText, { maxKeys: 8 }),
    expiresAt: fc.integer({ min: 0, max: 2 ** 48 }),
  });

// What parseRecord must decide for one field of an otherwise valid native record (`v: 1`), written
// from the documented schema rather than from record.ts. `null` counts as absent for status and meta.
const isStringArray = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const fieldIsValid: Record<string, (value: unknown) => boolean> = {
  endpoints: (value) => isStringArray(value) && (value as unknown[]).length <= 256,
  ipv4: (value) => value === null || typeof value === 'string',
  port: (value) => Number.isInteger(value),
  public_url: (value) => typeof value === 'string',
  created: (value) => typeof value === 'string',
  status: (value) => value === null || INSTANCE_STATUSES.includes(value as never),
  meta: (value) =>
    value === null ||
    (typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length <= 64 &&
      Object.values(value).every((item) => typeof item === 'string')),
  expires_at: (value) => typeof value === 'number' && Number.isFinite(value),
  v: (value) => value === 1,
  name: (value) => value === ref.service,
  id: (value) => value === ref.instanceId,
};
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, 1, 0, -1, 80.5, '', 'up', 'gone', 'main', 'i-1', [], {}, ['a'], { a: 'b' }),
  fc.array(fc.string({ maxLength: 3 }), { minLength: 250, maxLength: 260 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 2 }), {
    minKeys: 60,
    maxKeys: 70,
  }),
);

function outcome(run: () => Instance): Instance | RegistryError {
  try {
    return run();
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
}

describe('serializeRecord and parseRecord', () => {
  it('round-trip any valid instance exactly', () => {
    fc.assert(
      fc.property(instance(ref.service, ref.instanceId), (original) => {
        expect(parseRecord(serializeRecord(original), ref)).toEqual(original);
      }),
      { numRuns: 300 },
    );
  });

  it('write the seed field names, so apicrud readers still parse the record', () => {
    fc.assert(
      fc.property(instance(ref.service, ref.instanceId), (original) => {
        const json = JSON.parse(serializeRecord(original));
        expect(json).toMatchObject({
          endpoints: original.info.endpoints,
          ipv4: original.info.ipv4,
          port: original.info.port,
          public_url: original.info.publicUrl,
          created: original.info.created,
          expires_at: original.expiresAt,
          name: ref.service,
          id: ref.instanceId,
          v: 1,
        });
      }),
      { numRuns: 100 },
    );
  });

  it('accept a record at another key only when service and instance id match', () => {
    fc.assert(
      fc.property(
        instance(ref.service, ref.instanceId),
        name,
        name,
        name,
        (original, namespace, service, id) => {
          const result = outcome(() =>
            parseRecord(serializeRecord(original), { namespace, service, instanceId: id }),
          );
          const sameIdentity = service === ref.service && id === ref.instanceId;
          if (sameIdentity) expect(result).not.toBeInstanceOf(RegistryError);
          else
            expect(result).toSatisfy(
              (error) => error instanceof RegistryError && error.code === 'invalid-record',
            );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decide every one-field change of a native record as the schema says', () => {
    const base = JSON.parse(
      serializeRecord({
        name: ref.service,
        id: ref.instanceId,
        info: { endpoints: ['account'], ipv4: null, port: 8080, publicUrl: 'https://x', created: 'c' },
        status: 'up',
        meta: {},
        expiresAt: NOW,
      }),
    ) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(fieldIsValid)), fieldValue, (field, value) => {
        const result = outcome(() => parseRecord(JSON.stringify({ ...base, [field]: value }), ref));
        const valid = (fieldIsValid[field] as (value: unknown) => boolean)(value);
        if (valid) expect(result).not.toBeInstanceOf(RegistryError);
        else
          expect(result).toSatisfy(
            (error) => error instanceof RegistryError && error.code === 'invalid-record',
          );
      }),
      { numRuns: 1000 },
    );
  });

  it('refuse a native record without expires_at, and take an apicrud record (no v, name, id) as it is', () => {
    const apicrud = {
      endpoints: ['account'],
      ipv4: '10.0.0.7',
      port: 8080,
      public_url: 'https://x',
      created: 'c',
    };
    expect(parseRecord(JSON.stringify(apicrud), ref)).toEqual({
      name: 'main',
      id: 'i-1',
      info: { endpoints: ['account'], ipv4: '10.0.0.7', port: 8080, publicUrl: 'https://x', created: 'c' },
      status: 'up',
      meta: {},
      expiresAt: null,
    });
    expect(outcome(() => parseRecord(JSON.stringify({ ...apicrud, v: 1 }), ref))).toBeInstanceOf(
      RegistryError,
    );
  });

  it('throw only invalid-record for any text, and never echo it in the reason', () => {
    const marker = 'PLAINTEXT-MARKER-7f3a';
    const planted = fc
      .tuple(
        fc.constantFrom(...Object.keys(fieldIsValid), 'extra'),
        fc.constantFrom(marker, [marker], { [marker]: marker }, { key: marker }, 7),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([field, value, rest]) =>
        JSON.stringify({
          endpoints: [],
          port: 1,
          public_url: marker,
          created: marker,
          v: rest,
          [field]: value,
        }),
      );
    const text = fc.oneof(
      planted,
      fc.json(),
      fc.string({ unit: 'binary' }),
      fc.object().map((value) => JSON.stringify(value)),
    );
    fc.assert(
      fc.property(text, (input) => {
        const result = outcome(() => parseRecord(input, ref));
        if (result instanceof RegistryError) {
          expect(result.code).toBe('invalid-record');
          expect(result.message).not.toContain(marker);
          expect(result.message.length).toBeLessThan(80);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
