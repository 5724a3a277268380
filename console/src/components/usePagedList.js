// One list of the API, paged by its one contract (cursor/limit, "Lists and
// paging" in miniprogram-api.md), with its filters in the page's URL query
// so that a filtered list can be linked and reloaded.
//
//   const list = usePagedList('/api/v1/admin/repairs', { filters: ['project', 'state'] })
//   list.filters.state = 'submitted'; list.apply()   // -> ?state=submitted, reloaded
//   list.more()                                      // the next page, appended
//
// Each filter's URL key is its API parameter (with `prefix` when two lists
// share one page). `required` filters must have a value before the list is
// asked for (list.missing is then true). `send` maps a filter's URL value
// to the value sent to the API when they differ (a day in the URL, Unix
// seconds to the API): `send: { from: (day) => dayStart(day) }`.
import { reactive, watch, onMounted } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { api } from '../api.js'
import { errorDetail, errorText } from '../errors.js'

export function usePagedList(path, { filters = [], send = {}, prefix = '', limit = 20, required = [] } = {}) {
  const route = useRoute()
  const router = useRouter()
  const keys = filters
  const list = reactive({
    rows: [], next: null, loading: false, loaded: false, error: '', errorDetail: '', missing: false,
    filters: Object.fromEntries(keys.map((k) => [k, ''])),
  })
  let seq = 0 // answers of a superseded request are dropped

  const urlValue = (k) => {
    const v = route.query[prefix + k]
    return v === undefined || v === null ? '' : String(Array.isArray(v) ? v[0] : v)
  }
  const urlKey = () => keys.map(urlValue).join('\u0001')

  function fromUrl() {
    for (const k of keys) list.filters[k] = urlValue(k)
  }

  function query(cursor) {
    const q = new URLSearchParams()
    for (const k of filters) {
      const v = list.filters[k]
      if (v !== '' && v !== null) q.set(k, send[k] ? send[k](v) : v)
    }
    q.set('limit', String(limit))
    if (cursor) q.set('cursor', cursor)
    return q.toString()
  }

  async function load(cursor) {
    const my = ++seq
    if (required.some((k) => list.filters[k] === '' || list.filters[k] === null)) {
      Object.assign(list, { rows: [], next: null, missing: true, loaded: true, loading: false, error: '', errorDetail: '' })
      return
    }
    Object.assign(list, { missing: false, loading: true, error: '', errorDetail: '' })
    try {
      const r = await api('GET', `${path}?${query(cursor)}`)
      if (my !== seq) return
      list.rows = cursor ? list.rows.concat(r.data) : r.data
      list.next = r.next_cursor || null
    } catch (e) {
      if (my !== seq) return
      list.error = errorText(e)
      list.errorDetail = errorDetail(e)
      if (!cursor) list.rows = []
    } finally {
      if (my === seq) {
        list.loading = false
        list.loaded = true
      }
    }
  }

  list.reload = () => load(null)
  list.more = () => (list.next ? load(list.next) : Promise.resolve())
  // Writes the filters into the URL; the URL's change reloads the list.
  list.apply = () => {
    const q = { ...route.query }
    for (const k of keys) {
      const v = list.filters[k]
      if (v === '' || v === null || v === undefined || v === false) delete q[prefix + k]
      else q[prefix + k] = String(v)
    }
    const before = urlKey()
    const after = keys.map((k) => (q[prefix + k] === undefined ? '' : q[prefix + k])).join('\u0001')
    if (before === after) return list.reload()
    return router.replace({ query: q })
  }
  list.reset = () => {
    for (const k of keys) list.filters[k] = ''
    return list.apply()
  }
  // Puts a changed item (an action's answer) in place of the listed one.
  list.replaceRow = (row) => {
    const i = list.rows.findIndex((r) => r.id === row.id)
    if (i >= 0) list.rows[i] = { ...list.rows[i], ...row }
  }

  fromUrl()
  watch(urlKey, () => {
    fromUrl()
    load(null)
  })
  onMounted(() => load(null))
  return list
}
