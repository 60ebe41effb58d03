import type KeyvSqlite from '@keyv/sqlite';
import { ServiceRegistry } from '@service-registry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { keyvStore } from '../src/index.js';
import { sqliteKeyv, tempFolder } from './support.js';

const folder = tempFolder();
afterAll(() => folder.remove());

// What a refresh costs on SQL, counted at the adapter's one entry point (`query`): every statement.
describe('keyv store: statements per refresh (SQLite)', () => {
  it('a refresh is one upsert; the duplicate check one single-row SELECT at most once per ttl, never a listing', async () => {
    const keyv = sqliteKeyv(folder.file('cost.sqlite'));
    const adapter = keyv.store as KeyvSqlite & {
      query: (sql: string, ...rest: unknown[]) => Promise<unknown>;
    };
    const statements: string[] = [];
    const query = adapter.query;
    adapter.query = (sql: string, ...rest: unknown[]) => {
      statements.push(/ LIKE /.test(sql) ? 'list' : (sql.trim().split(/\s+/)[0] ?? '').toUpperCase());
      return query.call(adapter, sql, ...rest);
    };
    const store = keyvStore({ keyv });
    const registry = new ServiceRegistry({
      store,
      secret: 'keyv-cost-secret-0123456789',
      publicUrl: 'https://a.example.com',
      namespace: 'cost',
      ttl: 2,
      interval: 0.5,
      jitter: 0,
    });
    let refreshes = 0;
    registry.on('refreshed', () => {
      refreshes++;
    });
    try {
      await registry.register(['things'], { serviceName: 'svc', instanceId: 'i-1', port: 443 });
      statements.length = 0;
      refreshes = 0;
      await new Promise((resolve) => setTimeout(resolve, 3_200));
      await registry.close({ deregister: false });
      expect(refreshes).toBeGreaterThanOrEqual(4);
      const reads = statements.filter((statement) => statement === 'SELECT').length;
      expect(statements.filter((statement) => statement === 'INSERT')).toHaveLength(refreshes);
      // The first refresh checks, then one check per 2 s ttl: at most two in 3.2 s (plus one of slack).
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(reads).toBeLessThanOrEqual(3);
      expect(statements.filter((statement) => statement !== 'INSERT' && statement !== 'SELECT')).toEqual([]);
      expect(registry.health().duplicate.detected).toBe(false);
    } finally {
      await registry.close();
      await keyv.disconnect();
    }
  }, 20_000);
});
