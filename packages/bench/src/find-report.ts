// Section 2 of BENCHMARKS.md: find(service) latency, its targets, where the time goes, and its reading.

import type { Row as CodecRow } from './codec.js';
import { type FindResult, type FindRow, type FindSize, STEADY_SHARE, type VariantKey } from './find.js';
import { fmt, fmtRatio, fmtSpread, type Measured, markdownTable, measuredLine } from './lib.js';
import { verdict } from './refresh-report.js';

export interface FindSectionInput {
  readonly measured: Measured;
  readonly unrelatedKeys: number;
  readonly find: FindResult;
  /** The codec rows of the same run, if the codec part ran: the note quotes the batched decode. */
  readonly codecs: readonly CodecRow[] | undefined;
}

const TARGET_SEED_SPEEDUP = 30;
const TARGET_FLOOR_RATIO = 3;
/** Issue 14: a find after every record had one routine refresh, at most this times the floor. */
const TARGET_REFRESHED_RATIO = 2;
/** Issue 14: cold find at the largest size, node:crypto / Web Crypto; and at 1,000 on both. */
const TARGET_COLD_NODE_RATIO = 4;
const TARGET_COLD_WEB_RATIO = 8;
const TARGET_COLD_1000_RATIO = 4;

/** One row of the issue-14 targets table: `variant` at `size` against `limit` times the floor. */
function floorTarget(size: FindSize, key: VariantKey, limit: number, what: string): string[] {
  const entry = row(size, key);
  const floor = row(size, 'mget');
  const ratio = entry.ms.median / floor.ms.median;
  return [
    `${what} at ${size.size.toLocaleString('en-US')} instances ≤ ${limit}× the \`MGET\` floor`,
    `${fmt(entry.ms.median)} ms ÷ ${fmt(floor.ms.median)} ms = ${fmtRatio(ratio)}`,
    verdict(
      ratio <= limit,
      ratio <= limit
        ? `${fmt((1 - ratio / limit) * 100)} % headroom`
        : `${fmt((ratio / limit - 1) * 100)} % over`,
    ),
  ];
}

const COLD_SNAPSHOT_NODE = 'cold `find` with the service snapshot, node:crypto';
const COLD_SNAPSHOT_WEB = 'cold `find` with the service snapshot, Web Crypto';
const COLD_NODE = 'cold `find` without a snapshot (the first reader), node:crypto';
const COLD_WEB = 'cold `find` without a snapshot (the first reader), Web Crypto';

function issue14Targets(find: FindResult): string[][] {
  const largest = find.sizes[find.sizes.length - 1] as FindSize;
  const thousand = find.sizes.find((size) => size.size === 1_000);
  const rows = [
    floorTarget(
      largest,
      'refreshed-node',
      TARGET_REFRESHED_RATIO,
      "`find` after every record had one routine refresh (node:crypto, `expiryCheck: 'halfway'`)",
    ),
    floorTarget(largest, 'cold-snapshot-node', TARGET_COLD_NODE_RATIO, COLD_SNAPSHOT_NODE),
    floorTarget(largest, 'cold-snapshot-web', TARGET_COLD_WEB_RATIO, COLD_SNAPSHOT_WEB),
    floorTarget(largest, 'cold-node', TARGET_COLD_NODE_RATIO, COLD_NODE),
    floorTarget(largest, 'cold-web', TARGET_COLD_WEB_RATIO, COLD_WEB),
  ];
  if (thousand !== undefined && thousand !== largest) {
    rows.push(floorTarget(thousand, 'cold-snapshot-node', TARGET_COLD_1000_RATIO, COLD_SNAPSHOT_NODE));
    rows.push(floorTarget(thousand, 'cold-snapshot-web', TARGET_COLD_1000_RATIO, COLD_SNAPSHOT_WEB));
    rows.push(floorTarget(thousand, 'cold-node', TARGET_COLD_1000_RATIO, COLD_NODE));
    rows.push(floorTarget(thousand, 'cold-web', TARGET_COLD_1000_RATIO, COLD_WEB));
  }
  return rows;
}

const row = (size: FindSize, key: VariantKey): FindRow => {
  const found = size.rows.find((entry) => entry.key === key);
  if (!found) throw new Error(`no ${key} row at ${size.size}`);
  return found;
};

