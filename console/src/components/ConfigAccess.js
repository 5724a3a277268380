// What the signed-in user's roles allow the console to offer (the API
// still judges every call: a 403 is shown as its message).
import { session } from '../api.js'

export function isAdmin() {
  return !!(session.user && (session.user.roles || []).includes('admin'))
}

export function supervises(projectId) {
  if (isAdmin()) return true
  const ps = (session.user && session.user.projects) || []
  return ps.some((p) => p.role === 'supervisor' && String(p.project_id) === String(projectId))
}

// [{value: user_id, label}] of the staff holding `role` in the project
// (the directory's first 100), for pickers.
export async function staffOptions(api, projectId, role) {
  const q = new URLSearchParams({ project: String(projectId), limit: '100' })
  if (role) q.set('role', role)
  const r = await api('GET', '/api/v1/admin/staff?' + q.toString())
  return r.data.map((u) => ({ value: u.user_id, label: `${u.display_name || '用户 ' + u.user_id}（${u.user_id}）` }))
}

export function fmtTime(s) {
  if (!s) return ''
  const d = new Date(s * 1000)
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}
