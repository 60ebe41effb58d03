import type { DiscoveryView, ServiceRegistry } from '@service-registry/core';
import { countByStatus } from './bodies.js';

/** What `/metrics` reads from a registry of this process, when one is given. */
export type MetricsRegistry = Pick<ServiceRegistry, 'health' | 'on'>;

/** Counts the registry's refresh failures from the moment the handler is made. */
export function refreshFailureCounter(registry: MetricsRegistry | undefined): () => number {
  if (registry === undefined) return () => 0;
  let failures = 0;
  registry.on('refresh-failed', () => {
    failures++;
  });
  return () => failures;
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Exposition {
  readonly #lines: string[] = [];

  metric(
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: readonly [labels: Record<string, string>, value: number][],
  ): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([label, text]) => `${label}="${escapeLabel(text)}"`);
      this.#lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${value}`);
    }
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** The Prometheus text exposition (version 0.0.4) of the view and, when given, this process's registry. */
export function metricsText(
  view: DiscoveryView,
  registry: MetricsRegistry | undefined,
  refreshFailures: () => number,
): string {
  const snapshot = view.snapshot();
  const stats = view.stats();
  const out = new Exposition();
  const instanceSamples: [Record<string, string>, number][] = [];
  for (const [service, byStatus] of countByStatus(snapshot.instances)) {
    for (const [status, count] of Object.entries(byStatus))
      instanceSamples.push([{ service, status }, count]);
  }
  out.metric(
    'service_registry_instances',
    'gauge',
    'Instances the discovery view holds, by service and status.',
    instanceSamples,
  );
  out.metric('service_registry_url_conflicts', 'gauge', 'Resources served from more than one URL.', [
    [{}, snapshot.conflicts.length],
  ]);
  out.metric(
    'service_registry_rejected_records_total',
    'counter',
    'Records skipped since the view started (undecryptable, invalid or expired).',
    [[{}, stats.rejectedRecords]],
  );
  out.metric('service_registry_view_stale', 'gauge', '1 while the store cannot be read.', [
    [{}, snapshot.stale ? 1 : 0],
  ]);
  out.metric(
    'service_registry_view_age_seconds',
    'gauge',
    'Seconds since the view last matched the store (0 while fresh).',
    [[{}, snapshot.ageMs / 1000]],
  );
  out.metric(
    'service_registry_view_guarded_services',
    'gauge',
    'Services held through a suspected store restart.',
    [[{}, snapshot.guarded.length]],
  );
  out.metric(
    'service_registry_view_version',
    'gauge',
    'The view content version (the blocking-query index).',
    [[{}, snapshot.version]],
  );
  out.metric('service_registry_store_reads_total', 'counter', 'Store reads made by the view.', [
    [{}, stats.storeReads],
  ]);
  out.metric('service_registry_store_read_failures_total', 'counter', 'Store reads that failed.', [
    [{}, stats.storeReadFailures],
  ]);
  if (stats.lastReadMs !== null) {
    out.metric('service_registry_store_read_seconds', 'gauge', 'Duration of the last store read.', [
      [{}, stats.lastReadMs / 1000],
    ]);
  }
  if (registry !== undefined) {
    const health = registry.health();
    out.metric('service_registry_registered', 'gauge', '1 while this process has a registration.', [
      [{}, health.registered ? 1 : 0],
    ]);
    out.metric(
      'service_registry_refresh_failures_total',
      'counter',
      "Failed writes of this process's own record since the handler started.",
      [[{}, refreshFailures()]],
    );
    out.metric(
      'service_registry_refresh_consecutive_failures',
      'gauge',
      "Failed writes of this process's own record in a row.",
      [[{}, health.consecutiveFailures]],
    );
  }
  return out.text();
}
