// The console is served by the gateway at /console/ (console_dir). The build
// goes to $CONSOLE_OUT (the Makefile passes $(BUILD)/console), hashed names
// under assets/, and the built index.html carries no inline script: the
// gateway's Content-Security-Policy allows scripts from 'self' only, so the
// module-preload polyfill (an inline-free but injected helper) is left out:
// every browser that runs ES modules has <link rel="modulepreload">.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { resolve } from 'node:path'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: process.env.CONSOLE_OUT ? resolve(process.env.CONSOLE_OUT) : resolve(__dirname, '../build/console'),
    emptyOutDir: true,
    assetsDir: 'assets',
    modulePreload: { polyfill: false },
    // Fonts and icons stay files: a data: URL would be fine for img-src but
    // not for font-src 'self'.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        manualChunks: {
          vue: ['vue', 'vue-router'],
          'element-plus': ['element-plus'],
          echarts: ['echarts/core', 'echarts/charts', 'echarts/components', 'echarts/renderers'],
        },
      },
    },
  },
})
