import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// A trimmed copy of packages/store-upstash/test/edge/bundle.ts (test helpers are not published).

interface RolldownApi {
  rolldown(options: { input: string; platform: 'browser'; resolve: { conditionNames: string[] } }): Promise<{
    generate(options: { format: 'iife' }): Promise<{
      output: readonly { type: string; code?: string; imports?: string[] }[];
    }>;
    close(): Promise<void>;
  }>;
}

/**
 * Bundles `entry` into one script for `new EdgeRuntime({ initialCode })`, as an edge platform would:
 * no `node` export condition, workspace packages from their sources, nothing left external.
 */
export async function bundleForEdge(entry: string): Promise<string> {
  const fromTsdown = createRequire(createRequire(import.meta.url).resolve('tsdown'));
  const { rolldown }: RolldownApi = await import(pathToFileURL(fromTsdown.resolve('rolldown')).href);
  const bundle = await rolldown({
    input: entry,
    platform: 'browser',
    resolve: {
      conditionNames: ['@service-registry/source', 'edge-light', 'worker', 'browser', 'import', 'default'],
    },
  });
  try {
    const [chunk] = (await bundle.generate({ format: 'iife' })).output;
    if (chunk?.type !== 'chunk' || chunk.code === undefined) throw new Error('rolldown produced no chunk');
    if (chunk.imports?.length) throw new Error(`left outside the bundle: ${chunk.imports.join(', ')}`);
    return chunk.code;
  } finally {
    await bundle.close();
  }
}
