// What the configuration pages' browser drivers share (test_console_*.py run
// one driver each): a headless Chromium logged in to the console through the
// ticket flow (confirmed through the API with STAFF_TOKEN, as the
// mini-program would), helpers that wait for observable states and act on
// data-test elements, the API as the test's user sees it, and the report:
// one JSON line printed last. Failed responses other than those a driver
// expects, console errors and CSP violations are reported, never ignored.
import { join } from 'node:path'
import { launch, login } from './console_driver.mjs'

export const base = process.env.GATEWAY_URL
export const TIMEOUT = 60000
const token = process.env.STAFF_TOKEN
const out = process.env.ARTIFACTS

export async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const r = await fetch(base + path, init)
  const parsed = await r.json()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(parsed)}`)
  return parsed
}

// Runs main(t) with t = {page, report, shot, expectFailure, ...} after the
// login; prints the report and exits 0, or 1 on any failure.
export async function run(main) {
  const browser = await launch()
  const expected = [] // [status, pathname] a driver provokes on purpose
  const seen = []
  const report = {}
  let code = 0
  let page = null
  const expectedErrors = (status, pathname) => {
    const i = expected.findIndex(([s, p]) => s === status && p === pathname)
    if (i < 0) return false
    expected.splice(i, 1)
    seen.push(`${status} ${pathname}`)
    return true
  }
  try {
    page = await login(browser, token, { expectedErrors })
    const problems = page.problems
    const t = {
      page,
      report,
      shot: (name) => page.screenshot({ path: join(out, name), fullPage: false }),
      expectFailure: (status, pathname) => expected.push([status, pathname]),
      go: async (path, ready) => {
        await page.goto(base + '/console' + path, { waitUntil: 'networkidle0', timeout: TIMEOUT })
        if (ready) await waitLoaded(page, ready)
      },
      tablet: (w = 820, h = 1180) => page.setViewport({ width: w, height: h }),
      desktop: () => page.setViewport({ width: 1280, height: 800 }),
    }
    await main(t)
    report.failures_seen = seen
    report.failures_expected_not_seen = expected.map(([s, p]) => `${s} ${p}`)
    report.console_errors = problems
    report.csp_violations = await page.evaluate(() => window.__csp)
    if (problems.length || report.csp_violations.length || expected.length) code = 1
    console.log(JSON.stringify(report))
  } catch (e) {
    console.error(e)
    if (page) {
      const name = 'failed-' + process.argv[1].split('/').pop().replace('.mjs', '.png')
      await page.screenshot({ path: join(out, name) }).catch(() => {})
      console.error('page at failure:', page.url(), 'screenshot', name)
    }
    console.error('console errors:', JSON.stringify(page ? page.problems : []))
    code = 1
  } finally {
    await browser.close()
  }
  process.exit(code)
}

// The first visible element matching sel (a dialog's fields stay in the page
// once it has been opened: the open one is the visible one).
export async function visible(page, sel) {
  const h = await page.waitForFunction((s) => [...document.querySelectorAll(s)].find((e) => e.getClientRects().length > 0 &&
    getComputedStyle(e).visibility !== 'hidden' && !e.closest('[aria-hidden=true]') && !e.closest('.is-disabled')),
  { timeout: TIMEOUT }, sel)
  return h.asElement()
}

// Waits until the element stays in one place for a few animation frames (a
// dropdown that opens slides and scrolls: a click during that hits a
// neighbour).
async function steady(page, e) {
  await page.waitForFunction((x) => {
    const r = x.getBoundingClientRect()
    const key = `${r.x},${r.y},${r.width},${r.height}`
    if (x.__lastRect === key) x.__steady = (x.__steady || 0) + 1
    else x.__steady = 0
    x.__lastRect = key
    return x.__steady >= 5
  }, { timeout: TIMEOUT, polling: 'raf' }, e)
}

// Clicks the visible element; again while it is not clickable yet (a
// dropdown still opening, a list re-rendered under the pointer).
export async function click(page, sel) {
  const deadline = Date.now() + TIMEOUT
  for (;;) {
    try {
      const e = await visible(page, sel)
      await steady(page, e)
      await e.click()
      return
    } catch (err) {
      if (Date.now() > deadline || !/not clickable|detached|not an Element/i.test(String(err))) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

// Types into the input of a data-test element (the element itself when it
// is the input, as Element Plus puts attributes on it), replacing its text;
// `leave` (Tab; Enter for a date) commits number and date inputs.
export async function fill(page, sel, value, leave = 'Tab') {
  const e = await visible(page, sel)
  const input = (await e.evaluate((x) => x.tagName === 'INPUT' || x.tagName === 'TEXTAREA')) ? e : await e.$('input,textarea')
  await input.click({ clickCount: 3 })
  await input.evaluate((x) => { x.select && x.select() })
  await page.keyboard.press('Backspace')
  if (value !== '') await input.type(String(value))
  await page.keyboard.press(leave)
}

// Opens the el-select of a data-test and picks the option with that data-test.
export async function choose(page, selectSel, optionSel) {
  await page.waitForSelector(optionSel, { timeout: TIMEOUT }) // the options have loaded
  await click(page, selectSel)
  await click(page, optionSel)
}

// Waits for a ConfigTable (data-test) to have loaded, optionally n rows.
export async function waitLoaded(page, test, n) {
  await page.waitForFunction((t, k) => {
    const e = document.querySelector(`[data-test=${t}]`)
    // loaded, and the loading mask (which fades out) gone, so that a click lands on the table
    return e && e.dataset.loaded === '1' && (k === undefined || Number(e.dataset.count) === k) &&
      ![...e.querySelectorAll('.el-loading-mask')].some((m) => getComputedStyle(m).display !== 'none')
  }, { timeout: TIMEOUT }, test, n)
}

export async function text(page, sel) {
  const e = await visible(page, sel)
  return e.evaluate((x) => x.textContent.trim())
}

// Submits the open form and waits for its dialog to close.
export async function submit(page, form) {
  await click(page, `.el-dialog:has([data-test=${form}]) [data-test=form-submit]`)
  await dialogsClosed(page)
}

// Waits until no dialog (nor its fading overlay) covers the page.
export async function dialogsClosed(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('.el-overlay')]
    .every((o) => getComputedStyle(o).display === 'none'), { timeout: TIMEOUT })
}
