// Drives the console's dashboard in headless Chromium (puppeteer-core,
// Debian's chromium): logs in through the ticket flow (confirmed through the
// API with STAFF_TOKEN, as the mini-program would), then opens each
// dashboard URL of $DASHBOARD_URLS (a JSON list of paths), waits until every
// chart has drawn its data, and reports what each chart carries
// (data-values) with the period and project the page asked for. Prints one
// JSON line (the report) last; exits non-zero on any failure. Screenshots
// (1280×800 and a tablet, 820×1180) go to $ARTIFACTS.
import { join } from 'node:path'
import { base, launch, login, problems } from './console_driver.mjs'

const token = process.env.STAFF_TOKEN
const out = process.env.ARTIFACTS
const urls = JSON.parse(process.env.DASHBOARD_URLS)
const CHARTS = 13 // 7 of Dashboard.vue, 3 of dashboard/ComplaintCharts.vue, 2 of dashboard/SatisfactionCharts.vue, 1 of dashboard/SurveyCharts.vue
const TIMEOUT = 60000

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

const browser = await launch()
let exitCode = 0
try {
  const page = await login(browser, token)
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
  const seen = await problems(page)
  if (seen.errors.length || seen.csp.length) exitCode = 1
  console.log(JSON.stringify({ views, week, tablet, tablet_overflow: overflow, errors: seen.errors,
    csp_violations: seen.csp }))
} catch (e) {
  console.error(e)
  exitCode = 1
} finally {
  await browser.close()
}
process.exit(exitCode)
