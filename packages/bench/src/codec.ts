// Per-record cost of the record codecs on each crypto backend (`pnpm bench --only codec`).
import {
  apicrudCodec,
  type CryptoBackend,
  gcmCodec,
  nodeCryptoBackend,
  type RecordCodec,
  webCryptoBackend,
} from '@service-registry/core';
import { fmt, type Measured, markdownTable, measuredLine, summarize as summarizeSamples } from './lib.js';

/** One measured operation: microseconds per record over `rounds` rounds. */
export interface Row {
  codec: string;
  backend: string;
  /** `encode`, `decode`, or `decode xN` (N decodes awaited together, as `find()` does). */
  operation: string;
  medianUs: number;
  minUs: number;
  maxUs: number;
  rounds: number;
}

/** Options of `benchCodecs`. */
export interface BenchOptions {
  /** Records per round. Default 2000. */
  recordsPerRound?: number;
  /** Measured rounds per row, after one warm-up round. Default 7. */
  rounds?: number;
  /** Records decoded together in the batch rows. Default 1000. */
  batchSize?: number;
  /** The plaintext to encrypt, e.g. a real record's JSON. Default: a ~330-byte record of the current format. */
  record?: string;
  /** The record key (additional authenticated data for `gcm`). Default `reg:account:<uuid>`. */
  recordKey?: string;
}

const SECRET = 'benchmark secret, 32 characters.';
const RECORD_KEY = 'reg:account:0f8fad5b-d9cb-469f-a165-70867728950e';

// ~330 bytes, in the format `serializeRecord` writes (field order, `created` without a zone, numeric
// `expires_at`, format version 1, name and id).
const RECORD = JSON.stringify({
  endpoints: ['account', 'contact', 'location', 'settings', 'profile'],
  ipv4: '10.24.181.17',
  port: 8080,
  public_url: 'https://api.example.com',
  created: '2026-11-26T20:00:00',
  status: 'up',
  meta: { region: 'eu-west-1', version: '1.42.0', zone: 'b' },
  name: 'account',
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  v: 1,
  expires_at: 1_795_723_230_000,
});

function summarize(samples: number[]): Pick<Row, 'medianUs' | 'minUs' | 'maxUs' | 'rounds'> {
  const summary = summarizeSamples(samples);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    medianUs: round(summary.median),
    minUs: round(summary.min),
    maxUs: round(summary.max),
    rounds: summary.n,
  };
}

// Runs one warm-up round, then `rounds` timed ones; each sample is microseconds per record.
async function measure(rounds: number, records: number, round: () => Promise<void>): Promise<number[]> {
  await round();
  const samples: number[] = [];
  for (let index = 0; index < rounds; index++) {
    const start = performance.now();
    await round();
    samples.push(((performance.now() - start) * 1000) / records);
  }
  return samples;
}

async function benchOne(
  codec: RecordCodec,
  backendName: string,
  options: Required<BenchOptions>,
): Promise<Row[]> {
  const { recordsPerRound, rounds, batchSize, record, recordKey } = options;
  const values = await Promise.all(
    Array.from({ length: recordsPerRound }, () => codec.encode(record, recordKey)),
  );
  if ((await codec.decode(values[0] as string, recordKey)) !== record) {
    throw new Error(`${codec.name} on ${backendName} does not round-trip`);
  }
  const encode = await measure(rounds, recordsPerRound, async () => {
    for (let index = 0; index < recordsPerRound; index++) await codec.encode(record, recordKey);
  });
  const decode = await measure(rounds, recordsPerRound, async () => {
    for (const value of values) await codec.decode(value, recordKey);
  });
  const batch = values.slice(0, batchSize);
  const decodeBatch = await measure(rounds, batch.length, async () => {
    await Promise.all(batch.map((value) => codec.decode(value, recordKey)));
  });
  const row = (operation: string, samples: number[]): Row => ({
    codec: codec.name,
    backend: backendName,
    operation,
    ...summarize(samples),
  });
  const rows = [row('encode', encode), row('decode', decode), row(`decode x${batch.length}`, decodeBatch)];
  if (codec.encodeRecord && codec.decodeRecord) rows.push(...(await benchG2(codec, options, row)));
  return rows;
}

/**
 * What registries write and readers meet (gcm `g2`): a routine refresh's encode (content unchanged: the
 * ciphertext is reused, only the expiry's MAC is new), a full decode, the synchronous batch decode a
 * cold `find` uses on node:crypto, and a reader's check of a refreshed value against a body it decoded
 * before (the MAC alone).
 */
