// Approve and pay a reward as two different people. Supervisor A approves
// it on the rewards page; A's pay button is then disabled, and the API
// refuses A's payment; admin B, logged in in a browser context of their
// own, pays it. The page shows who approved and who paid. The test
// (test_console_rewards.py) checks the reward's row and the audit log.
import { TIMEOUT, api, login, open, waitFor, text, shots, problems, run } from './console_driver.mjs'

const E = process.env
const id = E.REWARD_ID
const status = (page, s) => waitFor(page, (sel, s) => document.querySelector(sel)?.dataset.state === s,
  `[data-test="reward-status-${id}"]`, s)

run(async (browser) => {
  // A approves
  const a = await login(browser, E.A_TOKEN)
  await open(a, `/referrals?project=${E.PROJECT_ID}&status=pending`, 'rewards-list')
  await a.waitForSelector(`[data-test="approve-${id}"]`, { visible: true, timeout: TIMEOUT })
  await shots(a, 'rewards-pending', '[data-test="rewards-list"]')
  await a.click(`[data-test="approve-${id}"]`)
  await status(a, 'approved')
  await waitFor(a, (sel) => document.querySelector(sel)?.textContent.trim() !== '—', `[data-test="approver-${id}"]`)
  const approverShown = await text(a, `[data-test="approver-${id}"]`)
  await a.waitForSelector(`[data-test="pay-${id}"]`, { timeout: TIMEOUT })
  const payForA = await a.$eval(`[data-test="pay-${id}"]`, (b) => ({ disabled: b.disabled, blocked: b.dataset.blocked || '' }))
  await shots(a, 'rewards-approved-by-a', `[data-test="pay-${id}"]`)
  // the API is the judge: A's payment is refused
  const refused = await api(E.A_TOKEN, 'POST', `/api/v1/admin/rewards/${id}/pay`)

  // B pays, in a context of their own
  const b = await login(browser, E.B_TOKEN)
  await open(b, `/referrals?project=${E.PROJECT_ID}&status=approved`, 'rewards-list')
  await b.waitForSelector(`[data-test="pay-${id}"]:not([disabled])`, { visible: true, timeout: TIMEOUT })
  const approverSeenByB = await text(b, `[data-test="approver-${id}"]`)
  await b.click(`[data-test="pay-${id}"]`)
  await status(b, 'paid')
  const payerShown = await text(b, `[data-test="payer-${id}"]`)
  await shots(b, 'rewards-paid-by-b', '[data-test="rewards-list"]')

  // A sees the payment too, read back from the API
  await open(a, `/referrals?project=${E.PROJECT_ID}&status=paid`, 'rewards-list')
  await status(a, 'paid')
  const payerSeenByA = await text(a, `[data-test="payer-${id}"]`)
  return { approver_shown: approverShown, approver_seen_by_b: approverSeenByB, pay_for_a: payForA,
    refused: { status: refused.status, code: refused.body.error && refused.body.error.code },
    payer_shown: payerShown, payer_seen_by_a: payerSeenByA,
    problems: { a: await problems(a), b: await problems(b) } }
})
