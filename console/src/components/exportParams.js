// A list's filters as an export's params (ExportButton.vue): only the
// filters the list route is asked with (a page's local filters stay out),
// empty ones left out, ids as numbers (the export's audit row names its
// project). The same values the list route gets, so the CSV holds its rows.
//   <ExportButton kind="repairs" :params="exportParams(list.filters, ['project', 'state', 'overdue'])" />
const ID_KEYS = new Set(['project', 'project_id', 'building', 'user', 'actor', 'object_id', 'agent_user_id', 'engineer',
  'from', 'to'])

export function exportParams(filters, keys) {
  const out = {}
  for (const k of keys || Object.keys(filters || {})) {
    const v = filters ? filters[k] : undefined
    if (v === '' || v === null || v === undefined) continue
    out[k] = ID_KEYS.has(k) && /^\d{1,15}$/.test(String(v)) ? Number(v) : v
  }
  return out
}
