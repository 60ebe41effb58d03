import type { Instance } from '../record.js';
import { Picker } from './pick.js';
import type { RemovalReason } from './view-types.js';

/** One instance the view holds, and when it stops counting as alive by the view's clock. */
export interface Held {
  /** As read, except `expiresAt`: it carries `deadline` in store time (see `ServiceState.setDeadline`). */
  instance: Instance;
  /** Local ms since the epoch. From the record's `expires_at`, or later from a store probe. */
  deadline: number;
  /** When the read that set `deadline` was made, local ms: a deadline read within the lead is settled. */
  readAt: number;
  /** The record carries no expiry (written by Python apicrud): its deadline is a re-read time. */
  readonly noExpiry: boolean;
}

/** What a reconcile or an expiry changed, to be reported as events. */
export type Change =
  | { readonly kind: 'added'; readonly instance: Instance }
  | { readonly kind: 'updated'; readonly instance: Instance; readonly previous: Instance }
  | { readonly kind: 'removed'; readonly instance: Instance; readonly reason: RemovalReason };

/** Inputs of one reconcile: how the view decides what a vanished instance means. */
export interface ReconcileContext {
  readonly now: number;
  /** Deadline given to records without `expires_at`. */
  readonly noExpiryDeadline: number;
  /** Store clock minus local clock, ms: turns a record's `expiresAt` (store time) into a local deadline. */
  readonly storeOffsetMs: number;
  /** A vanished record whose deadline is this close counts as expired, not deregistered. */
  readonly expiryGraceMs: number;
  readonly guardShare: number;
  /** When a new hold would end. */
  readonly holdUntil: number;
  /**
   * Hold every unexplained vanishing, whatever the share: a restart is already suspected, or the
   * store would have pushed a notice for a deregistration and did not.
   */
  readonly holdAll: boolean;
  /**
   * Set on the read that ends a stale period (or one where notices were cut and no read answered):
   * when the view last knew the store. A deadline that passed after it passed unseen (the instance
   * could not refresh while the store was down either), so it proves no death: such a vanished
   * record is held like any unexplained one, never `expired`. Any vanishing on such a read is
   * suspect (the store may have restarted meanwhile), whatever its share, unless `explained`.
   */
  readonly unseenSince?: number;
  /**
   * A deadline counts as known only when a read within this long before it confirmed it (a probe
   * or list): a vanished record whose deadline passed unconfirmed (reads were failing or hanging)
   * is held like an unexplained one too.
   */
  readonly settleMs: number;
  /**
   * The store's change counter moved, without a reset, by at least as many changes as records
   * vanished, since a read made before the list that last saw them: they were deleted (deregistered),
   * the store did not lose them, so no share of them is held. Records that lapsed unseen still are.
   */
  readonly explained?: boolean;
  /**
   * False where the store keeps its own expiry and probes it: a record's `expires_at` is its
   * writer's claim when it computed the write (a write that waited out an outage lands with a claim
   * earlier than the store's), so a list never settles a deadline there, only a probe does. Default true.
   */
  readonly listSettles?: boolean;
}

export interface ReconcileOutcome {
  readonly changes: Change[];
  /** How many instances were newly held by the guard. */
  readonly held: number;
}

function sameContent(left: Instance, right: Instance): boolean {
  if (left.status !== right.status) return false;
  const a = left.info;
  const b = right.info;
  if (a.publicUrl !== b.publicUrl || a.port !== b.port || a.ipv4 !== b.ipv4 || a.created !== b.created)
    return false;
  if (a.endpoints.length !== b.endpoints.length) return false;
  for (let index = 0; index < a.endpoints.length; index++)
    if (a.endpoints[index] !== b.endpoints[index]) return false;
  const leftKeys = Object.keys(left.meta);
  if (leftKeys.length !== Object.keys(right.meta).length) return false;
  for (const key of leftKeys) if (left.meta[key] !== right.meta[key]) return false;
  return true;
}

/** `instance` with `expiresAt` moved to `deadline` (local) in store time; the same object if unchanged. */
function carrying(instance: Instance, deadline: number, storeOffsetMs: number): Instance {
  if (instance.expiresAt === null || !Number.isFinite(deadline)) return instance;
  const expiresAt = Math.round(deadline + storeOffsetMs);
  return expiresAt === instance.expiresAt ? instance : Object.freeze({ ...instance, expiresAt });
}

