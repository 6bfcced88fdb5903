import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The operator console, built into dist/console and served by the service at /console. The SDK is
 * compiled from its source (clients/typescript/src), so the console always matches the spec.
 */
export default defineConfig({
  root: here('.'),
  base: '/console/',
  resolve: { alias: { '@portico/client': here('../clients/typescript/src/index.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: nothing to split, and no inline scripts (the CSP allows none).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  clearScreen: false,
});
