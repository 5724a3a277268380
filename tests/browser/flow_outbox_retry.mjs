// The outbox page: the counts per status, a failed event with its attempts
// and last error, and retry, whose answer puts it back to pending. The test
// (test_console_outbox.py) checks the event and the audit log.
import { TIMEOUT, login, open, waitFor, text, shots, problems, run } from './console_driver.mjs'

const E = process.env
const id = E.EVENT_ID
run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  await open(page, `/notifications?project=${E.PROJECT_ID}&status=failed`, 'outbox-list')
  await page.waitForSelector(`[data-test="event-status-${id}"][data-state=failed]`, { timeout: TIMEOUT })
  await page.waitForSelector('[data-test=outbox-counts][data-loaded="1"]', { timeout: TIMEOUT })
  const failedCount = await page.$eval('[data-test=count-failed]', (e) => e.dataset.count)
  const row = `.row-${id}`
  const attempts = await page.$eval(row, (r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim()))
  // the event's detail: the last error in full
  await page.click(`${row} .el-table__expand-icon`)
  await page.waitForSelector(`[data-test="event-detail-${id}"]`, { visible: true, timeout: TIMEOUT })
  const detail = await text(page, `[data-test="event-detail-${id}"]`)
  await shots(page, 'outbox-failed', `[data-test="retry-${id}"]`)

  const answer = page.waitForResponse((r) => r.url().endsWith(`/api/v1/admin/notifications/${id}/retry`), { timeout: TIMEOUT })
  await page.click(`[data-test="retry-${id}"]`)
  const retried = await (await answer).json()
  await waitFor(page, (sel) => document.querySelector(sel)?.dataset.state !== 'failed', `[data-test="event-status-${id}"]`)
  const shown = await page.$eval(`[data-test="event-status-${id}"]`, (e) => e.dataset.state)
  await waitFor(page, (n) => document.querySelector('[data-test=count-failed]')?.dataset.count === String(n),
    Number(failedCount) - 1)
  await shots(page, 'outbox-retried', '[data-test="outbox-list"]')
  return { failed_count: Number(failedCount), row: attempts, detail, retried_status: retried.data.status,
    retried_attempts: retried.data.attempts, shown, problems: { supervisor: await problems(page) } }
})
