import { randomBytes } from 'node:crypto';
import { clusterNodes, randomNamespace, reshard, startRedisCluster } from '@service-registry/redis-testing';
import { endingOf, type InstanceProcess, spawnInstance, stopInstance } from './children.js';
import { clusterUrl } from './open-store.js';
import { between, seededRandom } from './schedule.js';
import { startViewReader, type ViewReader } from './view-watcher.js';
import { type Reader, startReader } from './watcher.js';

/*
 * The reshard phase: instances on a Redis Cluster of three masters while `redis-cli --cluster
 * reshard` moves slots, with their keys, between masters (a reshard takes seconds; the registry's
 * keys move with the rest). Nothing is killed or faulted here, so the bound is strict: every
 * `find()` of the observer answers, and lists every instance, during and after each reshard; and a
 * discovery view of every service on the same Cluster misses none of them and removes none.
 */

/** What the reshard phase saw. */
export interface ReshardReport {
  readonly instances: number;
  readonly reshards: readonly { slots: number; ms: number }[];
  /** Observer `find()` calls from the first reshard to the end. */
  readonly finds: number;
  readonly failedFinds: number;
  /** Answered finds that missed at least one live instance. */
  readonly incompleteFinds: number;
  /** The view's `snapshot()` samples from the first reshard to the end, and those missing a live instance. */
  readonly viewSamples: number;
  readonly viewIncomplete: number;
  /** `removed` events of the view in that time (each a live instance lost). */
  readonly viewRemoved: number;
  readonly crashes: number;
  readonly violations: readonly string[];
  readonly totalMs: number;
}

export interface ReshardOptions {
  instances: number;
  reshards: number;
  /** Slots each reshard moves. */
  slots: number;
  seed: number;
  log: (line: string) => void;
}

const TTL_SECONDS = 3;
const INTERVAL_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runReshardPhase(options: ReshardOptions): Promise<ReshardReport> {
  const startedAt = Date.now();
  const random = seededRandom(options.seed);
  const cluster = await startRedisCluster({ masters: 3 });
  const url = clusterUrl(cluster.startupNodes);
  const namespace = randomNamespace('chaos-reshard');
  const secret = randomBytes(24).toString('base64url');
  const services = ['catalog', 'orders', 'billing', 'search', 'mail'];
  const instances: InstanceProcess[] = [];
  let observer: Reader | undefined;
  let view: ViewReader | undefined;
  try {
    for (let index = 0; index < options.instances; index++) {
      instances.push(
        spawnInstance({
          redisUrl: url,
          namespace,
          secret,
          serviceName: services[index % services.length] as string,
          instanceId: `r${String(index).padStart(3, '0')}`,
          port: 30_000 + index,
          ttlSeconds: TTL_SECONDS,
          intervalSeconds: INTERVAL_SECONDS,
        }),
      );
      await sleep(150);
    }
    observer = startReader({
      label: 'the reshard observer',
      url,
      namespace,
      secret,
      ttlSeconds: TTL_SECONDS,
      intervalSeconds: INTERVAL_SECONDS,
      pollMs: 100,
    });
    view = startViewReader({
      label: 'the reshard view',
      url,
      proxied: false,
      namespace,
      secret,
      ttlSeconds: TTL_SECONDS,
      intervalSeconds: INTERVAL_SECONDS,
      maxStalenessSeconds: 10,
      pollMs: 100,
    });
    const ids = instances.map((instance) => instance.id);
    const listedAll = (ids2: ReadonlySet<string> | undefined) =>
      ids2 !== undefined && ids.every((id) => ids2.has(id));
    const deadline = Date.now() + 30_000 + options.instances * 500;
    while (!listedAll(observer.samples.at(-1)?.ids) || !listedAll(view.samples.at(-1)?.ids)) {
      if (Date.now() > deadline) throw new Error('reshard phase: the instances were never all listed');
      await sleep(100);
    }
    options.log(`reshard phase: ${instances.length} instances listed on a 3-master cluster`);
    const judgedFrom = Date.now();
    const reshards: { slots: number; ms: number }[] = [];
    for (let round = 0; round < options.reshards; round++) {
      const masters = (await clusterNodes(cluster.nodes[0] as (typeof cluster.nodes)[number])).filter(
        (node) => node.master && node.slots.length > 0,
      );
      const from = masters[Math.floor(random() * masters.length)] as (typeof masters)[number];
      const others = masters.filter((node) => node !== from);
      const to = others[Math.floor(random() * others.length)] as (typeof masters)[number];
      const slots = Math.min(options.slots, from.slots.length);
      const via = cluster.nodes.find((node) => node.port === from.port) ?? (cluster.nodes[0] as never);
      const began = Date.now();
      await reshard(via, from.id, to.id, slots);
      reshards.push({ slots, ms: Date.now() - began });
      options.log(`reshard ${round + 1}: ${slots} slots moved in ${Date.now() - began} ms`);
      await sleep(between(random, 500, 1500));
    }
    await sleep(1_500);
    await observer.stop();
    await view.stop();
    const judged = observer.samples.filter((sample) => sample.startedAt >= judgedFrom);
    const viewJudged = view.samples.filter((sample) => sample.at >= judgedFrom);
    const viewIncomplete = viewJudged.filter((sample) => !listedAll(sample.ids)).length;
    const viewRemoved = view.events.filter((event) => event.type === 'removed' && event.at >= judgedFrom);
    const failedFinds = judged.filter((sample) => sample.ids === undefined).length;
    const incompleteFinds = judged.filter(
      (sample) => sample.ids !== undefined && !listedAll(sample.ids),
    ).length;
    const crashes = instances.filter((instance) => endingOf(instance) === 'crashed').length;
    const violations: string[] = [];
    if (failedFinds > 0) violations.push(`reshard phase: ${failedFinds} of ${judged.length} finds failed`);
    if (incompleteFinds > 0) {
      violations.push(`reshard phase: ${incompleteFinds} of ${judged.length} finds missed a live instance`);
    }
    if (viewIncomplete > 0) {
      violations.push(
        `reshard phase: the view missed a live instance in ${viewIncomplete} of ${viewJudged.length} samples`,
      );
    }
    if (viewRemoved.length > 0) {
      const removed = viewRemoved.map((event) => `${event.id} (${event.reason})`).join(', ');
      violations.push(`reshard phase: the view removed live instances: ${removed}`);
    }
    if (crashes > 0) violations.push(`reshard phase: ${crashes} instance(s) crashed`);
    violations.push(...observer.unexpected);
    return {
      instances: instances.length,
      reshards,
      finds: judged.length,
      failedFinds,
      incompleteFinds,
      viewSamples: viewJudged.length,
      viewIncomplete,
      viewRemoved: viewRemoved.length,
      crashes,
      violations,
      totalMs: Date.now() - startedAt,
    };
  } finally {
    await observer?.stop().catch(() => {});
    await view?.stop().catch(() => {});
    await Promise.all(instances.map((instance) => stopInstance(instance, 4000)));
    await cluster.stop();
  }
}
