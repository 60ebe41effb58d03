import { ServiceRegistry } from '@service-registry/core';
import { memoryStore } from '@service-registry/store-memory';
import { FLEET, INSTANCE_HEADER, instanceRows, startFleet, urlMapRows } from './fleet.js';
import { formatTable } from './table.js';

// A fleet of six instances on the in-memory store, with a short ttl so an expiry is visible in seconds.
const TTL_SECONDS = 3;
const INTERVAL_SECONDS = 1;
const secret = 'demo-secret-do-not-use-in-production';
const store = memoryStore();
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

const fleet = await startFleet({ store, secret, ttl: TTL_SECONDS, interval: INTERVAL_SECONDS });
const observer = new ServiceRegistry({
  store,
  secret,
  baseUrl: '/api/v1',
  ttl: TTL_SECONDS,
  interval: INTERVAL_SECONDS,
  conflictExempt: ['metric'],
});

const first = await observer.find();
console.log(
  `[${elapsed()}] ${first.instances.length} instances of ${FLEET.length} services registered (ttl ${TTL_SECONDS} s, refresh every ${INTERVAL_SECONDS} s)\n`,
);
console.log(formatTable(INSTANCE_HEADER, instanceRows(first, Date.now())));
console.log('\nurl map (resource -> public url + base url):\n');
console.log(formatTable(['resource', 'url'], urlMapRows(first)));

// A crash: the instance stops refreshing and never deregisters, so its record lives out its ttl.
const crashed = 'media-2';
await fleet.get(crashed)?.close({ deregister: false });
console.log(
  `\n[${elapsed()}] ${crashed} stops without deregistering (as if killed); its record expires within ${TTL_SECONDS} s`,
);

const crashedAt = Date.now();
let stillListed = true;
while (stillListed) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { instances } = await observer.find('media');
  stillListed = instances.some((instance) => instance.id === crashed);
  console.log(`[${elapsed()}] media instances: ${instances.map((instance) => instance.id).join(', ')}`);
  if (Date.now() - crashedAt > 10_000) throw new Error(`${crashed} was still listed 10 s after it stopped`);
}
console.log(
  `[${elapsed()}] ${crashed} expired ${((Date.now() - crashedAt) / 1000).toFixed(1)} s after it stopped\n`,
);

const last = await observer.find();
console.log(formatTable(INSTANCE_HEADER, instanceRows(last, Date.now())));
console.log(
  `\n${last.instances.length} instances alive, ${last.conflicts.length} url conflicts, ${last.rejected} records rejected`,
);

// A clean shutdown deregisters at once.
await Promise.all([...fleet.values()].map((registry) => registry.close()));
await observer.close();
await store.close();
console.log(`[${elapsed()}] fleet shut down cleanly (deregistered); done`);