export function renderFindSection(input: FindSectionInput): string {
  const { find } = input;
  const largest = find.sizes[find.sizes.length - 1] as FindSize;
  const n = largest.size.toLocaleString('en-US');
  const warm = row(largest, 'warm-node');
  const floor = row(largest, 'mget');
  const seed = row(largest, 'seed');
  const seedSpeedup = seed.ms.median / warm.ms.median;
  const floorRatio = warm.ms.median / floor.ms.median;
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);

  push(
    '## 2. `find(service)` latency',
    '',
    measuredLine(input.measured),
    '',
    markdownTable(
      ['target (issue 3)', 'measured (median)', 'verdict'],
      [
        [
          `\`find(service)\` at ${n} instances ≥ ${TARGET_SEED_SPEEDUP}× faster than the seed's algorithm (warm, node:crypto)`,
          `${fmt(seed.ms.median)} ms ÷ ${fmt(warm.ms.median)} ms = ${fmtRatio(seedSpeedup)}`,
          verdict(
            seedSpeedup >= TARGET_SEED_SPEEDUP,
            seedSpeedup >= TARGET_SEED_SPEEDUP
              ? `${fmtRatio(seedSpeedup / TARGET_SEED_SPEEDUP)} the target`
              : `${fmt((1 - seedSpeedup / TARGET_SEED_SPEEDUP) * 100)} % short`,
          ),
        ],
        [
          `\`find(service)\` at ${n} instances ≤ ${TARGET_FLOOR_RATIO}× the \`MGET\` floor (warm, node:crypto)`,
          `${fmt(warm.ms.median)} ms ÷ ${fmt(floor.ms.median)} ms = ${fmtRatio(floorRatio)}`,
          verdict(
            floorRatio <= TARGET_FLOOR_RATIO,
            floorRatio <= TARGET_FLOOR_RATIO
              ? `${fmt((1 - floorRatio / TARGET_FLOOR_RATIO) * 100)} % headroom`
              : `${fmt((floorRatio / TARGET_FLOOR_RATIO - 1) * 100)} % over`,
          ),
        ],
      ],
      1,
    ),
    '',
    markdownTable(['target (issue 14)', 'measured (median)', 'verdict'], issue14Targets(find), 1),
    '',
    `The headline is the warm \`find()\` on node:crypto: a long-lived Node service calls \`find\` repeatedly, ` +
      'and records that have not been rewritten since its last call are not decrypted again. The other ' +
      `variants against the same two targets at ${n} instances:`,
    '',
    markdownTable(
      ['variant', 'median ms', `vs seed (≥ ${TARGET_SEED_SPEEDUP}×)`, `vs floor (≤ ${TARGET_FLOOR_RATIO}×)`],
      (
        [
          'warm-node',
          'steady-node',
          'refreshed-node',
          'refreshed-checked-node',
          'cold-node',
          'cold-snapshot-node',
          'warm-web',
          'cold-web',
          'cold-snapshot-web',
        ] as const
      ).map((key) => {
        const entry = row(largest, key);
        const speedup = seed.ms.median / entry.ms.median;
        const overFloor = entry.ms.median / floor.ms.median;
        return [
          entry.label,
          fmt(entry.ms.median),
          `${fmtRatio(speedup)} ${speedup >= TARGET_SEED_SPEEDUP ? 'met' : 'missed'}`,
          `${fmtRatio(overFloor)} ${overFloor <= TARGET_FLOOR_RATIO ? 'met' : 'missed'}`,
        ];
      }),
    ),
    '',
  );

  // Method
  push(
    `One service grown to ${find.sizes.map((size) => size.size.toLocaleString('en-US')).join(', ')} ` +
      `instances (registered by real registries), with ${input.unrelatedKeys.toLocaleString('en-US')} unrelated ` +
      'keys (`DEBUG POPULATE`) in the same database. The seed-format copy of every record (same plaintext, ' +
      "apicrud's AES-CBC, apicrud's key layout `reg:<service>:<id>`) is there too, so the seed's algorithm " +
      'has the same records to find. Variants:',
    '',
    '- **find() warm**: the same registry calls `find` again; nothing was rewritten, so no record is decrypted ' +
      '(the cache holds, per record key, the last value seen). **cold**: a fresh registry each time (empty cache, key ' +
      'derivation on first use), so every record is decrypted and validated. **steady**: between two finds ' +
      `${Math.round(STEADY_SHARE * 100)} % of the records had a routine refresh by their own registry ` +
      '(`update()`: same content, new expiry), as a fleet refreshing every 10 s does in the second between two ' +
      'finds. **after every record had one routine refresh**: between two finds all of them were refreshed. ' +
      'The writers (the registries of every instance) run in a process of their own (`find-writers.ts`), as ' +
      'the instances’ own processes would: none of their work or garbage lands on the reader’s process, and ' +
      'a refreshed variant’s timing starts once they answered. ' +
      'A routine refresh writes the same ciphertext (gcm format `g2`) with a new expiry beside it, so the ' +
      "reader decrypts nothing: by default (`expiryCheck: 'halfway'`) it compares the body and answers " +
      'its cached instance until the expiry it authenticated is half spent; **every MAC checked** ' +
      "(`'every-change'`) checks the new expiry’s HMAC at once (pure JS, two SHA-256 compressions; once " +
      'per new expiry, not again on the next find): what the default pays at the midpoint.',
    '- **node:crypto / Web Crypto**: the codec’s backend (`gcmCodec(secret, { backend })`).',
    '- **store.list() alone**: the store call `find` makes on a single Redis (one ' +
      '`SORT_RO ns:index:{svc} BY nosort GET # GET ns:{svc}:*`, the read-only SORT a full server under ' +
      '`noeviction` still answers; reply parsed into records; the list script runs ' +
      'only when the reply shows a stale index entry, to prune it), without the core: no decrypt, sort or url map.',
    '- **core alone**: a warm `find()` whose store hands over the same records from memory (no I/O): the ' +
      "core's own share of a warm find.",
    '- **reference: SORT_RO … GET**: the same `SORT_RO` sent straight through ioredis, no store around it: the ' +
      "store's own overhead is the difference. Redis 7 Cluster refuses GET patterns, so on a Cluster (and " +
      'on Upstash) the store keeps the Lua list script (prune, ZRANGE, MGET in chunks, build the reply).',
    "- **seed**: apicrud's `find` — `SCAN MATCH reg:orders:*` through the keyspace (redis-py's `scan_iter` " +
      'sends no COUNT, so the server default of 10 applies), one `GET` per matching key, each value decrypted ' +
      `(core's \`apicrudCodec\`, node:crypto) and JSON-parsed, one after another. “COUNT ${find.seedScanCount}” ` +
      'is the same algorithm with a kinder SCAN, for reference.',
    '- **floor**: one `MGET` of the record keys (known in advance), no decryption: the least any store ' +
      'can do to hand over these records.',
    '',
    'Columns: milliseconds per call, median (p10–p90) and min–max over the rounds; “× floor” = median ÷ ' +
      'the MGET median; “seed ÷” = the seed median ÷ this median; server ms = time the server spent ' +
      'executing the commands this variant sent (INFO commandstats); commands = commands sent per call.',
    '',
  );
  for (const size of find.sizes) {
    const sizeFloor = row(size, 'mget').ms.median;
    const sizeSeed = row(size, 'seed').ms.median;
    push(
      `### ${size.size.toLocaleString('en-US')} instances (${size.dbsize.toLocaleString('en-US')} keys in the database)`,
      '',
      markdownTable(
        ['variant', 'median ms (p10–p90)', 'min–max', 'rounds', '× floor', 'seed ÷', 'server ms', 'commands'],
        size.rows.map((entry) => [
          entry.label,
          fmtSpread(entry.ms),
          `${fmt(entry.ms.min)}–${fmt(entry.ms.max)}`,
          String(entry.ms.n),
          fmtRatio(entry.ms.median / sizeFloor),
          fmtRatio(sizeSeed / entry.ms.median),
          fmt(entry.serverMs),
          fmt(entry.commandsPerRun),
        ]),
      ),
      '',
    );
  }

  // Where the time goes
  const list = row(largest, 'list');
  const core = row(largest, 'core-warm');
  const sort = row(largest, 'sort');
  const cold = row(largest, 'cold-node');
  const coldWeb = row(largest, 'cold-web');
  const breakdown: [string, number][] = [
    ['server: SORT … GET (the index, one GET per id, the reply)', list.serverMs],
    [
      'client: reply transfer and RESP parsing into records (store.list − server)',
      list.ms.median - list.serverMs,
    ],
    ['core, warm: cache lookups, expiry check, sort, url map (core alone, measured)', core.ms.median],
    [
      'rest: GC, scheduling and noise (warm − store.list − core alone; may come out negative)',
      warm.ms.median - list.ms.median - core.ms.median,
    ],
    ['= warm find, node:crypto (measured)', warm.ms.median],
    [
      'core, cold extra: decrypt + parse + validate every record (cold − warm, node:crypto)',
      cold.ms.median - warm.ms.median,
    ],
    [
      '… same on Web Crypto (cold − warm, Web Crypto)',
      coldWeb.ms.median - row(largest, 'warm-web').ms.median,
    ],
  ];
  const seedRow = row(largest, 'seed');
  push(
    `### Where the time goes at ${n} instances`,
    '',
    'Differences of medians from the table above (so approximate, and noisy where two similar numbers are subtracted):',
    '',
    markdownTable(
      ['part of find(service)', 'ms', 'per record µs'],
      breakdown.map(([label, ms]) => [label, fmt(ms), fmt((ms * 1000) / largest.size)]),
    ),
    '',
    `For comparison, the floor's single MGET costs the server ${fmt(floor.serverMs)} ms and the client ` +
      `${fmt(floor.ms.median - floor.serverMs)} ms (transfer and parsing of ${n} values); the bare SORT … GET ` +
      `reference, the store's command without the store around it, costs the server ` +
      `${fmt(sort.serverMs)} ms (${fmt(sort.ms.median)} ms in all). The seed's ` +
      `algorithm sends ${fmt(seedRow.commandsPerRun)} commands per call (SCAN pages plus one GET per record), ` +
      `the server spends only ${fmt(seedRow.serverMs)} ms on them: its ${fmt(seedRow.ms.median)} ms are ` +
      'round trips, one after another.',
    '',
  );

  push('### Reading', '', ...notes(input, { warm, floor, seed, list, core, sort, cold, coldWeb }));
  return out.join('\n');
}

