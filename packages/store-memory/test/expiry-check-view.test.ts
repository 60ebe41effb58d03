// A reader's `expiryCheck` over minutes of routine refreshes: with `halfway` (the default) the expiry a
// reader reports runs behind the store's but never past it, and neither `find` nor a discovery view ever
// loses a live instance; with `every-change` the reported expiry is the store's own.
import { createDiscovery, ServiceRegistry } from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'expiry-check-view-secret-012345';
const NOW = Date.parse('2026-12-03T12:00:00Z');
const ref = { namespace: 'reg', service: 'api', instanceId: 'a' };

describe.each(['halfway', 'every-change'] as const)(
  'expiryCheck %s over routine refreshes',
  (expiryCheck) => {
    beforeEach(() => {
      vi.useFakeTimers({ now: NOW });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('find and a view keep the instance; its expiry is never later than the one in the store', async () => {
      const store = memoryStore();
      const writer = new ServiceRegistry({ store, secret: SECRET, publicUrl: 'https://a.example.com' });
      await writer.register(['account'], { serviceName: 'api', instanceId: 'a', port: 80 });
      const reader = new ServiceRegistry({ store, secret: SECRET, expiryCheck });
      const view = createDiscovery({ store, secret: SECRET, expiryCheck });
      await view.ready;
      const stored = async () => {
        const records = await store.list(ref.namespace, ref.service);
        const value = records.find((record) => record.instanceId === ref.instanceId)?.value as string;
        return Number(value.slice(value.lastIndexOf('.') + 1));
      };
      let behind = 0;
      for (let second = 1; second <= 120; second++) {
        await vi.advanceTimersByTimeAsync(1_000);
        const [found] = (await reader.find('api')).instances;
        const inStore = await stored();
        expect(found?.expiresAt).toBeGreaterThan(Date.now());
        expect(found?.expiresAt).toBeLessThanOrEqual(inStore);
        if ((found?.expiresAt as number) < inStore) behind++;
        expect(view.instances('api').map((instance) => instance.id)).toEqual(['a']);
      }
      // `halfway` answers most reads after a refresh with the expiry it authenticated before.
      if (expiryCheck === 'halfway') expect(behind).toBeGreaterThan(0);
      else expect(behind).toBe(0);
      await view.close();
      await writer.close();
    });
  },
);
