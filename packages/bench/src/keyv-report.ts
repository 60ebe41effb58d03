// The Keyv section of BENCHMARKS.md: find(service) on SQLite and PostgreSQL, statements per operation.

import type { KeyvResult, KeyvRow } from './keyv.js';
import { type Measured, measuredLine } from './lib.js';

export function renderKeyvSection(input: { measured: Measured; keyv: KeyvResult }): string {
  const { rows, instances, runs, seconds, postgresMissing } = input.keyv;
  const n = instances.toLocaleString('en-US');
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
  const range = (values: number[]) => {
    const low = Math.min(...values);
    const high = Math.max(...values);
    return low.toFixed(1) === high.toFixed(1)
      ? `${low.toFixed(1)}×`
      : `${low.toFixed(1)}-${high.toFixed(1)}×`;
  };
  const counts = (pick: (row: KeyvRow) => number) => [...new Set(rows.map(pick))].join(' or ');
  const plural = (text: string) => (text === '1' ? '1 statement' : `${text} statements`);
  const findStatements = plural(counts((row) => row.statements.find));
  const iteratorStatements = rows.map((row) => row.iteratorPerWalk);
  return [
    '## Keyv store: SQLite and PostgreSQL',
    '',
    measuredLine(input.measured, `, ${seconds.toFixed(0)} s`),
    '',
    `Method (\`packages/bench/src/keyv.ts\`): ${n} instances of one service registered through ` +
      '`ServiceRegistry` (real AES-256-GCM records) into a SQLite file and into PostgreSQL on 127.0.0.1 ' +
      `(a schema of its own, dropped after), plus ${n} rows of another service in the same table; each ` +
      `figure is the median of ${runs} runs after 3 warm-ups. The baseline is the same adapter's own raw ` +
      `read of exactly those ${n} rows by key (\`adapter.getMany(keys)\`, one query), so the ratio is what ` +
      'listing by prefix and the registry cost on top of reading the rows at all. Statements are counted by ' +
      "wrapping the adapter's `query`. **2 shared cores, noisy**: read the ratios and the statement " +
      'counts, not the milliseconds.' +
      (postgresMissing === undefined ? '' : ` PostgreSQL was not measured in this run: ${postgresMissing}.`),
    '',
    `| backend | raw \`getMany\` of the ${n} keys | \`store.list(ns, service)\` | \`find(service)\` (warm) | list / raw | find / raw | Keyv's own \`iterator()\` over the namespace |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${ms(row.raw)} | ${ms(row.list)} | ${ms(row.find)} | ${ratio(row.list, row.raw)} | ${ratio(row.find, row.raw)} | ${ms(row.iterator)}, ${row.iteratorPerWalk} statements (${ratio(row.iterator, row.raw)}) |`,
    ),
    '',
    '| SQL statements per operation | routine refresh (`update()`) | changed record (`setStatus`) | `find(service)` | `changeCount` | `deregister()` |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.statements.refresh} | ${row.statements.changed} | ${row.statements.find} | ${row.statements.changeCount} | ${row.statements.deregister} |`,
    ),
    '',
    `- **find(service)** is ${findStatements} on each backend, at ` +
      `${range(rows.map((row) => row.find / row.raw))} the adapter's raw multi-get of the same rows ` +
      "(`@keyv/sqlite`'s `getMany` matches each returned row to its key with a linear search, so on SQLite " +
      'the raw read can be the slower one). The warm `find` costs about what `store.list` costs: the ' +
      "decrypt cache holds the records, so the store's query is most of it.",
    '',
    `- **Keyv's own iterator** (what a store built on \`keyv.iterator()\` would pay) pages 10 rows per query ` +
      `over the whole Keyv namespace: ${iteratorStatements.join(' and ')} statements and ` +
      `${range(rows.map((row) => row.iterator / row.raw))} the raw read for the same ${n} instances, growing ` +
      'with every other service in the namespace. The store reads by prefix in one statement instead.',
    '',
    `- **Per refresh**: ${plural(counts((row) => row.statements.refresh))} (the adapter's upsert). A ` +
      `changed record is ${plural(counts((row) => row.statements.changed))} (record and both change tokens ` +
      'in one multi-row upsert; a registration too), plus one listing of the service at most once per ttl ' +
      `per process, to delete dead rows; \`deregister()\` is ${counts((row) => row.statements.deregister)} ` +
      `(delete, tokens); \`changeCount\` is ${counts((row) => row.statements.changeCount)} read.`,
  ].join('\n');
}
