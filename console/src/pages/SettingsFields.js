// The forms of the settings pages (FormDialog fields), keyed by the API's
// field names so that an error's `field` lands on its input.
export const PROJECT_FIELDS = [
  { key: 'name', label: '项目名称', placeholder: '1–100 个字' },
  { key: 'code', label: '项目编码', placeholder: '2–16 位大写字母、数字或 -', hint: '编码与名称只有管理员可以修改' },
  { key: 'city', label: '城市' },
  { key: 'address', label: '地址' },
  { key: 'open_for_leads', label: '接受线索', type: 'switch' },
  { key: 'default_handover_date', label: '默认交付日期', type: 'date', hint: '新楼栋的默认交付日期' },
]

export const BUILDING_FIELDS = [
  { key: 'name', label: '楼栋名称', placeholder: '如 1栋' },
  { key: 'handover_date', label: '交付日期', type: 'date', hint: '新建时留空则使用项目的默认交付日期' },
]

export const UNIT_FIELDS = [
  { key: 'name', label: '房号', placeholder: '如 1-101' },
  { key: 'handover_date', label: '交付日期', type: 'date', hint: '保修期从交付日期起算；新建时留空则使用楼栋的交付日期' },
]

export const CATEGORY_FIELDS = [
  { key: 'code', label: '编码', placeholder: '小写字母、数字或 _' },
  { key: 'name', label: '名称' },
  { key: 'accept_minutes', label: '响应时限（分钟）', type: 'number' },
  { key: 'arrive_minutes', label: '到场时限（分钟）', type: 'number' },
  { key: 'resolve_minutes', label: '完成时限（分钟）', type: 'number', hint: '响应 ≤ 到场 ≤ 完成，各 1–525600 分钟' },
  { key: 'warranty_months', label: '保修期（月）', type: 'number', hint: '留空表示不保修' },
  { key: 'active', label: '启用', type: 'switch' },
  { key: 'sort_order', label: '排序', type: 'number', hint: '数字小的排在前面' },
  { key: 'business_hours', label: '按工作日计时', type: 'switch', hint: '开启后时限只计工作日（节假日与调休按日历），对之后提交或返工的报修生效' },
]

export const LEAD_CHANNELS = [
  { value: 'referral', label: '老带新' },
  { value: 'poster', label: '海报' },
  { value: 'ad', label: '广告' },
  { value: 'walk_in', label: '到访' },
  { value: 'organic', label: '自然来访' },
  { value: 'other', label: '其他' },
]

export function channelLabel(c) {
  const f = LEAD_CHANNELS.find((x) => x.value === c)
  return f ? f.label : c
}
