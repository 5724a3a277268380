// What the signed-in user's roles let the console offer. The API decides;
// this only hides buttons the user could not use (a 403 is still shown).
import { computed } from 'vue'
import { session } from '../api.js'

export function useRoles() {
  const roles = computed(() => (session.user && session.user.roles) || [])
  return {
    me: computed(() => (session.user ? session.user.id : 0)),
    isAdmin: computed(() => roles.value.includes('admin')),
    canManage: computed(() => roles.value.includes('admin') || roles.value.includes('supervisor')),
  }
}
