// A supervisor filters the tickets board by an engineer through the page:
// the filter goes to the API (the request carries engineer=) and into the
// URL, and 加载更多 pages through the rest. The report lists the tickets the
// board then shows, every page of them; the test
// (test_console_tickets.py) compares them with what the API answers for the
// same filter.
import { TIMEOUT, login, open, listReady, pick, shots, problems, run } from './console_driver.mjs'

const E = process.env
const isList = (r, engineer) => {
  const u = new URL(r.url())
  return u.pathname === '/api/v1/admin/repairs' && (engineer === null || u.searchParams.get('engineer') === engineer)
}

run(async (browser) => {
  const page = await login(browser, E.SUP_TOKEN)
  await open(page, `/repairs?project=${E.PROJECT_ID}`, 'repairs-list')
  const unfiltered = await page.$$eval('[data-test="repairs-list"] [data-test^="engineer-"]', (x) => x.length)

  const answered = page.waitForResponse((r) => isList(r, E.ENGINEER_ID), { timeout: TIMEOUT })
  await pick(page, '[data-test=filter-engineer]', `staff-option-${E.ENGINEER_ID}`)
  const first = await answered
  const requested = new URL(first.url()).search
  await listReady(page, 'repairs-list')
  const filters = await page.evaluate(() => location.search)
  await shots(page, 'repairs-board-engineer', '[data-test="repairs-list"]')

  // every page: 加载更多 until the list says it has all
  for (let i = 0; i < 20; i++) {
    if (!(await page.$('[data-test="load-more"]'))) break
    const before = await page.$eval('[data-test="repairs-list"]', (e) => Number(e.dataset.count))
    const more = page.waitForResponse((r) => isList(r, E.ENGINEER_ID), { timeout: TIMEOUT })
    await page.click('[data-test="load-more"]')
    await more
    await page.waitForFunction((n) => {
      const l = document.querySelector('[data-test="repairs-list"]')
      return l.dataset.state === 'ready' && Number(l.dataset.count) > n
    }, { timeout: TIMEOUT, polling: 100 }, before)
  }
  await page.waitForSelector('[data-test="list-end"]', { timeout: TIMEOUT })
  const rows = await page.$$eval('[data-test="repairs-list"] [data-test^="engineer-"]', (xs) => xs.map((x) => ({
    id: Number(x.dataset.test.slice('engineer-'.length)), engineer: x.textContent.trim(),
  })))
  const count = await page.$eval('[data-test="repairs-list"]', (e) => Number(e.dataset.count))
  return { unfiltered, requested, filters, rows, count, problems: { supervisor: await problems(page) } }
})
