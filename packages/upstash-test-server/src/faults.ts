/**
 * - `http-500`: answer HTTP 500 with `{ error }` before running anything.
 * - `delay`: wait `delayMs` before handling the request (longer than the client's timeout makes
 *   it give up); a request whose client has gone by then is not run.
 * - `malformed`: run the request, then answer 200 with its JSON body cut short.
 * - `drop`: destroy the socket without any response, before running anything.
 */
export type FaultKind = 'http-500' | 'delay' | 'malformed' | 'drop';

export interface FaultSpec {
  kind: FaultKind;
  /** How many matching requests get the fault before it clears itself. Default: every one until `clear()`. */
  times?: number;
  /** For `delay`: how long to hold the request, in milliseconds. Default 10 000. */
  delayMs?: number;
  /** Request paths the fault applies to, e.g. `['/pipeline']`. Default: all paths. */
  paths?: string[];
}

/** A fault about to be applied to one request. */
export interface InjectedFault {
  kind: FaultKind;
  delayMs: number;
}

export interface FaultController {
  /** Replaces the current fault. */
  set(spec: FaultSpec): void;
  /** Removes the current fault; later requests are served normally. */
  clear(): void;
  /** The fault in force, with `times` counting down, or undefined. */
  readonly active: Readonly<FaultSpec> | undefined;
  /** How many requests have had a fault applied since the server started. */
  readonly injected: number;
}

/** The server's side of the controller: picks the fault, if any, for one request. */
export interface FaultSource extends FaultController {
  take(path: string): InjectedFault | undefined;
}

const DEFAULT_DELAY_MS = 10_000;
const KINDS: readonly FaultKind[] = ['http-500', 'delay', 'malformed', 'drop'];

export function createFaultController(): FaultSource {
  let active: FaultSpec | undefined;
  let injected = 0;

  return {
    set(spec) {
      if (!KINDS.includes(spec.kind)) throw new TypeError(`unknown fault kind: ${String(spec.kind)}`);
      if (spec.times !== undefined && !(Number.isInteger(spec.times) && spec.times > 0)) {
        throw new RangeError(`fault times must be a positive integer, got ${spec.times}`);
      }
      if (spec.delayMs !== undefined && !(Number.isFinite(spec.delayMs) && spec.delayMs >= 0)) {
        throw new RangeError(`fault delayMs must be a non-negative number, got ${spec.delayMs}`);
      }
      active = { ...spec, paths: spec.paths ? [...spec.paths] : undefined };
    },
    clear() {
      active = undefined;
    },
    get active() {
      return active;
    },
    get injected() {
      return injected;
    },
    take(path) {
      const fault = active;
      if (!fault || (fault.paths && !fault.paths.includes(path))) return undefined;
      if (fault.times !== undefined) {
        fault.times -= 1;
        if (fault.times <= 0) active = undefined;
      }
      injected += 1;
      return { kind: fault.kind, delayMs: fault.delayMs ?? DEFAULT_DELAY_MS };
    },
  };
}

/** A body that is not valid JSON: any strict prefix of a JSON object or array is cut mid-value. */
export function truncateBody(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}
