import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import { buildUrlMap, compareInstances, type UrlConflict } from './directory.js';
import type { ServiceState } from './view-state.js';

/** Content derived from what is held, rebuilt once per version on first use. */
export interface Content {
  readonly version: number;
  /** `ViewSync.revision` when built: a moved deadline rebuilds the instance list, not the version. */
  readonly revision: number;
  readonly instances: readonly Instance[];
  readonly urlMap: Readonly<Record<string, string>>;
  readonly urls: ReadonlyMap<string, string>;
  readonly conflicts: readonly UrlConflict[];
  readonly services: readonly string[];
}

/** Everything the held services add up to: the sorted instance list, services, url map, conflicts. */
export function buildContent(
  states: Iterable<ServiceState>,
  version: number,
  revision: number,
  options: Pick<ResolvedOptions, 'baseUrl' | 'conflictExempt'>,
): Content {
  const instances: Instance[] = [];
  const services: string[] = [];
  for (const state of states) {
    const all = state.all();
    if (all.length > 0) services.push(state.name);
    instances.push(...all);
  }
  instances.sort(compareInstances);
  const up = instances.filter((instance) => instance.status === 'up');
  const { urlMap, conflicts } = buildUrlMap(up, options.baseUrl, options.conflictExempt);
  return {
    version,
    revision,
    instances: Object.freeze(instances),
    urlMap: Object.freeze(urlMap),
    urls: new Map(Object.entries(urlMap)),
    conflicts: Object.freeze(conflicts),
    services: Object.freeze(services.sort()),
  };
}
