// Drives the console's dashboard in headless Chromium (puppeteer-core,
// Debian's chromium): logs in through the ticket flow (confirmed through the
// API with STAFF_TOKEN, as the mini-program would), then opens each
// dashboard URL of $DASHBOARD_URLS (a JSON list of paths), waits until every
// chart has drawn its data, and reports what each chart carries
// (data-values) with the period and project the page asked for. Prints one
// JSON line (the report) last; exits non-zero on any failure. Screenshots
// (1280×800 and a tablet, 820×1180) go to $ARTIFACTS.
import puppeteer from 'puppeteer-core'
import { join } from 'node:path'

const base = process.env.GATEWAY_URL
const token = process.env.STAFF_TOKEN
const out = process.env.ARTIFACTS
const urls = JSON.parse(process.env.DASHBOARD_URLS)
const CHARTS = 9
const TIMEOUT = 60000

async function api(method, path) {
  const r = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}` } })
  const body = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(body)}`)
  return body.data
}

async function login(page) {
  await page.goto(base + '/console/', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector('[data-test=ticket]', { timeout: TIMEOUT })
  const ticket = await page.$eval('[data-test=ticket]', (e) => e.textContent.trim())
  await api('POST', `/api/v1/console/tickets/${ticket}/scan`)
  await page.waitForFunction(() => document.querySelector('[data-test=login-state]')?.dataset.state === 'scanned',
    { timeout: TIMEOUT })
  await api('POST', `/api/v1/console/tickets/${ticket}/confirm`)
  await page.waitForFunction(() => location.pathname === '/console/dashboard', { timeout: TIMEOUT })
}

// Every chart drawn with the loaded data.
async function drawn(page) {
  await page.waitForSelector('[data-test=dashboard][data-loaded="1"]', { timeout: TIMEOUT })
  await page.waitForFunction((n) => document.querySelectorAll('[data-stat][data-rendered="1"]').length === n,
    { timeout: TIMEOUT }, CHARTS)
  return page.evaluate(() => {
    const d = document.querySelector('[data-test=dashboard]').dataset
    const charts = {}
    for (const e of document.querySelectorAll('[data-stat]')) {
      charts[e.dataset.stat] = { test: e.dataset.test, values: JSON.parse(e.dataset.values),
        total: e.dataset.total, canvas: !!e.querySelector('canvas'), rendered: e.dataset.rendered }
    }
    return { from: Number(d.from), to: Number(d.to), project: d.project ? Number(d.project) : null,
      period_text: document.querySelector('[data-test=period-text]').textContent.trim(), charts }
  })
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  acceptInsecureCerts: true, // the test stack's self-signed certificate
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=zh-CN'],
})
const errors = []
let loggedIn = false
let exitCode = 0
try {
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
  })
  page.on('response', (r) => {
    const u = new URL(r.url())
    if (r.status() >= 400 && !(r.status() === 401 && u.pathname === '/api/v1/console/session' && !loggedIn))
      errors.push(`${r.status()} ${u.pathname}`)
  })
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.evaluateOnNewDocument(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  await login(page)
  loggedIn = true
  const views = []
  for (const [i, path] of urls.entries()) {
    await page.goto(base + path, { waitUntil: 'networkidle0', timeout: TIMEOUT })
    const v = await drawn(page)
    v.path = path
    v.url = await page.evaluate(() => location.pathname + location.search)
    await page.screenshot({ path: join(out, `dashboard-${i}.png`) })
    // The lower charts: the layout's main area scrolls.
    await page.evaluate(() => { const m = document.querySelector('.el-main'); m.scrollTop = m.scrollHeight })
    await page.screenshot({ path: join(out, `dashboard-${i}-lower.png`) })
    views.push(v)
  }
  // The period picker: 近 7 天 puts its period in the URL and loads it.
  await page.click('[data-test=period-7]')
  await page.waitForFunction(() => new URLSearchParams(location.search).get('range') === '7', { timeout: TIMEOUT })
  await page.waitForFunction(() => {
    const d = document.querySelector('[data-test=dashboard]').dataset
    return d.loaded === '1' && Number(d.to) - Number(d.from) === 7 * 86400
  }, { timeout: TIMEOUT })
  const week = await drawn(page)
  week.url = await page.evaluate(() => location.pathname + location.search)
  // A tablet, the first URL again.
  await page.setViewport({ width: 820, height: 1180 })
  await page.goto(base + urls[0], { waitUntil: 'networkidle0', timeout: TIMEOUT })
  const tablet = await drawn(page)
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)
  await page.screenshot({ path: join(out, 'dashboard-tablet-820.png') })
  await page.evaluate(() => { const m = document.querySelector('.el-main'); m.scrollTop = m.scrollHeight })
  await page.screenshot({ path: join(out, 'dashboard-tablet-820-lower.png') })
  const csp = await page.evaluate(() => window.__csp)
  if (errors.length || csp.length) exitCode = 1
  console.log(JSON.stringify({ views, week, tablet, tablet_overflow: overflow, errors, csp_violations: csp }))
} catch (e) {
  console.error(e)
  console.error('errors:', JSON.stringify(errors))
  exitCode = 1
} finally {
  await browser.close()
}
process.exit(exitCode)
