import type { RecordCodec } from '../codec/codec.js';
import type { EventSink } from '../events.js';
import { warnLoudly } from '../notice.js';
import { recordKey } from '../record.js';
import type { Logger } from '../runtime.js';
import type { PutResult, RecordRef, StoredRecord } from '../store.js';

/** The value at `ref` among a service's records (the read-back of stores without `get`). */
export function valueAt(records: readonly StoredRecord[], ref: RecordRef): string | null {
  const stored = records.find((record) => record.instanceId === ref.instanceId && record.key === undefined);
  return stored?.value ?? null;
}

// A gcm value starts `g1.` or `g2.`, an 8-character key id and `.`, then the base64 of its random
// 96-bit IV (16 characters). A `g1` IV is unique per write; a `g2` IV per writer and content (a routine
// refresh writes the body again), which is all the check needs: another writer's record has its own IV,
// and an older record of our own with the same IV is no other writer.
const GCM_HEAD = /^g[12]\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9+/]{16}/;

/**
 * The `expectPrevious` prefix for a value this writer wrote: 28 characters of a gcm value, the whole
 * value for any other codec (its first characters need not differ from write to write).
 */
export function writeFingerprint(value: string, codecName: string): string {
  return (codecName === 'gcm' && GCM_HEAD.exec(value)?.[0]) || value;
}

/** What a `put` given `expectPrevious` says the key held: null when nothing else, undefined when unknown. */
export function previousOf(result: PutResult | undefined): string | null | undefined {
  if (result === undefined) return undefined;
  if (result.matched) return null;
  return typeof result.previous === 'string' ? result.previous : undefined;
}

/**
 * How one refresh checks its key: `compare` inside the put with this `expectPrevious` (stores with
 * `comparePrevious`: free), `get` or `list` read back beside it (other stores: at most once per ttl,
 * and at every refresh while a duplicate is reported, so its end is seen as fast), or not at all.
 */
export type DuplicateCheck = { readonly compare: string } | 'get' | 'list' | undefined;

/** What a store must offer for `DuplicateDetector.plan`. */
export interface CheckableStore {
  readonly comparePrevious: boolean;
  readonly get?: unknown;
}

/** What `health().duplicate` reports: another live process writes this service and instance id. */
export interface DuplicateState {
  /** True while another writer's record was found at this instance's key since its last own write. */
  readonly detected: boolean;
  /** When it was first seen in this episode, ms since the epoch; null when none. */
  readonly since: number | null;
  /** The other writer's owner token, or null when its record carries none (an older or apicrud writer). */
  readonly otherOwner: string | null;
}

/** The `duplicate` event: another live process writes this service and instance id. */
export interface DuplicateEvent {
  readonly name: string;
  readonly id: string;
  readonly otherOwner: string | null;
  /** True once the other writer stopped. */
  readonly ended: boolean;
}

/** A random owner token per registration: 16 hex digits, from Web Crypto (every runtime has it). */
export function newOwnerToken(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Clean reads in a row that end an episode: the other writer stopped writing. */
const CLEAR_AFTER = 2;

/**
 * Finds another live writer of this instance's key. Before a refresh the key must hold what this
 * process wrote last (or nothing: expired, flushed); anything else was written by someone else since.
 * Comparing ciphertexts costs no decryption; only a foreign value is decrypted, to read its owner (a
 * late copy of our own write carries our token and is no duplicate).
 */
export class DuplicateDetector {
  readonly owner = newOwnerToken();
  readonly #codec: RecordCodec;
  #state: DuplicateState = { detected: false, since: null, otherOwner: null };
  #cleanReads = 0;
  /** When a fallback read last ran, by the local clock. */
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(codec: RecordCodec) {
    this.#codec = codec;
  }

  get state(): DuplicateState {
    return this.#state;
  }

  /** How this refresh checks its key (see `DuplicateCheck`); `lastWritten` undefined: nothing to compare. */
  plan(store: CheckableStore, lastWritten: string | undefined, now: number, ttlMs: number): DuplicateCheck {
    if (store.comparePrevious) {
      return lastWritten === undefined
        ? undefined
        : { compare: writeFingerprint(lastWritten, this.#codec.name) };
    }
    if (!this.#state.detected && now - this.#readAt < ttlMs) return undefined;
    this.#readAt = now;
    return store.get ? 'get' : 'list';
  }

  /**
   * Judges what the store held at `ref` just before this process's write of `writing` (null: nothing
   * live), given the value it wrote last (undefined before its first write). Resolves to `started` when
   * an episode began, `ended` when one ended.
   */
  async judge(
    stored: string | null,
    ref: RecordRef,
    lastWritten: string | undefined,
    writing: string,
    now: number,
  ): Promise<'started' | 'ended' | undefined> {
    let foreign: string | null | undefined;
    // `writing`: on a store whose requests may be reordered the read can see this very write.
    if (stored !== null && stored !== lastWritten && stored !== writing) {
      const owner = await this.#ownerOf(stored, recordKey(ref));
      // Undecodable: another cluster's secret or garbage, not a writer of ours; leave it to `find`.
      if (owner !== undefined && owner !== this.owner) foreign = owner;
    }
    if (foreign !== undefined) {
      this.#cleanReads = 0;
      if (this.#state.detected) return undefined;
      // Before our first write, a live record of another owner may be a crashed predecessor with the same
      // id: only a foreign value found after we wrote proves a live rival.
      if (lastWritten === undefined) return undefined;
      this.#state = { detected: true, since: now, otherOwner: foreign };
      return 'started';
    }
    if (!this.#state.detected) return undefined;
    this.#cleanReads++;
    if (this.#cleanReads < CLEAR_AFTER) return undefined;
    this.#state = { detected: false, since: null, otherOwner: null };
    return 'ended';
  }

  /** Tells the user: a warning (loud without a logger) and the `duplicate` event. */
  report(
    verdict: 'started' | 'ended',
    ref: RecordRef,
    logger: Logger,
    events: EventSink<{ duplicate: DuplicateEvent }>,
  ): void {
    const payload = { name: ref.service, id: ref.instanceId };
    if (verdict === 'started') {
      const { otherOwner } = this.#state;
      warnLoudly(
        logger,
        'REGISTRY_DUPLICATE',
        `another live process registers ${ref.service}:${ref.instanceId}; both overwrite one record: give each instance its own id`,
        { otherOwner },
      );
      events.emit('duplicate', { ...payload, otherOwner, ended: false });
    } else {
      logger.info('the other writer of this instance id stopped', payload);
      events.emit('duplicate', { ...payload, otherOwner: null, ended: true });
    }
  }

  /** The owner token of a stored value: null when it has none, undefined when it does not decode. */
  async #ownerOf(value: string, key: string): Promise<string | null | undefined> {
    try {
      const json = JSON.parse(await this.#codec.decode(value, key)) as { owner?: unknown };
      return typeof json.owner === 'string' ? json.owner : null;
    } catch {
      return undefined;
    }
  }
}
