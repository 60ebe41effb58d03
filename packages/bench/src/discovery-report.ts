// The Discovery view section of BENCHMARKS.md: cached reads, propagation, a crash, steady-state traffic.

import type { DiscoveryResult } from './discovery.js';
import { type Measured, measuredLine } from './lib.js';

export function renderDiscoverySection(input: {
  measured: Measured;
  discovery: DiscoveryResult;
  unrelatedKeys: number;
}): string {
  const { reads10, reads1000, moves, steady, scale } = input.discovery;
  const unrelated = input.unrelatedKeys.toLocaleString('en-US');
  return [
    '## Discovery view',
    '',
    measuredLine(input.measured),
    '',
    '| cached read (median ns per call) | 10 instances | 1,000 instances |',
    '| --- | ---: | ---: |',
    ...Object.keys(reads10).map(
      (name) =>
        `| \`${name}\` | ${(reads10[name] as number).toFixed(0)} | ${(reads1000[name] as number).toFixed(0)} |`,
    ),
    '',
    `Redis, ${unrelated} unrelated keys: a new instance in the view ${moves.join.toFixed(1)} ms after \`register()\` resolved, ` +
      `a deregistered one gone after ${moves.leave.toFixed(1)} ms (medians of 20; writer and view on separate connections of one process); ` +
      `a crashed one (closed without deregistering, ttl 3 s) left ${moves.crash} ms after its record's expiry.`,
    '',
    `| steady state, 5 services, every instance also holding a view of all (ttl ${3 * scale} s, interval ${scale} s) | commands/s sent | scaled to ttl 30 / interval 10 | calls inside scripts/s |`,
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(steady).map(
      ([size, rate]) =>
        `| ${size} instances | ${rate.client.toFixed(1)} | ${((rate.client * scale) / 10).toFixed(1)} | ${rate.inside.toFixed(0)} |`,
    ),
    '| moleculer 0.15 Redis discoverer, 50 nodes (quoted from issue 9, not run here) | 4,905 | | |',
    '',
    'Method and reading (`packages/bench/src/discovery.ts`; `pnpm bench --only discovery`, ' +
      '`--discovery-scale 10` runs the steady state at ttl 30 s / interval 10 s itself, `--discovery-sizes` ' +
      'takes e.g. `50,250,1000`):',
    '',
    '- Cached reads: 31 rounds of 10,000 calls on a view holding one service of 10 and of 1,000',
    '  instances; the median round, per call. They never touch the store. Target < 1 µs (`hash` walks a',
    '  consistent-hashing ring of 32 points per instance by binary search).',
    '- Propagation: a writer and a view (each its own connection, in one process, not two processes) on',
    `  the redis-server started by the bench with ${unrelated} unrelated keys; time from \`register()\` resolving`,
    "  (and `deregister()` resolving) to the view's `instances()` showing it, median of 20. Target",
    '  < 100 ms (one PUBLISH, one re-read of that service). A crashed instance (closed without',
    "  deregistering) leaves at its record's own expiry (the view removes it from its own timer, no store",
    '  read), against 23 s (`find`) and 31 s (watchers) measured for the old code at ttl 30 / interval 10.',
    '- Steady state: N instances over 5 services, each process also holding a view of all services;',
    '  after one ttl of warm-up, `INFO commandstats` over two ttls. "Sent" counts what clients send',
    '  (EVALSHA, SORT, MGET, SCAN, SUBSCRIBE, and the read-only `_RO` forms); the calls scripts make',
    '  inside Redis are shown apart. Each',
    '  instance refreshes once per interval (one EVALSHA) and each view sends one probe for all its',
    '  services shortly before the earliest held expiry, about once per ttl - interval (one EVALSHA on a',
    '  single Redis; one per service on a Cluster); nothing else moves while nothing changes. At ttl 3 /',
    "  interval 1 the probe's lead is 0.25 s (a quarter interval, at most 1 s), so the scaled column is a",
    '  slight over-estimate of the ttl 30 / interval 10 figure (the formula gives 50/10 + 50/(30 - 11 - 2)',
    "  = 7.9/s). An idle probe reads a few dozen bytes per service whatever its size. moleculer's figure is",
    '  quoted from issue 9 (same load, measured there), not run here.',
    '- Upstash: one idle view sends one `changeCount` request per poll (default: the interval, 10 s) and',
    '  one probe request (a pipeline of every service) about every 17 s. Measured with the real',
    "  `@upstash/redis` client against the repo's Upstash-compatible test server (10 instances of 5",
    '  services, defaults ttl 30 s / interval 10 s, 5 idle minutes, instances writing through another',
    '  server): 9.8 requests per minute (49 in 5 min: 31 single commands, 18 pipelines; the view counted 30',
    '  counter reads, 17 probes, no list). `pnpm --filter @service-registry/store-upstash bench:idle`.',
    '- The steady-state fleet shares 8 command connections (each instance and each view still has its own',
    '  store object, so each view its own subscriber connection, as a process would): one connection per',
    '  instance took more than 10 minutes to set up at 1,000. Sharing changes how commands reach Redis',
    '  (batched), not how many are sent.',
    '- Not measured by this part: a SIGKILLed separate process (the crash above closes a registry without',
    '  deregistering in the same process); 1,000 instances by default: at ttl 3 / interval 1 the 1,000',
    '  registries and 1,000 all-service views in one process on 2 shared cores miss refresh deadlines, a',
    '  missed refresh is rewritten as a change, and every view re-reads its service: the setup, not Redis,',
    '  breaks down. `--discovery-sizes 1000 --discovery-scale 10` (ttl 30 / interval 10) is the fair run.',
  ].join('\n');
}
