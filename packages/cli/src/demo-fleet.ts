import { gcmCodec, type InstanceStatus, type RegistryStore, ServiceRegistry } from '@service-registry/core';

/** The secret of `--memory` when none is given: the store lives in this process only. */
export const DEMO_SECRET = 'service-registry-demo-secret';

const FLEET = [
  {
    service: 'account',
    endpoints: ['account', 'auth'],
    publicUrl: 'https://account.example.com',
    port: 8080,
  },
  {
    service: 'media',
    endpoints: ['file', 'picture'],
    publicUrl: 'https://media.example.com',
    port: 8085,
  },
  {
    service: 'billing',
    endpoints: ['invoice', 'payment'],
    publicUrl: 'https://billing.example.com',
    port: 8090,
  },
] as const;

export interface DemoFleetOptions {
  store: RegistryStore;
  namespace: string;
  secret: string;
  /** Seconds a record lives without a refresh. Default 12. */
  ttl?: number;
  /** Let things happen every few seconds: a status change, an instance that joins and later crashes. Default false. */
  churn?: boolean;
}

export interface DemoFleet {
  readonly registries: Map<string, ServiceRegistry>;
  stop(): Promise<void>;
}

/**
 * Three services of two instances each, every instance with its own registry and refresh loop, plus
 * one record written with another secret (it shows up under `rejected`). With `churn`, an instance
 * drains and comes back, and a canary joins and then crashes (its record expires after the ttl).
 */
export async function startDemoFleet(options: DemoFleetOptions): Promise<DemoFleet> {
  const { store, namespace, secret } = options;
  const ttl = options.ttl ?? 12;
  const registries = new Map<string, ServiceRegistry>();
  const start = async (service: (typeof FLEET)[number], index: number, status: InstanceStatus = 'up') => {
    const registry = new ServiceRegistry({
      store,
      secret,
      namespace,
      publicUrl: service.publicUrl,
      baseUrl: '/api/v1',
      ttl,
      interval: ttl / 3,
    });
    const instanceId = `${service.service}-${index}`;
    await registry.register(service.endpoints, {
      serviceName: service.service,
      instanceId,
      port: service.port,
      ipv4: `10.0.${FLEET.indexOf(service)}.${index}`,
      meta: {
        version: index === 3 ? '1.5.0-rc.1' : '1.4.2',
        zone: index % 2 === 1 ? 'eu-west-1a' : 'eu-west-1b',
      },
      status,
    });
    registries.set(instanceId, registry);
    return registry;
  };
  for (const service of FLEET) for (const index of [1, 2]) await start(service, index);

  // A record of another cluster (another secret): the registry skips and counts it.
  const stranger = { namespace, service: 'legacy', instanceId: 'legacy-1' };
  const foreign = await gcmCodec('a-secret-of-another-cluster').encode('{}', `${namespace}:legacy:legacy-1`);
  await store.put(stranger, foreign, ttl * 1000 * 1000);

  const timers: ReturnType<typeof setTimeout>[] = [];
  let stopped = false;
  if (options.churn) {
    const media = FLEET[1];
    let step = 0;
    const act = async () => {
      step++;
      const draining = registries.get('media-2');
      if (step % 2 === 1) await draining?.setStatus('draining');
      else await draining?.setStatus('up');
      if (step % 4 === 1) await start(media, 3, 'starting');
      if (step % 4 === 2) await registries.get('media-3')?.setStatus('up');
      if (step % 4 === 3) {
        // A crash: the loop stops, the record stays until its ttl passes.
        await registries.get('media-3')?.close({ deregister: false });
        registries.delete('media-3');
      }
    };
    const loop = () => {
      const timer = setTimeout(() => {
        if (stopped) return;
        act()
          .catch(() => {})
          .finally(loop);
      }, 8_000);
      timer.unref?.();
      timers.push(timer);
    };
    loop();
  }
  return {
    registries,
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...registries.values()].map((registry) => registry.close()));
      await store.delete(stranger).catch(() => {});
    },
  };
}
