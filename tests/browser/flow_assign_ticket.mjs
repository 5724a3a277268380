// A supervisor finds a ticket on the board (filtered by project and state),
// opens it (its photos load through their signed /media URLs under the
// console's CSP), and assigns it to another engineer; the row then shows the
// new engineer. The test (test_console_tickets.py) checks the owner's
// timeline and the database.
import { TIMEOUT, login, open, waitFor, overlaysGone, text, pick, shots, problems, run } from './console_driver.mjs'

const E = process.env
run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  const id = E.TICKET_ID
  await open(page, `/repairs?project=${E.PROJECT_ID}&state=dispatched`, 'repairs-list')
  await page.waitForSelector(`[data-test="ticket-${id}"]`, { timeout: TIMEOUT })
  const before = await text(page, `[data-test="engineer-${id}"]`)
  const filters = await page.evaluate(() => location.search)
  await shots(page, 'repairs-board', '[data-test="repairs-list"]')

  // the detail: photos and timeline
  await page.click(`[data-test="ticket-${id}"]`)
  await page.waitForSelector('[data-test=ticket-detail] [data-state=ready]', { timeout: TIMEOUT })
  await waitFor(page, () => {
    const imgs = [...document.querySelectorAll('[data-test=ticket-photo] img')]
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0)
  })
  const photos = await page.$$eval('[data-test=ticket-photo] img', (imgs) => imgs.map((i) => new URL(i.src).pathname))
  const timelineBefore = await page.$$eval('[data-test=ticket-timeline] .el-timeline-item', (x) => x.length)
  await shots(page, 'repairs-detail', '[data-test=ticket-timeline]')
  await page.keyboard.press('Escape')
  await overlaysGone(page)

  // assign to the other engineer
  await page.click(`[data-test="assign-${id}"]`)
  await page.waitForSelector('[data-test=assign-dialog] [data-test=assign-engineer]', { visible: true, timeout: TIMEOUT })
  await page.waitForSelector('[data-test=dispatch-preview]', { visible: true, timeout: TIMEOUT })
  const preview = await text(page, '[data-test=dispatch-preview]')
  await pick(page, '[data-test=assign-dialog] [data-test=assign-engineer]', `staff-option-${E.ENGINEER_ID}`)
  await shots(page, 'repairs-assign', '[data-test=assign-submit]')
  await page.click('[data-test=assign-submit]')
  await waitFor(page, (sel, name) => document.querySelector(sel)?.textContent.trim() === name,
    `[data-test="engineer-${id}"]`, E.ENGINEER_NAME)
  const after = await text(page, `[data-test="engineer-${id}"]`)

  // a reload reads it back from the API
  await open(page, `/repairs?project=${E.PROJECT_ID}`, 'repairs-list')
  await page.waitForSelector(`[data-test="engineer-${id}"]`, { timeout: TIMEOUT })
  const reloaded = await text(page, `[data-test="engineer-${id}"]`)
  return { before, after, reloaded, filters, photos, preview, timeline_before: timelineBefore,
    problems: { supervisor: await problems(page) } }
})
