import { defaultInstanceId } from '@service-registry/core/node';

/** Everything the example reads from its environment, with the defaults it uses. */
export interface ServiceConfig {
  serviceName: string;
  port: number;
  resources: string[];
  publicUrl: string;
  baseUrl: string;
  secret: string;
  redisUrl: string;
  namespace: string;
  instanceId: string;
  ttl: number;
  /** Undefined: derived by the registry (10 s, or half the ttl when that is shorter). */
  interval: number | undefined;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const port = Number(env.PORT ?? 8080);
  const secret = env.REGISTRY_SECRET;
  if (!secret) throw new Error('REGISTRY_SECRET is required (at least 16 characters, shared by the fleet)');
  return {
    serviceName: env.SERVICE_NAME ?? 'example',
    port,
    resources: (env.RESOURCES ?? 'widget,gadget')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
    publicUrl: env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
    baseUrl: env.API_BASE_PATH ?? '/api/v1',
    secret,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: env.REGISTRY_NAMESPACE ?? 'reg',
    // Two copies on one host need different ids: the host name alone would collide.
    instanceId: env.INSTANCE_ID ?? `${defaultInstanceId()}-${port}`,
    ttl: Number(env.REGISTRY_TTL ?? 30),
    interval: env.REGISTRY_INTERVAL === undefined ? undefined : Number(env.REGISTRY_INTERVAL),
  };
}
