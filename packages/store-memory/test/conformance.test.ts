import {
  runDiscoveryConformance,
  runRegistryScenarios,
  runStoreConformance,
} from '@service-registry/test-suite';
import { memoryStore } from '../src/index.js';

let now = Date.parse('2026-11-26T12:00:00Z');
const manualClock = { now: () => now };

runStoreConformance('memory (manual clock)', {
  createStore: () => memoryStore({ clock: manualClock }),
  capabilities: {
    watch: true,
    nativeExpiry: true,
    layout: 'native',
    layouts: ['native', 'apicrud'],
    changeCount: true,
    probe: true,
    comparePrevious: true,
    snapshot: true,
  },
  advanceTime: async (ms) => {
    now += ms;
  },
});

runStoreConformance('memory (system clock)', {
  createStore: () => memoryStore(),
  capabilities: {
    watch: true,
    nativeExpiry: true,
    layout: 'native',
    layouts: ['native', 'apicrud'],
    changeCount: true,
    probe: true,
    comparePrevious: true,
    snapshot: true,
  },
});

runRegistryScenarios('memory', { createStore: () => memoryStore() });
runRegistryScenarios('memory (apicrud mode)', {
  createStore: () => memoryStore(),
  registryOptions: { mode: 'apicrud' },
});

const shared = memoryStore();
runDiscoveryConformance('memory', {
  createStore: () => shared,
  flush: async () => shared.clear(),
  flushIsAtomic: true,
  pollInterval: 0.2,
});
