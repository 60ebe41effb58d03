import { RegistryError } from '../errors.js';
import { REGISTER_OPTION_KEYS, type RegisterOptions, type ResolvedOptions } from '../options.js';
import { formatCreated, INSTANCE_STATUSES, type Instance, type InstanceStatus } from '../record.js';
import {
  assertEndpoints,
  assertIpv4,
  assertKnownOptions,
  assertMeta,
  assertName,
  assertPort,
  assertSeconds,
  describe,
  readArgument,
} from '../validate.js';
import { assertHealthCheck, type HealthCheck } from './health-gate.js';

/** Longest default health check deadline, in ms. */
const MAX_DEFAULT_HEALTH_TIMEOUT_MS = 5000;

export interface ReadRegisterOptions {
  instance: Instance;
  refresh: boolean;
  healthCheck: HealthCheck | undefined;
  healthTimeoutMs: number;
  detectDuplicates: boolean;
}

/** Reads and checks `register()`'s arguments once, so what is checked is what is used. */
export function readRegisterOptions(
  endpoints: readonly string[],
  options: RegisterOptions,
  resolved: ResolvedOptions,
): ReadRegisterOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError(
      'invalid-argument',
      'register needs an options object with serviceName, instanceId and port',
    );
  }
  readArgument('the register options', () =>
    assertKnownOptions(options, REGISTER_OPTION_KEYS, 'register option'),
  );
  const {
    serviceName,
    instanceId,
    port,
    ipv4 = null,
    meta = {},
    status = 'up',
    refresh = true,
    healthCheck,
    healthTimeout,
    detectDuplicates,
  } = readArgument('the register options', () => ({
    serviceName: options.serviceName,
    instanceId: options.instanceId,
    port: options.port,
    ipv4: options.ipv4,
    meta: options.meta,
    status: options.status,
    refresh: options.refresh,
    healthCheck: options.healthCheck,
    healthTimeout: options.healthTimeout,
    detectDuplicates: options.detectDuplicates,
  }));
  assertEndpoints(endpoints);
  assertName(serviceName, 'service name');
  assertName(instanceId, 'instance id');
  assertPort(port);
  assertIpv4(ipv4);
  assertMeta(meta);
  assertStatus(status);
  assertHealthCheck(healthCheck);
  if (healthTimeout !== undefined) assertSeconds(healthTimeout, 'healthTimeout', 0.001, 600);
  if (typeof refresh !== 'boolean') {
    throw new RegistryError('invalid-argument', `refresh must be a boolean, got ${describe(refresh)}`);
  }
  if (detectDuplicates !== undefined && typeof detectDuplicates !== 'boolean') {
    throw new RegistryError(
      'invalid-argument',
      `detectDuplicates must be a boolean, got ${describe(detectDuplicates)}`,
    );
  }
  const { publicUrl, clock, mode, intervalMs } = resolved;
  if (publicUrl === undefined) {
    throw new RegistryError(
      'invalid-argument',
      'publicUrl is required to register (set it in the ServiceRegistry options)',
    );
  }
  return {
    instance: {
      name: serviceName,
      id: instanceId,
      // Frozen: what `get()` hands out cannot change what the refreshes write behind its back.
      info: Object.freeze({
        endpoints: Object.freeze([...endpoints]),
        ipv4,
        port,
        publicUrl,
        created: formatCreated(clock.now()),
      }),
      status,
      meta: Object.freeze({ ...meta }),
      expiresAt: null,
    },
    refresh,
    healthCheck,
    healthTimeoutMs:
      healthTimeout === undefined
        ? Math.min(MAX_DEFAULT_HEALTH_TIMEOUT_MS, intervalMs / 2)
        : Math.round(healthTimeout * 1000),
    // apicrud records carry no owner token to compare.
    detectDuplicates: mode === 'native' && (detectDuplicates ?? true),
  };
}

export function assertStatus(status: unknown): asserts status is InstanceStatus {
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) {
    throw new RegistryError(
      'invalid-argument',
      `status must be one of ${INSTANCE_STATUSES.join(', ')}, got ${describe(status)}`,
    );
  }
}
