import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The renderer only. esbuild compiles the JSX (automatic runtime), so no React plugin is needed.
export default defineConfig({
  root: resolve(import.meta.dirname, 'src/renderer'),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: resolve(import.meta.dirname, 'dist/renderer'),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    // The CSP allows no inline code: keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  logLevel: 'warn',
});
