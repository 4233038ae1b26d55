import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the Coffer server under /console (packages/server/src/http/console.ts). The web build
// goes to dist/web so that tsc's test output in dist/test stays apart from it.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist/web',
    emptyOutDir: true,
    // The polyfill would be an inline script, which the console's Content-Security-Policy refuses.
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: true,
  },
});
