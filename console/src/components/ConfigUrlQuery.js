// Filters kept in the URL query, so that a filtered list can be linked and
// reloaded: useUrlQuery(['q', 'role']) gives a reactive object whose fields
// follow the route's query and, when set(), replace it (empty values are
// dropped from the URL).
import { reactive, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'

export function useUrlQuery(keys) {
  const route = useRoute()
  const router = useRouter()
  const state = reactive({})
  function read() {
    for (const k of keys) {
      const v = route.query[k]
      state[k] = Array.isArray(v) ? v[0] || '' : v || ''
    }
  }
  read()
  watch(() => route.query, read)
  // Replaces the given keys in the URL (others kept as they are).
  function set(values) {
    const q = { ...route.query }
    for (const [k, v] of Object.entries(values)) {
      if (v === '' || v === null || v === undefined) delete q[k]
      else q[k] = String(v)
    }
    return router.replace({ query: q })
  }
  return { state, set }
}

// The API's query string from an object (empty values left out).
export function queryString(params) {
  const u = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== '' && v !== null && v !== undefined) u.set(k, String(v))
  }
  const s = u.toString()
  return s ? '?' + s : ''
}
