import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts'],
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
  // Loaded lazily, only when a Docker engine may answer; a dev dependency, never bundled.
  deps: { neverBundle: ['testcontainers', /^@testcontainers\//] },
});
