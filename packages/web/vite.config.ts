// Builds the console into the server's static folder; `npm run dev` proxies the API to a running Opsbook.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const api = process.env.OPSBOOK_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../server/static', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: true },
      '/actuator': { target: api, changeOrigin: true },
    },
  },
});
