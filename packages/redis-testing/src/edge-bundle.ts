import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The part of rolldown's API used here (typed locally: rolldown is reached through tsdown). */
interface RolldownApi {
  rolldown(options: {
    input: string;
    platform: 'browser';
    resolve: { conditionNames: string[] };
    logLevel: 'silent' | 'warn';
  }): Promise<{
    generate(options: { format: 'iife' }): Promise<{
      output: readonly { type: string; code?: string; imports?: string[]; dynamicImports?: string[] }[];
    }>;
    close(): Promise<void>;
  }>;
}

// Rolldown, the bundler tsdown (a root dev dependency) builds with: found through tsdown, so the test
// needs no dependency of its own.
async function loadRolldown(): Promise<RolldownApi> {
  const fromHere = createRequire(import.meta.url);
  const fromTsdown = createRequire(fromHere.resolve('tsdown'));
  return import(pathToFileURL(fromTsdown.resolve('rolldown')).href);
}

/** One script (IIFE) for `new EdgeRuntime({ initialCode })`. */
export interface EdgeBundle {
  readonly code: string;
  /** Modules left outside the bundle: an edge runtime would have to provide them. */
  readonly external: readonly string[];
}

/**
 * Bundles `entry` as an edge platform would: browser-style resolution without the `node` export
 * condition (so `@service-registry/core` is its Web Crypto build), workspace packages from their
 * sources. `extraConditions` go first, e.g. `node` to show what the check catches.
 */
export async function bundleForEdge(
  entry: string,
  options: { extraConditions?: readonly string[]; silent?: boolean } = {},
): Promise<EdgeBundle> {
  const { extraConditions = [], silent = false } = options;
  const { rolldown } = await loadRolldown();
  const bundle = await rolldown({
    input: entry,
    platform: 'browser',
    resolve: {
      conditionNames: [
        ...extraConditions,
        '@service-registry/source',
        'edge-light',
        'worker',
        'browser',
        'import',
        'default',
      ],
    },
    logLevel: silent ? 'silent' : 'warn',
  });
  try {
    const { output } = await bundle.generate({ format: 'iife' });
    const [chunk] = output;
    if (chunk?.type !== 'chunk' || chunk.code === undefined) throw new Error('rolldown produced no chunk');
    return { code: chunk.code, external: [...(chunk.imports ?? []), ...(chunk.dynamicImports ?? [])] };
  } finally {
    await bundle.close();
  }
}

/** Node-only ways of loading code (`node:` imports, `require(`) left in a bundle; comments do not count. */
export function nodeImportsIn(code: string): string[] {
  const loads = /\b(?:from|import)\s*\(?\s*["']node:[^"']+["']|\brequire\s*\(/g;
  return [...code.matchAll(loads)].map((match) => match[0]);
}
