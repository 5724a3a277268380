// The leads page: a supervisor finds a lead of the project, reassigns it to
// another agent with a reason, and the lead's detail shows the manual
// assignment. The test (test_console_leads.py) checks the API and the audit.
import { TIMEOUT, login, open, waitFor, overlaysGone, text, pick, shots, problems, run } from './console_driver.mjs'

const E = process.env

// Opens the lead's detail drawer and waits until it has loaded. A click
// that lands while the list is still settling after the reassignment opens
// nothing: it is made again until the drawer shows (its state attribute).
// A detail that fails to load fails the flow with the page's message.
async function openDetail(page, id) {
  const deadline = Date.now() + TIMEOUT
  for (;;) {
    await page.click(`[data-test="lead-${id}"]`)
    try {
      await page.waitForSelector('[data-test=lead-detail] [data-state]', { visible: true, timeout: 5000 })
      break
    } catch (e) {
      if (Date.now() > deadline) throw e
    }
  }
  await waitFor(page, () => {
    const d = document.querySelector('[data-test=lead-detail] [data-state]')
    return d && (d.dataset.state === 'ready' || d.querySelector('.el-alert'))
  })
  const failed = await page.$eval('[data-test=lead-detail] [data-state]',
    (d) => d.dataset.state !== 'ready' && d.querySelector('.el-alert')?.textContent.trim())
  if (failed) throw new Error(`the lead's detail did not load: ${failed}`)
}
const id = E.LEAD_ID
run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  await open(page, `/leads?project_id=${E.PROJECT_ID}&stage=new`, 'leads-list')
  await page.waitForSelector(`[data-test="lead-${id}"]`, { timeout: TIMEOUT })
  const before = await text(page, `[data-test="agent-${id}"]`)
  const phone = await page.$eval(`.row-${id} [data-test=masked-phone]`, (e) => e.textContent.trim())
  await shots(page, 'leads', '[data-test="leads-list"]')

  await page.click(`[data-test="reassign-${id}"]`)
  await page.waitForSelector('[data-test=reassign-dialog] [data-test=reassign-agent]', { visible: true, timeout: TIMEOUT })
  await pick(page, '[data-test=reassign-dialog] [data-test=reassign-agent]', `staff-option-${E.AGENT_ID}`)
  await page.type('[data-test=reassign-dialog] [data-test=reassign-reason]', E.REASON)
  await shots(page, 'leads-reassign', '[data-test=reassign-submit]')
  await page.click('[data-test=reassign-submit]')
  await waitFor(page, (sel, name) => document.querySelector(sel)?.textContent.trim() === name,
    `[data-test="agent-${id}"]`, E.AGENT_NAME)
  const after = await text(page, `[data-test="agent-${id}"]`)

  // the lead's detail: the manual assignment with its reason
  await overlaysGone(page)
  await openDetail(page, id)
  await waitFor(page, (r) => document.querySelector('[data-test=lead-assignments]')?.textContent.includes(r), E.REASON)
  const detailAgent = await text(page, '[data-test=detail-agent]')
  const assignments = await page.$$eval('[data-test=lead-assignments] .el-table__body tr',
    (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())))
  await shots(page, 'leads-detail', '[data-test=lead-assignments]')
  return { before, after, phone, detail_agent: detailAgent, assignments, problems: { supervisor: await problems(page) } }
})
