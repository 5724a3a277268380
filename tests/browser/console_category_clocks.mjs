// A supervisor edits a repair category's clocks in the settings page: a
// bad value (a response clock of 0 minutes) shows the error in Chinese,
// naming the field by its label, under that field (the API's English below) and leaves the category as it was (read back through the
// API); a good value saves and the list shows it.
// PROJECT_ID, CATEGORY_ID, CATEGORY_CODE.
import { run, api, click, fill, submit, waitLoaded, text, visible } from './config_support.mjs'

const project = process.env.PROJECT_ID
const id = process.env.CATEGORY_ID
const code = process.env.CATEGORY_CODE
const item = (key) => `[data-test=category-form] [data-test=form-item-${key}]`

async function category() {
  const r = await api('GET', `/api/v1/admin/repair-categories?project=${project}&limit=100`)
  return r.data.find((c) => c.code === code)
}

await run(async (t) => {
  const { page, report } = t
  await t.go(`/settings?project=${project}&tab=categories`, 'category-list')
  report.clocks_before = await text(page, `[data-test=category-clocks-${code}]`)
  await click(page, `[data-test=category-edit-${code}]`)

  // a bad value: the field shows the API's message, nothing is written
  t.expectFailure(400, `/api/v1/admin/repair-categories/${id}`)
  await fill(page, item('accept_minutes'), '0')
  await click(page, '.el-dialog:has([data-test=category-form]) [data-test=form-submit]')
  const err = await visible(page, `${item('accept_minutes')} .el-form-item__error`)
  report.field_error = await err.evaluate((e) => e.textContent.trim())
  report.other_errors = await page.$$eval('[data-test=category-form] .el-form-item__error', (es) => es.length - 1)
  report.error_detail = await text(page, '[data-test=category-form] [data-test=form-error-detail]')
  await t.shot('category-bad-value.png')
  report.after_bad = await category()

  // a good value saves
  await fill(page, item('accept_minutes'), '60')
  await submit(page, 'category-form')
  await waitLoaded(page, 'category-list')
  await page.waitForFunction((c) => document.querySelector(`[data-test=category-clocks-${c}]`)?.textContent.trim().startsWith('60 /'),
    { timeout: 60000 }, code)
  report.clocks_after = await text(page, `[data-test=category-clocks-${code}]`)
  await t.shot('categories.png')
  await t.tablet()
  await t.shot('categories-tablet.png')
})
