import type { FaultSettings } from './fault-proxy.js';

/** A seeded PRNG (mulberry32), so a run's choices can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const between = (random: () => number, low: number, high: number): number =>
  low + (high - low) * random();

/** One planned Redis restart, `atMs` after the chaos phase began. */
export interface PlannedRestart {
  readonly atMs: number;
  /** `graceful`: SIGTERM and start again at once. `crash`: SIGKILL, stay down `downMs`, then start. */
  readonly kind: 'graceful' | 'crash';
  readonly downMs: number;
}

/**
 * Restarts spread over the run: the first graceful (an outage of a few ms, often between two refreshes),
 * the others crashes with outages of 2 s up to longer than the ttl, so every record is gone and every
 * instance sees a run of failed refreshes before Redis returns.
 */
export function planRestarts(durationMs: number, quick: boolean, ttlMs: number): PlannedRestart[] {
  if (quick) {
    return [
      { atMs: Math.round(durationMs * 0.3), kind: 'graceful', downMs: 0 },
      { atMs: Math.round(durationMs * 0.7), kind: 'crash', downMs: 2000 },
    ];
  }
  return [
    { atMs: Math.round(durationMs * 0.22), kind: 'graceful', downMs: 0 },
    { atMs: Math.round(durationMs * 0.5), kind: 'crash', downMs: 2000 },
    { atMs: Math.round(durationMs * 0.78), kind: 'crash', downMs: ttlMs + 2000 },
  ];
}

/**
 * A kind of proxy fault phase. `slow`: a slow store, every reply held 1.5-3 s (longer than the
 * interval, half the ttl), which stretches each refresh by a round trip.
 */
export type FaultKind = 'delay' | 'slow' | 'drop' | 'refuse' | 'delay+drop';

export const FAULT_KINDS: readonly FaultKind[] = ['delay', 'slow', 'drop', 'refuse', 'delay+drop'];

/** How long before a planned restart a phase of `kind` must end: held replies still drain after it. */
export const endMarginMs = (kind: FaultKind): number => (kind === 'slow' ? 3000 : 0);

/** The proxy settings of a phase, and the share of open connections cut when it begins. */
export function faultSettings(kind: FaultKind): { settings: Partial<FaultSettings>; dropAtStart: number } {
  switch (kind) {
    case 'delay':
      return { settings: { delayShare: 0.5, delayMaxMs: 300 }, dropAtStart: 0 };
    case 'slow':
      return { settings: { replyDelayMinMs: 1500, replyDelayMaxMs: 3000 }, dropAtStart: 0 };
    case 'drop':
      return { settings: { dropShare: 0.02 }, dropAtStart: 0 };
    case 'refuse':
      // Cutting some connections first makes their clients reconnect into the refusal.
      return { settings: { refuseNew: true }, dropAtStart: 0.3 };
    case 'delay+drop':
      return { settings: { delayShare: 0.3, delayMaxMs: 300, dropShare: 0.01 }, dropAtStart: 0 };
  }
}

/** How long a phase of `kind` lasts, in ms: refusals are short, since each one is an outage for the clients cut. */
export function faultPhaseMs(kind: FaultKind, random: () => number): number {
  return kind === 'refuse' ? between(random, 1000, 2000) : between(random, 3000, 6000);
}

/** The pause between two fault phases, in ms (shorter in quick mode, where quiet windows take a larger share). */
export const faultPauseMs = (random: () => number, quick: boolean): number =>
  quick ? between(random, 1000, 2000) : between(random, 2000, 4000);

/** The pause before the next round of kills, in ms, and how many instances that round kills. */
export function nextKills(random: () => number, quick: boolean): { afterMs: number; count: number } {
  const afterMs = quick ? between(random, 1500, 3000) : between(random, 1500, 3500);
  const roll = random();
  const count = roll < 0.6 ? 1 : roll < 0.9 ? 2 : 3;
  return { afterMs, count };
}
