import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARTS, type PartName, parseSections, type RunHeader, renderDocument } from '../src/report.js';

const run: RunHeader = {
  date: '2026-12-01T20:00:00Z',
  quick: false,
  parts: ['codec'],
  cpus: 2,
  cpuModel: 'test CPU',
  memoryGiB: 4,
  os: 'Linux',
  node: 'v20.0.0',
  redis: undefined,
  loadBefore: [1, 1, 1],
  loadAfter: [1, 1, 1],
  durationSeconds: 3,
  peakRssMiB: 100,
  peakLiveHeapMiB: 10,
  redisMemory: undefined,
};

describe('the report writer', () => {
  it('finds every part in the committed BENCHMARKS.md', () => {
    const text = readFileSync(new URL('../../../BENCHMARKS.md', import.meta.url), 'utf8');
    const sections = parseSections(text);
    expect([...sections.keys()]).toEqual([...PARTS]);
    expect(sections.get('keyv')).toMatch(/^## Keyv store: SQLite and PostgreSQL/);
    expect(sections.get('discovery')).toMatch(/^## Discovery view/);
  });

  it('replaces the parts it ran and keeps the others word for word', () => {
    const previous = new Map<PartName, string>([
      ['find', '## 2. find\n\nold find figures'],
      ['keyv', '## Keyv\n\nold keyv figures'],
    ]);
    const text = renderDocument(run, new Map([['codec', '## 3. codec\n\nnew codec figures']]), previous);
    const again = parseSections(text);
    expect(again.get('codec')).toBe('## 3. codec\n\nnew codec figures');
    expect(again.get('find')).toBe('## 2. find\n\nold find figures');
    expect(again.get('keyv')).toBe('## Keyv\n\nold keyv figures');
    expect(again.get('refresh')).toMatch(/Not measured yet: `pnpm bench --only refresh`/);
    expect(text).toContain('parts `codec`');
    // Rendering what was parsed gives the same sections back: a skipped part never drifts.
    expect(parseSections(renderDocument(run, new Map(), again))).toEqual(again);
  });
});
