import type { Instance } from '@service-registry/core';

/** Where a command writes; tests and the bin pass the process's streams. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: Record<string, string | undefined>;
  /** Answers a yes/no question on a terminal; undefined when there is none to ask. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

/** Renders rows as a plain-text table with a header rule, like the demo's. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export const INSTANCE_HEADER = [
  'service',
  'instance',
  'address',
  'public url',
  'status',
  'endpoints',
  'expires in',
];

export function expiresIn(instance: Instance, now: number): string {
  return instance.expiresAt === null ? '-' : `${((instance.expiresAt - now) / 1000).toFixed(1)} s`;
}

export function instanceRow(instance: Instance, now: number): string[] {
  return [
    instance.name,
    instance.id,
    `${instance.info.ipv4 ?? '-'}:${instance.info.port}`,
    instance.info.publicUrl,
    instance.status,
    instance.info.endpoints.join(','),
    expiresIn(instance, now),
  ];
}

export const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
