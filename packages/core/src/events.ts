/** The emitting half of an emitter: what a part of core that reports events needs. */
export interface EventSink<Events> {
  emit<E extends keyof Events>(event: E, payload: Events[E]): void;
  /** Whether `event` has a listener: lets a caller skip building a payload nobody receives. */
  has(event: keyof Events): boolean;
}

/** A minimal typed event emitter that runs on every runtime (no `node:events`). */
export class Emitter<Events extends { [K in keyof Events]: unknown }> implements EventSink<Events> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): void {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  once<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Whether `event` has a listener: lets a caller skip building a payload nobody receives. */
  has(event: keyof Events): boolean {
    const set = this.#listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  /** Calls every listener; a throwing listener is reported and never breaks the caller (the refresh loop). */
  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
