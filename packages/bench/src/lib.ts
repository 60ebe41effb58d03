// Shared helpers of every bench part: statistics, timing, scheduling, server-side timing, tables, progress.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A full garbage collection, between phases (never inside a timed section): setup garbage is not
 * collected during measurements, and the progress lines show live memory, not a high-water mark.
 */
export function collectGarbage(): void {
  gc();
  peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed);
}

let peakLiveHeap = 0;

/** The largest heap seen right after `collectGarbage()`: what the bench really keeps alive. */
export function peakLiveHeapBytes(): number {
  return peakLiveHeap;
}

/** The secret every bench registry shares (32 characters, as a real deployment's would be). */
export const SECRET = 'benchmark secret: 32 characters!';
/** The endpoints each benchmark instance registers: a realistic record size. */
export const ENDPOINTS = ['orders', 'invoices', 'payments', 'refunds', 'carts'];

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Median and spread of one measured quantity. */
export interface Summary {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Linear-interpolated quantile of sorted samples. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}

/** The `q` quantile (0..1) of unsorted samples. */
export function percentile(samples: readonly number[], q: number): number {
  return quantile(
    [...samples].sort((left, right) => left - right),
    q,
  );
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((left, right) => left - right);
  return {
    median: quantile(sorted, 0.5),
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    n: sorted.length,
  };
}

/** Median of samples (linear interpolation between the two middle ones). */
export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}

/** Milliseconds `action` takes, `runs` times after `warmups` untimed calls. */
export async function timeRuns(action: () => Promise<unknown>, runs: number, warmups = 3): Promise<number[]> {
  for (let warm = 0; warm < warmups; warm++) await action();
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await action();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight, as a fleet of independent callers would. */
export async function runBounded(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Anything that answers `INFO <section>`, like an ioredis `Redis`. */
export interface InfoClient {
  info(section: string): Promise<string>;
}

/** Calls and total server µs per command, from `INFO commandstats`. */
export type CommandTimes = Record<string, { calls: number; usec: number }>;

export async function commandTimes(client: InfoClient): Promise<CommandTimes> {
  const text = await client.info('commandstats');
  const times: CommandTimes = {};
  for (const match of text.matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) {
    times[match[1] as string] = { calls: Number(match[2]), usec: Number(match[3]) };
  }
  return times;
}

/** `after - before` for the given commands: calls and server µs. */
export function timesDelta(
  before: CommandTimes,
  after: CommandTimes,
  commands: readonly string[],
): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const command of commands) {
    calls += (after[command]?.calls ?? 0) - (before[command]?.calls ?? 0);
    usec += (after[command]?.usec ?? 0) - (before[command]?.usec ?? 0);
  }
  return { calls, usec };
}

/** A markdown table; columns after the first `leftColumns` are right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly string[][], leftColumns = 1): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, 3, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells
      .map((cell, column) =>
        column < leftColumns ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join(' | ')} |`;
  const rule = `| ${widths
    .map((width, column) => (column < leftColumns ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`))
    .join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** A number with about three significant digits: 2.34, 23.4, 234, 2,340. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  // Three significant digits even for large numbers: the noise is far above 0.1 %.
  if (magnitude >= 1000) return Number(value.toPrecision(3)).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** `median (p10–p90)`. */
export function fmtSpread(summary: Summary): string {
  return `${fmt(summary.median)} (${fmt(summary.p10)}–${fmt(summary.p90)})`;
}

/** `3.1×`. */
export function fmtRatio(value: number): string {
  return `${fmt(value)}×`;
}

/** `2.74 / 3.47 / 4.23`: a load average triple. */
export function fmtLoad(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(' / ');
}

/** When and how a part was measured, the first line of its section (kept with it when a later run skips it). */
export interface Measured {
  readonly date: string;
  readonly quick: boolean;
  readonly cpus: number;
  readonly loadBefore: readonly number[];
}

export function measuredLine(measured: Measured, extra = ''): string {
  return (
    `_Measured by \`pnpm bench\` on ${measured.date}${measured.quick ? ' in **quick** mode (few rounds: indicative only)' : ''}` +
    `, ${measured.cpus} shared CPUs, load ${fmtLoad(measured.loadBefore)} before${extra}._`
  );
}

/** One progress line on stderr, so stdout keeps only the report. */
export function progress(message: string): void {
  const { rss, heapUsed } = process.memoryUsage();
  const mib = (bytes: number) => Math.round(bytes / 1024 ** 2);
  const stamp = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${stamp} rss ${mib(rss)} MiB, heap ${mib(heapUsed)} MiB] ${message}\n`);
}
