import { type FindResult, type RegistryStore, ServiceRegistry } from '@service-registry/core';

/** The demo's fleet: three services, two instances each, every instance with its own registry. */
export const FLEET = [
  {
    service: 'account',
    endpoints: ['account', 'auth', 'metric'],
    publicUrl: 'https://account.example.com',
    port: 8080,
  },
  {
    service: 'media',
    endpoints: ['file', 'picture', 'metric'],
    publicUrl: 'https://media.example.com',
    port: 8085,
  },
  {
    service: 'billing',
    endpoints: ['invoice', 'payment', 'metric'],
    publicUrl: 'https://billing.example.com',
    port: 8090,
  },
] as const;

export interface DemoOptions {
  store: RegistryStore;
  secret: string;
  /** Seconds; short so the demo shows an expiry quickly. */
  ttl: number;
  interval: number;
  namespace?: string;
}

export async function startFleet(options: DemoOptions): Promise<Map<string, ServiceRegistry>> {
  const instances = new Map<string, ServiceRegistry>();
  for (const member of FLEET) {
    for (const index of [1, 2]) {
      const registry = new ServiceRegistry({
        store: options.store,
        secret: options.secret,
        publicUrl: member.publicUrl,
        baseUrl: '/api/v1',
        ttl: options.ttl,
        interval: options.interval,
        namespace: options.namespace,
        conflictExempt: ['metric'],
      });
      const instanceId = `${member.service}-${index}`;
      await registry.register(member.endpoints, {
        serviceName: member.service,
        instanceId,
        port: member.port,
        ipv4: `10.0.${FLEET.indexOf(member)}.${index}`,
        meta: { version: '1.4.2', zone: index === 1 ? 'eu-west-1a' : 'eu-west-1b' },
      });
      instances.set(instanceId, registry);
    }
  }
  return instances;
}

export function instanceRows(result: FindResult, now: number): string[][] {
  return result.instances.map((instance) => [
    instance.name,
    instance.id,
    `${instance.info.ipv4 ?? '-'}:${instance.info.port}`,
    instance.info.publicUrl,
    instance.status,
    instance.info.endpoints.join(','),
    instance.expiresAt === null ? '-' : `${((instance.expiresAt - now) / 1000).toFixed(1)} s`,
  ]);
}

export const INSTANCE_HEADER = [
  'service',
  'instance',
  'address',
  'public url',
  'status',
  'endpoints',
  'expires in',
];

export function urlMapRows(result: FindResult): string[][] {
  return Object.entries(result.urlMap)
    .sort(([left], [right]) => (left < right ? -1 : 1))
    .map(([resource, url]) => [resource, url]);
}
