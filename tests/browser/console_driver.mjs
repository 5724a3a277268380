// The shared part of the console's browser flows (flow_*.mjs): Debian's
// chromium through puppeteer-core, a login through the ticket flow (each
// login in a browser context of its own, so two people can work side by
// side), the page's errors and Content-Security-Policy violations
// collected, screenshots at 1280×800 and at tablet width, and the report:
// one JSON line printed last, the exit status non-zero on any failure.
//
// Environment: GATEWAY_URL, CHROMIUM, ARTIFACTS (the screenshots' folder).
import puppeteer from 'puppeteer-core'
import { join } from 'node:path'

export const base = process.env.GATEWAY_URL
export const TIMEOUT = Number(process.env.BROWSER_TIMEOUT_MS || 60000)
const DESKTOP = { width: 1280, height: 800 }
const TABLET = { width: 820, height: 1180 }

// A call of the API as the mini-program makes it (a bearer token).
export async function api(token, method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const r = await fetch(base + path, init)
  return { status: r.status, body: await r.json() }
}

async function apiOk(token, method, path) {
  const r = await api(token, method, path)
  if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.data
}

export async function launch() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptInsecureCerts: true, // the test stack's self-signed certificate
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=zh-CN'],
  })
}

// A page of a new browser context, logged in as the holder of `token`
// through the ticket flow (the mini-program's scan and confirm through the
// API). `expectedErrors(status, path)` says which failed responses the flow
// provokes on purpose; `onTicket(page)` runs while the login page shows its
// ticket, before the scan. The page's problems are collected in
// page.problems. Every driver logs in here.
export async function login(browser, token, { expectedErrors = () => false, onTicket = null } = {}) {
  const ctx = await browser.createBrowserContext()
  const page = await ctx.newPage()
  await page.setViewport(DESKTOP)
  page.problems = []
  let loggedIn = false
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.problems.push(m.text())
  })
  page.on('response', (r) => {
    if (r.status() < 400) return
    const u = new URL(r.url())
    if (r.status() === 401 && u.pathname === '/api/v1/console/session' && !loggedIn) return
    if (expectedErrors(r.status(), u.pathname)) return
    page.problems.push(`${r.status()} ${u.pathname}`)
  })
  page.on('pageerror', (e) => page.problems.push(String(e)))
  await page.evaluateOnNewDocument(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`))
  })
  await page.goto(base + '/console/', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector('[data-test=ticket]', { timeout: TIMEOUT })
  const ticket = await page.$eval('[data-test=ticket]', (e) => e.textContent.trim())
  if (onTicket) await onTicket(page)
  await apiOk(token, 'POST', `/api/v1/console/tickets/${ticket}/scan`)
  await page.waitForFunction(() => document.querySelector('[data-test=login-state]')?.dataset.state === 'scanned',
    { timeout: TIMEOUT })
  await apiOk(token, 'POST', `/api/v1/console/tickets/${ticket}/confirm`)
  await page.waitForFunction(() => location.pathname === '/console/dashboard', { timeout: TIMEOUT })
  await page.waitForSelector('[data-test=user-name]', { timeout: TIMEOUT })
  loggedIn = true
  page.loginTicket = ticket
  return page
}

// Opens a console path (with its query) and waits for the list `testId`
// to have loaded.
export async function open(page, path, testId) {
  await page.goto(base + '/console' + path, { waitUntil: 'networkidle0', timeout: TIMEOUT })
  if (testId) await listReady(page, testId)
}

export async function listReady(page, testId) {
  await page.waitForSelector(`[data-test="${testId}"][data-state=ready]`, { timeout: TIMEOUT })
}

export async function waitFor(page, fn, ...args) {
  return page.waitForFunction(fn, { timeout: TIMEOUT, polling: 100 }, ...args)
}

// Waits until no dialog or drawer covers the page (their overlays fade out
// after they close and would take a click meant for the page).
export async function overlaysGone(page) {
  await waitFor(page, () => ![...document.querySelectorAll('.el-overlay')].some((o) => {
    const r = o.getBoundingClientRect()
    return getComputedStyle(o).display !== 'none' && r.width > 0 && r.height > 0
  }))
}

export async function text(page, selector) {
  return page.$eval(selector, (e) => e.textContent.trim())
}

// Picks an option of an Element Plus select: opens the select inside
// `selectSel`, then clicks the option whose data-test is `optionTest` in the
// dropdown now shown (every select keeps its dropdown in the page, hidden).
export async function pick(page, selectSel, optionTest) {
  await page.click(`${selectSel} .el-select__wrapper`)
  const opt = `.el-select-dropdown__item[data-test="${optionTest}"]`
  let handle
  try {
    handle = await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].find((x) => x.offsetParent !== null
      && x.getBoundingClientRect().height > 0), { timeout: TIMEOUT, polling: 100 }, opt)
  } catch (e) {
    const seen = await page.$$eval('.el-select-dropdown__item', (xs) => xs.map((x) => x.outerHTML))
    throw new Error(`no option ${optionTest}; options: ${seen.join(' ')}`, { cause: e })
  }
  await handle.asElement().click()
}

// A screenshot at 1280×800 (name.png) and one at tablet width
// (name-tablet.png); `ready` is waited for after the resize.
export async function shots(page, name, ready) {
  const out = process.env.ARTIFACTS
  await page.screenshot({ path: join(out, `${name}.png`) })
  await page.setViewport(TABLET)
  // the side menu collapses below 1000 px wide (Layout.vue), with a transition
  await waitFor(page, () => {
    const a = document.querySelector('.el-aside')
    return !a || a.getBoundingClientRect().width <= 64
  })
  if (ready) await page.waitForSelector(ready, { visible: true, timeout: TIMEOUT })
  await page.screenshot({ path: join(out, `${name}-tablet.png`) })
  await page.setViewport(DESKTOP)
}

// What went wrong on the page that the flow did not provoke.
export async function problems(page) {
  const csp = await page.evaluate(() => window.__csp || [])
  return { errors: page.problems, csp }
}

// Runs a flow: main(browser) returns the report; any throw fails the run.
export async function run(main) {
  const browser = await launch()
  let code = 0
  try {
    const report = await main(browser)
    console.log(`screenshots: ${process.env.ARTIFACTS}`)
    console.log(JSON.stringify(report))
  } catch (e) {
    console.error(e)
    code = 1
  } finally {
    await browser.close()
  }
  process.exit(code)
}
