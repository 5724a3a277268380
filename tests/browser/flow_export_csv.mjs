// Exports from the console's pages (test_export_pages_browser.py): with the
// page's ExportButton (in its export slot), starts an export, waits until it
// is done (the button's data-state), and fetches the file through the
// button's download link inside the page (the session cookie).
//   FLOW=dashboard: the dashboard at DASH_PATH; picks the statistic STAT in
//     the export menu and reports the chart's data-values and the page's
//     period and project beside the file.
//   FLOW=list: the list page LIST_PATH (list LIST_TEST, export kind KIND).
// Prints the report (one JSON line) last.
import { TIMEOUT, login, open, waitFor, pick, shots, problems, run } from './console_driver.mjs'

const E = process.env

// Starts the export of the button of `kind` (in the page's export slot),
// waits for it, and fetches it.
async function exportFile(page, kind) {
  const btn = `[data-test=export-slot] [data-test=export-button][data-kind="${kind}"]`
  await page.waitForSelector(`${btn}[data-state=idle]`, { timeout: TIMEOUT })
  await page.click(`${btn} [data-test=export-start]`)
  await page.waitForSelector(`${btn}[data-state=done]`, { timeout: TIMEOUT })
  const id = await page.$eval(btn, (e) => Number(e.dataset.exportId))
  const href = await page.$eval(`${btn} [data-test=export-download]`, (a) => a.getAttribute('href'))
  const file = await page.evaluate(async (h) => {
    const r = await fetch(h, { credentials: 'same-origin' })
    const bytes = new Uint8Array(await r.arrayBuffer())
    let bin = ''
    for (const b of bytes) bin += String.fromCharCode(b)
    return { status: r.status, type: r.headers.get('content-type'), base64: btoa(bin) }
  }, href)
  return { export_id: id, href, file }
}

run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  if (E.FLOW === 'dashboard') {
    await page.goto(`${E.GATEWAY_URL}/console${E.DASH_PATH}`, { waitUntil: 'networkidle0', timeout: TIMEOUT })
    await page.waitForSelector('[data-test=dashboard][data-loaded="1"]', { timeout: TIMEOUT })
    await waitFor(page, (s) => document.querySelector(`[data-stat="${s}"]`)?.dataset.rendered === '1', E.STAT)
    await pick(page, '[data-test=export-slot] [data-test=export-stat]', `export-stat-${E.STAT}`)
    const got = await exportFile(page, `stats.${E.STAT}`)
    const view = await page.evaluate((s) => {
      const d = document.querySelector('[data-test=dashboard]').dataset
      return { from: Number(d.from), to: Number(d.to), project: d.project ? Number(d.project) : null,
        values: JSON.parse(document.querySelector(`[data-stat="${s}"]`).dataset.values) }
    }, E.STAT)
    await shots(page, 'dashboard-export', '[data-test=export-download]')
    return { ...got, view, problems: { supervisor: await problems(page) } }
  }
  await open(page, E.LIST_PATH, E.LIST_TEST)
  const got = await exportFile(page, E.KIND)
  await shots(page, `list-export-${E.KIND}`, '[data-test=export-download]')
  return { ...got, problems: { supervisor: await problems(page) } }
})
