import type { Instance } from '../record.js';

/** Two or more instances serve one resource from different URLs: a misconfiguration. */
export interface UrlConflict {
  readonly resource: string;
  /** Every URL seen for the resource; the first is the one `urlMap` holds. */
  readonly urls: readonly string[];
  /** `service:instanceId` of the instances involved, in listing order. */
  readonly instances: readonly string[];
}

/** What `find()` answers. */
export interface FindResult {
  /** Live instances, sorted by service name, then instance id. */
  readonly instances: readonly Instance[];
  /** Resource -> `publicUrl + baseUrl` of the instance that serves it (instances `down` excluded). */
  readonly urlMap: Readonly<Record<string, string>>;
  readonly conflicts: readonly UrlConflict[];
  /** Records skipped because they could not be decrypted, failed the schema or had expired. */
  readonly rejected: number;
}

export function compareInstances(left: Instance, right: Instance): number {
  if (left.name !== right.name) return left.name < right.name ? -1 : 1;
  if (left.id !== right.id) return left.id < right.id ? -1 : 1;
  return 0;
}

/**
 * Builds the url map as the seed does (resource -> public URL + base URL), deterministically: the first
 * instance in sorted order wins, and every disagreement is reported, except for resources listed in
 * `conflictExempt` (apicrud does not warn for `metric`, which every service serves).
 */
export function buildUrlMap(
  instances: readonly Instance[],
  baseUrl: string,
  conflictExempt: ReadonlySet<string>,
): { urlMap: Record<string, string>; conflicts: UrlConflict[] } {
  const urlMap: Record<string, string> = Object.create(null);
  // Per resource: every URL seen, and the instances serving it (names are built only for conflicts).
  const seen = new Map<string, { urls: Set<string>; servers: Instance[] }>();
  for (const instance of instances) {
    if (instance.status === 'down') continue;
    const url = instance.info.publicUrl + baseUrl;
    for (const resource of instance.info.endpoints) {
      let entry = seen.get(resource);
      if (!entry) {
        entry = { urls: new Set([url]), servers: [] };
        seen.set(resource, entry);
        urlMap[resource] = url;
      } else {
        entry.urls.add(url);
      }
      entry.servers.push(instance);
    }
  }
  const conflicts: UrlConflict[] = [];
  for (const [resource, entry] of seen) {
    if (entry.urls.size > 1 && !conflictExempt.has(resource)) {
      conflicts.push({
        resource,
        urls: [...entry.urls],
        instances: entry.servers.map((server) => `${server.name}:${server.id}`),
      });
    }
  }
  return { urlMap: { ...urlMap }, conflicts };
}
