// Drives the console in headless Chromium: logs in through the ticket flow
// (console_driver.mjs; the login page's QR code is shown and photographed
// before the ticket is confirmed through the API with STAFF_TOKEN), then
// checks the layout and the dashboard's chart. Prints one JSON line (the
// report) last; exits non-zero on any failure. Screenshots go to $ARTIFACTS.
import { join } from 'node:path'
import { TIMEOUT, launch, login, problems } from './console_driver.mjs'

const out = process.env.ARTIFACTS
const browser = await launch()
let exitCode = 0
try {
  const page = await login(browser, process.env.STAFF_TOKEN, {
    onTicket: async (p) => {
      await p.waitForSelector('.code-box img', { visible: true, timeout: TIMEOUT })
      await p.screenshot({ path: join(out, 'login.png') })
    },
  })
  const ticket = page.loginTicket
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
  await page.goto(process.env.GATEWAY_URL + '/console/dashboard', { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector('[data-test=repairs-chart][data-rendered="1"]', { timeout: TIMEOUT })
  await page.screenshot({ path: join(out, 'dashboard-tablet.png') })

  const seen = await problems(page)
  const report = { ticket, user_name: userName, chart_total: chart.total, canvas: chart.canvas, menu,
    console_errors: seen.errors, csp_violations: seen.csp }
  const expected = ['工作台', '报修工单', '投诉建议', '回访', '线索', '推荐与奖励', '问卷', '通知', '配置', '员工', '审计日志', '导出记录', '客服工作台']
  if (chart.total !== process.env.STATS_TOTAL) throw new Error(`chart total ${chart.total}, API ${process.env.STATS_TOTAL}`)
  if (JSON.stringify(menu) !== JSON.stringify(expected)) throw new Error(`menu ${JSON.stringify(menu)}`)
  if (seen.errors.length || seen.csp.length) exitCode = 1
  console.log(`screenshots: ${out}`)
  console.log(JSON.stringify(report))
} catch (e) {
  console.error(e)
  exitCode = 1
} finally {
  await browser.close()
}
process.exit(exitCode)
