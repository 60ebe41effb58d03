import { INSTANCE_STATUSES, type InstanceStatus, isValidName } from '@service-registry/core';
import { HttpError } from './respond.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A blocking query's `wait`, like Consul's: `30s`, `1500ms`, `2m`, or a plain number of seconds.
 * Returns milliseconds, at most `maxWaitMs`.
 */
export function parseWait(value: string | null, defaultMs: number, maxWaitMs: number): number {
  if (value === null || value === '') return Math.min(defaultMs, maxWaitMs);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match)
    throw new HttpError(400, 'bad-request', `wait must look like 30s, 1500ms or 2m, got "${value}"`);
  const ms = Number(match[1]) * (UNITS[match[2] ?? 's'] as number);
  return Math.min(ms, maxWaitMs);
}

/** A blocking query's `index`: the `X-Registry-Index` of an earlier answer, or null for none. */
export function parseIndex(value: string | null): number | null {
  if (value === null || value === '') return null;
  if (!/^\d{1,15}$/.test(value)) {
    throw new HttpError(400, 'bad-request', `index must be a whole number, got "${value}"`);
  }
  return Number(value);
}

/** `status=up` or `status=up,draining`; undefined for every status. */
export function parseStatuses(value: string | null): InstanceStatus[] | undefined {
  if (value === null || value === '') return undefined;
  const statuses = value.split(',').map((status) => status.trim());
  for (const status of statuses) {
    if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) {
      throw new HttpError(
        400,
        'bad-request',
        `status must be one or more of ${INSTANCE_STATUSES.join(', ')}, got "${status}"`,
      );
    }
  }
  return statuses as InstanceStatus[];
}

/** A service name or instance id from the path, decoded and checked against the key rules. */
export function parseName(segment: string, what: string): string {
  let name = '';
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid-name', `the ${what} is not valid percent-encoding`);
  }
  if (!isValidName(name)) {
    const shown = JSON.stringify(String(name).slice(0, 80));
    throw new HttpError(400, 'invalid-name', `the ${what} is not a valid name: ${shown}`);
  }
  return name;
}