const byId = (left: Instance, right: Instance): number =>
  left.id < right.id ? -1 : left.id > right.id ? 1 : 0;

/** One service as the view holds it. Arrays handed out are replaced, never mutated, when content changes. */
export class ServiceState {
  readonly name: string;
  readonly held = new Map<string, Held>();
  readonly picker = new Picker();
  /** Last change counter the store reported, if it keeps one. */
  changes: number | undefined;
  /**
   * A change counter read when the store was known to hold what the view holds (before the last
   * list, or by a probe whose count matched): the baseline deletions are counted from.
   */
  listedChanges: number | undefined;
  /** Instances held through a suspected store restart, and when the hold ends. */
  guard: { until: number; readonly ids: Set<string> } | undefined;
  /** When the store was last asked about this service's expiries (probe or list), local ms. */
  checkedAt = 0;
  /** Ask the store about this service again at this time (after a local expiry, to catch a late refresh). */
  recheckAt: number | undefined;
  #all: readonly Instance[] | undefined;
  #up: readonly Instance[] | undefined;
  /** Shared by a view's services: moves whenever any hands out new objects (content or a deadline). */
  readonly #revision: { value: number };

  constructor(name: string, revision: { value: number } = { value: 0 }) {
    this.name = name;
    this.#revision = revision;
  }

  all(): readonly Instance[] {
    if (this.#all === undefined) {
      const list: Instance[] = [];
      for (const held of this.held.values()) list.push(held.instance);
      this.#all = Object.freeze(list.sort(byId));
    }
    return this.#all;
  }

  up(): readonly Instance[] {
    if (this.#up === undefined) this.#up = Object.freeze(this.all().filter((item) => item.status === 'up'));
    return this.#up;
  }

  #changed(): void {
    this.#all = undefined;
    this.#up = undefined;
    this.#revision.value++;
  }

  /**
   * Moves a held instance's deadline (a probe learned a refresh, or a re-read); the instance handed
   * out is replaced by one whose `expiresAt` is that deadline in store time. Not a content change:
   * no event, no version, but `all()`/`up()` hand out the new object.
   */
  setDeadline(held: Held, deadline: number, storeOffsetMs: number): void {
    held.deadline = deadline;
    const carried = carrying(held.instance, deadline, storeOffsetMs);
    if (carried === held.instance) return;
    held.instance = carried;
    this.#changed();
  }

  isGuarded(id: string): boolean {
    return this.guard?.ids.has(id) === true;
  }

  /** Held instances whose deadline the view must watch (guarded ones wait for the hold instead). */
  *watched(): IterableIterator<[string, Held]> {
    for (const entry of this.held) if (!this.isGuarded(entry[0])) yield entry;
  }