async function benchG2(
  codec: RecordCodec,
  options: Required<BenchOptions>,
  row: (operation: string, samples: number[]) => Row,
): Promise<Row[]> {
  const { recordsPerRound, rounds, record, recordKey } = options;
  const encodeRecord = codec.encodeRecord as NonNullable<RecordCodec['encodeRecord']>;
  const decodeRecord = codec.decodeRecord as NonNullable<RecordCodec['decodeRecord']>;
  const { expires_at: expiresAt, ...rest } = JSON.parse(record) as { expires_at?: number };
  const content = JSON.stringify(rest);
  const base = typeof expiresAt === 'number' ? expiresAt : 1_795_723_230_000;
  const keys = Array.from({ length: recordsPerRound }, (_, index) => `${recordKey}-${index}`);
  const values = await Promise.all(keys.map((key) => encodeRecord(content, base, key)));
  let tick = 0;
  const routine = await measure(rounds, recordsPerRound, async () => {
    for (const key of keys) await encodeRecord(content, base + ++tick, key);
  });
  const decode = await measure(rounds, recordsPerRound, async () => {
    for (const [index, value] of values.entries()) await decodeRecord(value, keys[index] as string);
  });
  const rows = [row('g2 encode, content unchanged', routine), row('g2 decode', decode)];
  const decodeSync = codec.decodeRecordSync;
  // Only where the backend decrypts synchronously (node:crypto); elsewhere it answers undefined.
  if (decodeSync?.call(codec, values[0] as string, keys[0] as string) !== undefined) {
    const sync = await measure(rounds, recordsPerRound, async () => {
      for (const [index, value] of values.entries()) decodeSync.call(codec, value, keys[index] as string);
    });
    rows.push(row('g2 decode, synchronous batch', sync));
  }
  const bodies = await Promise.all(
    values.map(async (value, index) => (await decodeRecord(value, keys[index] as string)).body),
  );
  const refreshed = await Promise.all(keys.map((key) => encodeRecord(content, base + 10_000, key)));
  const check = await measure(rounds, recordsPerRound, async () => {
    for (const [index, body] of bodies.entries()) {
      if (body?.sameBody(refreshed[index] as string) !== base + 10_000) {
        throw new Error('a refreshed g2 value did not match its body');
      }
    }
  });
  rows.push(row('g2 refreshed value, MAC check only', check));
  return rows;
}

/** Measures encode and decode of one record (default ~330 bytes) for each codec on the web and node backends. */
export async function benchCodecs(options: BenchOptions = {}): Promise<Row[]> {
  const resolved: Required<BenchOptions> = {
    recordsPerRound: options.recordsPerRound ?? 2000,
    rounds: options.rounds ?? 7,
    batchSize: options.batchSize ?? 1000,
    record: options.record ?? RECORD,
    recordKey: options.recordKey ?? RECORD_KEY,
  };
  const backends: CryptoBackend[] = [webCryptoBackend, nodeCryptoBackend];
  const rows: Row[] = [];
  for (const makeCodec of [gcmCodec, apicrudCodec]) {
    for (const backend of backends) {
      rows.push(...(await benchOne(makeCodec(SECRET, { backend }), backend.name, resolved)));
    }
  }
  return rows;
}

/** What section 3 says about the record the rows were measured on. */
export interface CodecSectionInput {
  readonly measured: Measured;
  readonly rows: readonly Row[];
  readonly rounds: number;
  /** The measured record: JSON length and stored length, or undefined for the built-in sample record. */
  readonly sample: { readonly plaintextBytes: number; readonly storedBytes: number } | undefined;
}

export function renderCodecSection(input: CodecSectionInput): string {
  const source =
    input.sample === undefined
      ? `the built-in sample record (${RECORD.length} bytes of JSON; run with \`find\` to use a real one)`
      : `the plaintext of a real record from the find part (${input.sample.plaintextBytes} bytes of JSON, ` +
        `${input.sample.storedBytes} bytes stored)`;
  return [
    '## 3. Encryption cost per record',
    '',
    measuredLine(input.measured),
    '',
    `The codec micro-bench (\`packages/bench/src/codec.ts\`, \`benchCodecs()\`) on ${source}, ` +
      `${input.rounds} rounds each. \`encode\`/\`decode\` are format \`g1\` (\`codec.encode\`, the expiry inside ` +
      'the ciphertext); “decode xN” is N of them awaited together, the other rows are one at a time. The `g2` ' +
      'rows are what registries write and `find()` reads: a routine refresh’s encode (content unchanged: the ' +
      'ciphertext is reused, only the expiry and its HMAC are new), a full decode, the synchronous batch a cold ' +
      '`find()` runs on node:crypto (no promise per record), and a warm reader’s check of a refreshed value ' +
      'against the body it decoded before (the HMAC alone, no AES).',
    '',
    markdownTable(
      ['codec', 'backend', 'operation', 'median µs', 'min µs', 'max µs'],
      input.rows.map((entry) => [
        entry.codec,
        entry.backend,
        entry.operation,
        fmt(entry.medianUs),
        fmt(entry.minUs),
        fmt(entry.maxUs),
      ]),
      3,
    ),
  ].join('\n');
}
