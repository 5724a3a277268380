// The staff page: search by name (the filter lands in the URL), set a
// display name and title, grant a role in a project, search by the masked
// phone; then the header
// menu's own name. USER_ID, USER_NAME, USER_PHONE_MASKED, NEW_NAME, PROJECT_ID, MY_NAME.
import { run, click, choose, fill, submit, waitLoaded, text } from './config_support.mjs'

const e = process.env
const id = e.USER_ID

await run(async (t) => {
  const { page, report } = t
  await t.go('/staff', 'staff-list')
  report.export_slot_staff = !!(await page.$('[data-test=export-slot]'))

  await fill(page, '[data-test=staff-search]', e.USER_NAME, 'Enter')
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q'), { timeout: 60000 })
  await waitLoaded(page, 'staff-list', 1)
  report.url_q = new URL(page.url()).searchParams.get('q')
  report.found = await text(page, `[data-test=staff-name-${id}]`)

  await click(page, `[data-test=staff-rename-${id}]`)
  await fill(page, '[data-test=staff-name-form] [data-test=form-item-display_name]', e.NEW_NAME)
  await fill(page, '[data-test=staff-name-form] [data-test=form-item-title]', '水电工')
  await submit(page, 'staff-name-form')
  await page.waitForFunction((i, n) => document.querySelector(`[data-test=staff-name-${i}]`)?.textContent.trim() === n,
    { timeout: 60000 }, id, e.NEW_NAME)
  report.renamed = await text(page, `[data-test=staff-name-${id}]`)

  await click(page, `[data-test=staff-grant-${id}]`)
  await choose(page, '[data-test=staff-grant-form] [data-test=form-item-role] .el-select', '[data-test=option-role-supervisor]')
  await choose(page, '[data-test=staff-grant-form] [data-test=form-item-project_id] .el-select',
    `[data-test=option-project_id-${e.PROJECT_ID}]`)
  await submit(page, 'staff-grant-form')
  await waitLoaded(page, 'staff-list', 1)
  report.granted = await text(page, `[data-test=staff-role-${id}-supervisor-${e.PROJECT_ID}]`)
  // the masked phone, as the list shows it, finds the same user (the name filter cleared)
  await fill(page, '[data-test=staff-search]', '', 'Enter')
  await fill(page, '[data-test=staff-phone]', e.USER_PHONE_MASKED, 'Enter')
  await page.waitForFunction(() => !new URL(location.href).searchParams.get('q') &&
    new URL(location.href).searchParams.get('phone'), { timeout: 60000 })
  await waitLoaded(page, 'staff-list')
  report.by_phone = await page.$$eval('[data-test^=staff-name-]', (es) => es.map((x) => x.dataset.test.slice(11)))
  await t.shot('staff.png')
  await t.tablet()
  await t.shot('staff-tablet.png')
  await t.desktop()

  // the signed-in user's own name, from the header menu
  await click(page, '[data-test=user-menu-trigger]')
  await click(page, '[data-test=profile-open]')
  await fill(page, '[data-test=profile-form] [data-test=form-item-display_name]', e.MY_NAME)
  await submit(page, 'profile-form')
  await page.waitForFunction((n) => document.querySelector('[data-test=user-name]').textContent.trim() === n,
    { timeout: 60000 }, e.MY_NAME)
  report.my_name = await text(page, '[data-test=user-name]')

  await t.go('/audit', 'audit-list')
  report.export_slot_audit = !!(await page.$('[data-test=export-slot]'))
})
