// Dispatch preview in the settings page: before any rule the preview
// answers the project's least-loaded engineer; after a rule building ×
// category → group made in the page, it answers the group's engineer.
// PROJECT_ID, BUILDING_ID, UNIT_ID, CATEGORY_ID, GROUP_ID.
import { run, click, choose, submit, waitLoaded, visible } from './config_support.mjs'

const e = process.env
const ruleItem = (key) => `[data-test=rule-form] [data-test=form-item-${key}] .el-select`

async function preview(page) {
  await choose(page, '[data-test=preview-building]', `[data-test=preview-building-${e.BUILDING_ID}]`)
  await choose(page, '[data-test=preview-unit]', `[data-test=preview-unit-${e.UNIT_ID}]`)
  await choose(page, '[data-test=preview-category]', `[data-test=preview-category-${e.CATEGORY_ID}]`)
  const runs = await page.$eval('[data-test=dispatch-preview]', (x) => Number(x.dataset.runs))
  await click(page, '[data-test=preview-run]')
  await page.waitForFunction((n) => Number(document.querySelector('[data-test=dispatch-preview]').dataset.runs) > n,
    { timeout: 60000 }, runs)
  const r = await visible(page, '[data-test=preview-result]')
  return r.evaluate((x) => ({ engineer: Number(x.dataset.engineer), reason: x.dataset.reason, text: x.textContent.trim() }))
}

await run(async (t) => {
  const { page, report } = t
  await t.go(`/settings?project=${e.PROJECT_ID}&tab=dispatch`, 'rule-list')
  await waitLoaded(page, 'rule-list', 0)
  report.before = await preview(page)

  await click(page, '[data-test=rule-create]')
  await choose(page, ruleItem('building_id'), `[data-test=option-building_id-${e.BUILDING_ID}]`)
  await choose(page, ruleItem('category_id'), `[data-test=option-category_id-${e.CATEGORY_ID}]`)
  await choose(page, ruleItem('group_id'), `[data-test=option-group_id-${e.GROUP_ID}]`)
  await submit(page, 'rule-form')
  await waitLoaded(page, 'rule-list', 1)

  report.after = await preview(page)
  await t.shot('dispatch.png')
  await t.tablet()
  await t.shot('dispatch-tablet.png')
})