  earliestDeadline(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [, held] of this.watched()) if (held.deadline < earliest) earliest = held.deadline;
    return earliest;
  }

  /** Held instances (not guarded, with an expiry) missing from `fetched` though their deadline is not near. */
  vanishing(fetched: readonly Instance[], now: number, expiryGraceMs: number): number {
    const seen = new Set(fetched.map((instance) => instance.id));
    let count = 0;
    for (const [id, held] of this.watched())
      if (!seen.has(id) && !held.noExpiry && held.deadline > now + expiryGraceMs) count++;
    return count;
  }

  /** How many held instances count toward the guard's share (the guarded ones do not). */
  get unguarded(): number {
    return this.held.size - (this.guard?.ids.size ?? 0);
  }

  /** Applies a complete, fresh list of the service's live instances. */
  reconcile(fetched: readonly Instance[], context: ReconcileContext): ReconcileOutcome {
    const { now, storeOffsetMs: offset } = context;
    const before = this.unguarded;
    const changes: Change[] = [];
    const seen = new Set<string>();
    const listedAt = context.listSettles === false ? Number.NEGATIVE_INFINITY : now;
    for (const instance of fetched) {
      seen.add(instance.id);
      const noExpiry = instance.expiresAt === null;
      const deadline =
        instance.expiresAt === null ? context.noExpiryDeadline : instance.expiresAt - context.storeOffsetMs;
      const current = this.held.get(instance.id);
      this.guard?.ids.delete(instance.id);
      if (current === undefined) {
        this.held.set(instance.id, { instance, deadline, readAt: listedAt, noExpiry });
        changes.push({ kind: 'added', instance });
      } else {
        // A probe may have learned a later expiry than the record's own (a refresh it has not re-read):
        // that deadline, and when the probe read it, stay.
        const ownDeadline = noExpiry || deadline >= current.deadline;
        if (ownDeadline) current.readAt = listedAt;
        const next = ownDeadline ? deadline : current.deadline;
        if (!sameContent(current.instance, instance)) {
          const previous = current.instance;
          current.instance = instance;
          this.setDeadline(current, next, offset);
          changes.push({ kind: 'updated', instance: current.instance, previous });
        } else {
          this.setDeadline(current, next, offset);
        }
      }
    }
    const guardOn = context.guardShare < 1;
    const unexplained: string[] = [];
    const lapsedUnseen: string[] = [];
    for (const [id, held] of this.held) {
      if (seen.has(id) || this.isGuarded(id)) continue;
      const expired = held.noExpiry || held.deadline <= now + context.expiryGraceMs;
      const unseen =
        guardOn &&
        !held.noExpiry &&
        ((context.unseenSince !== undefined && held.deadline > context.unseenSince) ||
          held.deadline - held.readAt > context.settleMs);
      if (expired && unseen) {
        lapsedUnseen.push(id);
      } else if (expired) {
        this.held.delete(id);
        changes.push({ kind: 'removed', instance: held.instance, reason: 'expired' });
      } else {
        unexplained.push(id);
      }
    }
    let newlyHeld = 0;
    // Records that lapsed unseen mean the store was away: what else vanished is suspect with them,
    // unless the store's change counter shows them deleted.
    const explained = context.explained === true;
    const holdable = explained ? lapsedUnseen : [...unexplained, ...lapsedUnseen];
    const vanished = holdable.length;
    const suspicious =
      guardOn &&
      vanished > 0 &&
      (context.holdAll ||
        context.unseenSince !== undefined ||
        lapsedUnseen.length > 0 ||
        (vanished >= 2 && vanished > context.guardShare * before));
    if (suspicious) {
      this.guard ??= { until: context.holdUntil, ids: new Set() };
      for (const id of holdable) this.guard.ids.add(id);
      newlyHeld = vanished;
    }
    if (!suspicious || explained) {
      for (const id of unexplained) {
        const held = this.held.get(id) as Held;
        this.held.delete(id);
        changes.push({ kind: 'removed', instance: held.instance, reason: 'deregistered' });
      }
    }
    // A hold that has run its course: whatever has not come back is gone.
    if (this.guard !== undefined && (this.guard.ids.size === 0 || now >= this.guard.until)) {
      for (const id of this.guard.ids) {
        const held = this.held.get(id);
        if (held === undefined) continue;
        this.held.delete(id);
        changes.push({ kind: 'removed', instance: held.instance, reason: 'guard-released' });
      }
      this.guard = undefined;
    }
    this.checkedAt = now;
    if (changes.length > 0) this.#changed();
    return { changes, held: newlyHeld };
  }

  /**
   * Removes watched instances whose deadline has passed and is settled: read from the store within
   * `leadMs` of it, so no refresh can have moved it unseen. Unsettled ones wait for a check.
   */
  expire(now: number, leadMs: number): Change[] {
    const changes: Change[] = [];
    for (const [id, held] of this.watched()) {
      if (held.deadline > now || held.noExpiry || held.deadline - held.readAt > leadMs) continue;
      this.held.delete(id);
      changes.push({ kind: 'removed', instance: held.instance, reason: 'expired' });
    }
    if (changes.length > 0) this.#changed();
    return changes;
  }

  /** Empties the service (the staleness bound). */
  clear(reason: RemovalReason): Change[] {
    const changes: Change[] = [];
    for (const held of this.held.values()) changes.push({ kind: 'removed', instance: held.instance, reason });
    this.held.clear();
    this.guard = undefined;
    this.changes = undefined;
    if (changes.length > 0) this.#changed();
    return changes;
  }
}
