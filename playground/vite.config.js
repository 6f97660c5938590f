// Builds the playground into dist/, which is committed and embedded in the binary (rust-embed in
// src/http/playground.rs): `/` serves dist/index.html and `/playground/*` everything else.
import { defineConfig } from 'vite';

export default defineConfig({
  // Assets are requested as /playground/assets/…, the route the gateway serves them on.
  base: '/playground/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Monaco (GraphiQL's editor) is large by nature; the page is served from the gateway itself.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: true,
    rolldownOptions: {
      onwarn(warning, warn) {
        // framer-motion's "use client" directives mean nothing outside React Server Components.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
