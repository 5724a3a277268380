// The console's one way of showing times and labels. Times from the API are
// Unix seconds; they are shown in the property company's time zone
// (Asia/Shanghai), whatever the browser's, so every screen and every
// colleague sees the same wall-clock time.
const TZ = 'Asia/Shanghai'
const TZ_OFFSET_S = 8 * 3600 // Asia/Shanghai has no daylight saving time

const parts = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
})

// 1764300000 -> "2025-11-28 11:20"; null/undefined -> "—"
export function formatTime(sec) {
  if (sec === null || sec === undefined || sec === '') return '—'
  const p = Object.fromEntries(parts.formatToParts(new Date(Number(sec) * 1000)).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

// "2025-11-28" (a day in Asia/Shanghai) -> the Unix seconds of its start
export function dayStart(day) {
  const [y, m, d] = String(day).split('-').map(Number)
  return Date.UTC(y, m - 1, d) / 1000 - TZ_OFFSET_S
}

// The labels of the API's enumerations, in the API's order (the filters'
// options are listed in that order).
export const REPAIR_STATES = {
  submitted: '已受理', dispatched: '已派单', accepted: '已接单', in_progress: '处理中',
  resolved: '待评价', closed: '已完成', cancelled: '已取消',
}
export const REPAIR_ACTIONS = {
  submit: '提交报修', dispatch: '系统派单', assign: '主管派单', accept: '接单', decline: '退单', start: '开始处理',
  resolve: '处理完成', reopen: '重新打开', cancel: '取消', rate: '评价', unassign: '撤回派单',
  pause: '暂停计时', resume: '恢复计时',
}
export const LEAD_STAGES = {
  new: '新线索', contacted: '已联系', visited: '已到访', subscribed: '已认购', signed: '已签约', lost: '已流失',
  cancelled: '已退房',
}
export const LEAD_CHANNELS = {
  referral: '老带新', poster: '海报', ad: '广告', walk_in: '到访', organic: '自然来访', other: '其他',
}
export const FOLLOWUP_KINDS = { call: '电话', visit: '面谈', wechat: '微信' }
export const REWARD_STATUSES = {
  pending: '待审批', approved: '已审批待发放', paid: '已发放', cancelled: '已取消', clawback: '待追回',
}
export const OUTBOX_STATUSES = {
  pending: '待发送', sending: '发送中', retrying: '重试中', sent: '已发送', no_quota: '无订阅额度', failed: '失败',
  dead: '已放弃',
}
export const ASSIGN_METHODS = { round_robin: '轮流分配', channel_rule: '渠道规则', manual: '主管转派', unassigned: '退回待分配' }

// The tag colour of a state: finished states grey, problems red.
const TAG_TYPES = {
  closed: 'info', cancelled: 'info', lost: 'info', sent: 'success', paid: 'success', signed: 'success',
  failed: 'danger', dead: 'danger', no_quota: 'warning', clawback: 'danger', approved: 'warning', pending: 'primary',
}
export function tagType(state) {
  return TAG_TYPES[state] || 'primary'
}

// A label for a value of one of the maps above; the value itself when unknown.
export function label(map, value) {
  return (value && map[value]) || value || '—'
}

// A person as the console shows them: their name, or their user id.
export function personName(name, id) {
  if (name) return name
  return id ? `用户 #${id}` : '—'
}
