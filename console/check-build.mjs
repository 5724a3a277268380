// Fails the build when the built index.html carries anything the gateway's
// Content-Security-Policy (script-src 'self'; style-src 'self') would block:
// an inline <script> (Vite's module-preload polyfill among them), an inline
// <style>, a style="" or on*="" attribute, or a javascript: URL.
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const out = process.env.CONSOLE_OUT ? resolve(process.env.CONSOLE_OUT) : resolve(dirname(fileURLToPath(import.meta.url)), '../build/console')
const html = readFileSync(join(out, 'index.html'), 'utf8')
const problems = []
for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  if (!/\bsrc\s*=/.test(m[1]) || m[2].trim() !== '') problems.push('inline <script>')
}
if (/<style\b/i.test(html)) problems.push('inline <style>')
if (/\sstyle\s*=/i.test(html)) problems.push('style attribute')
if (/\son[a-z]+\s*=/i.test(html)) problems.push('event-handler attribute')
if (/javascript:/i.test(html)) problems.push('javascript: URL')
if (problems.length) {
  console.error(`console build: ${join(out, 'index.html')} has ${problems.join(', ')}: the Content-Security-Policy would block it`)
  process.exit(1)
}
console.log(`console build: ${out} (index.html has no inline script or style)`)
