import {
  type DiscoverySnapshot,
  type DiscoveryView,
  INSTANCE_STATUSES,
  type Instance,
  type InstanceStatus,
  isRegistryError,
} from '@service-registry/core';

/** One service in `GET /v1/services`. */
export interface ServiceSummary {
  readonly name: string;
  /** Instances held, every status. */
  readonly instances: number;
  readonly byStatus: Readonly<Record<InstanceStatus, number>>;
}

export function countByStatus(instances: readonly Instance[]): Map<string, Record<InstanceStatus, number>> {
  const counts = new Map<string, Record<InstanceStatus, number>>();
  for (const instance of instances) {
    let byStatus = counts.get(instance.name);
    if (byStatus === undefined) {
      byStatus = Object.fromEntries(INSTANCE_STATUSES.map((status) => [status, 0])) as Record<
        InstanceStatus,
        number
      >;
      counts.set(instance.name, byStatus);
    }
    byStatus[instance.status]++;
  }
  return counts;
}

export function servicesBody(snapshot: DiscoverySnapshot) {
  const services: ServiceSummary[] = [...countByStatus(snapshot.instances)].map(([name, byStatus]) => ({
    name,
    instances: Object.values(byStatus).reduce((sum, count) => sum + count, 0),
    byStatus,
  }));
  return {
    services,
    conflicts: snapshot.conflicts,
    stale: snapshot.stale,
    updatedAt: snapshot.updatedAt,
    guarded: snapshot.guarded,
  };
}

/** Everything the dashboard draws, in one answer. */
export function snapshotBody(
  view: DiscoveryView,
  snapshot: DiscoverySnapshot,
  rejected: readonly { key: string; reason: string }[],
  now: number,
) {
  return {
    ...snapshot,
    /** Every skip since the view started (a record re-read counts again). */
    rejectedRecords: view.stats().rejectedRecords,
    /** The distinct records skipped since the handler started, with the last reason. */
    rejected,
    // Lets the page count ttls down with the server's clock, not the browser's.
    serverTime: now,
  };
}

/** An event payload as JSON: errors become `{ code, message }` (never a stack). */
export function eventJson(payload: unknown): string {
  return JSON.stringify(payload, (_key, value: unknown) =>
    value instanceof Error
      ? { code: isRegistryError(value) ? value.code : 'internal', message: value.message }
      : value,
  );
}
