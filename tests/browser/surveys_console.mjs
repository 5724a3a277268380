// The 问卷 page (test_surveys_browser.py). STEP=create: a supervisor creates
// a draft (a bad save first: the title is named), with a scale and an NPS
// question, then sends it to a sample of SAMPLE owners. STEP=results: the
// results drawer of SURVEY_ID, as the page shows it (its data-* values).
import { api, click, choose, dialogsClosed, fill, run, text, waitLoaded, TIMEOUT } from './config_support.mjs'

const e = process.env
run(async (t) => {
  const { page, report } = t
  if (e.STEP === 'create') {
    await t.go(`/surveys?project=${e.PROJECT_ID}`, 'survey-list')
    await click(page, '[data-test=survey-new]')
    await fill(page, '[data-test=question-text-0]', '您对房屋质量满意吗')
    await choose(page, '[data-test=question-dimension-0]', '[data-test=question-dimension-0-house_quality]')
    await click(page, '[data-test=question-add]')
    await fill(page, '[data-test=question-text-1]', '您愿意向亲友推荐我们吗')
    await choose(page, '[data-test=question-kind-1]', '[data-test=question-kind-1-nps]')
    await click(page, '[data-test=editor-phase-run_in]')
    // no title: the API names the field and the form shows it there
    t.expectFailure(400, '/api/v1/admin/surveys')
    await click(page, '[data-test=editor-save]')
    await page.waitForSelector('[data-test=survey-editor] .el-form-item.is-error [data-test=editor-title]',
      { timeout: TIMEOUT })
    report.title_error = await text(page, '[data-test=form-error]')
    await fill(page, '[data-test=editor-title]', e.TITLE)
    await t.shot('surveys-editor.png')
    await click(page, '[data-test=editor-save]')
    await dialogsClosed(page)
    await waitLoaded(page, 'survey-list', 1)
    const list = await api('GET', `/api/v1/admin/surveys?project=${e.PROJECT_ID}`)
    const id = list.data[0].id
    report.survey_id = id
    report.listed_title = await text(page, `[data-test=survey-title-${id}]`)
    // send to a sample
    await click(page, `[data-test=survey-send-${id}]`)
    await click(page, '[data-test=send-mode-count]')
    await fill(page, '[data-test=send-amount]', e.SAMPLE)
    await click(page, '[data-test=send-submit]')
    await dialogsClosed(page)
    await page.waitForFunction((i) => document.querySelector(`[data-test=survey-status-${i}]`)?.dataset.state === 'open',
      { timeout: TIMEOUT }, id)
    report.counts = await text(page, `[data-test=survey-counts-${id}]`)
    await t.shot('surveys-list.png')
    await t.tablet()
    await t.shot('surveys-list-tablet.png')
  } else {
    await t.go(`/surveys?project=${e.PROJECT_ID}&results=${e.SURVEY_ID}`, 'survey-list')
    await page.waitForSelector(`[data-test=survey-results][data-loaded="1"][data-survey="${e.SURVEY_ID}"]`,
      { timeout: TIMEOUT })
    await page.waitForSelector('[data-test=results-dimensions][data-rendered="1"]', { timeout: TIMEOUT })
    Object.assign(report, await page.evaluate(() => {
      const v = (s) => document.querySelector(`[data-test=${s}]`)?.dataset
      return {
        recipients: Number(v('results-recipients').value), skipped: Number(v('results-skipped').value),
        responses: Number(v('results-responses').value), rate: Number(v('results-rate').value),
        nps: JSON.parse(v('results-nps').values), dimensions: JSON.parse(v('results-dimensions').values),
        texts: Number(v('results-texts').count),
        q1: document.querySelector('[data-test=results-q-1]').textContent.trim(),
      }
    }))
    await t.shot('surveys-results.png')
    await t.tablet()
    await t.shot('surveys-results-tablet.png')
  }
})
