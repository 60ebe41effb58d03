import { defineConfig } from 'tsdown';

/** The build of every published package with one entry: ESM, types, source maps, runtime-neutral. */
export const libraryConfig = defineConfig({
  entry: ['src/index.ts'],
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Declaration maps too (the .d.ts files name them), pointing at the `src/` every tarball ships.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  fixedExtension: false,
});
