// The 导出记录 page in headless Chromium: logs in as STAFF_TOKEN's holder,
// opens /console/exports?kind=KIND&project=PROJECT, starts the export with
// the page's ExportButton, waits for it to be done (the button's
// data-state), checks the table's row and download link, and fetches the
// file through the link inside the page (the session cookie). Prints one
// JSON line last: the export's id, the file's headers and bytes (base64),
// console errors and CSP violations. Screenshots go to $ARTIFACTS.
import { join } from 'node:path'
import { TIMEOUT, base, launch, login, problems } from './console_driver.mjs'

const out = process.env.ARTIFACTS
let exitCode = 0
const browser = await launch()
try {
  const page = await login(browser, process.env.STAFF_TOKEN)

  const url = `${base}/console/exports?kind=${process.env.KIND}&project=${process.env.PROJECT}`
  await page.goto(url, { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector('[data-test=export-button][data-state=idle]', { timeout: TIMEOUT })
  await page.click('[data-test=export-start]')
  await page.waitForSelector('[data-test=export-button][data-state=done]', { timeout: TIMEOUT })
  const id = await page.$eval('[data-test=export-button]', (e) => e.dataset.exportId)
  const link = await page.$eval('[data-test=export-download]', (a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() }))
  // The table lists it, done, with its link.
  await page.waitForSelector(`[data-test=export-link-${id}]`, { timeout: TIMEOUT })
  const rowState = await page.$eval(`[data-test=export-state-${id}]`, (e) => e.textContent.trim())
  await page.screenshot({ path: join(out, 'exports.png') })

  const file = await page.evaluate(async (href) => {
    const r = await fetch(href, { credentials: 'same-origin' })
    const bytes = new Uint8Array(await r.arrayBuffer())
    let bin = ''
    for (const b of bytes) bin += String.fromCharCode(b)
    return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'),
      base64: btoa(bin) }
  }, link.href)

  await page.setViewport({ width: 820, height: 1180 })
  await page.goto(url, { waitUntil: 'networkidle0', timeout: TIMEOUT })
  await page.waitForSelector(`[data-test=export-link-${id}]`, { timeout: TIMEOUT })
  await page.screenshot({ path: join(out, 'exports-tablet.png') })

  const seen = await problems(page)
  if (seen.errors.length || seen.csp.length) exitCode = 1
  console.log(JSON.stringify({ export_id: Number(id), link, row_state: rowState, file, console_errors: seen.errors,
    csp_violations: seen.csp }))
} catch (e) {
  console.error(e)
  exitCode = 1
} finally {
  await browser.close()
}
process.exit(exitCode)
