import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' },
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Declaration maps too (the .d.ts files name them), pointing at the `src/` every tarball ships.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  fixedExtension: false,
  external: [/^node:/],
});
