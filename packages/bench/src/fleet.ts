// The fleet part (`pnpm bench --only fleet`): 100,000 registrations over 1,000 services refreshing at
// their rate plus 1,000 views, on one redis-server and then on a 3-master Redis Cluster that this part
// starts itself. Measures each master's CPU, commands/s and bytes/s, the generator's own CPU, the
// refresh rate it achieved against the target, and how fast joins, leaves and status changes reach
// every view holding their service. The load generator shares the machine's cores with Redis.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { newSpaceMiB } from './fleet-heap.js';
import { LeanWriters } from './fleet-lean.js';
import { type FleetShape, INTERVAL_SECONDS, SimulatedFleet, TTL_SECONDS } from './fleet-load.js';
import {
  type FleetServers,
  machineBusy,
  type NodeWindow,
  nodeWindows,
  startFleetServers,
  type Topology,
} from './fleet-server.js';
import { collectGarbage, percentile, progress, type Summary, summarize } from './lib.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface FleetOptions extends FleetShape {
  /** Length of the measured window, seconds. */
  readonly seconds: number;
  /** Churn events per second (joins, status changes and leaves, in turn). */
  readonly churnPerSecond: number;
  readonly topologies: readonly Topology[];
}

export interface FleetRun {
  readonly topology: Topology;
  readonly windowSeconds: number;
  readonly registerSeconds: number;
  readonly viewsReadySeconds: number;
  readonly targetRefreshesPerSecond: number;
  readonly refreshesPerSecond: number;
  readonly refreshFailures: number;
  /** Refreshes whose duplicate check found another writer's value (0 unless a writer is wrong). */
  readonly foreignPrevious: number;
  /** Lean mode: how late refreshes started after their due time (ms), and the largest backlog seen. */
  readonly lag: { late: Summary; p99: number; backlogMax: number } | undefined;
  readonly churnPerSecond: number;
  readonly cachedInstances: number;
  readonly nodes: readonly NodeWindow[];
  /** The bench process: share of one core, and its event loop's delay (ms). */
  readonly generatorCpu: number;
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  /** Share of all the machine's cores busy during the window (every process), when known. */
  readonly machineBusy: number | undefined;
  readonly freshness: { join: Summary; leave: Summary; status: Summary; missed: number };
  /** Sampled views: largest `ageMs`, and the share of samples that said `stale`. */
  readonly staleness: { samples: number; maxAgeMs: number; staleShare: number };
  readonly heapMiB: number;
  readonly rssMiB: number;
  /** The bench process's young generation at the end, MiB (V8's default stops at 32). */
  readonly newSpaceMiB: number;
}

export interface FleetResult {
  readonly options: FleetOptions;
  readonly runs: readonly FleetRun[];
}

/** Runs `phase`, printing `report()` every 10 s while it lasts; returns how long it took, in seconds. */
async function timedPhase(phase: () => Promise<void>, report: () => string): Promise<number> {
  const started = performance.now();
  const timer = setInterval(() => progress(report()), 10_000);
  try {
    await phase();
  } finally {
    clearInterval(timer);
  }
  return (performance.now() - started) / 1000;
}

