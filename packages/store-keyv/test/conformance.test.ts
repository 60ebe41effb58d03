import { runRegistryScenarios, runStoreConformance } from '@service-registry/test-suite';
import Keyv from 'keyv';
import { afterAll } from 'vitest';
import { keyvStore } from '../src/index.js';
import { sqliteKeyv, tempFolder } from './support.js';

const capabilities = { watch: false, nativeExpiry: true, changeCount: true, get: true } as const;

runStoreConformance('keyv (Map)', {
  createStore: () => keyvStore({ keyv: new Keyv({ namespace: 'registry' }) }),
  capabilities,
});
runRegistryScenarios('keyv (Map)', {
  createStore: () => keyvStore({ keyv: new Keyv({ namespace: 'registry' }) }),
});

const folder = tempFolder();
const sqlite = sqliteKeyv(folder.file('registry.sqlite'));
runStoreConformance('keyv (@keyv/sqlite)', { createStore: () => keyvStore({ keyv: sqlite }), capabilities });
runRegistryScenarios('keyv (@keyv/sqlite)', { createStore: () => keyvStore({ keyv: sqlite }) });
afterAll(async () => {
  await sqlite.disconnect();
  folder.remove();
});
