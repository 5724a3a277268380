// The service desk (客服工作台): a service-desk member finds a caller by
// phone (the matches masked), shows the full phone with a reason, opens the
// customer's one view and files a repair for one of their units. The test
// (test_service_desk_browser.py) checks the database, the audit row and the
// owner's view through the API.
import { TIMEOUT, login, open, waitFor, text, shots, problems, run } from './console_driver.mjs'
import { click, fill, choose, dialogsClosed } from './config_support.mjs'

const E = process.env
run(async (browser) => {
  const page = await login(browser, E.DESK_TOKEN)
  await open(page, '/service-desk')
  await page.waitForSelector('[data-test=desk-page]', { timeout: TIMEOUT })
  const menu = await page.$$eval('.el-menu-item', (xs) => xs.map((x) => x.dataset.title))

  // find the caller
  await fill(page, '[data-test=desk-phone]', E.PHONE, 'Enter')
  await page.waitForSelector(`[data-test=desk-results][data-state=ready] [data-test="desk-match-user-${E.OWNER_ID}"]`,
    { timeout: TIMEOUT })
  const masked = await text(page, `[data-test="desk-masked-user-${E.OWNER_ID}"]`)
  const results = await text(page, '[data-test=desk-results]')
  await shots(page, 'service-desk-search', '[data-test=desk-results]')

  // the full phone, with a reason
  await click(page, `[data-test="desk-reveal-user-${E.OWNER_ID}"]`)
  await fill(page, '[data-test=desk-reveal-form] [data-test=field-reason]', E.REASON)
  await click(page, '.el-dialog:has([data-test=desk-reveal-form]) [data-test=form-submit]')
  await dialogsClosed(page)
  await page.waitForSelector('[data-test=desk-revealed-phone]', { timeout: TIMEOUT })
  const revealed = await text(page, '[data-test=desk-revealed-phone]')

  // the customer's one view
  await click(page, `[data-test="desk-open-user-${E.OWNER_ID}"]`)
  await page.waitForSelector('[data-test=desk-view][data-state=ready] [data-test=desk-view-name]', { timeout: TIMEOUT })
  const name = await text(page, '[data-test=desk-view-name]')
  const url = await page.evaluate(() => location.pathname + location.search)
  await page.waitForSelector(`[data-test="desk-file-${E.UNIT_ID}"]`, { timeout: TIMEOUT })
  await shots(page, 'service-desk-view', '[data-test=desk-section-units]')

  // file a repair for the chosen unit
  await click(page, `[data-test="desk-file-${E.UNIT_ID}"]`)
  await choose(page, '[data-test=desk-file-form] [data-test=field-channel]', '[data-test=option-channel-front_desk]')
  await choose(page, '[data-test=desk-file-form] [data-test=field-category]', `[data-test="option-category-${E.CATEGORY}"]`)
  await fill(page, '[data-test=desk-file-form] [data-test=field-description]', E.DESCRIPTION)
  await shots(page, 'service-desk-file', '[data-test=desk-file-form]')
  await click(page, '.el-dialog:has([data-test=desk-file-form]) [data-test=form-submit]')
  await dialogsClosed(page)
  await page.waitForSelector('[data-test=desk-filed-no]', { timeout: TIMEOUT })
  const ticketNo = await text(page, '[data-test=desk-filed-no]')
  await waitFor(page, (no) => document.querySelector('[data-test=desk-section-repairs]')?.textContent.includes(no), ticketNo)
  return { menu, masked, results, revealed, name, url, ticket_no: ticketNo, problems: { service: await problems(page) } }
})