function notes(
  input: FindSectionInput,
  rows: {
    warm: FindRow;
    floor: FindRow;
    seed: FindRow;
    list: FindRow;
    core: FindRow;
    sort: FindRow;
    cold: FindRow;
    coldWeb: FindRow;
  },
): string[] {
  const { warm, floor, seed, list, core, sort, cold, coldWeb } = rows;
  const { find } = input;
  const largest = find.sizes[find.sizes.length - 1] as FindSize;
  const steady = row(largest, 'steady-node');
  const refreshed = row(largest, 'refreshed-node');
  const checked = row(largest, 'refreshed-checked-node');
  const gcmNodeUs = (operation: (name: string) => boolean) =>
    input.codecs?.find(
      (entry) => entry.codec === 'gcm' && entry.backend === 'node' && operation(entry.operation),
    )?.medianUs;
  // What a cold find runs on node:crypto: the synchronous batch of g2 decodes (older runs: g1, awaited together).
  const batchDecodeUs =
    gcmNodeUs((name) => name === 'g2 decode, synchronous batch') ??
    gcmNodeUs((name) => name.startsWith('decode x'));
  const n = largest.size.toLocaleString('en-US');
  const lines: string[] = [];
  const listShare = (list.ms.median / warm.ms.median) * 100;
  lines.push(
    `- **find at ${n}, warm.** ${fmt(warm.ms.median)} ms, of which the store call is ${fmt(list.ms.median)} ms ` +
      `(${fmt(listShare)} %): ${fmt(list.serverMs)} ms of it in the server's SORT … GET (the floor's MGET: ` +
      `${fmt(floor.serverMs)} ms; the bare SORT reference: ${fmt(sort.serverMs)} ms), the rest moving and parsing a reply ` +
      `of ${n} ids and ${n} values (twice the floor's item count). So store.list alone sits at ` +
      `${fmtRatio(list.ms.median / floor.ms.median)} the floor before the core does anything. The core's warm ` +
      `work costs ${fmt(core.ms.median)} ms (${fmt((core.ms.median * 1000) / largest.size)} µs per record) on ` +
      'its own: per record a cache lookup by record key and a comparison of the value with the one cached ' +
      '(synchronous, no promise), the expiry check, then the sort by id and the url map.',
  );
  lines.push(
    `- **find at ${n}, cold and steady.** Decrypting and validating every record costs ` +
      `${fmt(cold.ms.median - warm.ms.median)} ms on node:crypto ` +
      `(${fmt(((cold.ms.median - warm.ms.median) * 1000) / largest.size)} µs per record, of which the ` +
      `AES-GCM decode itself is about ${batchDecodeUs === undefined ? 'n/a' : fmt(batchDecodeUs)} µs in ` +
      'section 3; the rest is JSON parsing, validation, building the instance and filling the cache) and ' +
      `${fmt(coldWeb.ms.median - warm.ms.median)} ms on Web Crypto: a cold find is ` +
      `${fmtRatio(cold.ms.median / floor.ms.median)} the floor on node:crypto and ` +
      `${fmtRatio(coldWeb.ms.median / floor.ms.median)} on Web Crypto. A routine refresh keeps the ciphertext ` +
      `(gcm \`g2\`: the expiry travels beside it under an HMAC), so the cache survives it: with ` +
      `${Math.round(STEADY_SHARE * 100)} % refreshed, a find takes ${fmt(steady.ms.median)} ms ` +
      `(${fmtRatio(steady.ms.median / floor.ms.median)} the floor), and after every record had one refresh ` +
      `${fmt(refreshed.ms.median)} ms (${fmtRatio(refreshed.ms.median / floor.ms.median)}): with the default ` +
      "`expiryCheck: 'halfway'` a refreshed value is answered from the cache with the expiry last authenticated " +
      "until that expiry is half spent (this run's records live an hour, so no find here reaches a midpoint). " +
      'The find that does check, once per record per half-lifetime (every find after a refresh with ' +
      `\`'every-change'\`), takes ${fmt(checked.ms.median)} ms ` +
      `(${fmtRatio(checked.ms.median / floor.ms.median)}): per record the new expiry's HMAC (two SHA-256 ` +
      'compressions in JavaScript) and a new instance. With the defaults (ttl 30 s, a refresh every 10 s) ' +
      'and finds more often than refreshes, a reader checks each record every 10 to 15 s instead of after ' +
      'each refresh: the saving is in the find right after a burst of refreshes, not in the long-run ' +
      'average. Only records whose ' +
      'content changed (status, meta, endpoints) or whose writer restarted are decrypted again; a process ' +
      'that calls `find` for the first time pays the cold ' +
      `price. Against the seed's algorithm even the cold Web Crypto find is ` +
      `${fmtRatio(seed.ms.median / coldWeb.ms.median)} faster.`,
  );
  // What the cold targets leave per record once the store call is paid.
  const budgetUs = (ratio: number, size: FindSize) => {
    const floorRow = row(size, 'mget');
    const listRow = row(size, 'list');
    return ((ratio * floorRow.ms.median - listRow.ms.median) * 1000) / size.size;
  };
  const coldUs = (size: FindSize, key: 'cold-node' | 'cold-web') =>
    ((row(size, key).ms.median - row(size, 'list').ms.median) * 1000) / size.size;
  lines.push(
    `- **What the cold targets leave per record.** Above the store call, a cold find at ${n} may spend ` +
      `${fmt(budgetUs(TARGET_COLD_NODE_RATIO, largest))} µs per record on node:crypto (≤ ${TARGET_COLD_NODE_RATIO}× the floor) and ` +
      `${fmt(budgetUs(TARGET_COLD_WEB_RATIO, largest))} µs on Web Crypto (≤ ${TARGET_COLD_WEB_RATIO}×); it spends ` +
      `${fmt(coldUs(largest, 'cold-node'))} and ${fmt(coldUs(largest, 'cold-web'))} µs. Per record it makes one AES-GCM ` +
      'decrypt call (on node:crypto a new `Decipheriv`: OpenSSL does the AES in well under a microsecond, the ' +
      'object and its buffers are the cost; on Web Crypto a job on the thread pool and a promise), checks the ' +
      "expiry's HMAC (three or four SHA-256 compressions in JavaScript, one or two of them for the MAC prefix a later refresh " +
      'reuses), parses and validates the JSON and fills the cache. None of these can be shared between records ' +
      'while each record is its own AES-GCM message with its own IV, so the cold targets need fewer decrypt calls ' +
      'per find, not faster ones. That is what the service snapshot does (`snapshots`, default on): the first ' +
      'cold reader of a service of at least 64 records writes one AES-GCM value holding what it decoded, and a ' +
      'later cold reader decrypts that one value and checks each listed record against it by its key id, IV, ' +
      `tag and length: ${fmt(row(largest, 'cold-snapshot-node').ms.median)} ms on node:crypto and ` +
      `${fmt(row(largest, 'cold-snapshot-web').ms.median)} ms on Web Crypto at ${n}. Above the listing that is ` +
      "the snapshot's GET (about 190 bytes a record: each distinct endpoints list, URL and meta is written " +
      'once, the marks and MACs sit in one string per chunk; read as bytes, not as one long string), its ' +
      'decryption and a `JSON.parse` of each chunk of up to 512 rows, then about a µs a record to compare its ' +
      "mark and MAC (as slices of the record's value) and fill the cache. At 1,000 instances the floor is about " +
      'a millisecond and the listing alone half again as much, so the second round trip and the fixed costs of ' +
      'a fresh reader weigh most there.',
  );
  const seedGrowth = find.sizes.map((size) => `${fmt(row(size, 'seed').ms.median)} ms`).join(' → ');
  const warmGrowth = find.sizes.map((size) => `${fmt(row(size, 'warm-node').ms.median)} ms`).join(' → ');
  lines.push(
    `- **Scaling.** Over ${find.sizes.map((size) => size.size.toLocaleString('en-US')).join(' → ')} instances ` +
      `the seed's algorithm takes ${seedGrowth} (it pays for every key in the database, related or not: ` +
      `even 10 instances cost a full SCAN), the warm find ${warmGrowth}, proportional to the service's own size.`,
  );
  const seedRoundTripUs = (seed.ms.median * 1000) / seed.commandsPerRun;
  if (seed.ms.median / warm.ms.median < TARGET_SEED_SPEEDUP) {
    lines.push(
      `- **Why the ${TARGET_SEED_SPEEDUP}× target is missed.** The seed's algorithm is ` +
        `${fmt(seed.commandsPerRun)} round trips in a row, ${fmt(seedRoundTripUs)} µs each in this run, while ` +
        `the server works ${fmt(seed.serverMs)} ms of its ${fmt(seed.ms.median)} ms: its cost is loopback ` +
        'latency, which the load on the machine moves more than anything else (the issue quotes about 2.2 s ' +
        `for this kind of machine, about ${fmt(2_200_000 / seed.commandsPerRun)} µs per round trip; at that figure the warm find ` +
        `would be ${fmtRatio(2200 / warm.ms.median)} faster). The warm find would need to be ` +
        `${fmt(seed.ms.median / TARGET_SEED_SPEEDUP)} ms to meet it against this run's seed.`,
    );
  }
  if (warm.ms.median / floor.ms.median > TARGET_FLOOR_RATIO) {
    lines.push(
      `- **Why the ${TARGET_FLOOR_RATIO}× floor target is missed.** The ${fmt(warm.ms.median)} ms need to come ` +
        `down to ${fmt(floor.ms.median * TARGET_FLOOR_RATIO)} ms. Neither half fits on its own with much room: ` +
        `store.list alone is ${fmtRatio(list.ms.median / floor.ms.median)} the floor and the core alone ` +
        `${fmtRatio(core.ms.median / floor.ms.median)}. What would close the gap (for the owners of core and ` +
        'store-redis, not changed by this bench): in the core, a decrypt cache keyed by the record key that ' +
        'compares the ciphertext with `===` instead of hashing key + ciphertext, and cache hits answered ' +
        'without a promise per record; in the store, little is left: its SORT … GET already costs the server ' +
        `${fmtRatio(list.serverMs / floor.serverMs)} the MGET's, and the rest is a reply that carries ids beside ` +
        'values (twice the items to transfer and parse).',
    );
  }
  return lines;
}
