// What the console's browser drivers share: Chromium as the tests launch it,
// the page's error and CSP watchers, and the login through the ticket flow
// (the page shows a ticket; the test confirms it through the API with the
// staff member's token, as the mini-program would).
import puppeteer from 'puppeteer-core'

export const TIMEOUT = 60000

export function launch() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    acceptInsecureCerts: true, // the test stack's self-signed certificate
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=zh-CN'],
  })
}

async function apiAs(base, token, method, path) {
  const r = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}` } })
  const body = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(body)}`)
  return body.data
}

// A page with its watchers: errors collects console errors and failed
// responses (except the session probe's 401 before the login); the page's
// window.__csp collects Content-Security-Policy violations.
export async function watchedPage(browser, errors, state) {
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
  })
  page.on('response', (r) => {
    if (r.status() < 400) return
    const u = new URL(r.url())
    if (!(r.status() === 401 && u.pathname === '/api/v1/console/session' && !state.loggedIn)) {
      errors.push(`${r.status()} ${u.pathname}`)
    }
  })
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.evaluateOnNewDocument(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`))
  })
  return page
}

// Logs the page in as the holder of token; returns the ticket. Ends on the
// dashboard.
export async function login(page, base, token, state) {
  await page.goto(base + '/console/', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForFunction(() => location.pathname === '/console/login', { timeout: TIMEOUT })
  await page.waitForSelector('[data-test=ticket]', { timeout: TIMEOUT })
  const ticket = await page.$eval('[data-test=ticket]', (e) => e.textContent.trim())
  await apiAs(base, token, 'POST', `/api/v1/console/tickets/${ticket}/scan`)
  await page.waitForFunction(() => document.querySelector('[data-test=login-state]')?.dataset.state === 'scanned',
    { timeout: TIMEOUT })
  await apiAs(base, token, 'POST', `/api/v1/console/tickets/${ticket}/confirm`)
  await page.waitForFunction(() => location.pathname === '/console/dashboard', { timeout: TIMEOUT })
  state.loggedIn = true
  return ticket
}
