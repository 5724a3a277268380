// An API error in a form: the message, and the field it names (error.field)
// highlighted on the matching el-form-item (:error="err.of('reason')").
import { reactive } from 'vue'

export function useFormError() {
  const err = reactive({
    message: '',
    field: '',
    set(e) {
      err.message = e.message || String(e)
      err.field = e.field || ''
    },
    clear() {
      err.message = ''
      err.field = ''
    },
    // the message for the form item of `name` (else '', no highlight)
    of(name) {
      return err.field === name ? err.message : ''
    },
  })
  return err
}
