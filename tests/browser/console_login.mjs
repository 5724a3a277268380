// Drives the console in headless Chromium (puppeteer-core, Debian's
// chromium): logs in through the ticket flow, confirming the ticket through
// the API with STAFF_TOKEN as the mini-program would, then checks the layout
// and the dashboard's chart. Prints one JSON line (the report) last; exits
// non-zero on any failure. Screenshots go to $ARTIFACTS.
import puppeteer from 'puppeteer-core'
import { join } from 'node:path'

const base = process.env.GATEWAY_URL
const token = process.env.STAFF_TOKEN
const out = process.env.ARTIFACTS
const TIMEOUT = 60000

async function api(method, path) {
  const r = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}` } })
  const body = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(body)}`)
  return body.data
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  acceptInsecureCerts: true, // the test stack's self-signed certificate
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=zh-CN'],
})
const consoleErrors = []
let loggedIn = false
let exitCode = 0
try {
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  // A failed fetch also logs "Failed to load resource": those are judged by
  // their responses below (the only one expected is the session probe's 401
  // before the login).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text())
  })
  page.on('response', (r) => {
    if (r.status() < 400) return
    const u = new URL(r.url())
    if (!(r.status() === 401 && u.pathname === '/api/v1/console/session' && !loggedIn)) {
      consoleErrors.push(`${r.status()} ${u.pathname}`)
    }
  })
  page.on('pageerror', (e) => consoleErrors.push(String(e)))
  // CSP violations as the page sees them (a blocked inline style or script)
  await page.evaluateOnNewDocument(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`))
  })

  await page.goto(base + '/console/', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForFunction(() => location.pathname === '/console/login', { timeout: TIMEOUT })
  await page.waitForSelector('[data-test=ticket]', { timeout: TIMEOUT })
  await page.waitForSelector('.code-box img', { visible: true, timeout: TIMEOUT })
  const ticket = await page.$eval('[data-test=ticket]', (e) => e.textContent.trim())
  await page.screenshot({ path: join(out, 'login.png') })

  // the mini-program's part
  await api('POST', `/api/v1/console/tickets/${ticket}/scan`)
  await page.waitForFunction(() => document.querySelector('[data-test=login-state]')?.dataset.state === 'scanned',
    { timeout: TIMEOUT })
  await api('POST', `/api/v1/console/tickets/${ticket}/confirm`)

  await page.waitForFunction(() => location.pathname === '/console/dashboard', { timeout: TIMEOUT })
  loggedIn = true
  await page.waitForSelector('[data-test=user-name]', { timeout: TIMEOUT })
  await page.waitForFunction((n) => document.querySelector('[data-test=user-name]').textContent.trim() === n,
    { timeout: TIMEOUT }, process.env.STAFF_NAME)
  await page.waitForSelector('[data-test=repairs-chart][data-rendered="1"]', { timeout: TIMEOUT })
  const chart = await page.$eval('[data-test=repairs-chart]', (e) => ({
    total: e.dataset.total, canvas: !!e.querySelector('canvas'),
  }))
  const userName = await page.$eval('[data-test=user-name]', (e) => e.textContent.trim())
  const menu = await page.$$eval('.el-menu-item', (items) => items.map((i) => i.dataset.title))
  await page.screenshot({ path: join(out, 'dashboard.png') })

  // the menu leads to the tickets board, which loads its list
  await page.click('.el-menu-item:nth-child(2)')
  await page.waitForSelector('[data-test=repairs-list][data-state=ready]', { timeout: TIMEOUT })
  await page.screenshot({ path: join(out, 'repairs.png') })

  // a tablet
  await page.setViewport({ width: 820, height: 1180 })
  await page.goto(base + '/console/dashboard', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector('[data-test=repairs-chart][data-rendered="1"]', { timeout: TIMEOUT })
  await page.screenshot({ path: join(out, 'dashboard-tablet.png') })

  const csp = await page.evaluate(() => window.__csp)
  const report = { ticket, user_name: userName, chart_total: chart.total, canvas: chart.canvas, menu,
    console_errors: consoleErrors, csp_violations: csp }
  const expected = ['工作台', '报修工单', '线索', '推荐与奖励', '通知', '配置', '员工', '审计日志', '导出记录', '客服工作台']
  if (chart.total !== process.env.STATS_TOTAL) throw new Error(`chart total ${chart.total}, API ${process.env.STATS_TOTAL}`)
  if (JSON.stringify(menu) !== JSON.stringify(expected)) throw new Error(`menu ${JSON.stringify(menu)}`)
  if (consoleErrors.length || csp.length) exitCode = 1
  console.log(`screenshots: ${out}`)
  console.log(JSON.stringify(report))
} catch (e) {
  console.error(e)
  console.error('console errors:', JSON.stringify(consoleErrors))
  exitCode = 1
} finally {
  await browser.close()
}
process.exit(exitCode)
