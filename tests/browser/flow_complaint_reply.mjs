// A supervisor finds a complaint in the list (filtered by project and
// state, the filters in the URL), opens it, replies to the owner, writes an
// internal note and proposes a resolution; the detail shows each step. The
// test (test_complaints_browser.py) checks the owner's API view and the
// database.
import { TIMEOUT, login, open, waitFor, text, shots, problems, run } from './console_driver.mjs'
import { click } from './config_support.mjs'

const E = process.env

async function act(page, action, words) {
  // the drawer and the dialog slide in: click once they stand still
  await click(page, `[data-test="action-${action}"]`)
  await page.waitForSelector('[data-test=action-dialog] textarea[data-test=action-text]', { visible: true, timeout: TIMEOUT })
  await page.type('[data-test=action-dialog] textarea[data-test=action-text]', words)
  await click(page, '[data-test=action-submit]')
  await page.waitForSelector('[data-test=action-dialog]', { hidden: true, timeout: TIMEOUT })
}

run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  const id = E.COMPLAINT_ID
  await open(page, `/complaints?project=${E.PROJECT_ID}&state=submitted`, 'complaints-list')
  await page.waitForSelector(`[data-test="complaint-${id}"]`, { timeout: TIMEOUT })
  const filters = await page.evaluate(() => location.search)
  const stateBefore = await page.$eval(`[data-test="state-${id}"]`, (e) => e.dataset.state)
  await shots(page, 'complaints-list', '[data-test="complaints-list"]')

  await page.click(`[data-test="complaint-${id}"]`)
  await page.waitForSelector('[data-test=complaint-detail] [data-state=ready]', { timeout: TIMEOUT })
  const content = await text(page, '[data-test=detail-content]')

  await act(page, 'reply', E.REPLY)
  await page.waitForSelector('[data-test=complaint-timeline] [data-test=timeline-reply]', { timeout: TIMEOUT })
  await act(page, 'note', E.NOTE)
  await page.waitForSelector('[data-test=complaint-timeline] [data-test=timeline-note][data-visibility=internal]',
    { timeout: TIMEOUT })
  await act(page, 'resolve', E.RESOLUTION)
  await waitFor(page, () => document.querySelector('[data-test=complaint-detail] [data-complaint-state]')
    ?.dataset.complaintState === 'resolved')
  const steps = await page.$$eval('[data-test=complaint-timeline] .el-timeline-item', (xs) => xs.map((x) => x.dataset.test))
  const stateAfter = await page.$eval('[data-test=detail-state]', (e) => e.dataset.state)
  await shots(page, 'complaints-detail', '[data-test=complaint-timeline]')
  return { filters, state_before: stateBefore, content, steps, state_after: stateAfter,
    problems: { supervisor: await problems(page) } }
})
