// The default repair categories (project_id 0, what a new project uses) on
// the settings page. ROLE=admin: opens the 默认报修类别 view, edits the
// accept clock of CATEGORY_CODE to ACCEPT_MINUTES, and reads the default
// back through the API. ROLE=supervisor: the same URL shows no such view.
import { run, api, click, fill, submit, waitLoaded, text } from './config_support.mjs'

const code = process.env.CATEGORY_CODE
const accept = process.env.ACCEPT_MINUTES
const item = (key) => `[data-test=category-form] [data-test=form-item-${key}]`

await run(async (t) => {
  const { page, report } = t
  if (process.env.ROLE === 'supervisor') {
    await t.go('/settings?view=defaults', 'project-list')
    report.view_tabs = await page.$$eval('[data-test=settings-view]', (es) => es.length)
    report.defaults_shown = await page.$$eval('[data-test=default-categories]', (es) => es.length)
    return
  }
  await t.go('/settings', 'project-list')
  await click(page, '[data-test=settings-view-defaults]')
  await page.waitForSelector('[data-test=default-categories] [data-test=settings-categories][data-defaults="1"]', { timeout: 60000 })
  await waitLoaded(page, 'category-list')
  report.url = page.url()
  report.inherited_notice = await page.$$eval('[data-test=categories-inherited]', (es) => es.length)
  report.clocks_before = await text(page, `[data-test=category-clocks-${code}]`)

  await click(page, `[data-test=category-edit-${code}]`)
  await fill(page, item('accept_minutes'), accept)
  await submit(page, 'category-form')
  await waitLoaded(page, 'category-list')
  await page.waitForFunction((c, a) => document.querySelector(`[data-test=category-clocks-${c}]`)?.textContent.trim().startsWith(a + ' /'),
    { timeout: 60000 }, code, accept)
  report.clocks_after = await text(page, `[data-test=category-clocks-${code}]`)
  await t.shot('default-categories.png')
  await t.tablet()
  await t.shot('default-categories-tablet.png')

  const r = await api('GET', '/api/v1/admin/repair-categories?limit=100')
  report.default_after = r.data.find((c) => c.code === code)
})
