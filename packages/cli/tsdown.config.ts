import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Declaration maps too (the .d.ts files name them), pointing at the `src/` every tarball ships.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  fixedExtension: false,
});
