import { RegistryError } from '../errors.js';
import { INSTANCE_STATUSES, type InstanceStatus } from '../record.js';
import { describe } from '../validate.js';
import type { DiscoveryEvents, InstancesOptions } from './view-types.js';

// The discovery view's checks of its callers' input: each bad value gets a `RegistryError`.

/** Every event a discovery view emits, in the order the docs list them. */
export const DISCOVERY_EVENTS = [
  'added',
  'removed',
  'updated',
  'stale',
  'fresh',
  'guarded',
  'rejected-record',
  'conflict',
] as const satisfies readonly (keyof DiscoveryEvents)[];

const EVENTS: ReadonlySet<string> = new Set(DISCOVERY_EVENTS);

export function assertEvent(event: unknown): void {
  if (typeof event !== 'string' || !EVENTS.has(event)) {
    throw new RegistryError(
      'invalid-argument',
      `unknown discovery event ${describe(event)}; known: ${[...EVENTS].join(', ')}`,
    );
  }
}

export function readStatuses(options: InstancesOptions): readonly InstanceStatus[] {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError(
      'invalid-argument',
      `instances options must be an object, got ${describe(options)}`,
    );
  }
  for (const name in options) {
    if (name !== 'status')
      throw new RegistryError(
        'invalid-argument',
        `unknown instances option ${JSON.stringify(name)}; known: status`,
      );
  }
  const status = options.status;
  if (status === undefined) return INSTANCE_STATUSES;
  const list = typeof status === 'string' ? [status] : status;
  if (!Array.isArray(list) || !list.every((item) => INSTANCE_STATUSES.includes(item as InstanceStatus))) {
    throw new RegistryError(
      'invalid-argument',
      `status must be one of ${INSTANCE_STATUSES.join(', ')} or a list of them, got ${describe(status)}`,
    );
  }
  return list as readonly InstanceStatus[];
}

/** `changed()`'s arguments. */
export function assertChangedArguments(sinceVersion: unknown, signal: unknown): void {
  if (typeof sinceVersion !== 'number' || !Number.isInteger(sinceVersion)) {
    throw new RegistryError(
      'invalid-argument',
      `sinceVersion must be an integer, got ${describe(sinceVersion)}`,
    );
  }
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || !('aborted' in signal))) {
    throw new RegistryError('invalid-argument', `signal must be an AbortSignal, got ${describe(signal)}`);
  }
}