async function measure(servers: FleetServers, options: FleetOptions): Promise<FleetRun> {
  const { topology } = servers;
  const fleet = new SimulatedFleet(options, (pipelined) => servers.connect(pipelined));
  try {
    progress(
      `fleet ${topology}: registering ${options.instances} instances over ${options.services} services (${options.mode} mode)`,
    );
    const registerSeconds = await timedPhase(
      () => fleet.register(),
      () => `fleet ${topology}: ${fleet.size} registered, ${fleet.refreshes} refreshes so far`,
    );
    progress(`fleet ${topology}: opening ${options.views} views (${options.viewServices} services each)`);
    const viewsReadySeconds = await timedPhase(
      () => fleet.openViews(),
      () => `fleet ${topology}: ${fleet.views.length} views opened, ${fleet.refreshes} refreshes so far`,
    );
    // One interval and a bit: every loop has refreshed at least once, the rate is steady.
    progress(`fleet ${topology}: warming up ${INTERVAL_SECONDS + 2} s`);
    await sleep((INTERVAL_SECONDS + 2) * 1000);
    collectGarbage();

    const delay = monitorEventLoopDelay({ resolution: 10 });
    const busy = await machineBusy();
    const before = await servers.sample();
    const cpuBefore = process.cpuUsage();
    const refreshesBefore = fleet.refreshes;
    const failuresBefore = fleet.refreshFailures;
    const foreignBefore = fleet.writers.foreignPrevious;
    const lean = fleet.writers instanceof LeanWriters ? fleet.writers : undefined;
    let backlogMax = 0;
    if (lean) {
      lean.lagMs.length = 0;
      lean.recordLag = true;
    }
    const churnBefore = fleet.churned.join + fleet.churned.leave + fleet.churned.status;
    const windowStart = performance.now();
    delay.enable();
    progress(`fleet ${topology}: measuring ${options.seconds} s, ${options.churnPerSecond} churn events/s`);
    const churns: Promise<void>[] = [];
    const churnTimer = setInterval(
      () => churns.push(fleet.churn().catch(() => {})),
      1000 / options.churnPerSecond,
    );
    let staleSamples = 0;
    let staleCount = 0;
    let maxAgeMs = 0;
    let nextView = 0;
    const staleTimer = setInterval(() => {
      if (lean) backlogMax = Math.max(backlogMax, lean.backlog);
      for (let sampled = 0; sampled < 20 && fleet.views.length > 0; sampled++) {
        const view = fleet.views[nextView++ % fleet.views.length];
        const snapshot = view?.snapshot();
        if (!snapshot) continue;
        staleSamples++;
        if (snapshot.stale) staleCount++;
        maxAgeMs = Math.max(maxAgeMs, snapshot.ageMs);
      }
    }, 1000);
    await sleep(options.seconds * 1000);
    clearInterval(churnTimer);
    clearInterval(staleTimer);
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const after = await servers.sample();
    const cpu = process.cpuUsage(cpuBefore);
    delay.disable();
    const machine = await busy();
    const refreshes = fleet.refreshes - refreshesBefore;
    if (lean) lean.recordLag = false;
    const churned = fleet.churned.join + fleet.churned.leave + fleet.churned.status - churnBefore;
    await Promise.all(churns);
    // Effects not seen 2 s after the window closed were missed by that view.
    await sleep(2000);
    const { samples } = fleet.freshness;
    const memory = process.memoryUsage();
    return {
      topology,
      windowSeconds,
      registerSeconds,
      viewsReadySeconds,
      targetRefreshesPerSecond: options.instances / INTERVAL_SECONDS,
      refreshesPerSecond: refreshes / windowSeconds,
      refreshFailures: fleet.refreshFailures - failuresBefore,
      foreignPrevious: fleet.writers.foreignPrevious - foreignBefore,
      lag: lean && {
        late: summarize(lean.lagMs),
        p99: percentile(lean.lagMs, 0.99),
        backlogMax,
      },
      churnPerSecond: churned / windowSeconds,
      cachedInstances: fleet.cachedInstances(),
      nodes: nodeWindows(servers.masters, before, after),
      generatorCpu: (cpu.user + cpu.system) / 1e6 / windowSeconds,
      loopDelayP50Ms: delay.percentile(50) / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      machineBusy: machine,
      freshness: {
        join: summarize(samples.join),
        leave: summarize(samples.leave),
        status: summarize(samples.status),
        missed: fleet.freshness.missed(2000),
      },
      staleness: {
        samples: staleSamples,
        maxAgeMs,
        staleShare: staleSamples === 0 ? 0 : staleCount / staleSamples,
      },
      heapMiB: memory.heapUsed / 1024 ** 2,
      rssMiB: memory.rss / 1024 ** 2,
      newSpaceMiB: newSpaceMiB(),
    };
  } finally {
    progress(`fleet ${topology}: closing`);
    await fleet.close();
  }
}

export async function benchFleet(options: FleetOptions): Promise<FleetResult> {
  const runs: FleetRun[] = [];
  for (const topology of options.topologies) {
    progress(`fleet: starting ${topology === 'single' ? 'a redis-server' : 'a 3-master Redis Cluster'}`);
    const servers = await startFleetServers(topology);
    try {
      runs.push(await measure(servers, options));
    } finally {
      await servers.stop();
    }
    collectGarbage();
  }
  return { options, runs };
}

export { INTERVAL_SECONDS, TTL_SECONDS };
