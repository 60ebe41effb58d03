export type { StoreConformanceOptions } from './conformance.js';
export { runStoreConformance } from './conformance.js';
export type { DiscoveryConformanceOptions } from './discovery.js';
export { runDiscoveryConformance } from './discovery.js';
export { asciiValue, randomNamespace, sleep, WrittenRecords, waitFor } from './helpers.js';
export type { RegistryScenarioOptions } from './scenarios.js';
export { OTHER_SECRET, runRegistryScenarios, SECRET } from './scenarios.js';
