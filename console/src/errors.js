// The API's errors in Chinese. The API speaks English (its contract with the
// mini-program); the console shows a Chinese sentence built from the error's
// `code` and `field`, and keeps the English message and the request id as a
// second line for support. Every place that shows an error goes through here.
import { h } from 'vue'
import { ElMessage } from 'element-plus'

// One sentence per code of gateway/errors.def; {field} is the field's label.
export const ERROR_TEXT = {
  INVALID_JSON: '请求内容不是有效的 JSON',
  MISSING_FIELD: '请填写「{field}」',
  MISSING_FIELD_: '缺少必填的字段',
  INVALID_FIELD: '「{field}」不是有效的值',
  INVALID_FIELD_: '有字段的类型或取值不正确',
  UNAUTHENTICATED: '请先登录',
  TOKEN_INVALID: '登录状态无效，请重新登录',
  TOKEN_EXPIRED: '登录已过期，请重新登录',
  TOKEN_REVOKED: '已退出登录，请重新登录',
  USER_DISABLED: '该账号已被停用',
  WECHAT_CODE_INVALID: '微信登录凭证无效或已过期，请重试',
  WECHAT_CODE_USED: '微信登录凭证已被使用，请重试',
  WECHAT_USER_BLOCKED: '微信拒绝了本次登录（风控）',
  FORBIDDEN: '您的角色无权进行此操作',
  NOT_FOUND: '未找到「{field}」所指的对象',
  NOT_FOUND_: '未找到该对象',
  METHOD_NOT_ALLOWED: '该地址不支持此操作',
  CONFLICT: '与当前状态冲突，请刷新后重试',
  DUPLICATE: '「{field}」已被占用，请换一个',
  DUPLICATE_: '名称或编码已被占用，请换一个',
  PAYLOAD_TOO_LARGE: '提交的内容过大',
  UNSUPPORTED_MEDIA_TYPE: '请求的内容类型不正确',
  UNPROCESSABLE: '请求无法处理',
  RATE_LIMITED: '操作过于频繁，请稍后重试',
  INTERNAL: '服务器内部错误',
  WECHAT_ERROR: '微信返回了意外的错误',
  WECHAT_UNAVAILABLE: '微信繁忙或无法连接，请稍后重试',
  DB_UNAVAILABLE: '数据库暂不可用，请稍后重试',
  OVERLOADED: '服务器繁忙，请稍后重试',
  SHUTTING_DOWN: '服务器正在重启，请稍后重试',
  DEADLINE_EXCEEDED: '服务器处理超时，请稍后重试',
  CONSENT_REQUIRED: '手机号持有人须同意隐私声明',
  REFERRAL_CODE_UNKNOWN: '推荐码不存在或已停用',
  SELF_REFERRAL: '不能推荐自己',
  ALREADY_CUSTOMER: '已是该项目的业主或在跟进的客户',
  ALREADY_BOUND: '保护期内已绑定其他推荐人',
  CONTENT_RISKY: '内容未通过微信的安全检查，请修改后重试',
  IMAGE_INVALID: '图片无法解码，请上传完整的 JPEG 或 PNG 照片',
  IMAGE_TOO_LARGE: '图片像素过多，请上传较小的照片',
  CSRF_INVALID: '页面的安全令牌无效，请刷新页面后重试',
  TICKET_NOT_YOURS: '该登录码属于另一个浏览器',
  TICKET_EXPIRED: '登录码已过期，请刷新二维码',
  EXPORT_EXPIRED: '导出文件已过期并被删除，请重新导出',
  EXPORT_LIMIT: '您排队或进行中的导出已达上限，请等待完成',
  EXPORTS_BUSY: '导出任务过多，请稍后重试',
  SURVEY_ANSWERED: '该业主已答过此问卷',
  SURVEY_CLOSED: '问卷已结束，不再接受作答',
}

// {key: label} of a FormDialog's fields (the labels the form already shows).
export function fieldLabels(fields) {
  const m = {}
  for (const f of fields || []) m[f.key] = f.label
  return m
}

// The Chinese sentence for an error (an ApiError, or anything thrown).
// labels: {field: label} of the form that sent the request.
export function errorText(e, labels = {}) {
  if (!e) return ''
  const code = e.code
  if (!code) return e instanceof TypeError ? '网络错误，无法连接服务器' : e.message || String(e)
  const name = e.field ? labels[e.field] || e.field : ''
  const withField = ERROR_TEXT[code]
  if (withField && (name || !withField.includes('{field}'))) return withField.replace('{field}', name)
  if (ERROR_TEXT[code + '_']) return ERROR_TEXT[code + '_']
  if (/^HTTP_/.test(code)) return `请求失败（HTTP ${e.status}）`
  return e.message || code
}

// The API's own words for support: the English message, its code and field,
// and the request id ('' for an error that is not the API's).
export function errorDetail(e) {
  if (!e || !e.code) return ''
  const parts = [`${e.code}${e.field ? ' · ' + e.field : ''}: ${e.message}`]
  if (e.requestId) parts.push(`请求 ID ${e.requestId}`)
  return parts.join(' · ')
}

// A toast for an error that belongs to no form or list.
export function showError(e, labels) {
  const detail = errorDetail(e)
  ElMessage.error({
    message: h('div', { 'data-test': 'error-message' }, [
      h('div', { class: 'err-zh' }, errorText(e, labels)),
      detail ? h('div', { class: 'err-detail', 'data-test': 'error-detail' }, detail) : null,
    ]),
  })
}
