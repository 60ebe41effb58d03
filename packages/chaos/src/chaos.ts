import { randomBytes } from 'node:crypto';
import { cpus, release, totalmem, type } from 'node:os';
import {
  type RedisServer,
  randomNamespace,
  sendCommand,
  startRedisServer,
} from '@service-registry/redis-testing';
import type { KillObservation } from './analysis.js';
import { type InstanceProcess, killInstance, spawnInstance, stopInstance } from './children.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import type { ChaosReport } from './report.js';
import {
  endMarginMs,
  FAULT_KINDS,
  type FaultKind,
  faultPauseMs,
  faultPhaseMs,
  faultSettings,
  nextKills,
  planRestarts,
  seededRandom,
} from './schedule.js';
import { type FaultPhase, type RestartRecord, summarize } from './summarize.js';
import { startChaosViews, type ViewReader } from './view-watcher.js';
import { type Reader, startReader } from './watcher.js';

/** Options of `runChaos`. */
export interface ChaosOptions {
  /** Length of the chaos phase (kills, restarts, faults), in seconds. Start-up and drain come on top. */
  durationSeconds: number;
  /** Instances alive at a time, each its own OS process. */
  instances: number;
  /** Two restarts instead of three, and fewer kills per round. */
  quick: boolean;
  /** Seed of the schedule's choices (which instance, which fault, when). */
  seed: number;
  /** Receives progress lines. */
  log: (line: string) => void;
  /** Aborts the run (the caller's SIGINT, or its deadline); children are still cleaned up. */
  signal?: AbortSignal;
}

const TTL_SECONDS = 3;
const INTERVAL_SECONDS = 1;
const OBSERVER_POLL_MS = 100;
const PROXIED_READER_POLL_MS = 250;
/** No faults and no spawns this long before a restart, so each instance meets Redis's return healthy. */
const QUIET_BEFORE_RESTART_MS = 2500;
/** ... nor this long past the recovery bound after Redis answers again. */
const QUIET_AFTER_RECOVERY_MS = 1500;
const SPAWN_SPACING_MS = 150;
const STOP_GRACE_MS = 4000;
/** The final SIGTERMs go out this far apart, so the views time each deregistration on its own. */
const STOP_SPACING_MS = 100;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function redisVersion(redis: RedisServer): Promise<string> {
  const info = String(await sendCommand(redis.port, ['INFO', 'server']).catch(() => ''));
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
}

