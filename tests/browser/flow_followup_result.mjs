// The 回访 page: a service-desk member finds the open follow-up of a poor
// rating in their project, first submits without a contact result (the
// API's error is shown under that field), then records "reached, satisfied"
// with a note; the row turns done. The test (test_followups_browser.py)
// checks the API and the database.
import { TIMEOUT, login, open, waitFor, text, pick, shots, problems, run } from './console_driver.mjs'

// Picks an option and waits until the select shows it and its dropdown has
// closed (the next select's dropdown then opens where it is drawn). A click
// that landed on a neighbour while the dropdown was still moving is picked
// again.
async function choose(page, sel, optionTest, label) {
  const shown = () => page.$eval(`${sel} .el-select__placeholder:not(.is-transparent)`, (e) => e.textContent.trim())
    .catch(() => '')
  for (let i = 0; i < 3 && (await shown()) !== label; i++) await pick(page, sel, optionTest)
  await waitFor(page, (s, l) => document.querySelector(`${s} .el-select__placeholder:not(.is-transparent)`)
    ?.textContent.trim() === l, sel, label)
  await waitFor(page, () => ![...document.querySelectorAll('.el-select-dropdown')].some((d) => d.offsetParent !== null
    && d.getBoundingClientRect().height > 0))
}

const E = process.env
const id = E.FOLLOWUP_ID
run(async (browser) => {
  // the empty submit's 400 is provoked on purpose
  const page = await login(browser, E.DESK_TOKEN, {
    expectedErrors: (status, path) => status === 400 && path === `/api/v1/service/followups/${id}/result` })
  await open(page, `/followups?project=${E.PROJECT_ID}&status=open`, 'followup-list')
  await page.waitForSelector(`[data-test="record-${id}"]`, { timeout: TIMEOUT })
  const subject = await text(page, `[data-test="subject-${id}"]`)
  await shots(page, 'followups', `[data-test="record-${id}"]`)

  await page.click(`[data-test="record-${id}"]`)
  const form = '[data-test=followup-result-form]'
  await page.waitForSelector(`${form} [data-test=field-contact]`, { visible: true, timeout: TIMEOUT })
  // Nothing chosen: the API names the field, the form highlights it.
  await page.click('[data-test=form-submit]')
  await page.waitForSelector(`${form} [data-test=form-item-contact].has-api-error .el-form-item__error`,
    { visible: true, timeout: TIMEOUT })
  const missing = await text(page, `${form} [data-test=form-item-contact] .el-form-item__error`)

  await choose(page, `${form} [data-test=field-contact]`, 'option-contact-reached', '已接通')
  await choose(page, `${form} [data-test=field-satisfied]`, 'option-satisfied-yes', '满意')
  await page.type(`${form} textarea[data-test=field-note], ${form} [data-test=field-note] textarea`, E.NOTE)
  await shots(page, 'followups-record', `${form} [data-test=field-note]`)
  await page.click('[data-test=form-submit]')
  await waitFor(page, (sel) => document.querySelector(sel)?.dataset.state === 'done', `[data-test="followup-status-${id}"]`)
  const result = await page.$eval(`[data-test="followup-result-${id}"]`,
    (e) => ({ contact: e.dataset.contact, text: e.textContent.trim() }))
  return { subject, missing, result, problems: { desk: await problems(page) } }
})
