// The gateway's API as the console calls it: same origin, the session cookie
// (HttpOnly, so never read here), and the CSRF token in X-CSRF-Token on
// every write. Errors are the API's envelope: {"error": {code, message, field}}.
import { reactive } from 'vue'

export const session = reactive({
  loaded: false,
  user: null, // {id, display_name, roles, projects: [{project_id, role}]}
  csrfToken: '',
})

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {}
    super(e.message || `请求失败（HTTP ${status}）`)
    this.status = status
    this.code = e.code || 'HTTP_' + status
    this.field = e.field || null
    this.requestId = body && body.request_id
  }
}

// extraHeaders (optional): more request headers, e.g. an Idempotency-Key.
export async function api(method, path, body, extraHeaders) {
  const headers = { Accept: 'application/json', ...(extraHeaders || {}) }
  const init = { method, headers, credentials: 'same-origin' }
  if (method !== 'GET' && method !== 'HEAD') {
    if (session.csrfToken) headers['X-CSRF-Token'] = session.csrfToken
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
  }
  const res = await fetch(path, init)
  let parsed = null
  try {
    parsed = await res.json()
  } catch {
    parsed = null
  }
  if (!res.ok) throw new ApiError(res.status, parsed)
  return parsed
}

export function setSession(d) {
  session.user = d.user
  session.csrfToken = d.csrf_token || ''
  session.loaded = true
}

export function clearSession() {
  session.user = null
  session.csrfToken = ''
  session.loaded = true
}

// Who is signed in (the cookie, if any): called once before the first route.
export async function loadSession() {
  try {
    const r = await api('GET', '/api/v1/console/session')
    setSession(r.data)
  } catch (e) {
    if (e.status !== 401 && e.status !== 403) throw e
    clearSession()
  }
}

export const ROLE_LABELS = {
  admin: '管理员',
  supervisor: '主管',
  engineer: '工程师',
  agent: '置业顾问',
  service: '客服',
  owner: '业主',
  buyer: '客户',
}

export function roleLabel(r) {
  return ROLE_LABELS[r] || r
}