/** Runs the chaos scenario and returns its report; throws only when it could not be run (or was aborted). */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log, signal, quick } = options;
  const random = seededRandom(options.seed);
  const bounds = { deadMs: (TTL_SECONDS + 1) * 1000, recoveryMs: (INTERVAL_SECONDS + 1) * 1000 };
  const runStartedAt = Date.now();
  const namespace = randomNamespace('chaos');
  const secret = randomBytes(24).toString('base64url');
  const instances: InstanceProcess[] = [];
  const readers: Reader[] = [];
  const views: ViewReader[] = [];
  const orchestratorIssues = { uncaught: [] as string[], unhandled: [] as string[] };
  const onUnhandled = (reason: unknown) => orchestratorIssues.unhandled.push(String(reason));
  const onUncaught = (error: unknown) => orchestratorIssues.uncaught.push(String(error));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUncaught);

  let redis: RedisServer | undefined;
  let proxy: FaultProxy | undefined;
  let sequence = 0;
  const services = ['catalog', 'orders', 'billing'];
  const spawnNext = (): InstanceProcess => {
    sequence++;
    const instance = spawnInstance({
      redisUrl: (proxy as FaultProxy).url,
      namespace,
      secret,
      serviceName: services[sequence % services.length] as string,
      instanceId: `i${String(sequence).padStart(4, '0')}`,
      port: 20_000 + sequence,
      ttlSeconds: TTL_SECONDS,
      intervalSeconds: INTERVAL_SECONDS,
    });
    instances.push(instance);
    return instance;
  };
  const alive = () => instances.filter((instance) => instance.exitedAt === undefined && !instance.killedAt);

  try {
    redis = await startRedisServer();
    proxy = await startFaultProxy(redis.port);
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      node: process.versions.node,
      redis: await redisVersion(redis),
    };
    log(`redis-server on ${redis.port}, fault proxy on ${proxy.port}, namespace ${namespace}`);

    // The observer goes straight to Redis: it is the measuring instrument, so proxy faults must not blur
    // it, and it reconnects every 50 ms so its own backoff never delays what it sees after a restart.
    const readerBase = { namespace, secret, ttlSeconds: TTL_SECONDS, intervalSeconds: INTERVAL_SECONDS };
    const observer = startReader({
      ...readerBase,
      label: 'the observer (direct)',
      url: redis.url,
      connection: { retryStrategy: () => 50, connectTimeout: 500, commandTimeout: 1000 },
      pollMs: OBSERVER_POLL_MS,
    });
    // A second reader takes the faulty path with the store's defaults: find() must fail cleanly there,
    // and what it lists is checked against the kills too.
    const proxied = startReader({
      ...readerBase,
      label: 'a reader via the proxy',
      url: proxy.url,
      pollMs: PROXIED_READER_POLL_MS,
    });
    readers.push(observer, proxied);
    views.push(...startChaosViews({ ...readerBase, pollMs: OBSERVER_POLL_MS }, redis.url, proxy.url));

    // Start-up: spawn with a little spacing (each tsx start costs ~0.4 s of CPU), then wait until the
    // observer lists every one of them.
    for (let index = 0; index < options.instances; index++) {
      spawnNext();
      await sleep(SPAWN_SPACING_MS, signal);
    }
    const startupDeadline = Date.now() + 30_000 + options.instances * 500;
    for (;;) {
      const latest = observer.samples.at(-1)?.ids;
      if (latest && instances.every((instance) => latest.has(instance.id))) break;
      const dead = instances.find((instance) => instance.exitedAt !== undefined);
      if (dead) throw new Error(`instance ${dead.id} exited during start-up:\n${dead.stray.join('\n')}`);
      if (Date.now() > startupDeadline) {
        const missing = instances.filter((instance) => !latest?.has(instance.id)).map((i) => i.id);
        throw new Error(
          `start-up: ${missing.length} instances never listed (${missing.slice(0, 5).join(', ')})`,
        );
      }
      await sleep(100, signal);
    }
    const chaosStartedAt = Date.now();
    log(
      `${instances.length} instances listed after ${((chaosStartedAt - runStartedAt) / 1000).toFixed(1)} s`,
    );

    // The chaos phase: one loop, ticking every 50 ms, that runs whatever is due.
    const durationMs = options.durationSeconds * 1000;
    const chaosEndsAt = chaosStartedAt + durationMs;
    const planned = planRestarts(durationMs, quick, TTL_SECONDS * 1000);
    const restarts: RestartRecord[] = [];
    const kills: KillObservation[] = [];
    const faultLog: FaultPhase[] = [];
    let phase: { kind: FaultKind; startedAt: number; endsAt: number } | undefined;
    let nextFaultAt = chaosStartedAt + faultPauseMs(random, quick);
    let nextKillAt = chaosStartedAt + nextKills(random, quick).afterMs;
    let pendingSpawns = 0;
    let quietUntil = 0;
    let faultRound = 0;

    const nextRestartAt = () => {
      const next = planned[restarts.length];
      return next ? chaosStartedAt + next.atMs : Number.POSITIVE_INFINITY;
    };
    const quiet = (now: number) => now < quietUntil || now >= nextRestartAt() - QUIET_BEFORE_RESTART_MS;
    const endPhase = (now: number) => {
      if (!phase) return;
      faultLog.push({ kind: phase.kind, fromAt: phase.startedAt, toAt: now });
      proxy?.clearFaults();
      phase = undefined;
      nextFaultAt = now + faultPauseMs(random, quick);
    };

    while (Date.now() < chaosEndsAt) {
      const now = Date.now();
      const restart = planned[restarts.length];
      if (restart && now >= nextRestartAt()) {
        endPhase(now);
        const downAt = Date.now();
        if (restart.kind === 'graceful') {
          await redis.restart();
        } else {
          await redis.kill();
          await sleep(restart.downMs, signal);
          await redis.restart();
        }
        const backAt = Date.now();
        restarts.push({ kind: restart.kind, atMs: downAt - chaosStartedAt, downAt, backAt });
        quietUntil = backAt + bounds.recoveryMs + QUIET_AFTER_RECOVERY_MS;
        log(`redis restart ${restarts.length} (${restart.kind}): down ${backAt - downAt} ms`);
        continue;
      }

      if (phase && (now >= phase.endsAt || quiet(now))) endPhase(now);
      if (!phase && now >= nextFaultAt && !quiet(now)) {
        // A kind whose phase does not fit before the next restart waits for the next window.
        const kind = FAULT_KINDS[faultRound % FAULT_KINDS.length] as FaultKind;
        const endsAt = Math.min(
          now + faultPhaseMs(kind, random),
          nextRestartAt() - QUIET_BEFORE_RESTART_MS - endMarginMs(kind),
          chaosEndsAt - endMarginMs(kind),
        );
        if (endsAt - now >= 500) {
          const { settings, dropAtStart } = faultSettings(kind);
          proxy.setFaults(settings);
          if (dropAtStart > 0) proxy.dropConnections(dropAtStart);
          phase = { kind, startedAt: now, endsAt };
          faultRound++;
        }
      }

      if (now >= nextKillAt) {
        const { afterMs, count } = nextKills(random, quick);
        nextKillAt = now + afterMs;
        const candidates = alive().filter((instance) => instance.readyAt !== undefined);
        for (let killed = 0; killed < count && candidates.length > 0; killed++) {
          const [victim] = candidates.splice(Math.floor(random() * candidates.length), 1);
          if (!victim) break;
          killInstance(victim);
          kills.push({ id: victim.id, killedAt: victim.killedAt as number });
          pendingSpawns++;
        }
      }
      if (pendingSpawns > 0 && !quiet(now)) {
        pendingSpawns--;
        spawnNext();
      }
      await sleep(50, signal);
    }
    endPhase(Date.now());
    const drainStartedAt = Date.now();
    // Long enough for the last kill's record to pass ttl + 1 s and the observer to see it gone.
    await sleep(bounds.deadMs + 1000, signal);
    const observedUntil = Date.now();
    await Promise.all(readers.map((reader) => reader.stop()));
    readers.length = 0;
    // Staggered, while the views still watch: each deregistration is timed on its own.
    const running = instances.filter((instance) => instance.exitedAt === undefined);
    const stopping: Promise<void>[] = [];
    for (const instance of running) {
      stopping.push(stopInstance(instance, STOP_GRACE_MS));
      await sleep(STOP_SPACING_MS, signal);
    }
    await Promise.all(stopping);
    await sleep(500, signal);
    await Promise.all(views.map((view) => view.stop()));
    const finishedAt = Date.now();

    return summarize({
      config: {
        quick,
        seed: options.seed,
        instances: options.instances,
        ttlSeconds: TTL_SECONDS,
        intervalSeconds: INTERVAL_SECONDS,
        observerPollMs: OBSERVER_POLL_MS,
        proxiedReaderPollMs: PROXIED_READER_POLL_MS,
      },
      machine,
      bounds,
      instances,
      kills,
      restarts,
      observer,
      proxied,
      views,
      observedUntil,
      faultLog,
      chaosStartedAt,
      proxy,
      orchestratorIssues,
      durations: {
        startupMs: chaosStartedAt - runStartedAt,
        chaosMs: drainStartedAt - chaosStartedAt,
        drainMs: observedUntil - drainStartedAt,
        totalMs: finishedAt - runStartedAt,
      },
      startedAt: new Date(runStartedAt).toISOString(),
    });
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUncaught);
    await Promise.allSettled([...readers, ...views].map((reader) => reader.stop()));
    for (const instance of instances) if (instance.exitedAt === undefined) killInstance(instance);
    await Promise.allSettled(instances.map((instance) => instance.exited));
    await proxy?.close();
    await redis?.stop();
  }
}
