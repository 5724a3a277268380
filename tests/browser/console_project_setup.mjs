// An admin creates a project, a building and a unit (with its handover
// date) in the settings page, then reads the audit page: the rows of the
// three creations with their values after. PROJECT_CODE: the code to use.
import { run, click, fill, submit, waitLoaded, text } from './config_support.mjs'

const code = process.env.PROJECT_CODE

await run(async (t) => {
  const { page, report } = t
  await t.go('/settings', 'project-list')
  await click(page, '[data-test=project-create]')
  await fill(page, '[data-test=project-form] [data-test=form-item-name]', '云栖' + code)
  await fill(page, '[data-test=project-form] [data-test=form-item-code]', code)
  await fill(page, '[data-test=project-form] [data-test=form-item-city]', '杭州')
  await t.shot('settings-project-form.png')
  await submit(page, 'project-form')
  // the new project opens on its buildings
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tab') === 'buildings', { timeout: 60000 })
  report.project_id = Number(new URL(page.url()).searchParams.get('project'))
  await waitLoaded(page, 'building-list', 0)

  await click(page, '[data-test=building-create]')
  await fill(page, '[data-test=building-form] [data-test=form-item-name]', '1栋')
  await submit(page, 'building-form')
  await waitLoaded(page, 'building-list', 1)
  report.building_name = await text(page, '[data-test=building-list] [data-test=building-name]')

  // its units: create one with a handover date
  await click(page, '[data-test^=building-units-]')
  await waitLoaded(page, 'unit-list', 0)
  await click(page, '[data-test=unit-create]')
  await fill(page, '[data-test=unit-form] [data-test=form-item-name]', '1-101')
  await fill(page, '[data-test=unit-form] [data-test=form-item-handover_date]', '2027-06-30', 'Enter')
  await submit(page, 'unit-form')
  await waitLoaded(page, 'unit-list', 1)
  report.unit_name = await text(page, '[data-test=unit-list] [data-test=unit-name]')
  await t.shot('settings-buildings.png')
  await t.tablet()
  await t.shot('settings-buildings-tablet.png')
  await t.desktop()

  // the audit page, filtered on the project through the URL
  await t.go(`/audit?project=${report.project_id}`, 'audit-list')
  await waitLoaded(page, 'audit-list', 3)
  report.audit = await page.$$eval('[data-test=audit-list] tr.el-table__row', (rows) => rows.map((r) => ({
    action: r.querySelector('[data-test=audit-row-action]').textContent.trim(),
    after: Object.fromEntries([...r.querySelectorAll('tr[data-test^=diff-]')]
      .map((d) => [d.dataset.test.slice(5), d.querySelector('[data-test=diff-after]').textContent.trim()])),
    before: [...r.querySelectorAll('[data-test=diff-before]')].map((d) => d.textContent.trim()),
  })))
  await t.shot('audit.png')
  await t.tablet()
  await t.shot('audit-tablet.png')
})
